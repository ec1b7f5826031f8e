/**
 * Stage 4 of `planFarm` (with `nodes.ts`): GPU nodes grouped into pools by model,
 * interconnect and power tier, and the Kueue queues over them.
 */
import type { GpuSpec } from "../../site/catalog.js";
import { hasRiserClassLink } from "../../site/catalog.js";
import type { PowerTier, SiteSpec } from "../../site/schema.js";
import { cmpStr, nodeThroughputTflops } from "../allocate.js";
import { round1 } from "../power.js";
import type { PlannedPool, QueuePlan, Taint } from "../types.js";
import { LABELS } from "../types.js";
import type { ResolvedMachine } from "./resolve.js";

/** Tier order used for ClusterQueues (most reliable first). */
export const TIER_ORDER: readonly PowerTier[] = ["firm", "interruptible", "curtailable"];

/**
 * Interconnect class of a GPU node: PCIe x1 risers cannot move training data fast enough, and
 * neither can a board whose own link is as narrow (NVIDIA CMP cards: Gen 1 x4, whatever the
 * slot); SXM boards have NVLink.
 */
export function interconnectOf(pcieLink: string | undefined, gpu: Pick<GpuSpec, "formFactor" | "pcieLinkLimit">): PlannedPool["interconnect"] {
  if (pcieLink === "x1" || hasRiserClassLink(gpu)) return "x1-riser";
  return gpu.formFactor === "sxm" ? "sxm" : "pcie";
}

/** Stable pool name: `<gpu-model>-<interconnect>-<tier>`; depends only on the node itself, so adding machines never renames a pool. */
export function poolName(gpuModel: string, interconnect: PlannedPool["interconnect"], tier: PowerTier): string {
  // `h100-sxm` on an SXM board is `h100-sxm-firm`, not `h100-sxm-sxm-firm`.
  const base = gpuModel.endsWith(`-${interconnect}`) ? gpuModel : `${gpuModel}-${interconnect}`;
  return `${base}-${tier}`;
}

/** The taint every non-control-plane node on a non-firm feed carries: only workloads that tolerate losing power land there. */
export function tierTaint(tier: PowerTier): Taint {
  return { key: LABELS.powerTier, value: tier, effect: "NoSchedule" };
}

/** GPU nodes of one pool, before caps are summarized. */
export interface PoolGroup {
  name: string;
  gpuModel: string;
  interconnect: PlannedPool["interconnect"];
  tier: PowerTier;
  /** Time-slicing replicas per GPU: the site's setting on x1 risers (inference), 1 elsewhere. */
  replicas: number;
  /** The labels every node of the pool carries, keys sorted (one object per pool: sites have thousands of nodes and a handful of pools). */
  labels: Record<string, string>;
  /** Members in site order. */
  nodes: ResolvedMachine[];
}

/** Pools by name (in order of first member), and each GPU node's pool by machine index. */
export interface PoolGroups {
  byName: Map<string, PoolGroup>;
  poolOf: Map<number, PoolGroup>;
}

/** Groups the GPU nodes into pools `<gpu-model>-<interconnect>-<tier>` ({@link poolName}). */
export function groupPools(site: SiteSpec, gpuNodes: readonly ResolvedMachine[]): PoolGroups {
  const byName = new Map<string, PoolGroup>();
  const poolOf = new Map<number, PoolGroup>();
  for (const r of gpuNodes) {
    const interconnect = interconnectOf(site.machines[r.index]!.pcieLink, r.gpu!);
    const name = poolName(r.gpu!.key, interconnect, r.tier);
    let group = byName.get(name);
    if (!group) {
      const replicas = interconnect === "x1-riser" ? site.gpuOperator.timeSlicingReplicas : 1;
      const labels: Record<string, string> = {
        [LABELS.pool]: name,
        [LABELS.powerTier]: r.tier,
        [LABELS.gpuModel]: r.gpu!.key,
        [LABELS.workload]: interconnect === "x1-riser" ? "inference" : "training",
      };
      if (replicas > 1) labels[LABELS.devicePluginConfig] = name;
      group = { name, gpuModel: r.gpu!.key, interconnect, tier: r.tier, replicas, labels: sortKeys(labels), nodes: [] };
      byName.set(name, group);
    }
    group.nodes.push(r);
    poolOf.set(r.index, group);
  }
  return { byName, poolOf };
}

/** The planned pools, by name, with their caps' range and throughput at the chosen caps. */
export function plannedPools(site: SiteSpec, groups: PoolGroups, capOf: ReadonlyMap<number, number>): PlannedPool[] {
  return [...groups.byName.values()]
    .sort((a, b) => cmpStr(a.name, b.name))
    .map((p) => {
      const caps = p.nodes.map((r) => capOf.get(r.index)!);
      let tflops = 0;
      for (const r of p.nodes) tflops += nodeThroughputTflops({ gpuCount: r.gpuCount, gpu: r.gpu! }, capOf.get(r.index)!);
      return {
        name: p.name,
        gpuModel: p.gpuModel,
        interconnect: p.interconnect,
        tier: p.tier,
        workload: p.interconnect === "x1-riser" ? "inference" : "training",
        nodes: p.nodes.map((r) => r.hostname).sort(cmpStr),
        feeds: [...new Set(p.nodes.map((r) => site.power.feeds[r.feed]!.name))].sort(cmpStr),
        gpus: p.nodes.reduce((s, r) => s + r.gpuCount, 0),
        capWatts: { min: caps.reduce((a, b) => Math.min(a, b)), max: caps.reduce((a, b) => Math.max(a, b)) },
        timeSlicingReplicas: p.replicas,
        flavor: p.name,
        clusterQueue: p.tier,
        nodeLabels: p.labels,
        taints: p.tier !== "firm" ? [tierTaint(p.tier)] : [],
        throughputTflops: round1(tflops),
      };
    });
}

/** Kueue: one cohort for the site, one ClusterQueue per power tier that has pools ({@link TIER_ORDER}), one flavor per pool. */
export function queuePlan(site: SiteSpec, pools: readonly PlannedPool[]): QueuePlan {
  return {
    cohort: site.metadata.name,
    tenants: [...new Set(site.kubernetes.tenantNamespaces ?? ["default"])].sort(cmpStr),
    clusterQueues: TIER_ORDER.filter((t) => pools.some((p) => p.tier === t)).map((tier) => ({
      name: tier,
      tier,
      flavors: pools.filter((p) => p.tier === tier).map((p) => ({ flavor: p.flavor, pool: p.name, gpus: p.gpus })),
    })),
  };
}

/** A copy of `obj` with keys in code-unit order, so labels serialize identically everywhere. */
export function sortKeys(obj: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(obj).sort(cmpStr)) out[k] = obj[k]!;
  return out;
}
