/**
 * The curtailment controller: runs a feed's stages in the plan's order and says what each
 * one is confirmed to have shed.
 *
 * start: 1. `asics-off`: every miner through its firmware driver (./miners.ts), confirmed
 *           per miner by the firmware's read-back;
 *        2. `gpu-caps-to-min`: the override label `mine2hpc.io/gpu-power-cap-override` set to
 *           each node's minimum, confirmed when the node's power agent reports the caps in
 *           force at that value (node condition `mine2hpc.io/PowerCapsInForce`, status True,
 *           written after the agent read every GPU's limit back; src/runtime/power-agent);
 *        3. `drain-queue`: the tier's Kueue ClusterQueues to `spec.stopPolicy: HoldAndDrain`
 *           (Kueue: "HoldAndDrain" evicts admitted workloads and admits no new ones), confirmed
 *           by the patched object reading back the policy.
 * end:   the reverse: ClusterQueues to `None`, override labels removed, miners resumed.
 *
 * Every stage runs even when an earlier one fell short (shedding what can be shed is the
 * safe side). The run is reported as structured log lines (one per miner and node), a
 * Kubernetes Event with the summary, and an exit code: 1 when a stage's confirmed shed is
 * below its target (start) or anything failed to restore (end), so the Job retries.
 */
import type { MinerResult } from "../miners/types.js";
import type { MinerCredentials } from "./credentials.js";
import { mapBounded, runMiners, type MinerRun, type RunMinersOptions } from "./miners.js";
import type { FeedTargets, StageTarget } from "./targets.js";

/** The override label the power agent applies while present (src/plan/types.ts LABELS.gpuPowerCapOverride). */
export const OVERRIDE_LABEL = "mine2hpc.io/gpu-power-cap-override";
/** Condition the power agent maintains on its node (src/runtime/power-agent/agent.ts CAPS_CONDITION_TYPE). */
export const CAPS_CONDITION = "mine2hpc.io/PowerCapsInForce";
/** Kueue ClusterQueue API path (the version today's jobs and the rendered objects use). */
export const CLUSTER_QUEUE_PATH = "/apis/kueue.x-k8s.io/v1beta2/clusterqueues";

/** The part of a Kubernetes client the controller needs (src/runtime/kube.ts `KubeClient` fits). */
export interface KubeLike {
  get<T = unknown>(path: string): Promise<T>;
  patch<T = unknown>(path: string, body: unknown, kind: "merge" | "json" | "strategic"): Promise<T>;
  post<T = unknown>(path: string, body: unknown): Promise<T>;
}

