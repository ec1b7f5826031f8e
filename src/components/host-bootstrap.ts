/**
 * HostBootstrap: prepares every Kubernetes machine over SSH and installs k3s on it.
 *
 * One `remote.Command` per planned node (ASIC miners are power load only and never get one).
 * Everything it runs is rendered by `render/` from the FarmPlan; this file only wires the
 * rendered text into Pulumi resources and orders them.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { FarmPlan, PlannedNode } from "../plan/types.js";
import { CONFIG_HASH_MARKER, hostConfigHash, renderBootstrapScript, renderUninstallScript } from "../render/index.js";
import { remoteScriptCommand } from "./remote-script.js";

/** Arguments of {@link HostBootstrap}. */
export interface HostBootstrapArgs {
  /** The plan whose `nodes` are bootstrapped, servers first (the plan's order). */
  plan: FarmPlan;
  /** SSH private key (PEM/OpenSSH text) for every node; a Pulumi secret from stack config. */
  sshPrivateKey: pulumi.Input<string>;
  /** k3s cluster token; sent to each host on STDIN, never on a command line. A Pulumi secret. */
  k3sToken: pulumi.Input<string>;
  /**
   * Called once, after the servers' bootstraps are registered and before the agents', with the
   * first server's bootstrap; returns the admin kubeconfig (pointed at the API endpoint) that
   * goes to every agent on STDIN after the token line. `remote.Command` runs `delete` with the
   * last create/update STDIN, and an agent's uninstall needs admin credentials to drain its
   * node (kubelet credentials cannot cordon or evict). A callback, not a value, because the
   * kubeconfig can only be read once the first server exists, and that server is built here.
   * FarmCluster creates its ClusterAccess in it.
   * @default none: agents get the token only and are uninstalled undrained
   */
  agentKubeconfig?: (firstServerBootstrap: command.remote.Command) => pulumi.Input<string>;
}

/** The order HostBootstrap imposes on one node, as plain data (shown by tests and preview). */
export interface BootstrapOrder {
  hostname: string;
  k3sRole: "server" | "agent";
  /** Hostnames whose bootstrap must finish before this one starts. */
  after: string[];
  /** Whether the bootstrap is `protect`ed (control-plane machines). */
  protected: boolean;
}

/** One `remote.Command` per Kubernetes node, servers before agents. */
export class HostBootstrap extends pulumi.ComponentResource {
  /** The bootstrap command of each node, by hostname. */
  readonly commands: Readonly<Record<string, command.remote.Command>>;
  /** Bootstrap commands of the k3s servers, first server first. */
  readonly servers: readonly command.remote.Command[];
  /** The host config hash leading each node's command, by hostname. */
  readonly configHashes: Readonly<Record<string, string>>;
  /** The ordering and protection applied, one entry per node in plan order. */
  readonly order: readonly BootstrapOrder[];

  constructor(name: string, args: HostBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mine2hpc:index:HostBootstrap", name, {}, opts);
    const built = createHostBootstraps(name, this, args);
    this.commands = built.commands;
    this.servers = built.servers;
    this.configHashes = built.configHashes;
    this.order = built.order;
    this.registerOutputs({ configHashes: this.configHashes });
  }
}

