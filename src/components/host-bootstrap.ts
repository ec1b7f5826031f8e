/**
 * HostBootstrap: prepares every Kubernetes machine over SSH and installs k3s on it, and takes
 * retired machines out of the cluster.
 *
 * One `remote.Command` per machine (ASIC miners are power load only and never get one).
 * Everything it runs is rendered by `render/` from the FarmPlan; this file only wires the
 * rendered text into Pulumi resources, orders them and decides what a machine's state means
 * for Pulumi:
 *
 * - `active`, `cordoned`: the bootstrap runs (create, or update when its host config hash or
 *   its connection moved). A cordoned machine stays installed; PowerPools cordons and drains it.
 * - `offline`: a placeholder under the same name with no command at all and every input in
 *   `ignoreChanges`. For a machine already in state, Pulumi sees no change and calls nothing
 *   (the provider is not even dialled); for a machine first seen offline, the placeholder is
 *   created without a `create` command, which the provider skips without dialling
 *   (pulumi-command provider/pkg/provider/remote/commandController.go `Create`: `if
 *   input.Create == nil { return }`). When it comes back `active`, the commands appear and
 *   Pulumi runs an update, i.e. the bootstrap (`create` again). `retainOnDelete` makes a later
 *   removal from the site drop it from state without the uninstall over SSH.
 * - `retired`: the same placeholder (so the stored uninstall never runs through a dead
 *   address), plus a removal on a server (drain, Node object and node-password secret, bounded)
 *   and then the uninstall on the machine itself. An unreachable machine fails only its own
 *   uninstall; delete it from the site to stop trying (every one of its resources then leaves
 *   state without SSH).
 *
 * Bounded time: every command runs under a deadline on the host (`remoteScriptCommand`'s
 * `timeoutSeconds`), dials are bounded (`dialErrorLimit` × `perDialTimeout`), and
 * `customTimeouts` end the provider's operation (they cancel its dial retries; the provider
 * does not cancel a running session, hence the host-side deadline).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as random from "@pulumi/random";
import type { FarmPlan, PlannedNode } from "../plan/types.js";
import {
  agentPublication,
  bootstrapDeadlineSeconds,
  publishedAgents,
  publishedBaseUrl,
  renderPublicationScript,
  CA_HASH_SCRIPT,
  CONFIG_HASH_MARKER,
  hostConfigHash,
  parseCaHash,
  renderBootstrapScript,
  renderAgentStdin,
  renderHostStdin,
  renderServerSideRemovalScript,
  renderUninstallScript,
  HOST_LOCK_WAIT_SECONDS,
  INSTALLED_UNINSTALL_PATH,
  UNINSTALL_DEADLINE_SECONDS,
} from "../render/index.js";
import { controlServerOf, generationOf, hostKeyOf, retiredNodesOf, stateOf, type NodeState, type RetiredNode } from "./lifecycle.js";
import { writePublicationArchive } from "./publication.js";
import { installedScriptCommand, remoteFetchCommand, remoteScriptCommand } from "./remote-script.js";

export { BOOTSTRAP_DEADLINE_MARGIN_SECONDS, bootstrapDeadlineSeconds, UNINSTALL_DEADLINE_SECONDS } from "../render/index.js";

/** Arguments of {@link HostBootstrap}. */
export interface HostBootstrapArgs {
  /** The plan whose `nodes` are bootstrapped (servers first) and whose `retired` machines are removed. */
  plan: FarmPlan;
  /** SSH private key (PEM/OpenSSH text) for every node, a Pulumi secret from stack config, or {@link SSH_AGENT}. */
  sshPrivateKey: SshAuth;
  /**
   * k3s server token (bare secret); only servers ever receive it, on STDIN. A Pulumi secret.
   * Required when the stack holds a server; a partition stack holds none and never sees it.
   */
  serverToken?: pulumi.Input<string>;
  /** k3s agent token (bare secret, k3s `agent-token`): what agents join with, on STDIN. A Pulumi secret. */
  agentToken: pulumi.Input<string>;
  /**
   * Hostnames (planned and retired) whose resources this stack registers (`stackHosts`).
   * @default every Kubernetes machine of the plan (one stack for the site)
   */
  hosts?: ReadonlySet<string>;
  /**
   * What joining agents need from a cluster this stack does not hold (a partition stack: the
   * first server is the cluster stack's): the cluster CA hash, read from that stack's outputs.
   * @default none: the control server is in this stack and its CA is read here
   */
  join?: { caHash: pulumi.Input<string>; firstServerConfig?: pulumi.Input<string> };
  /**
   * A machine that leaves this stack (moved to another partition, or deleted from the site) is
   * dropped from state without its uninstall: in a partition stack a moved machine is the other
   * stack's host, and `pulumi up` here must not touch it. Retire a machine (`state: retired`)
   * to uninstall it.
   * @default false: removing an agent from the site uninstalls k3s there
   */
  forgetOnRemoval?: boolean;
}

