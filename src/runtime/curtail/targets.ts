/**
 * What one feed's curtailment acts on, as plain JSON: the ConfigMap the in-cluster jobs
 * read and what `mine2hpc miners` builds from the local plan. Built from the plan only
 * (pure, deterministic: same plan, byte-identical JSON). It holds addresses and planned
 * watts, never a credential (those come from the `mine2hpc-miner-credentials` Secret).
 */
import type { FarmPlan, PlannedAsic } from "../../plan/types.js";
import type { DriverName } from "../miners/types.js";

/** Version of the targets JSON. */
export const TARGETS_VERSION = 1;

/** One miner of a feed. */
export interface MinerTargetSpec {
  hostname: string;
  /** `null`: the site gives the miner no automation (no `minerApi`, no feed webhook). */
  driver: DriverName | null;
  host: string;
  port: number;
  /** Antminer only: port of the bmminer status API when not 4028 (simulators, port-forwarded sites). */
  statusPort?: number;
  /** Wall draw while hashing, in W (the plan's `drawWatts`). */
  plannedWatts: number;
  /** The miner's id in the fleet tool (the plan's `fleetId`), for the webhook body. */
  fleetId?: string;
}

/** One GPU node whose caps go to minimum in the `gpu-caps-to-min` stage. */
export interface GpuNodeTarget {
  hostname: string;
  /** Per-GPU cap the override label sets, in W. */
  minWatts: number;
  /** Facility power the node sheds going from its planned cap to `minWatts`, in W. */
  shedWatts: number;
}

/** A stage of the plan, as the controller runs it. */
export interface StageTarget {
  order: number;
  action: "asics-off" | "gpu-caps-to-min" | "drain-queue";
  /** Facility power the plan says the stage sheds, in W: the target a run must confirm. */
  shedWatts: number;
}

/** Everything one feed's curtailment acts on. */
export interface FeedTargets {
  version: typeof TARGETS_VERSION;
  feed: string;
  /** PUE of the site: miner wall watts × PUE = facility watts shed. */
  pue: number;
  stages: StageTarget[];
  miners: MinerTargetSpec[];
  /** The feed's fleet webhook (driver `webhook`), when the site names one; may carry a token, so it is shown redacted. */
  webhookUrl: string | null;
  gpuNodes: GpuNodeTarget[];
  clusterQueues: string[];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The miner a planned ASIC is driven through: the plan's `minerApi` (its URL, else its
 * firmware's port, else the feed's webhook; null: nothing automates it).
 */
export function minerTargetOf(a: PlannedAsic): MinerTargetSpec {
  const api = a.minerApi;
  const fleet = a.fleetId !== undefined ? { fleetId: a.fleetId } : {};
  if (api === null) return { hostname: a.hostname, driver: null, host: a.ip, port: 0, plannedWatts: a.drawWatts, ...fleet };
  return { hostname: a.hostname, driver: api.driver, host: api.driver === "webhook" ? a.ip : api.host, port: api.port, plannedWatts: a.drawWatts, ...fleet };
}

