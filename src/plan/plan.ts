/**
 * `planFarm(site)`: every decision about a site, made once, as plain data.
 *
 * The plan is a pipeline of pure stages (`stages/`), each deciding one thing:
 *
 * 1. `resolveMachines`: each machine against the site's catalog (its own entries, then the
 *    built-in ones), its circuit and its feed; a machine's `gpuMaxWatts` replaces its model's max.
 * 2. `checkMinimumLoads`: every circuit, every phase of a three-phase circuit, and every
 *    feed carries its load with GPUs at their minimum caps (else one SiteError listing every
 *    overloaded circuit, phase and feed).
 * 3. `allocatePower`: wire the cords of three-phase circuits and choose the caps, optimal for
 *    that wiring under every circuit, phase and feed budget (`exact.ts`).
 * 4. `groupPools`, `plannedNodes`, `plannedPools`, `queuePlan`: nodes, pools and queues.
 * 5. `planLoads`: circuit and feed loads at the caps.
 * 6. `planCurtailment`: what each non-firm feed sheds, in which stages.
 * 7. `planWarnings`: what a person should check before the first run.
 * 8. `withPartitions`: which stack holds each agent, on a partitioned site (no power decision).
 *
 * Three-phase circuits are taken as wye PDUs with line-to-neutral outlets: each PSU cord
 * loads one phase, and each phase may carry V / √3 × A × derating (`phases.ts`).
 */
import { siteCatalog } from "../site/catalog.js";
import type { SiteSpec } from "../site/schema.js";
import { nodeThroughputTflops } from "./allocate.js";
import { roundWatts, round1 } from "./power.js";
import { siteBudgets } from "./stages/budgets.js";
import { allocatePower } from "./stages/caps.js";
import { planCurtailment } from "./stages/curtailment.js";
import { planLoads } from "./stages/loads.js";
import { checkMinimumLoads } from "./stages/minimums.js";
import { plannedNodes } from "./stages/nodes.js";
import { groupPools, plannedPools, queuePlan } from "./stages/pools.js";
import { memoCatalog, resolveMachines } from "./stages/resolve.js";
import type { PlanCatalog } from "./stages/resolve.js";
import { planWarnings } from "./stages/warnings.js";
import { withPartitions } from "./partitions.js";
import type { FarmPlan } from "./types.js";

export type { PlanCatalog } from "./stages/resolve.js";
export { MINER_API_PORTS, labelValue, resolveMinerApi } from "./stages/nodes.js";
export { TIER_ORDER, interconnectOf, poolName, tierTaint } from "./stages/pools.js";
export { CIRCUIT_WARN_FRACTION, CIRCUIT_WARN_LIST, LOW_CAP_WARN_FRACTION } from "./stages/warnings.js";

export interface PlanOptions {
  /** @default the site's catalog: its own `catalog` entries, then the built-in ones (`siteCatalog`, `src/site/catalog.ts`) */
  catalog?: PlanCatalog;
}

/**
 * Plans a validated site. Pure and deterministic: the same site gives a byte-identical
 * `JSON.stringify` of the plan.
 *
 * @throws SiteError when some circuit or feed cannot carry its machines even with every
 *   GPU at its minimum power limit (one problem per circuit and feed), or when a reference
 *   the validator should have caught does not resolve.
 */