/** The order and treatment HostBootstrap imposes on one machine, as plain data (tests, preview). */
export interface BootstrapOrder {
  hostname: string;
  k3sRole: "server" | "agent";
  state: NodeState | "retired";
  /** Hostnames whose bootstrap must finish before this one starts. */
  after: string[];
  /** Whether the bootstrap is `protect`ed (control-plane machines that are not retired). */
  protected: boolean;
  /** Whether SSH can be attempted for this machine in this run (false: offline, or placeholder of a retired one). */
  reachesHost: boolean;
}

/** SSH dial attempts before a command fails (`connection.dialErrorLimit`). */
export const DIAL_ERROR_LIMIT = 6;
/** Seconds per SSH dial attempt (`connection.perDialTimeout`). */
export const PER_DIAL_TIMEOUT_SECONDS = 10;
/** Host-side deadline of a command on a server: a drain or a removal (the host lock wait and the drain bounded inside), in s. */
export const SERVER_SIDE_DEADLINE_SECONDS = 900 + HOST_LOCK_WAIT_SECONDS;
/** Host-side deadline of the publication of the agents' files on the first server (the host lock wait, unpack, checks), in s. */
export const PUBLISH_DEADLINE_SECONDS = 300 + HOST_LOCK_WAIT_SECONDS;
/** Host-side deadline of a read (kubeconfig, CA hash), in s. */
export const READ_DEADLINE_SECONDS = 60;

/** Every input of `remote.Command`: what an offline or retired placeholder ignores. */
export const COMMAND_INPUTS = ["connection", "create", "update", "delete", "stdin", "logging", "addPreviousOutputInEnv", "environment", "triggers"];

/** `customTimeouts` a little past the host-side deadline: the provider's own bound. */
export function commandTimeouts(runSeconds: number, deleteSeconds?: number): pulumi.CustomTimeouts {
  const pad = DIAL_ERROR_LIMIT * PER_DIAL_TIMEOUT_SECONDS + 60;
  return { create: `${runSeconds + pad}s`, update: `${runSeconds + pad}s`, delete: `${(deleteSeconds ?? runSeconds) + pad}s` };
}

/**
 * SSH authentication through the agent the Pulumi CLI runs with (`SSH_AUTH_SOCK`, which the
 * provider dials when a connection has no key: pulumi-command provider/pkg/provider/remote/
 * connection.go `SSHConfig`, connection_unix.go `tryGetDefaultAgentSocket`): the fleet's private
 * key is then in no command's state (it is ~1.7 KB of every machine's record otherwise: input and
 * output of its `connection`, issue 11).
 */
export const SSH_AGENT: { readonly sshAgent: true } = Object.freeze({ sshAgent: true as const });

/** How commands authenticate over SSH: a private key (a Pulumi secret, kept in state) or {@link SSH_AGENT}. */
export type SshAuth = pulumi.Input<string> | typeof SSH_AGENT;

/** Whether `auth` is {@link SSH_AGENT}. */
export function isSshAgent(auth: unknown): auth is typeof SSH_AGENT {
  return auth === SSH_AGENT;
}

