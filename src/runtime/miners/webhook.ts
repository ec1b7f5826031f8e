/**
 * Webhook driver: the feed-level `asicWebhookUrl` of the site (the plan's
 * `FeedCurtailment.asicWebhook`) receives a JSON POST
 * `{"feed":"<feed>","action":"asics-off"|"asics-on","hosts":["<hostname>",…]}` — the body
 * today's curtailment jobs send (src/render/curtailment.ts `notify_fleet`) — and the site's
 * fleet tool powers the miners off or on. When miners carry the fleet tool's own id (site
 * `fleetId`, e.g. Foreman's miner id written by `mine2hpc import`), the body adds
 * `"fleetIds":{"<hostname>":"<id>",…}` for them, so the receiver can call the fleet tool's API
 * by id without a hostname lookup; `hosts` stays as it was, so existing receivers keep working.
 *
 * Confirmation is the HTTP 2xx alone: a webhook cannot read back a miner's hashrate or
 * power, so a confirmed webhook result says the fleet tool accepted the request, not that
 * the miners stopped. Results say so in their reason; a site that needs a read-back gives
 * its miners a firmware driver (`minerApi`).
 *
 * The URL may carry a token (query string, user:password): messages show only its origin
 * and path.
 */
import { httpRequest, limits, withRetries, TransportError, RefusedError } from "./net.js";
import type { CallOptions, MinerDriver, MinerResult, MinerTarget } from "./types.js";

/** Action names in the webhook body (the contract of today's jobs). */
export type WebhookAction = "asics-off" | "asics-on";

/** What the fleet tool is told, and what results say about it. */
export const WEBHOOK_NOTE = "accepted by the fleet webhook; a webhook cannot read back hashrate or power";

/** `scheme://host/path` of a URL: no user:password, no query (either may carry a token). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}

/**
 * POSTs one request for `miners` (all on one feed and URL) and returns a result per miner:
 * confirmed on HTTP 2xx, failed on another status, unreachable when nothing answered.
 */
export async function postWebhook(url: string, feed: string, action: WebhookAction, miners: MinerTarget[], o: CallOptions): Promise<MinerResult[]> {
  const l = limits(o);
  const start = Date.now();
  const where = redactUrl(url);
  const withIds = miners.filter((m) => m.fleetId !== undefined);
  const body = JSON.stringify({
    feed,
    action,
    hosts: miners.map((m) => m.hostname),
    ...(withIds.length > 0 ? { fleetIds: Object.fromEntries(withIds.map((m) => [m.hostname, m.fleetId!])) } : {}),
  });
  let outcome: MinerResult["outcome"] = "confirmed";
  let reason = WEBHOOK_NOTE;
  let attempts = 1;
  try {
    const r = await withRetries(async () => {
      const res = await httpRequest(new URL(url), { method: "POST", headers: { "content-type": "application/json" }, body }, l);
      if (res.status >= 500) throw new TransportError(`webhook ${where}: HTTP ${res.status}`);
      if (res.status < 200 || res.status > 299) throw new RefusedError(`webhook ${where}: HTTP ${res.status}`);
      return res.status;
    }, l);
    attempts = r.attempts;
    reason = `${WEBHOOK_NOTE} (HTTP ${r.value})`;
  } catch (e) {
    const err = e as Error & { attempts?: number };
    attempts = err.attempts ?? 1;
    outcome = e instanceof RefusedError ? "failed" : "unreachable";
    reason = err.message;
  }
  const elapsedMs = Date.now() - start;
  return miners.map((m) => ({ hostname: m.hostname, driver: "webhook", outcome, reason, hashrateGhs: null, powerWatts: null, sleeping: null, attempts, elapsedMs }));
}

function one(m: MinerTarget, action: WebhookAction, o: CallOptions): Promise<MinerResult> {
  if (m.url === undefined) {
    return Promise.resolve({ hostname: m.hostname, driver: "webhook", outcome: "failed", reason: "the feed has no asicWebhookUrl", hashrateGhs: null, powerWatts: null, sleeping: null, attempts: 0, elapsedMs: 0 });
  }
  return postWebhook(m.url, m.feed, action, [m], o).then((r) => r[0]!);
}

/** The webhook driver for one miner (the controller batches miners per feed and URL with {@link postWebhook}). */
export const webhookDriver: MinerDriver = {
  name: "webhook",
  curtail: (m, _c, o) => one(m, "asics-off", o),
  resume: (m, _c, o) => one(m, "asics-on", o),
  status: (m) =>
    Promise.resolve({ hostname: m.hostname, driver: "webhook", outcome: "failed", reason: "a webhook has no status to read", hashrateGhs: null, powerWatts: null, sleeping: null, attempts: 0, elapsedMs: 0 }),
};
