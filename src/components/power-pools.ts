/**
 * PowerPools: the power-aware pools of the plan, enforced in the cluster — node labels and
 * taints, Kueue flavors/queues, the power agent that applies each node's GPU cap, and the
 * curtailment CronJobs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { FarmPlan } from "../plan/types.js";
import { renderCurtailment, renderKueueObjects, renderPowerAgent } from "../render/index.js";
import { createObjects } from "./k8s-objects.js";

/** Arguments of {@link PowerPools}. */
export interface PowerPoolsArgs {
  /** The plan: node labels/taints, pools, queues, curtailment windows. */
  plan: FarmPlan;
  /** Provider of the site's cluster (from ClusterAccess). */
  provider: k8s.Provider;
  /** The node bootstraps by hostname: a node can be patched only once it has registered. */
  nodeBootstraps: Readonly<Record<string, pulumi.Resource>>;
  /** The Kueue release: its CRDs and webhook must exist before flavors and queues. */
  kueueRelease: pulumi.Resource;
}

/** NodePatches, Kueue objects, power agent and curtailment objects. */
export class PowerPools extends pulumi.ComponentResource {
  /** The NodePatch of each node, by hostname. */
  readonly nodePatches: Readonly<Record<string, k8s.core.v1.NodePatch>>;
  /** Number of Kubernetes objects registered besides the NodePatches. */
  readonly objectCount: number;

  constructor(name: string, args: PowerPoolsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mine2hpc:index:PowerPools", name, {}, opts);
    const built = createPowerPools(name, this, args);
    this.nodePatches = built.nodePatches;
    this.objectCount = built.objectCount;
    this.registerOutputs({ objectCount: this.objectCount });
  }
}

/** Builds the NodePatches and objects under `parent`. */
export function createPowerPools(name: string, parent: pulumi.Resource, args: PowerPoolsArgs) {
  const { plan, provider } = args;
  const opts: pulumi.CustomResourceOptions = { parent, provider };
  const nodePatches: Record<string, k8s.core.v1.NodePatch> = {};

  for (const node of plan.nodes) {
    const bootstrap = args.nodeBootstraps[node.hostname];
    if (bootstrap === undefined) throw new Error(`no bootstrap for node '${node.hostname}'`);
    nodePatches[node.hostname] = new k8s.core.v1.NodePatch(
      `${name}-${node.hostname}`,
      {
        metadata: {
          name: node.hostname,
          labels: node.labels,
          // k3s set these labels at registration under its own field manager; a day-2 change
          // (new cap, new pool) must take them over instead of failing on the conflict.
          annotations: { "pulumi.com/patchForce": "true" },
        },
        // `spec.taints` is an atomic list under server-side apply: sending it takes over the
        // whole list, so it is sent only for nodes whose plan has taints.
        ...(node.taints.length > 0 ? { spec: { taints: node.taints } } : {}),
      },
      // The Node object exists only after k3s on that host has registered it.
      pulumi.mergeOptions(opts, { dependsOn: [bootstrap] }),
    );
  }

  // Flavors, queues and priority classes are Kueue CRDs: the chart must be installed first.
  const kueue = createObjects(name, renderKueueObjects(plan), pulumi.mergeOptions(opts, { dependsOn: [args.kueueRelease] }));
  // No dependsOn on the NodePatches for the agent and the CronJobs: the agent re-reads its
  // node's cap label every period and the CronJobs act only when a window opens, so neither
  // needs the labels at creation time (and thousands of per-node edges would slow every update).
  const agent = createObjects(name, renderPowerAgent(plan), opts);
  const curtail = createObjects(name, renderCurtailment(plan), opts);

  return { nodePatches, objectCount: kueue.length + agent.length + curtail.length };
}