/** An SSH connection to a machine: pinned host key when the site has one, bounded dials. */
export function sshConnection(target: { ip: string; sshUser: string; sshHostKey?: string }, auth: SshAuth): command.types.input.remote.ConnectionArgs {
  return {
    host: target.ip,
    user: target.sshUser,
    // Secret even when a caller passes a plain string: keys must never reach state in clear.
    ...(isSshAgent(auth) ? {} : { privateKey: pulumi.secret(auth) }),
    // `ssh.ParseAuthorizedKey` form (`ssh-ed25519 AAAA…`), checked with `ssh.FixedHostKey`
    // (pulumi-command connection.go `SSHConfig`); without it the provider ignores host keys.
    ...(target.sshHostKey !== undefined ? { hostKey: target.sshHostKey } : {}),
    // A dead or rebooting host fails after at most 6 × 10 s of dials (plus the provider's backoff).
    dialErrorLimit: DIAL_ERROR_LIMIT,
    perDialTimeout: PER_DIAL_TIMEOUT_SECONDS,
  };
}

/** One `remote.Command` per Kubernetes node, first server first, then servers one after another, then agents. */
export class HostBootstrap extends pulumi.ComponentResource {
  /** The bootstrap command (or placeholder) of each planned node, by hostname. */
  readonly commands: Readonly<Record<string, command.remote.Command>>;
  /** Bootstrap commands of the k3s servers, in the order they run (each after the one before). */
  readonly servers: readonly command.remote.Command[];
  /** The host config hash leading each running node's command, by hostname (offline ones have none). */
  readonly configHashes: Readonly<Record<string, pulumi.Output<string>>>;
  /** The ordering and treatment applied, one entry per machine: planned nodes in order, then retired ones. */
  readonly order: readonly BootstrapOrder[];
  /** Cluster CA hash read from the control server once it runs (pins the CA in joining nodes' tokens). */
  readonly caHash: pulumi.Output<string>;
  /** The first server's host config hash ("" when this stack does not hold it): what the agents' publication follows. */
  readonly firstServerConfig: pulumi.Output<string>;
  /** Hostname of the server the cluster-side commands run on (first server that is not offline). */
  readonly controlServer: string;
  /** The cluster-side removal of each retired machine, by hostname. */
  readonly removals: Readonly<Record<string, command.remote.Command>>;

  constructor(name: string, args: HostBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mine2hpc:index:HostBootstrap", name, {}, opts);
    const built = createHostBootstraps(name, this, args);
    this.commands = built.commands;
    this.servers = built.servers;
    this.configHashes = built.configHashes;
    this.order = built.order;
    this.caHash = built.caHash;
    this.firstServerConfig = built.firstServerConfig;
    this.controlServer = built.controlServer;
    this.removals = built.removals;
    // No outputs registered: a component's outputs are kept in the state, and a map of every
    // machine's hash (~95 B each) is what issue 11's per-machine budget cannot carry.
    this.registerOutputs({});
  }
}

/** Resource name of a node's install-version record (a new generation gets a new record). */
export function installVersionName(name: string, node: PlannedNode): string {
  const generation = generationOf(node);
  return `${name}-${node.hostname}-k3s-install${generation > 0 ? `-g${generation}` : ""}`;
}

