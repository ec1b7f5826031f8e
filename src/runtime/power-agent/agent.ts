/**
 * The power agent's control loop: keeps every GPU of one node at its planned power cap.
 *
 * Order of things, which is the point of it:
 * 1. **Fail-safe first**, before any API request: read the safe cap the host bootstrap wrote
 *    (`/etc/mine2hpc/gpu-power-cap`, watts) and lower every GPU above it to it (each GPU's
 *    minimum when the file is absent). A limit already at or below it is kept: before the agent
 *    has read the node it cannot know a curtailment is not lowering the caps right now.
 * 2. Watch its own Node (`fieldSelector=metadata.name=NODE`): the target is the
 *    `mine2hpc.io/gpu-power-cap-override` label when present, else `mine2hpc.io/gpu-power-cap`,
 *    clamped per GPU to the driver's settable range. A label change starts a pass at once.
 * 3. Every interval (and on each label change): query, set what differs (`-pl`), enable
 *    persistence mode, read back. Caps are **in force** when every GPU's `power.limit`, read back,
 *    equals its target. Only then is the `mine2hpc.io/power-unverified:NoSchedule` taint removed;
 *    it is put back when a limit cannot be corrected, the driver does not answer, or a GPU's
 *    limit cannot be set at all. The node condition `mine2hpc.io/PowerCapsInForce` and an Event
 *    say why. The condition is written when its outcome changes, after every label change, and
 *    every pass while a curtailment override is in force (the curtailment job's confirmation).
 * 4. An unreachable API changes nothing on the GPUs: the last target read is re-applied and
 *    read back every interval; before any was read, the safe cap only lowers limits above it
 *    (a limit below it may be a curtailment in force).
 * 5. On SIGTERM the agent stops without touching the limits: restoring defaults when a pod is
 *    replaced would put full TDP on a planned circuit.
 */
import { readFile } from "node:fs/promises";
import { LABELS, POWER_UNVERIFIED_TAINT } from "../../plan/types.js";
import { KubeApiError, sleep, watchCollection, type KubeClient, type KubeObject } from "../kube.js";
import type { Logger } from "../log.js";
import { CAPS_CONDITION_TYPE, SAFE_CAP_FILE } from "./constants.js";
import type { AgentMetrics, GpuMetrics } from "./metrics.js";

export { CAPS_CONDITION_TYPE, SAFE_CAP_FILE };
import { clampCap, enablePersistence, queryGpus, setPowerLimit, settableRange, wattsOf, type GpuReading, type SmiRunner } from "./smi.js";

/** How long the first pass waits for the node's labels before aiming at the safe cap, in ms. */
export const FIRST_READ_WAIT_MS = 5_000;

/** Component name on Events and in logs. */
export const AGENT_COMPONENT = "mine2hpc-power-agent";

/** Milliseconds one nvidia-smi run may take (a wedged driver must not stall the loop). */
export const SMI_TIMEOUT_MS = 20_000;

/** A Node as far as the agent reads it. */
export interface NodeObject extends KubeObject {
  metadata?: { name?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: { taints?: Array<{ key: string; value?: string; effect: string; timeAdded?: string }> };
}

/** Options of {@link PowerAgent}. */
export interface AgentOptions {
  node: string;
  client: KubeClient;
  smi: SmiRunner;
  /** Seconds between passes. */
  intervalSeconds: number;
  /** @default SAFE_CAP_FILE */
  safeCapFile?: string;
  /** Queries only: never -pl or -pm, never an API write. */
  dryRun?: boolean;
  log: Logger;
  /** Aborting ends {@link PowerAgent.run} without touching any limit. */
  signal: AbortSignal;
  /** Reconnect backoff of the node watch, in ms. @default { initialMs: 500, maxMs: 30_000 } */
  watchBackoff?: { initialMs: number; maxMs: number };
  /** Server-side timeout of one watch stream, in s. @default 300 */
  watchTimeoutSeconds?: number;
  now?: () => number;
}

/** Per-GPU outcome of a pass. */
export interface GpuState {
  uuid: string;
  index: number;
  name: string;
  /** Settable range in whole watts, null when the driver gives none. */
  range: { min: number; max: number } | null;
  target: number | null;
  /** Limit before the pass and after read-back, in W. */
  before: number | null;
  after: number | null;
  draw: number | null;
  /** What the pass did or would do (dry run). */
  action: "kept" | "set" | "would-set" | "not-settable" | "set-failed";
  inForce: boolean;
  detail?: string;
}

/** Why caps are not in force, as the condition's reason. */
export type NotInForceReason = "DriverNotReady" | "LimitNotSettable" | "CannotCorrectLimit" | "CapBelowMinimum" | "Pending";

/** Outcome of one pass. */
export interface PassResult {
  capsInForce: boolean;
  reason: NotInForceReason | "CapsInForce";
  message: string;
  gpus: GpuState[];
  /** The cap the pass aimed at before clamping, and where it came from. */
  desired: number | null;
  source: "override-label" | "label" | "safe-cap-file" | "gpu-minimum";
}

/** Reads the safe cap file: watts, null when absent; an unreadable value is logged and ignored. */
export async function readSafeCap(file: string, log: Logger): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") log.warn("cannot read the safe cap file; using each GPU's minimum", { file, error: code ?? (err as Error).message });
    return null;
  }
  const v = text.trim();
  if (!/^\d+$/.test(v) || Number(v) <= 0) {
    log.error("the safe cap file does not hold a positive integer of watts; using each GPU's minimum", { file, content: v.slice(0, 40) });
    return null;
  }
  return Number(v);
}