/** Targets of one non-firm feed; undefined when the plan has no curtailment for it. */
export function feedTargets(plan: FarmPlan, feedName: string): FeedTargets | undefined {
  const c = plan.curtailment.find((f) => f.feed === feedName);
  if (c === undefined) return undefined;
  const stages = [...c.stages].sort((a, b) => a.order - b.order);
  const asicHosts = new Set(stages.filter((s) => s.action === "asics-off").flatMap((s) => s.targets));
  const capPools = new Set(stages.filter((s) => s.action === "gpu-caps-to-min").flatMap((s) => s.targets));
  const drainPools = new Set(stages.filter((s) => s.action === "drain-queue").flatMap((s) => s.targets));
  const poolQueue = new Map(plan.pools.map((p) => [p.name, p.clusterQueue]));
  const pue = plan.site.pue;
  // Offline machines are planned as load (they can come back on) but nothing can command or
  // confirm them: they are left out of the targets, and their planned watts out of the stage
  // targets the controller checks, so one offline machine does not fail every window.
  const stageAsics = plan.asics.filter((a) => asicHosts.has(a.hostname));
  const offlineAsicWatts = stageAsics.filter((a) => a.state === "offline").reduce((sum, a) => sum + a.drawWatts * pue, 0);
  const miners = stageAsics
    .filter((a) => a.state !== "offline")
    .map((a) => minerTargetOf(a))
    .sort((a, b) => cmp(a.hostname, b.hostname));
  // Only nodes on this feed: a pool may span feeds, and the other feed is not curtailed.
  const feedGpuNodes = plan.nodes.filter((n) => n.feed === c.feed && n.pool !== undefined && capPools.has(n.pool) && n.gpu !== undefined);
  const nodeShedWatts = (n: (typeof feedGpuNodes)[number]): number => Math.round(((n.gpu!.count * (n.gpu!.capWatts - n.gpu!.minWatts)) / n.psuEfficiency) * pue);
  const offlineGpuWatts = feedGpuNodes.filter((n) => n.state === "offline").reduce((sum, n) => sum + nodeShedWatts(n), 0);
  const gpuNodes = feedGpuNodes
    .filter((n) => n.state !== "offline")
    .map((n) => ({ hostname: n.hostname, minWatts: n.gpu!.minWatts, shedWatts: nodeShedWatts(n) }))
    .sort((a, b) => cmp(a.hostname, b.hostname));
  const reachable = (s: (typeof stages)[number]): number =>
    s.action === "asics-off" ? Math.max(0, s.shedWatts - Math.round(offlineAsicWatts)) : s.action === "gpu-caps-to-min" ? Math.max(0, s.shedWatts - offlineGpuWatts) : s.shedWatts;
  const clusterQueues = [...new Set([...drainPools].map((p) => poolQueue.get(p)).filter((q): q is string => q !== undefined))].sort(cmp);
  return {
    version: TARGETS_VERSION,
    feed: c.feed,
    pue,
    stages: stages.map((s) => ({ order: s.order, action: s.action, shedWatts: reachable(s) })),
    miners,
    webhookUrl: c.asicWebhook,
    gpuNodes,
    clusterQueues,
  };
}

/**
 * Checks a targets JSON read from a file or ConfigMap; every problem is listed with its
 * JSON path, and nothing runs on a bad file.
 */
export function parseFeedTargets(text: string, where: string): FeedTargets {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON (${(e as Error).message}).\n  fix: regenerate it with 'pulumi up' (it is rendered from the plan).`);
  }
  const problems: string[] = [];
  const o = v as Partial<FeedTargets>;
  if (o === null || typeof o !== "object") problems.push("top level: expected an object");
  else {
    if (o.version !== TARGETS_VERSION) problems.push(`version: expected ${TARGETS_VERSION}, got ${JSON.stringify(o.version)}`);
    if (typeof o.feed !== "string" || o.feed === "") problems.push("feed: expected a feed name");
    if (typeof o.pue !== "number" || !(o.pue >= 1)) problems.push("pue: expected a number ≥ 1");
    if (!Array.isArray(o.stages)) problems.push("stages: expected a list");
    if (!Array.isArray(o.miners)) problems.push("miners: expected a list");
    else
      o.miners.forEach((m, i) => {
        if (typeof m?.hostname !== "string") problems.push(`miners[${i}].hostname: expected a string`);
        if (m?.driver !== null && !["luxos", "braiins", "antminer", "whatsminer", "webhook"].includes(m?.driver as string)) problems.push(`miners[${i}].driver: unknown driver ${JSON.stringify(m?.driver)}`);
        if (typeof m?.host !== "string" || typeof m?.port !== "number" || typeof m?.plannedWatts !== "number") problems.push(`miners[${i}]: expected host (string), port and plannedWatts (numbers)`);
        if (m?.fleetId !== undefined && (typeof m.fleetId !== "string" || m.fleetId === "")) problems.push(`miners[${i}].fleetId: expected the fleet tool's id (a non-empty string)`);
      });
    if (!Array.isArray(o.gpuNodes)) problems.push("gpuNodes: expected a list");
    if (!Array.isArray(o.clusterQueues)) problems.push("clusterQueues: expected a list");
  }
  if (problems.length > 0) throw new Error(`${where}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}\n  fix: regenerate it with 'pulumi up' (it is rendered from the plan).`);
  return o as FeedTargets;
}