/** Builds the bootstrap commands under `parent`. Plain function so the class stays thin. */
export function createHostBootstraps(name: string, parent: pulumi.Resource, args: HostBootstrapArgs) {
  const { plan } = args;
  // sshConnection keeps a key secret even when a caller passes a plain string.
  const privateKey = args.sshPrivateKey;
  const holds = (hostname: string): boolean => args.hosts === undefined || args.hosts.has(hostname);
  const secrets = pulumi.secret(
    pulumi.all([args.serverToken ?? null, args.agentToken]).apply(([serverToken, agentToken]) => ({ serverToken, agentToken })),
  );
  const commands: Record<string, command.remote.Command> = {};
  const configHashes: Record<string, pulumi.Output<string>> = {};
  const order: BootstrapOrder[] = [];
  const servers: command.remote.Command[] = [];
  const removals: Record<string, command.remote.Command> = {};

  const serverNodes = plan.nodes.filter((n) => n.k3sRole === "server");
  const agentNodes = plan.nodes.filter((n) => n.k3sRole === "agent");
  const first = serverNodes.find((n) => n.clusterInit) ?? serverNodes[0];
  if (first === undefined) {
    throw new Error(`plan of site '${plan.site.name}' has no k3s server; planFarm must name at least one control-plane node`);
  }
  const control = controlServerOf(plan);
  if (args.serverToken === undefined && serverNodes.some((n) => holds(n.hostname))) {
    throw new Error(`site '${plan.site.name}': this stack holds k3s servers but was given no server token`);
  }
  if (!holds(control.hostname) && args.join === undefined) {
    throw new Error(`site '${plan.site.name}': the control server ${control.hostname} is in another stack; pass that cluster's CA hash (join.caHash)`);
  }
  const ordered: PlannedNode[] = [first, ...serverNodes.filter((n) => n !== first), ...agentNodes].filter((n) => holds(n.hostname));
  const runDeadline = bootstrapDeadlineSeconds(plan);
  // A partition stack joins its agents to a cluster whose CA another stack read.
  let caHash: pulumi.Output<string> | undefined = args.join !== undefined ? pulumi.output(args.join.caHash) : undefined;
  let caRead: command.remote.Command | undefined;
  // The agent token as agents take it: from the CA read (below) where this stack holds one.
  let agentToken: pulumi.Output<string> = pulumi.output(args.agentToken);
  let previousServer: PlannedNode | undefined;
  // The agents' bootstrap files, published on the first server once its bootstrap ran (null:
  // nothing to publish, or the first server is offline and agents cannot join anyway).
  let publication: command.remote.Command | null | undefined;

  for (const node of ordered) {
    const isServer = node.k3sRole === "server";
    const state = stateOf(node);
    if (!isServer && publication === undefined) {
      publication = publishAgentFiles(
        name,
        parent,
        args,
        holds,
        privateKey,
        first,
        commands[first.hostname],
        runDeadline,
        args.join?.firstServerConfig !== undefined ? pulumi.output(args.join.firstServerConfig) : undefined,
      );
    }
    // Servers join one after another (a second and third etcd member joining at once can lose
    // quorum); agents need only the control server: a dead secondary server must not hold
    // back every agent.
    const after = isServer ? (previousServer ? [previousServer.hostname] : []) : [control.hostname];
    if (isServer) previousServer = node;
    // Only what this stack holds: a partition's agents wait on the cluster stack's outputs instead.
    const deps = [...after.flatMap((h) => (commands[h] !== undefined ? [commands[h]] : [])), ...(caRead !== undefined ? [caRead] : [])];

    // The k3s version this host installs when k3s is missing, recorded when the host is first
    // bootstrapped (a RandomShuffle of one element whose input changes are ignored): a version
    // change then leaves every bootstrap as it is and rolls through the upgrade controller; a
    // new machine, or a new generation (new record), installs the plan's current version.
    if (state === "offline") {
      if (isServer) installVersionRecord(name, parent, node, plan);
      commands[node.hostname] = placeholder(name, parent, node, privateKey, { protect: isServer, dependsOn: deps });
      order.push({ hostname: node.hostname, k3sRole: node.k3sRole, state, after, protected: isServer, reachesHost: false });
      continue;
    }

    if (!isServer) {
      // An agent's command only fetches its published host file by sha256 and runs it
      // (render/agent-files.ts); its uninstall is the one its bootstrap installed on the host.
      const hash = hostConfigHash(plan, node.hostname);
      // From the agent token alone: an agent's state depends on no server token (the first
      // server's STDIN checks that the two differ). Both values come through the CA read (or
      // the cluster stack's reference): one dependency in every agent's state.
      const stdin = pulumi.secret(
        pulumi.all([agentToken, caHashOutput(caHash, node)]).apply(([token, ca]) => renderAgentStdin(plan, node.hostname, token, ca ?? "")),
      );
      const cmd = new command.remote.Command(
        `${name}-${node.hostname}`,
        {
          connection: sshConnection({ ip: node.ip, sshUser: node.sshUser, sshHostKey: hostKeyOf(node) }, privateKey),
          create: remoteFetchCommand(publishedBaseUrl(plan), hash),
          // No `update`: a change of `create` is an update, which runs `create` again (see the servers' command below).
          delete: installedScriptCommand(INSTALLED_UNINSTALL_PATH),
          stdin,
          // `logging` and `addPreviousOutputInEnv` left at their defaults: both streams logged;
          // the previous output handed on only when there was some (the host file prints nothing
          // on a success without warnings), which keeps two inputs out of every agent's state.
        },
        {
          parent,
          // The CA read (which follows the first server's bootstrap and the publication) comes
          // with `stdin`: one dependency in the state instead of three. A partition stack has no
          // CA read: its agents follow its own publication.
          dependsOn: caRead !== undefined ? [] : publication ? [publication] : deps,
          ...(args.forgetOnRemoval === true ? { retainOnDelete: true } : {}),
          customTimeouts: commandTimeouts(runDeadline, UNINSTALL_DEADLINE_SECONDS),
        },
      );
      commands[node.hostname] = cmd;
      configHashes[node.hostname] = pulumi.output(hash);
      order.push({ hostname: node.hostname, k3sRole: node.k3sRole, state, after, protected: false, reachesHost: true });
      continue;
    }

    const installVersion = installVersionRecord(name, parent, node, plan);

    const atVersion = installVersion.apply((version) => withVersion(plan, version));
    const hash = atVersion.apply((p) => hostConfigHash(p, node.hostname));
    // The content hash leads the command as a no-op (`:`), so a preview or diff shows which
    // hosts change; any change to the rendered config (or a generation bump) changes it: an
    // update, which runs the bootstrap again.
    const bootstrap = atVersion.apply(
      (p) =>
        `: ${CONFIG_HASH_MARKER}=${hostConfigHash(p, node.hostname)}; ` +
        remoteScriptCommand(renderBootstrapScript(p, node.hostname), "mine2hpc-bootstrap", { timeoutSeconds: runDeadline }),
    );
    // First server: bare tokens (no CA exists yet); every other node: secure tokens pinning the CA.
    const stdin = pulumi.secret(
      pulumi
        .all([secrets, node === first ? pulumi.output<string | null>(null) : caHashOutput(caHash, node)])
        .apply(([s, ca]) =>
          s.serverToken === null ? renderAgentStdin(plan, node.hostname, s.agentToken, ca ?? "") : renderHostStdin(plan, node.hostname, { serverToken: s.serverToken, agentToken: s.agentToken }, ca),
        ),
    );
    const cmd = new command.remote.Command(
      `${name}-${node.hostname}`,
      {
        connection: sshConnection({ ip: node.ip, sshUser: node.sshUser, sshHostKey: hostKeyOf(node) }, privateKey),
        create: bootstrap,
        // A change of `create` is an update in place, which runs `create` again: the same
        // idempotent script (pulumi-command remote commandController.go `Update`: with no
        // `update` input it runs `create`). No separate `update` input: it would keep a second
        // copy of the script in state for every machine. A new address, user or host key is an
        // update in place too (the provider's diff replaces on `triggers` only,
        // pulumi-go-provider infer/resource.go `Diff`): a re-addressed machine is bootstrapped at
        // its new address, and nothing is ever run through the old one. Deliberately no
        // `triggers` (replaceOnChanges, pulumi/pulumi-command#855): a replacement would
        // uninstall k3s from the host.
        delete: remoteScriptCommand(renderUninstallScript(plan, node.hostname), "mine2hpc-uninstall", { timeoutSeconds: UNINSTALL_DEADLINE_SECONDS }),
        stdin,
        // The scripts never echo a token (they read them from STDIN into 0600 files); install
        // logs are what a person needs when a host fails, so both streams are kept.
        logging: "stdoutAndStderr",
        // The previous run's output is not needed by the scripts and would only grow the environment.
        addPreviousOutputInEnv: false,
      },
      {
        parent,
        dependsOn: deps,
        // Deleting a control-plane bootstrap uninstalls k3s there, taking a datastore member with it.
        protect: true,
        customTimeouts: commandTimeouts(runDeadline, UNINSTALL_DEADLINE_SECONDS),
      },
    );
    commands[node.hostname] = cmd;
    configHashes[node.hostname] = hash;
    if (node === first && publication === undefined) {
      publication = publishAgentFiles(name, parent, args, holds, privateKey, first, cmd, runDeadline, hash);
    }
    if (node === control) {
      // Every node but the first joins with a token that pins the cluster CA, read once k3s runs here.
      const read = new command.remote.Command(
        `${name}-cluster-ca`,
        {
          connection: sshConnection({ ip: node.ip, sshUser: node.sshUser, sshHostKey: hostKeyOf(node) }, privateKey),
          create: remoteScriptCommand(CA_HASH_SCRIPT, "mine2hpc-ca-hash", { timeoutSeconds: READ_DEADLINE_SECONDS }),
          // Not read by the script: held here so an agent's STDIN (token and CA hash) depends on
          // this one resource instead of also on the token's (issue 11: every dependency is a
          // URN twice in each agent's state). A new token is an update of this read (it runs
          // again, harmless), then of every agent.
          stdin: pulumi.secret(args.agentToken),
          // The CA hash is public (it pins a certificate, not a key): its output may be logged.
          logging: "stdoutAndStderr",
          addPreviousOutputInEnv: false,
        },
        // After the publication too: agents, which wait for this read (their STDIN carries the
        // CA hash), then find their files on the first server without a dependency of their own.
        { parent, dependsOn: [cmd, ...(publication ? [publication] : [])], customTimeouts: commandTimeouts(READ_DEADLINE_SECONDS) },
      );
      caHash = read.stdout.apply(parseCaHash);
      agentToken = pulumi.secret(read.stdin.apply((t) => t ?? ""));
      caRead = read;
    }
    order.push({ hostname: node.hostname, k3sRole: node.k3sRole, state, after, protected: isServer, reachesHost: true });
  }
  for (const node of ordered) if (node.k3sRole === "server") servers.push(commands[node.hostname]!);

  // Retired machines: removed from the cluster on the control server, then uninstalled on the machine.
  for (const r of retiredNodesOf(plan).filter((m) => holds(m.hostname))) {
    commands[r.hostname] = placeholder(name, parent, r, privateKey, { protect: false, dependsOn: [] });
    const removal = new command.remote.Command(
      `${name}-remove-${r.hostname}`,
      {
        connection: sshConnection({ ip: control.ip, sshUser: control.sshUser, sshHostKey: hostKeyOf(control) }, privateKey),
        create: remoteScriptCommand(renderServerSideRemovalScript(plan, r.hostname), "mine2hpc-remove", { timeoutSeconds: SERVER_SIDE_DEADLINE_SECONDS }),
        logging: "stdoutAndStderr",
        addPreviousOutputInEnv: false,
      },
      { parent, dependsOn: commands[control.hostname] !== undefined ? [commands[control.hostname]!] : [], customTimeouts: commandTimeouts(SERVER_SIDE_DEADLINE_SECONDS) },
    );
    removals[r.hostname] = removal;
    new command.remote.Command(
      `${name}-uninstall-${r.hostname}`,
      {
        connection: sshConnection(r, privateKey),
        create: remoteScriptCommand(renderUninstallScript(retiredAsNode(plan, r), r.hostname), "mine2hpc-uninstall", {
          timeoutSeconds: UNINSTALL_DEADLINE_SECONDS,
        }),
        logging: "stdoutAndStderr",
        addPreviousOutputInEnv: false,
      },
      // Drained and deleted from the cluster first: an agent has no credentials to drain itself.
      { parent, dependsOn: [removal], customTimeouts: commandTimeouts(UNINSTALL_DEADLINE_SECONDS) },
    );
    order.push({ hostname: r.hostname, k3sRole: r.k3sRole, state: "retired", after: [control.hostname], protected: false, reachesHost: true });
  }

  if (caHash === undefined) throw new Error(`plan of site '${plan.site.name}': the control server ${control.hostname} got no bootstrap`);
  const firstServerConfig = configHashes[first.hostname] ?? pulumi.output(args.join?.firstServerConfig ?? "");
  return { commands, servers, configHashes, order, caHash, controlServer: control.hostname, removals, firstServerConfig };
}