export function planFarm(site: SiteSpec, options: PlanOptions = {}): FarmPlan {
  const { machines, retired } = resolveMachines(site, memoCatalog(options.catalog ?? siteCatalog(site)));
  const budgets = siteBudgets(site, machines);
  checkMinimumLoads(site, budgets);
  const power = allocatePower(site, machines, budgets);
  const gpuNodes = machines.filter((r) => r.role === "gpu");
  const groups = groupPools(site, gpuNodes);
  const { nodes, asics, servers } = plannedNodes(site, machines, budgets, power, groups);
  const pools = plannedPools(site, groups, power.capOf);
  const queues = queuePlan(site, pools);
  const { circuits, feeds, itWatts } = planLoads(site, machines, budgets, power);
  const curtailment = planCurtailment(site, machines, power, groups, asics, feeds);
  const warnings = planWarnings(site, { machines, budgets, power, circuits, nodes, servers, asics, pools, curtailment });

  let totalTflops = 0;
  gpuNodes.forEach((r) => (totalTflops += nodeThroughputTflops({ gpuCount: r.gpuCount, gpu: r.gpu! }, power.capOf.get(r.index)!)));
  const pue = site.power.pue;
  return withPartitions(site, {
    version: 1,
    site: { name: site.metadata.name, timezone: site.metadata.timezone, gridRegion: site.metadata.gridRegion, pue },
    network: {
      nodeSubnet: site.network.nodeSubnet,
      clusterCidr: site.network.clusterCidr,
      serviceCidr: site.network.serviceCidr,
      loadBalancerPool: site.network.loadBalancerPool ?? null,
      cni: site.network.cni,
      fabric: site.network.fabric,
    },
    kubernetes: {
      distribution: "k3s",
      version: site.kubernetes.version,
      apiEndpoint: site.kubernetes.apiEndpoint ?? servers[0]!.ip,
      servers: servers.map((s) => s.hostname),
      rollout: {
        maxUnavailable: String(site.kubernetes.rollout.maxUnavailable),
        agentBatch: agentBatchSize(site.kubernetes.rollout.maxUnavailable, nodes.filter((n) => n.k3sRole === "agent").length),
      },
      startTimeoutSeconds: site.kubernetes.startTimeoutSeconds,
    },
    mirror:
      site.mirror === undefined
        ? null
        : { artifacts: trimSlash(site.mirror.artifacts), registry: trimSlash(site.mirror.registry), charts: trimSlash(site.mirror.charts) },
    gpuOperator: {
      chartVersion: site.gpuOperator.chartVersion,
      driverMode: site.gpuOperator.driverMode,
      timeSlicingReplicas: site.gpuOperator.timeSlicingReplicas,
    },
    nodes,
    asics,
    retired,
    pools,
    queues,
    circuits,
    feeds,
    curtailment,
    totals: {
      machines: site.machines.length,
      nodes: nodes.length,
      gpus: gpuNodes.reduce((s, r) => s + r.gpuCount, 0),
      asics: asics.length,
      itWatts: roundWatts(itWatts),
      facilityWatts: roundWatts(itWatts * pue),
      // Facility watts the feeds could still deliver (what the site pays for and does not use).
      strandedWatts: feeds.reduce((s, f) => s + f.strandedWatts, 0),
      throughputTflops: round1(totalTflops),
    },
    warnings,
  });
}

/** Agents upgraded at once: a count as is, a percentage of `agents` rounded down; at least 1. */
export function agentBatchSize(maxUnavailable: number | string, agents: number): number {
  const n = typeof maxUnavailable === "number" ? maxUnavailable : Math.floor((agents * Number(maxUnavailable.slice(0, -1))) / 100);
  return Math.max(1, n);
}

function trimSlash(url: string | undefined): string | null {
  return url === undefined ? null : url.replace(/\/+$/, "");
}

/**
 * The validation warning for machines pulumi up would reach over SSH without a pinned host
 * key (`validate` prints it; `validate --strict` turns each into an error with file:line).
 * Kept out of `plan.warnings`, which are about power and capacity.
 */
export function unpinnedHostKeyWarning(plan: FarmPlan): string | null {
  const unpinned = plan.nodes.filter((n) => n.state !== "offline" && n.sshHostKey === undefined).map((n) => n.hostname);
  if (unpinned.length === 0) return null;
  const shown = unpinned.slice(0, 3).join(", ") + (unpinned.length > 3 ? ` and ${unpinned.length - 3} more` : "");
  return `${unpinned.length} machine${unpinned.length === 1 ? " has" : "s have"} no pinned SSH host key (${shown}): run 'mine2hpc hosts keyscan --write' and review the keys; 'mine2hpc validate --strict' makes this an error`;
}