/** The cap the node's labels ask for: the override while present, else the planned cap; null when neither is a valid integer. */
export function capFromLabels(labels: Record<string, string> | undefined, log?: Logger): { watts: number; source: "override-label" | "label" } | null {
  for (const [key, source] of [
    [LABELS.gpuPowerCapOverride, "override-label"],
    [LABELS.gpuPowerCap, "label"],
  ] as const) {
    const v = labels?.[key];
    if (v === undefined) continue;
    if (/^\d+$/.test(v) && Number(v) > 0) return { watts: Number(v), source };
    log?.error("node label is not a positive integer of watts; ignored", { label: key, value: v.slice(0, 63) });
  }
  return null;
}

/** The control loop of one node; see the module comment. */
export class PowerAgent {
  private readonly o: AgentOptions;
  private readonly now: () => number;
  private safeCap: number | null = null;
  private labelCap: { watts: number; source: "override-label" | "label" } | null = null;
  private node: NodeObject | null = null;
  private wake: (() => void) | null = null;
  private pending = false;
  private verified = new Map<string, number>();
  private corrections = new Map<string, number>();
  /** Condition last written (null: write at the next pass), and the last outcome published (for one Event per transition). */
  private conditionSent: string | null = null;
  private lastPublished: string | null = null;
  /** Status of the condition and when it last changed (kept across heartbeats, as Kubernetes conditions do). */
  private transition: { status: string; at: string } | null = null;
  private lastPass: PassResult | null = null;
  private lastSuccess: number | null = null;
  private lastTick = 0;
  private passes = 0;
  private apiErrors = 0;
  private driverReady = false;
  /** GPUs as the last query parsed them (the dry-run report prints them). */
  lastReadings: GpuReading[] = [];

  private nodeRead: () => void = () => undefined;
  private readonly firstNode = new Promise<void>((resolve) => (this.nodeRead = resolve));

