/**
 * Runs one driver operation over thousands of miners: bounded concurrency, a per-miner
 * deadline, retries inside each driver call, one result per miner, and the watts the
 * confirmed miners shed against the watts planned.
 *
 * Webhook miners are batched: one POST per feed and URL (the fleet tool's contract), each
 * miner then gets that POST's result.
 */
import { DRIVERS, postWebhook } from "../miners/index.js";
import type { MinerResult, MinerTarget, Thresholds } from "../miners/types.js";
import { credentialFor, type MinerCredentials } from "./credentials.js";
import type { MinerTargetSpec } from "./targets.js";

/** What to do to the miners. */
export type MinerOp = "curtail" | "resume" | "status";

/** Options of {@link runMiners}. */
export interface RunMinersOptions {
  feed: string;
  /** Miner calls in flight at once. @default 200 */
  concurrency?: number;
  /** Seconds one miner may take, all attempts and read-backs included. @default 60 */
  timeoutSeconds?: number;
  /** Extra attempts after a transport failure. @default 2 */
  retries?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  pollIntervalMs?: number;
  thresholds?: Partial<Thresholds>;
  /** The feed's fleet webhook, for `webhook` miners. */
  webhookUrl: string | null;
  /** Called as each miner's result comes in (progress, logs). */
  onResult?: (r: MinerResult) => void;
}

/** Outcome of a run. */
export interface MinerRun {
  /** One per miner, sorted by hostname. */
  results: MinerResult[];
  counts: { confirmed: number; failed: number; unreachable: number };
  /** Σ planned wall watts of the miners acted on. */
  plannedWatts: number;
  /** Σ planned wall watts of the confirmed ones (for `curtail`: what is confirmed shed). */
  confirmedWatts: number;
  /** Milliseconds the whole run took. */
  elapsedMs: number;
}

/** Default number of miners in flight. */
export const DEFAULT_CONCURRENCY = 200;
/** Default seconds per miner. */
export const DEFAULT_MINER_TIMEOUT_SECONDS = 60;

/** Runs `worker` over `items` with at most `limit` in flight; results in input order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await worker(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

function manual(m: MinerTargetSpec): MinerResult {
  return {
    hostname: m.hostname,
    driver: "webhook",
    outcome: "failed",
    reason: "no automation: the site gives this miner no minerApi and its feed no asicWebhookUrl; the fleet tool must act by hand",
    hashrateGhs: null,
    powerWatts: null,
    sleeping: null,
    attempts: 0,
    elapsedMs: 0,
  };
}

/** Runs `op` on every miner of `miners`. Never throws for a miner's failure: each gets its result. */
export async function runMiners(miners: readonly MinerTargetSpec[], op: MinerOp, creds: MinerCredentials, o: RunMinersOptions): Promise<MinerRun> {
  const start = Date.now();
  const timeoutMs = (o.timeoutSeconds ?? DEFAULT_MINER_TIMEOUT_SECONDS) * 1000;
  const call = (deadline: number) => ({
    deadline,
    ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
    ...(o.requestTimeoutMs !== undefined ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
    ...(o.pollIntervalMs !== undefined ? { pollIntervalMs: o.pollIntervalMs } : {}),
    ...(o.retries !== undefined ? { retries: o.retries } : {}),
    ...(o.thresholds !== undefined ? { thresholds: o.thresholds } : {}),
  });
  const toTarget = (m: MinerTargetSpec): MinerTarget => ({
    hostname: m.hostname,
    driver: m.driver!,
    host: m.host,
    port: m.port,
    feed: o.feed,
    plannedWatts: m.plannedWatts,
    ...(m.statusPort !== undefined ? { statusPort: m.statusPort } : {}),
    ...(m.fleetId !== undefined ? { fleetId: m.fleetId } : {}),
  });
  const results: MinerResult[] = [];
  const emit = (r: MinerResult) => {
    results.push(r);
    o.onResult?.(r);
  };

  const hooked = miners.filter((m) => m.driver === "webhook");
  const direct = miners.filter((m) => m.driver !== "webhook" && m.driver !== null);
  miners.filter((m) => m.driver === null).forEach((m) => emit(manual(m)));

  const webhookRun = (async () => {
    if (hooked.length === 0) return;
    if (op === "status") {
      hooked.forEach((m) => emit({ ...manual(m), reason: "a webhook has no status to read" }));
      return;
    }
    if (o.webhookUrl === null) {
      hooked.forEach((m) => emit(manual(m)));
      return;
    }
    const rs = await postWebhook(o.webhookUrl, o.feed, op === "curtail" ? "asics-off" : "asics-on", hooked.map(toTarget), call(Date.now() + timeoutMs));
    rs.forEach(emit);
  })();

  await Promise.all([
    webhookRun,
    mapBounded(direct, o.concurrency ?? DEFAULT_CONCURRENCY, async (m) => {
      const driver = DRIVERS[m.driver!];
      const target = toTarget(m);
      const cred = credentialFor(creds, m.hostname, m.driver!);
      const r = await driver[op](target, cred, call(Date.now() + timeoutMs));
      emit(r);
    }),
  ]);

  results.sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  const planned = new Map(miners.map((m) => [m.hostname, m.plannedWatts]));
  const counts = { confirmed: 0, failed: 0, unreachable: 0 };
  let confirmedWatts = 0;
  for (const r of results) {
    counts[r.outcome]++;
    if (r.outcome === "confirmed") confirmedWatts += planned.get(r.hostname) ?? 0;
  }
  return { results, counts, plannedWatts: miners.reduce((s, m) => s + m.plannedWatts, 0), confirmedWatts, elapsedMs: Date.now() - start };
}