/**
 * The k3s version a server installs when k3s is missing there, recorded when the server is first
 * bootstrapped (a RandomShuffle of one element whose input changes are ignored): a version change
 * then leaves every server bootstrap as it is and rolls through the upgrade controller; a new
 * server, or a new generation (new record), installs the plan's current version. Agents have no
 * record: they read the version for new machines from the first server (render/agent-files.ts).
 */
function installVersionRecord(name: string, parent: pulumi.Resource, node: PlannedNode, plan: FarmPlan): pulumi.Output<string> {
  return new random.RandomShuffle(
    installVersionName(name, node),
    { inputs: [plan.kubernetes.version], resultCount: 1 },
    // Later versions are the upgrade controller's to roll out, never a host reinstall.
    { parent, ignoreChanges: ["inputs", "resultCount"] },
  ).results.apply((r) => r[0] ?? plan.kubernetes.version);
}

/** The key a stack's publication is listed under on the first server: the stack name, as a file name. */
export function publicationKey(): string {
  return pulumi.getStack().replace(/[^A-Za-z0-9._-]/g, "-") || "stack";
}

/**
 * Publishes the bootstrap files of the agents this stack holds on the first server (render/
 * agent-files.ts): the archive is written here and copied by `remote.CopyToRemote` into the SSH
 * user's home (its state keeps the file's path and hash, not its content), then put in place by
 * a command as root (sha256-checked). The cluster stack (which holds the first server) also
 * publishes the k3s version for new machines. Null when there is nothing to publish or the first
 * server is offline (agents could not join it either).
 */
