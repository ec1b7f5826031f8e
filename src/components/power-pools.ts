/**
 * PowerPools: the power-aware pools of the plan, enforced in the cluster — drains of cordoned
 * nodes, Kueue flavors/queues, the power agent that applies each node's GPU cap, and the
 * curtailment CronJobs. (Node labels and taints are set by each node's own bootstrap.)
 */
import * as pulumi from "@pulumi/pulumi";
import type { SshAuth } from "./host-bootstrap.js";
import * as k8s from "@pulumi/kubernetes";
import { parseDocument } from "yaml";
import type { FarmPlan } from "../plan/types.js";
import * as command from "@pulumi/command";
import { renderCurtailment, renderKueueObjects, renderPowerAgent } from "../render/index.js";
import { renderCordonDrainScript, renderUncordonScript } from "../render/upgrade.js";
import { commandTimeouts, SERVER_SIDE_DEADLINE_SECONDS, sshConnection } from "./host-bootstrap.js";
import { createObjects, objectResourceName } from "./k8s-objects.js";
import { MINER_CREDENTIALS_SECRET, renderMinerCredentialsSecret } from "../render/curtailment.js";
import { NAMESPACES } from "../render/versions.js";
import { parseCredentials } from "../runtime/curtail/credentials.js";
import { controlServerOf, hostKeyOf, stateOf } from "./lifecycle.js";
import { remoteScriptCommand } from "./remote-script.js";

/** Arguments of {@link PowerPools}. */
export interface PowerPoolsArgs {
  /** The plan: node labels/taints, pools, queues, curtailment windows. */
  plan: FarmPlan;
  /** Provider of the site's cluster (from ClusterAccess). Required with `clusterObjects`; a partition stack has none. */
  provider?: k8s.Provider;
  /** The node bootstraps by hostname: a node can be drained only once its bootstrap registered it. */
  nodeBootstraps: Readonly<Record<string, pulumi.Resource>>;
  /** The Kueue release: its CRDs and webhook must exist before flavors and queues. Required with `clusterObjects`. */
  kueueRelease?: pulumi.Resource;
  /** The check that Kueue's webhooks serve (KubePlatform `webhooksReady.kueue`). @default the release only */
  kueueReady?: pulumi.Resource;
  /** SSH key for the drains of cordoned machines, run on the first server. Without it, cordoned machines are only cordoned. */
  sshPrivateKey?: SshAuth;
  /**
   * Miner API credentials (stack secret `mine2hpc:minerCredentials`: YAML or JSON
   * `{default, byDriver, byHost}` of `{user, password}`), written to the Kubernetes Secret the
   * curtailment jobs mount. Stays a secret end to end; checked before the Secret is written.
   * @default none: the jobs run without credentials (LuxOS and webhooks need none)
   */
  minerCredentials?: pulumi.Input<string>;
  /**
   * Hostnames whose drain (when cordoned) this stack registers (`stackHosts`).
   * @default every planned node (one stack for the site)
   */
  hosts?: ReadonlySet<string>;
  /**
   * Whether the cluster-wide objects (Kueue flavors and queues, power agent, curtailment jobs,
   * miner credentials) are registered here: false in a partition stack, whose machines they
   * reach through labels the cluster stack's objects select on.
   * @default true
   */
  clusterObjects?: boolean;
}

/** Drains of cordoned machines, Kueue objects, power agent and curtailment objects. */
export class PowerPools extends pulumi.ComponentResource {
  /** The drain of each cordoned node (run on the first server), by hostname. */
  readonly drains: Readonly<Record<string, command.remote.Command>>;
  /** Number of Kubernetes objects registered. */
  readonly objectCount: number;

  constructor(name: string, args: PowerPoolsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mine2hpc:index:PowerPools", name, {}, opts);
    const built = createPowerPools(name, this, args);
    this.drains = built.drains;
    this.objectCount = built.objectCount;
    this.registerOutputs({ objectCount: this.objectCount });
  }
}