/** Builds the bootstrap commands under `parent`. Plain function so the class stays thin. */
export function createHostBootstraps(name: string, parent: pulumi.Resource, args: HostBootstrapArgs) {
  const { plan } = args;
  // Secret even when a caller passes a plain string: the key and token must never reach state in clear.
  const privateKey = pulumi.secret(args.sshPrivateKey);
  const token = pulumi.secret(args.k3sToken);
  const commands: Record<string, command.remote.Command> = {};
  const configHashes: Record<string, string> = {};
  const order: BootstrapOrder[] = [];
  const servers: command.remote.Command[] = [];

  const serverNodes = plan.nodes.filter((n) => n.k3sRole === "server");
  const agentNodes = plan.nodes.filter((n) => n.k3sRole === "agent");
  const first = serverNodes.find((n) => n.clusterInit) ?? serverNodes[0];
  if (first === undefined) {
    throw new Error(`plan of site '${plan.site.name}' has no k3s server; planFarm must name at least one control-plane node`);
  }
  const ordered: PlannedNode[] = [first, ...serverNodes.filter((n) => n !== first), ...agentNodes];
  // Token line, then the kubeconfig: the bootstrap reads line 1 only, the agent uninstall drains with lines 2..
  let agentStdin: pulumi.Output<string> | undefined;

  for (const node of ordered) {
    const isServer = node.k3sRole === "server";
    if (!isServer && agentStdin === undefined) {
      const kubeconfig = args.agentKubeconfig?.(commands[first.hostname]!);
      agentStdin =
        kubeconfig === undefined ? token : pulumi.secret(pulumi.all([token, kubeconfig]).apply(([t, k]) => agentStdinText(t, k)));
    }
    const after = node === first ? [] : isServer ? [first.hostname] : serverNodes.map((s) => s.hostname);
    const hash = hostConfigHash(plan, node.hostname);
    // The content hash leads the command as a no-op (`:`), so a preview or diff shows which
    // hosts change; any change to the rendered config changes this string and runs `update`.
    const bootstrap = `: ${CONFIG_HASH_MARKER}=${hash}; ${remoteScriptCommand(renderBootstrapScript(plan, node.hostname), "mine2hpc-bootstrap")}`;
    const cmd = new command.remote.Command(
      `${name}-${node.hostname}`,
      {
        connection: {
          host: node.ip,
          user: node.sshUser,
          privateKey,
          // A host rebooting after a kernel-module change refuses SSH for a while: retry instead of failing the update.
          dialErrorLimit: 30,
          perDialTimeout: 20,
        },
        create: bootstrap,
        // A change of `create` runs `update` in place: the same idempotent script. Deliberately no
        // `triggers`: the SDK marks them replaceOnChanges (pulumi/pulumi-command#855), and a
        // replacement would uninstall k3s from the host (and is refused for protected servers).
        update: bootstrap,
        delete: remoteScriptCommand(renderUninstallScript(plan, node.hostname), "mine2hpc-uninstall"),
        // Servers get the token only: their uninstall drains with the local `k3s kubectl`.
        stdin: isServer ? token : agentStdin!,
        // The script never echoes the token (it reads it from STDIN into a 0600 file); install
        // logs are what a person needs when a host fails, so both streams are kept.
        logging: "stdoutAndStderr",
        // The previous run's output is not needed by the scripts and would only grow the environment.
        addPreviousOutputInEnv: false,
      },
      {
        parent,
        // Agents join through a server and extra servers join the first one: k3s must be up there first.
        dependsOn: after.map((h) => commands[h]!),
        // Deleting a control-plane bootstrap uninstalls k3s there, taking the cluster's datastore with it.
        protect: isServer,
        // Only a new connection (host IP, user) replaces the command; the old machine must be
        // uninstalled before the new one is bootstrapped under the same node name.
        deleteBeforeReplace: true,
      },
    );
    commands[node.hostname] = cmd;
    configHashes[node.hostname] = hash;
    if (isServer) servers.push(cmd);
    order.push({ hostname: node.hostname, k3sRole: node.k3sRole, after, protected: isServer });
  }
  return { commands, servers, configHashes, order };
}

/**
 * STDIN of an agent's bootstrap: the token as line 1, the admin kubeconfig from line 2 on.
 * A token with a line break would shift the kubeconfig into the token line, so it is refused.
 */
export function agentStdinText(token: string, kubeconfig: string): string {
  if (/[\r\n]/.test(token)) throw new Error("the k3s token contains a line break; it must be one line (it is the first line of the hosts' STDIN)");
  return `${token}\n${kubeconfig.endsWith("\n") ? kubeconfig : `${kubeconfig}\n`}`;
}