function publishAgentFiles(
  name: string,
  parent: pulumi.Resource,
  args: HostBootstrapArgs,
  holds: (hostname: string) => boolean,
  privateKey: SshAuth,
  first: PlannedNode,
  firstBootstrap: command.remote.Command | undefined,
  runDeadline: number,
  firstConfigHash?: pulumi.Output<string>,
): command.remote.Command | null {
  const { plan } = args;
  const agents = publishedAgents(plan, holds);
  // A partitioned site's cluster stack publishes the k3s version even when it holds no agent.
  const versionHere = holds(first.hostname);
  if ((agents.length === 0 && !(versionHere && args.hosts !== undefined)) || stateOf(first) === "offline") return null;
  const files = agentPublication(
    plan,
    agents.map((n) => n.hostname),
    runDeadline,
    versionHere,
  );
  const archive = writePublicationArchive(files);
  const key = publicationKey();
  // A file in the SSH user's home, not in a folder: remote.CopyToRemote does not create a copied
  // file's parent folder (pulumi-command copyController.go `copyFile`: `sftp.Create(dst)`).
  const remoteArchive = `.mine2hpc-publish-${key}.tar.gz`;
  const connection = sshConnection({ ip: first.ip, sshUser: first.sshUser, sshHostKey: hostKeyOf(first) }, privateKey);
  const after = firstBootstrap !== undefined ? [firstBootstrap] : [];
  // Led by the first server's host config hash (this stack's, or the cluster stack's through
  // the reference): a first server whose bootstrap ran again (a re-image is a new generation)
  // may have lost k3s's data folder and its home, so the archive is copied and the files are
  // put in place again.
  const firstHash = pulumi.output(firstConfigHash ?? "");
  const copy = new command.remote.CopyToRemote(
    `${name}-publish-copy`,
    {
      connection,
      source: new pulumi.asset.FileAsset(archive.path),
      remotePath: remoteArchive,
      // A replacement copies afresh (the provider's update copies only when the file changed,
      // and CopyToRemote has no delete: nothing is removed on the host).
      triggers: [firstHash],
    },
    { parent, dependsOn: after, customTimeouts: commandTimeouts(PUBLISH_DEADLINE_SECONDS) },
  );
  return new command.remote.Command(
    `${name}-publish`,
    {
      connection,
      create: firstHash.apply(
        (hash) =>
          (hash !== "" ? `: mine2hpc-first-server=${hash}; ` : "") +
          remoteScriptCommand(
            renderPublicationScript(plan, { sshUser: first.sshUser, archive: remoteArchive, archiveSha256: archive.sha256, stackKey: key }),
            "mine2hpc-publish",
            { timeoutSeconds: PUBLISH_DEADLINE_SECONDS },
          ),
      ),
      addPreviousOutputInEnv: false,
    },
    // Not protected, no delete: the files stay served for the agents that run them.
    { parent, dependsOn: [copy, ...after], customTimeouts: commandTimeouts(PUBLISH_DEADLINE_SECONDS) },
  );
}