/** Builds the drains and objects under `parent`. */
export function createPowerPools(name: string, parent: pulumi.Resource, args: PowerPoolsArgs) {
  const { plan } = args;
  const drains: Record<string, command.remote.Command> = {};
  const control = controlServerOf(plan);

  // Labels are set by each node's own bootstrap, with its kubelet credentials (render/scripts.ts
  // `labelBlock`), not by a NodePatch: a NodePatch keeps the whole live Node (~21 KB) in the
  // stack's state for every machine. Taints are set at registration from the k3s config.
  for (const node of plan.nodes) {
    if (args.hosts !== undefined && !args.hosts.has(node.hostname)) continue;
    if (stateOf(node) !== "cordoned" || args.sshPrivateKey === undefined) continue;
    const bootstrap = args.nodeBootstraps[node.hostname];
    if (bootstrap === undefined) throw new Error(`no bootstrap for node '${node.hostname}'`);
    const connection = sshConnection({ ip: control.ip, sshUser: control.sshUser, sshHostKey: hostKeyOf(control) }, args.sshPrivateKey);
    drains[node.hostname] = new command.remote.Command(
      `${name}-drain-${node.hostname}`,
      {
        connection,
        // `kubectl drain` cordons first (spec.unschedulable), then evicts, bounded.
        create: remoteScriptCommand(renderCordonDrainScript(plan, node.hostname), "mine2hpc-drain", { timeoutSeconds: SERVER_SIDE_DEADLINE_SECONDS }),
        // The machine is no longer cordoned (active again, offline, retired or gone): uncordon it.
        delete: remoteScriptCommand(renderUncordonScript(plan, node.hostname), "mine2hpc-uncordon", { timeoutSeconds: SERVER_SIDE_DEADLINE_SECONDS }),
        logging: "stdoutAndStderr",
        addPreviousOutputInEnv: false,
      },
      // The Node object exists only once that machine's bootstrap registered it.
      { parent, dependsOn: [bootstrap], customTimeouts: commandTimeouts(SERVER_SIDE_DEADLINE_SECONDS) },
    );
  }

  if (args.clusterObjects === false) return { drains, objectCount: 0 };
  if (args.provider === undefined) throw new Error("PowerPools: the cluster-wide objects need the cluster's Kubernetes provider (provider)");
  if (args.kueueRelease === undefined) throw new Error("PowerPools: the cluster-wide objects need the Kueue release (kueueRelease)");
  const opts: pulumi.CustomResourceOptions = { parent, provider: args.provider };
  // Flavors, queues and priority classes are Kueue CRDs: the chart must be installed first.
  const kueue = createObjects(
    name,
    renderKueueObjects(plan),
    pulumi.mergeOptions(opts, { dependsOn: [args.kueueRelease, ...(args.kueueReady ? [args.kueueReady] : [])] }),
  );
  // No dependsOn on the bootstraps (which set the labels) for the agent and the CronJobs: the
  // agent re-reads its node's cap label every period and the CronJobs act only when a window
  // opens, so neither needs the labels at creation time (and thousands of per-node edges would
  // slow every update).
  // One batch: the curtailment objects live in the agent's namespace and must wait for it.
  const agentAndCurtail = createObjects(name, [...renderPowerAgent(plan), ...renderCurtailment(plan)], opts);
  const namespace = agentAndCurtail[0]!;
  let secrets = 0;
  if (args.minerCredentials !== undefined) {
    // Parsed inside the secret Output: a malformed file fails `up` naming the key and the
    // problem, never a value; the text reaches only the Secret's stringData.
    const secret = pulumi.secret(
      pulumi.output(args.minerCredentials).apply((text) => renderMinerCredentialsSecret(parseCredentials(text, "stack config mine2hpc:minerCredentials", parseYamlText))),
    );
    new k8s.core.v1.Secret(
      objectResourceName(name, { apiVersion: "v1", kind: "Secret", metadata: { name: MINER_CREDENTIALS_SECRET, namespace: NAMESPACES.mine2hpc } }),
      {
        metadata: secret.apply((o) => o.metadata),
        type: "Opaque",
        stringData: secret.apply((o) => (o as unknown as { stringData: Record<string, string> }).stringData),
      },
      // The namespace first; the password never leaves the secret outputs.
      pulumi.mergeOptions(opts, { dependsOn: [namespace], additionalSecretOutputs: ["data", "stringData"] }),
    );
    secrets = 1;
  }

  return { drains, objectCount: kueue.length + agentAndCurtail.length + secrets };
}

/** YAML (JSON is YAML) for the credentials text; a syntax error names its line only, never a value. */
function parseYamlText(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false, logLevel: "error" });
  if (doc.errors.length > 0) throw new Error(`not valid YAML or JSON (line ${doc.errors[0]!.linePos?.[0]?.line ?? "?"})`);
  return doc.toJS() as unknown;
}