  constructor(o: AgentOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  /** Last pass, for --once and the dry-run report. */
  get result(): PassResult | null {
    return this.lastPass;
  }

  /** Metrics snapshot. */
  metrics(): AgentMetrics {
    const gpus: GpuMetrics[] = (this.lastPass?.gpus ?? []).map((g) => ({
      uuid: g.uuid,
      index: g.index,
      targetWatts: g.target,
      limitWatts: g.after,
      drawWatts: g.draw,
      driftCorrections: this.corrections.get(g.uuid) ?? 0,
    }));
    return {
      node: this.o.node,
      gpus,
      capsInForce: this.lastPass?.capsInForce ?? false,
      driverReady: this.driverReady,
      lastSuccessSeconds: this.lastSuccess === null ? null : Math.floor(this.lastSuccess / 1000),
      passes: this.passes,
      apiErrors: this.apiErrors,
    };
  }

  /** True while the loop keeps ticking: three intervals plus two nvidia-smi deadlines of slack. */
  healthy(): boolean {
    return this.now() - this.lastTick < 3 * this.o.intervalSeconds * 1000 + 2 * this.o.smi.timeoutMs + 5_000;
  }

  /**
   * Step 1, before any API request: lower every GPU above the safe cap to it. Returns false
   * when the driver did not answer (the loop keeps trying every interval).
   */
  async failSafe(): Promise<boolean> {
    this.safeCap = await readSafeCap(this.o.safeCapFile ?? SAFE_CAP_FILE, this.o.log);
    const q = await queryGpus(this.o.smi);
    if ("error" in q) {
      this.driverReady = false;
      this.o.log.warn("driver not ready: cannot apply the safe cap yet; retrying every interval", { error: q.error });
      return false;
    }
    this.driverReady = true;
    for (const gpu of q.gpus) {
      if (this.o.signal.aborted) return true;
      const range = settableRange(gpu);
      const limit = wattsOf(gpu.limit);
      if (range === null || limit === null) {
        this.o.log.warn("GPU power limit not settable; cannot apply the safe cap", { uuid: gpu.uuid, index: gpu.index, limit: show(gpu.limit), min: show(gpu.minLimit), max: show(gpu.maxLimit) });
        continue;
      }
      const safe = clampCap(this.safeCap ?? range.min, range);
      await this.persistence(gpu);
      if (limit <= safe + 0.5) {
        this.o.log.info("safe cap: limit already at or below it; kept", { uuid: gpu.uuid, index: gpu.index, limit, safeCap: safe });
        continue;
      }
      if (this.o.dryRun) {
        this.o.log.info("safe cap: would lower the limit (dry run)", { uuid: gpu.uuid, index: gpu.index, limit, safeCap: safe });
        continue;
      }
      const r = await setPowerLimit(this.o.smi, gpu.uuid, safe);
      if (r.ok) this.o.log.info("safe cap applied", { uuid: gpu.uuid, index: gpu.index, from: limit, to: safe, source: this.safeCap !== null ? "safe-cap-file" : "gpu-minimum" });
      else this.o.log.error("cannot apply the safe cap", { uuid: gpu.uuid, index: gpu.index, to: safe, error: r.error });
    }
    return true;
  }

  /** Runs until the signal aborts: fail-safe, watch, a pass per interval or label change. */
  async run(): Promise<void> {
    this.lastTick = this.now();
    await this.failSafe();
    const watch = this.o.signal.aborted ? Promise.resolve() : this.watchNode();
    // The first pass aims at the node's label when the API answers in time, else at the safe cap.
    await Promise.race([this.firstNode, sleep(FIRST_READ_WAIT_MS, this.o.signal)]);
    while (!this.o.signal.aborted) {
      this.lastTick = this.now();
      this.pending = false;
      await this.pass();
      if (this.o.signal.aborted || this.pending) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.o.signal.removeEventListener("abort", done);
          this.wake = null;
          resolve();
        };
        const t = setTimeout(done, this.o.intervalSeconds * 1000);
        this.o.signal.addEventListener("abort", done, { once: true });
        // A label change (watch) ends the wait early.
        this.wake = done;
      });
    }
    await watch;
  }

  /** One-shot: fail-safe, read the node once, one pass. */
  async once(): Promise<PassResult> {
    await this.failSafe();
    await this.readNode();
    return this.pass();
  }

  /** GETs the node once (--once); an unreachable API keeps the safe cap as the target. */
  async readNode(): Promise<void> {
    try {
      this.onNode(await this.o.client.get<NodeObject>(`/api/v1/nodes/${encodeURIComponent(this.o.node)}`, { signal: this.o.signal }), false);
    } catch (err) {
      this.apiErrors++;
      this.o.log.warn("cannot read the node from the API; keeping the current target", { error: (err as Error).message });
    }
  }

  private watchNode(): Promise<void> {
    return watchCollection<NodeObject>(this.o.client, {
      path: "/api/v1/nodes",
      fieldSelector: `metadata.name=${this.o.node}`,
      signal: this.o.signal,
      ...(this.o.watchBackoff ? { backoff: this.o.watchBackoff } : {}),
      ...(this.o.watchTimeoutSeconds !== undefined ? { timeoutSeconds: this.o.watchTimeoutSeconds } : {}),
      onList: (items) => {
        const node = items.find((n) => n.metadata?.name === this.o.node);
        if (node) this.onNode(node, true);
        else this.o.log.error("node not found in the API; keeping the current target", { node: this.o.node });
      },
      onEvent: (type, node) => {
        if (type !== "DELETED") this.onNode(node, true);
      },
      onError: (err, delayMs) => {
        this.apiErrors++;
        this.o.log.warn("node watch failed; keeping the current caps and retrying", { error: err.message, retryInMs: delayMs });
      },
    });
  }

  /** A fresh Node from the API: remember it; a new target starts a pass now. */
  private onNode(node: NodeObject, trigger: boolean): void {
    this.node = node;
    this.nodeRead();
    const cap = capFromLabels(node.metadata?.labels, this.o.log);
    const changed = cap?.watts !== this.labelCap?.watts || cap?.source !== this.labelCap?.source;
    // A node without valid labels keeps the last known target (the safe cap before any).
    if (cap !== null) this.labelCap = cap;
    if (changed && cap !== null) {
      // Re-written even when the outcome reads the same: a curtailment job waits for a condition newer than its label.
      this.conditionSent = null;
      this.o.log.info("target from node labels", { watts: cap.watts, source: cap.source });
      if (trigger) {
        this.pending = true;
        this.wake?.();
      }
    }
  }

  private desired(): { desired: number | null; source: PassResult["source"] } {
    if (this.labelCap !== null) return { desired: this.labelCap.watts, source: this.labelCap.source };
    if (this.safeCap !== null) return { desired: this.safeCap, source: "safe-cap-file" };
    return { desired: null, source: "gpu-minimum" };
  }

  private async persistence(gpu: GpuReading): Promise<void> {
    if (gpu.persistence !== false || this.o.dryRun || this.o.signal.aborted) return;
    const r = await enablePersistence(this.o.smi, gpu.uuid);
    if (r.ok) this.o.log.info("persistence mode enabled", { uuid: gpu.uuid, index: gpu.index });
    else this.o.log.warn("cannot enable persistence mode (limits may reset when the driver unloads)", { uuid: gpu.uuid, index: gpu.index, error: r.error });
  }

  /** Step 3: apply, read back, then taint, condition and metrics from the outcome. */
  async pass(): Promise<PassResult> {
    this.passes++;
    const { desired, source } = this.desired();
    const result = await this.applyAndReadBack(desired, source);
    this.lastPass = result;
    if (result.capsInForce) this.lastSuccess = this.now();
    if (!this.o.dryRun && !this.o.signal.aborted) await this.publish(result);
    return result;
  }

  private async applyAndReadBack(desired: number | null, source: PassResult["source"]): Promise<PassResult> {
    const q = await queryGpus(this.o.smi);
    if ("error" in q) {
      this.driverReady = false;
      this.o.log.warn("driver not ready: nvidia-smi failed; node stays tainted, retrying every interval", { error: q.error });
      return { capsInForce: false, reason: "DriverNotReady", message: `nvidia-smi failed: ${q.error}`, gpus: [], desired, source };
    }
    this.driverReady = true;
    this.lastReadings = q.gpus;
    const gpus: GpuState[] = [];
    let setAny = false;
    for (const gpu of q.gpus) {
      const range = settableRange(gpu);
      const before = wattsOf(gpu.limit);
      const base = { uuid: gpu.uuid, index: gpu.index, name: gpu.name, range, before, after: before, draw: wattsOf(gpu.draw) };
      if (range === null) {
        gpus.push({ ...base, target: null, action: "not-settable", inForce: false, detail: `limit ${show(gpu.limit)}, range ${show(gpu.minLimit)}..${show(gpu.maxLimit)}` });
        continue;
      }
      // Until a label has been read (API unreachable since the start, or no valid label) the
      // safe level only lowers, as in failSafe: a lower limit may be a curtailment in force
      // that this agent cannot see, and raising it would undo the curtailment.
      const aim = desired ?? range.min;
      const labelRead = source === "label" || source === "override-label";
      const target = clampCap(!labelRead && before !== null ? Math.min(aim, before) : aim, range);
      await this.persistence(gpu);
      if (before !== null && Math.abs(before - target) < 0.5) {
        gpus.push({ ...base, target, action: "kept", inForce: true });
        continue;
      }
      if (this.o.dryRun || this.o.signal.aborted) {
        gpus.push({ ...base, target, action: "would-set", inForce: false });
        continue;
      }
      // A limit that moved off a target already verified is drift (driver reload, another tool).
      if (this.verified.get(gpu.uuid) === target) {
        this.corrections.set(gpu.uuid, (this.corrections.get(gpu.uuid) ?? 0) + 1);
        this.o.log.warn("drift: limit moved off its verified target; correcting", { uuid: gpu.uuid, index: gpu.index, limit: before, target });
      }
      const r = await setPowerLimit(this.o.smi, gpu.uuid, target);
      setAny = true;
      if (r.ok) {
        this.o.log.info("power limit set", { uuid: gpu.uuid, index: gpu.index, from: before, to: target, desired, source });
        gpus.push({ ...base, target, action: "set", inForce: false });
      } else {
        this.o.log.error("cannot set the power limit", { uuid: gpu.uuid, index: gpu.index, to: target, error: r.error });
        gpus.push({ ...base, target, action: "set-failed", inForce: false, detail: r.error ?? "failed" });
      }
    }
    if (setAny) {
      // Read back: only what the driver reports counts.
      const back = await queryGpus(this.o.smi);
      if ("error" in back) {
        this.driverReady = false;
        return { capsInForce: false, reason: "DriverNotReady", message: `read-back failed: ${back.error}`, gpus, desired, source };
      }
      const byUuid = new Map(back.gpus.map((g) => [g.uuid, g]));
      for (const g of gpus) {
        if (g.action !== "set" && g.action !== "set-failed") continue;
        const read = byUuid.get(g.uuid);
        g.after = read ? wattsOf(read.limit) : null;
        g.draw = read ? wattsOf(read.draw) : g.draw;
        g.inForce = g.after !== null && g.target !== null && Math.abs(g.after - g.target) < 0.5;
        if (!g.inForce && g.action === "set") g.detail = `read back ${g.after ?? "nothing"} W after setting ${g.target} W`;
      }
    }
    for (const g of gpus) if (g.inForce && g.target !== null) this.verified.set(g.uuid, g.target);
    const notSettable = gpus.filter((g) => g.action === "not-settable");
    const failed = gpus.filter((g) => !g.inForce && g.action !== "not-settable" && g.action !== "would-set");
    const dry = gpus.filter((g) => g.action === "would-set");
    if (notSettable.length > 0) {
      return { capsInForce: false, reason: "LimitNotSettable", message: `power limit not settable on GPU ${notSettable.map((g) => `${g.index} (${g.detail})`).join(", ")}`, gpus, desired, source };
    }
    if (failed.length > 0) {
      return { capsInForce: false, reason: "CannotCorrectLimit", message: `limit not at target on GPU ${failed.map((g) => `${g.index} (${g.detail ?? "mismatch"})`).join(", ")}`, gpus, desired, source };
    }
    // A planned cap below the board's minimum: the GPU now sits at its minimum (the lowest it
    // can go, so the safest action was taken) but draws more than the plan budgeted for its
    // circuit and phase. That is not the plan in force: keep the node tainted and say so, so
    // the operator corrects the catalog's minimum (site `catalog.gpus[]`) and re-plans.
    const belowMin = desired === null || source === "gpu-minimum" ? [] : gpus.filter((g) => g.range !== null && g.target !== null && desired < g.range.min - 0.5);
    if (belowMin.length > 0 && dry.length === 0) {
      return {
        capsInForce: false,
        reason: "CapBelowMinimum",
        message: `planned ${desired} W is below the settable minimum of GPU ${belowMin.map((g) => `${g.index} (${g.range!.min} W)`).join(", ")}: held at the minimum, which draws more than planned; set the model's minWatts in the site catalog to the driver's minimum and re-plan`,
        gpus,
        desired,
        source,
      };
    }
    if (dry.length > 0) {
      return { capsInForce: false, reason: "Pending", message: `dry run: would set GPU ${dry.map((g) => `${g.index} ${g.before ?? "?"}→${g.target} W`).join(", ")}`, gpus, desired, source };
    }
    return { capsInForce: true, reason: "CapsInForce", message: `every GPU's limit read back at its target (${describeTargets(gpus)})`, gpus, desired, source };
  }

  /** Taint, condition, event: what the API should say about this pass. Failures are logged, never thrown. */
  private async publish(r: PassResult): Promise<void> {
    if (this.node === null) return; // never read: nothing to compare a taint list against
    // The labels changed during the pass: its outcome is for an old target; the next pass publishes.
    if (this.desired().desired !== r.desired) return;
    try {
      // Taint off only on confirmation; on while a cap cannot be confirmed (a target change in flight is neither).
      if (r.capsInForce) await this.setTaint(false);
      else await this.setTaint(true);
      const key = `${r.capsInForce}/${r.reason}/${r.message}`;
      // While a curtailment override is in force the condition is written every pass (a
      // heartbeat): a curtailment job that runs again (Job retry, a second dispatch) sets the
      // same label, which changes nothing this agent can see, and it waits for a condition
      // written after its request (src/runtime/curtail/controller.ts capsConfirmed).
      const heartbeat = this.labelCap?.source === "override-label";
      if (key !== this.conditionSent || heartbeat) {
        await this.patchCondition(r);
        if (!r.capsInForce && !this.lastPublished?.startsWith("false/")) await this.postEvent(r);
        this.conditionSent = key;
        this.lastPublished = key;
      }
    } catch (err) {
      this.apiErrors++;
      this.o.log.warn("cannot update the node in the API; caps are applied regardless", { error: (err as Error).message });
    }
  }

  private hasTaint(node: NodeObject): boolean {
    return (node.spec?.taints ?? []).some((t) => t.key === POWER_UNVERIFIED_TAINT.key && t.effect === POWER_UNVERIFIED_TAINT.effect);
  }

  /**
   * Adds or removes the power-unverified taint with a JSON patch that first `test`s the taint
   * list it read (or the resourceVersion when there is none), so a taint another controller
   * added meanwhile is never wiped: the API refuses the patch (422), the agent reads the node
   * again and retries, three times at most.
   */
  private async setTaint(present: boolean): Promise<void> {
    const path = `/api/v1/nodes/${encodeURIComponent(this.o.node)}`;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const node = this.node!;
      if (this.hasTaint(node) === present) return;
      const taints = node.spec?.taints;
      const ours = { key: POWER_UNVERIFIED_TAINT.key, effect: POWER_UNVERIFIED_TAINT.effect };
      const next = present ? [...(taints ?? []), ours] : (taints ?? []).filter((t) => !(t.key === ours.key && t.effect === ours.effect));
      const ops =
        taints === undefined
          ? [
              { op: "test", path: "/metadata/resourceVersion", value: node.metadata?.resourceVersion ?? "" },
              { op: "add", path: "/spec/taints", value: next },
            ]
          : [
              { op: "test", path: "/spec/taints", value: taints },
              { op: "replace", path: "/spec/taints", value: next },
            ];
      try {
        this.node = await this.o.client.patch<NodeObject>(path, ops, "json", { signal: this.o.signal });
        this.o.log.info(present ? "node tainted: caps not confirmed" : "taint removed: every cap read back at its target", { taint: `${ours.key}:${ours.effect}` });
        return;
      } catch (err) {
        // 422 (a failed `test`) or 409: the node changed under us; read it again and retry.
        if (err instanceof KubeApiError && (err.status === 422 || err.status === 409) && attempt < 3) {
          this.node = await this.o.client.get<NodeObject>(path, { signal: this.o.signal });
          continue;
        }
        throw err;
      }
    }
  }

  /** PATCH nodes/NAME/status, strategic merge: node conditions merge by `type`, so kubelet's stay. */
  private async patchCondition(r: PassResult): Promise<void> {
    const at = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
    const status = r.capsInForce ? "True" : "False";
    if (this.transition?.status !== status) this.transition = { status, at };
    const condition = {
      type: CAPS_CONDITION_TYPE,
      status,
      reason: r.reason,
      message: r.message.slice(0, 1000),
      lastHeartbeatTime: at,
      lastTransitionTime: this.transition.at,
    };
    await this.o.client.patch(`/api/v1/nodes/${encodeURIComponent(this.o.node)}/status`, { status: { conditions: [condition] } }, "strategic", { signal: this.o.signal });
  }

  /** A Warning Event on the Node (namespace `default`, as the kubelet records node events). */
  private async postEvent(r: PassResult): Promise<void> {
    const at = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
    await this.o.client.post(
      "/api/v1/namespaces/default/events",
      {
        apiVersion: "v1",
        kind: "Event",
        metadata: { generateName: `${this.o.node}.power-caps-`, namespace: "default" },
        involvedObject: { apiVersion: "v1", kind: "Node", name: this.o.node, ...(this.node?.metadata?.uid ? { uid: this.node.metadata.uid } : {}) },
        type: "Warning",
        reason: "PowerCapsNotInForce",
        message: `${r.reason}: ${r.message}`.slice(0, 1000),
        source: { component: AGENT_COMPONENT, host: this.o.node },
        reportingComponent: AGENT_COMPONENT,
        reportingInstance: this.o.node,
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      },
      { signal: this.o.signal },
    );
  }
}

function show(r: GpuReading["limit"]): string {
  return "watts" in r ? String(r.watts) : r.unavailable;
}

function describeTargets(gpus: GpuState[]): string {
  const targets = [...new Set(gpus.map((g) => g.target))];
  return targets.length === 1 ? `${targets[0]} W on ${gpus.length} GPU${gpus.length === 1 ? "" : "s"}` : gpus.map((g) => `${g.index}: ${g.target} W`).join(", ");
}