function caHashOutput(caHash: pulumi.Output<string> | undefined, node: PlannedNode): pulumi.Output<string | null> {
  if (caHash === undefined) {
    throw new Error(`node '${node.hostname}' joins the cluster before the control server's bootstrap is registered: the plan must list servers first`);
  }
  return caHash;
}

/** The plan with `version` as the k3s version (what a host installs when k3s is missing there). */
function withVersion(plan: FarmPlan, version: string): FarmPlan {
  return version === plan.kubernetes.version ? plan : { ...plan, kubernetes: { ...plan.kubernetes, version } };
}

/**
 * A placeholder under the machine's bootstrap name: no command (the provider dials nothing),
 * every input ignored (an existing bootstrap keeps its stored state untouched), kept in the
 * stack's state only (`retainOnDelete`: removing the machine from the site later runs nothing).
 */
function placeholder(
  name: string,
  parent: pulumi.Resource,
  target: { hostname: string; ip: string; sshUser: string; sshHostKey?: string },
  privateKey: SshAuth,
  opts: { protect: boolean; dependsOn: pulumi.Resource[] },
): command.remote.Command {
  return new command.remote.Command(
    `${name}-${target.hostname}`,
    { connection: sshConnection({ ip: target.ip, sshUser: target.sshUser, sshHostKey: target.sshHostKey }, privateKey) },
    {
      parent,
      dependsOn: opts.dependsOn,
      // Nothing of an offline or retired machine changes: its stored commands, STDIN and address stay as they were.
      ignoreChanges: COMMAND_INPUTS,
      // Leaving the site later must not run the stored uninstall through an address that no longer answers.
      retainOnDelete: true,
      protect: opts.protect,
    },
  );
}

/**
 * A retired machine as the renderers see a node: its identity only. The uninstall restores GPU
 * power limits only where the bootstrap left its cap file, so rendering it as a GPU node is
 * harmless on a CPU machine and needed on a retired rig.
 */
function retiredAsNode(plan: FarmPlan, r: RetiredNode & { k3sRole: "server" | "agent" }): FarmPlan {
  const node = {
    hostname: r.hostname,
    ip: r.ip,
    sshUser: r.sshUser,
    k3sRole: r.k3sRole,
    machineRole: r.k3sRole === "server" ? "control-plane" : "gpu",
    clusterInit: false,
    state: "active",
    generation: 0,
    rack: "",
    circuit: "",
    feed: "",
    tier: "firm",
    labels: {},
    taints: [],
    baseWatts: 0,
    psuEfficiency: 1,
    drawWatts: 0,
    throughputTflops: 0,
    gpu: { model: "", count: 0, capWatts: 0, minWatts: 0, maxWatts: 0, tdpWatts: 0, consumer: false },
  } as unknown as PlannedNode;
  return { ...plan, nodes: [...plan.nodes, node] };
}