/** Structured logger (src/runtime/log.ts `Logger` fits). */
export interface LogLike {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** What an Event is about (the Job's pod in the cluster, from the downward API). */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

/** Options of {@link runCurtailment}. */
export interface CurtailmentOptions {
  phase: "start" | "end";
  targets: FeedTargets;
  credentials: MinerCredentials;
  /** Cluster access; null runs the miner stage only and reports the others as not run. */
  kube: KubeLike | null;
  log: LogLike;
  miners?: Omit<RunMinersOptions, "feed" | "webhookUrl" | "onResult">;
  /** Overrides the targets' webhook URL (the operator's ConfigMap, which may carry a token). */
  webhookUrl?: string | null;
  /** Seconds to wait for the power agents' read-back. @default 90 */
  gpuTimeoutSeconds?: number;
  /** Milliseconds between two reads of the nodes. @default 2000 */
  gpuPollMs?: number;
  /** Fraction of a stage's planned shed that must be confirmed. @default 1 */
  minShedFraction?: number;
  /** Namespace and object of the summary Event; no Event without them. */
  event?: { namespace: string; involved: InvolvedObject; component: string };
  now?: () => number;
}

/** Outcome of one stage. */
export interface StageReport {
  order: number;
  action: StageTarget["action"];
  /** Facility watts the plan says the stage sheds. */
  plannedWatts: number;
  /** Facility watts confirmed shed (start) or restored (end). */
  confirmedWatts: number;
  /** Whether the stage met its target. */
  met: boolean;
  /** One line for people. */
  summary: string;
  elapsedMs: number;
  /** asics-off: per miner. */
  miners?: MinerRun;
  /** gpu-caps-to-min: per node. */
  nodes?: { hostname: string; confirmed: boolean; reason: string }[];
  /** drain-queue: per ClusterQueue. */
  queues?: { name: string; confirmed: boolean; reason: string }[];
}

/** Outcome of a run. */
export interface CurtailmentReport {
  feed: string;
  phase: "start" | "end";
  stages: StageReport[];
  plannedWatts: number;
  confirmedWatts: number;
  ok: boolean;
  exitCode: 0 | 1;
}

const kw = (w: number) => `${(w / 1000).toFixed(1)} kW`;

async function minersStage(o: CurtailmentOptions, stage: StageTarget): Promise<StageReport> {
  const t = o.targets;
  const start = Date.now();
  const op = o.phase === "start" ? "curtail" : "resume";
  const run = await runMiners(t.miners, op, o.credentials, {
    ...(o.miners ?? {}),
    feed: t.feed,
    webhookUrl: o.webhookUrl !== undefined ? o.webhookUrl : t.webhookUrl,
    onResult: (r: MinerResult) => {
      const fields = { feed: t.feed, stage: stage.action, miner: r.hostname, driver: r.driver, outcome: r.outcome, reason: r.reason, hashrateGhs: r.hashrateGhs, powerWatts: r.powerWatts, attempts: r.attempts, elapsedMs: r.elapsedMs };
      if (r.outcome === "confirmed") o.log.info(`miner ${op} confirmed`, fields);
      else o.log.warn(`miner ${op} ${r.outcome}`, fields);
    },
  });
  const confirmed = Math.round(run.confirmedWatts * t.pue);
  const planned = stage.shedWatts;
  const fraction = o.minShedFraction ?? 1;
  // 1 W of slack: the plan rounds the stage's facility watts once, the sum here per run.
  const met = o.phase === "start" ? confirmed >= planned * fraction - 1 : run.counts.confirmed === t.miners.length;
  const verb = o.phase === "start" ? "shed" : "restored";
  return {
    order: stage.order,
    action: stage.action,
    plannedWatts: planned,
    confirmedWatts: confirmed,
    met,
    summary: `${stage.action}: ${kw(confirmed)} of ${kw(planned)} confirmed ${verb} (${run.counts.confirmed} confirmed, ${run.counts.failed} failed, ${run.counts.unreachable} unreachable of ${t.miners.length} miners)`,
    elapsedMs: Date.now() - start,
    miners: run,
  };
}

interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

/**
 * Whether the agent reports the caps in force at `watts` since `since`: the condition is
 * True, names the target (`… (W W on N GPUs)` or `i: W W, …`, agent.ts `describeTargets`)
 * and was written after the label change (a True from before is the old cap).
 */
export function capsConfirmed(conditions: NodeCondition[] | undefined, watts: number, since: number): { ok: boolean; reason: string } {
  const c = (conditions ?? []).find((x) => x.type === CAPS_CONDITION);
  if (c === undefined) return { ok: false, reason: `no ${CAPS_CONDITION} condition (is the power agent running on the node?)` };
  const written = Date.parse(c.lastHeartbeatTime ?? c.lastTransitionTime ?? "");
  // Condition times have second resolution: allow the second the label was set in.
  if (!(written >= Math.floor(since / 1000) * 1000)) return { ok: false, reason: `${CAPS_CONDITION} not updated since the override was set` };
  if (c.status !== "True") return { ok: false, reason: `${CAPS_CONDITION}=${c.status}: ${c.reason ?? ""} ${c.message ?? ""}`.trim() };
  const message = c.message ?? "";
  const all = [...message.matchAll(/(\d+) W/g)].map((m) => Number(m[1]));
  if (all.length === 0 || all.some((w) => w !== watts)) return { ok: false, reason: `caps in force, but not at ${watts} W: ${message}` };
  return { ok: true, reason: message };
}

async function gpuStage(o: CurtailmentOptions, stage: StageTarget): Promise<StageReport> {
  const t = o.targets;
  const start = Date.now();
  const now = o.now ?? Date.now;
  const base = { order: stage.order, action: stage.action, plannedWatts: stage.shedWatts, elapsedMs: 0 };
  // Nothing to act on: met only when the plan expects nothing from the stage either.
  if (t.gpuNodes.length === 0) return { ...base, confirmedWatts: 0, met: stage.shedWatts <= 1 || o.phase === "end", summary: `${stage.action}: no GPU node on this feed`, nodes: [] };
  if (o.kube === null) return { ...base, confirmedWatts: 0, met: false, summary: `${stage.action}: not run (no cluster access)`, nodes: [] };
  const kube = o.kube;
  const lowering = o.phase === "start";
  const setAt = now();
  const state = new Map<string, { confirmed: boolean; reason: string }>();
  await mapBounded(t.gpuNodes, 20, async (n) => {
    try {
      await kube.patch(`/api/v1/nodes/${encodeURIComponent(n.hostname)}`, { metadata: { labels: { [OVERRIDE_LABEL]: lowering ? String(n.minWatts) : null } } }, "merge");
      state.set(n.hostname, { confirmed: false, reason: "label set; waiting for the power agent's read-back" });
      o.log.info(lowering ? "override label set" : "override label removed", { feed: t.feed, node: n.hostname, label: OVERRIDE_LABEL, watts: lowering ? n.minWatts : null });
    } catch (e) {
      state.set(n.hostname, { confirmed: false, reason: `label patch failed: ${(e as Error).message}` });
      o.log.warn("override label patch failed", { feed: t.feed, node: n.hostname, error: (e as Error).message });
    }
  });
  if (lowering) {
    const deadline = Date.now() + (o.gpuTimeoutSeconds ?? 90) * 1000;
    const pollMs = o.gpuPollMs ?? 2000;
    // Bounded: one read of each pending node per poll until the deadline.
    for (let poll = 0; poll < 100_000; poll++) {
      const pending = t.gpuNodes.filter((n) => state.get(n.hostname)?.reason.startsWith("label set") || state.get(n.hostname)?.reason.startsWith("waiting:"));
      if (pending.length === 0) break;
      await mapBounded(pending, 20, async (n) => {
        try {
          const node = await kube.get<{ status?: { conditions?: NodeCondition[] } }>(`/api/v1/nodes/${encodeURIComponent(n.hostname)}`);
          const c = capsConfirmed(node.status?.conditions, n.minWatts, setAt);
          state.set(n.hostname, c.ok ? { confirmed: true, reason: c.reason } : { confirmed: false, reason: `waiting: ${c.reason}` });
        } catch (e) {
          state.set(n.hostname, { confirmed: false, reason: `waiting: node read failed: ${(e as Error).message}` });
        }
      });
      if (Date.now() + pollMs >= deadline) break;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } else {
    // Removing the override lets the agent go back to the planned cap; the label read-back is the confirmation.
    for (const n of t.gpuNodes) {
      const s = state.get(n.hostname)!;
      if (s.reason.startsWith("label set")) state.set(n.hostname, { confirmed: true, reason: "override removed; the agent restores the planned cap" });
    }
  }
  const nodes = t.gpuNodes.map((n) => ({ hostname: n.hostname, ...state.get(n.hostname)! }));
  for (const n of nodes) if (!n.confirmed) o.log.warn("GPU caps not confirmed", { feed: t.feed, node: n.hostname, reason: n.reason });
  const confirmed = t.gpuNodes.filter((n) => state.get(n.hostname)!.confirmed).reduce((s, n) => s + n.shedWatts, 0);
  const count = nodes.filter((n) => n.confirmed).length;
  const met = lowering ? confirmed >= stage.shedWatts * (o.minShedFraction ?? 1) - 1 && count === nodes.length : count === nodes.length;
  return {
    ...base,
    confirmedWatts: confirmed,
    met,
    summary: `${stage.action}: ${kw(confirmed)} of ${kw(stage.shedWatts)} confirmed ${lowering ? "shed" : "restored"} (${count} of ${nodes.length} nodes ${lowering ? "read back at minimum" : "released"})`,
    elapsedMs: Date.now() - start,
    nodes,
  };
}

async function queueStage(o: CurtailmentOptions, stage: StageTarget): Promise<StageReport> {
  const t = o.targets;
  const start = Date.now();
  const base = { order: stage.order, action: stage.action, plannedWatts: stage.shedWatts };
  if (t.clusterQueues.length === 0) return { ...base, confirmedWatts: 0, met: stage.shedWatts <= 1 || o.phase === "end", summary: `${stage.action}: no ClusterQueue to hold`, elapsedMs: 0, queues: [] };
  if (o.kube === null) return { ...base, confirmedWatts: 0, met: false, summary: `${stage.action}: not run (no cluster access)`, elapsedMs: 0, queues: [] };
  const policy = o.phase === "start" ? "HoldAndDrain" : "None";
  const queues: { name: string; confirmed: boolean; reason: string }[] = [];
  for (const q of t.clusterQueues) {
    try {
      const back = await o.kube.patch<{ spec?: { stopPolicy?: string } }>(`${CLUSTER_QUEUE_PATH}/${encodeURIComponent(q)}`, { spec: { stopPolicy: policy } }, "merge");
      const ok = (back?.spec?.stopPolicy ?? "None") === policy;
      queues.push({ name: q, confirmed: ok, reason: ok ? `stopPolicy=${policy}` : `patched, but reads back stopPolicy=${back?.spec?.stopPolicy ?? "None"}` });
      o.log.info(`ClusterQueue stopPolicy=${policy}`, { feed: t.feed, clusterQueue: q, confirmed: ok });
    } catch (e) {
      queues.push({ name: q, confirmed: false, reason: `patch failed: ${(e as Error).message}` });
      o.log.warn("ClusterQueue patch failed", { feed: t.feed, clusterQueue: q, error: (e as Error).message });
    }
  }
  const all = queues.every((q) => q.confirmed);
  // The drain's watts are not metered: held queues evict within the workloads' grace period.
  return {
    ...base,
    confirmedWatts: all && o.phase === "start" ? stage.shedWatts : 0,
    met: all,
    summary: `${stage.action}: ${queues.filter((q) => q.confirmed).length} of ${queues.length} ClusterQueues ${policy === "None" ? "released" : "held and draining"} (drain watts assumed, not metered)`,
    elapsedMs: Date.now() - start,
    queues,
  };
}

/** Runs the feed's stages for `phase`; see the module comment. Never throws for a device's failure. */
export async function runCurtailment(o: CurtailmentOptions): Promise<CurtailmentReport> {
  const stages = [...o.targets.stages].sort((a, b) => a.order - b.order);
  // End restores in reverse: release the queues and caps before waking the miners.
  const ordered = o.phase === "start" ? stages : [...stages].reverse();
  const reports: StageReport[] = [];
  for (const s of ordered) {
    o.log.info(`stage ${s.action}`, { feed: o.targets.feed, phase: o.phase, order: s.order, plannedWatts: s.shedWatts });
    const r = s.action === "asics-off" ? await minersStage(o, s) : s.action === "gpu-caps-to-min" ? await gpuStage(o, s) : await queueStage(o, s);
    (r.met ? o.log.info : o.log.warn)(r.summary, { feed: o.targets.feed, phase: o.phase, stage: s.action, plannedWatts: r.plannedWatts, confirmedWatts: r.confirmedWatts, met: r.met, elapsedMs: r.elapsedMs });
    reports.push(r);
  }
  const ok = reports.every((r) => r.met);
  const report: CurtailmentReport = {
    feed: o.targets.feed,
    phase: o.phase,
    stages: reports,
    plannedWatts: reports.reduce((s, r) => s + r.plannedWatts, 0),
    confirmedWatts: reports.reduce((s, r) => s + r.confirmedWatts, 0),
    ok,
    exitCode: ok ? 0 : 1,
  };
  if (o.kube !== null && o.event !== undefined) await postEvent(o.kube, o, report);
  return report;
}

/** One Event with the run's summary (Normal when every stage met its target, else Warning). */
export function summaryEvent(o: Pick<CurtailmentOptions, "event" | "now">, r: CurtailmentReport): Record<string, unknown> {
  const at = new Date((o.now ?? Date.now)()).toISOString().replace(/\.\d{3}Z$/, "Z");
  const e = o.event!;
  const lines = r.stages.map((s) => s.summary).join("; ");
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { generateName: `mine2hpc-curtail-${r.feed}-`, namespace: e.namespace },
    involvedObject: e.involved,
    type: r.ok ? "Normal" : "Warning",
    reason: r.phase === "start" ? (r.ok ? "CurtailmentConfirmed" : "CurtailmentShort") : r.ok ? "CurtailmentRestored" : "CurtailmentRestoreIncomplete",
    message: `feed ${r.feed} ${r.phase}: ${kw(r.confirmedWatts)} of ${kw(r.plannedWatts)} confirmed; ${lines}`.slice(0, 1024),
    source: { component: e.component },
    reportingComponent: e.component,
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
}

async function postEvent(kube: KubeLike, o: CurtailmentOptions, r: CurtailmentReport): Promise<void> {
  try {
    await kube.post(`/api/v1/namespaces/${encodeURIComponent(o.event!.namespace)}/events`, summaryEvent(o, r));
  } catch (e) {
    // The log has everything; a missing Event must not fail a curtailment that worked.
    o.log.warn("cannot post the summary Event", { error: (e as Error).message });
  }
}
