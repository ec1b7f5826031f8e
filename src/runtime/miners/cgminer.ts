/**
 * The cgminer-style JSON API on TCP 4028 that LuxOS (LUXminer), stock Antminer firmware
 * (bmminer) and Whatsminer (btminer) all speak, and the command + read-back loop every
 * driver shares.
 *
 * Wire format (ckolivas/cgminer API-README): request `{"command":"CMD","parameter":"PARAM"}`
 * ("parameter is not required for all requests"); reply "a STATUS section followed by an
 * optional detail section", e.g. `{"STATUS":[{"STATUS":"S","When":…,"Code":11,"Msg":"Summary",
 * "Description":"…"}],"SUMMARY":[{…}],"id":1}` followed by a NUL byte, then the socket closes.
 * STATUS is one of S (success), I (info), W (warning), E (error), F (fatal) (API-README,
 * "STATUS=X" where X is "S","I","W","E","F"). Whatsminer's v2 API puts STATUS at the top
 * level instead (`{"STATUS":"S","When":…,"Code":134,"Msg":{…},"Description":""}`, pyasic
 * pyasic/rpc/btminer.py `get_token`), which {@link statusOf} accepts too.
 */
import { RefusedError, TransportError, limits, pause, tcpExchange, withRetries, type Limits } from "./net.js";
import {
  DEFAULT_THRESHOLDS,
  isCurtailed,
  isResumed,
  type CallOptions,
  type MinerResult,
  type MinerTarget,
  type Reading,
  type Thresholds,
} from "./types.js";

/** A parsed API reply. */
export type ApiReply = Record<string, unknown>;

/** Parses a reply (NUL already stripped); a reply that is not one JSON object was cut off or garbled. */
export function parseReply(raw: Buffer, what: string): ApiReply {
  const text = raw.toString("utf8").trim();
  if (text === "") throw new TransportError(`${what}: empty reply (connection closed before any answer)`);
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
    return v as ApiReply;
  } catch {
    throw new TransportError(`${what}: reply is not complete JSON (${text.length} bytes; cut off mid-reply?)`);
  }
}

/** STATUS letter and message of a reply, in either the cgminer (array) or the btminer v2 (top-level) shape. */
export function statusOf(reply: ApiReply): { status: string; msg: string; code: number | null } {
  const s = reply.STATUS;
  if (Array.isArray(s) && s[0] && typeof s[0] === "object") {
    const o = s[0] as Record<string, unknown>;
    return { status: String(o.STATUS ?? ""), msg: typeof o.Msg === "string" ? o.Msg : JSON.stringify(o.Msg ?? ""), code: typeof o.Code === "number" ? o.Code : null };
  }
  if (typeof s === "string") {
    return { status: s, msg: typeof reply.Msg === "string" ? reply.Msg : JSON.stringify(reply.Msg ?? ""), code: typeof reply.Code === "number" ? reply.Code : null };
  }
  return { status: "", msg: "", code: null };
}

/** Throws {@link RefusedError} when the reply's STATUS is E or F (the miner said no). */
export function expectOk(reply: ApiReply, what: string): ApiReply {
  const st = statusOf(reply);
  if (st.status === "E" || st.status === "F") throw new RefusedError(`${what} refused by the miner: ${st.msg || "error"}${st.code !== null ? ` (code ${st.code})` : ""}`);
  if (st.status === "") throw new TransportError(`${what}: reply has no STATUS section`);
  return reply;
}

/** Sends one cgminer-style command and returns its checked reply. */
export async function cgminerCommand(host: string, port: number, command: string, parameter: string | undefined, l: Limits): Promise<ApiReply> {
  const body = JSON.stringify(parameter === undefined ? { command } : { command, parameter });
  return expectOk(parseReply(await tcpExchange(host, port, body, l), command), command);
}

/** First object of a reply section (`SUMMARY`, `POWER`, …), or undefined. */
export function section(reply: ApiReply, name: string): Record<string, unknown> | undefined {
  const s = reply[name];
  return Array.isArray(s) && s[0] && typeof s[0] === "object" ? (s[0] as Record<string, unknown>) : undefined;
}

/** A numeric field (numbers or numeric strings, as firmwares send both); null when absent. */
export function num(o: Record<string, unknown> | undefined, key: string): number | null {
  const v = o?.[key];
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return null;
}

/** What an action does, for {@link runAction}. */
export interface ActionSteps {
  /** Sends the command; throws {@link TransportError} (retried) or {@link RefusedError}. */
  act(l: Limits): Promise<void>;
  /** Reads hashrate/power/state back. */
  read(l: Limits): Promise<Reading>;
}

const NO_READING: Reading = { hashrateGhs: null, powerWatts: null, sleeping: null };

/** Upper bound on read-back polls of one call (the deadline ends it far sooner). */
const MAX_POLLS = 10_000;

/**
 * Command, then read back until the miner shows the change or the deadline passes:
 * `curtail` is confirmed when {@link isCurtailed}, `resume` when {@link isResumed}. The
 * command is retried on transport failures; read-backs are repeated every poll interval.
 */
export async function runAction(miner: MinerTarget, kind: "curtail" | "resume", o: CallOptions, steps: ActionSteps): Promise<MinerResult> {
  const l = limits(o);
  const t: Thresholds = { ...DEFAULT_THRESHOLDS, ...(o.thresholds ?? {}) };
  const start = Date.now();
  const result = (outcome: MinerResult["outcome"], reason: string, r: Reading, attempts: number): MinerResult => ({
    hostname: miner.hostname,
    driver: miner.driver,
    outcome,
    reason,
    ...r,
    attempts,
    elapsedMs: Date.now() - start,
  });
  let attempts: number;
  try {
    attempts = (await withRetries(() => steps.act(l), l)).attempts;
  } catch (e) {
    const err = e as Error & { attempts?: number };
    return result(e instanceof TransportError ? "unreachable" : "failed", err.message, NO_READING, err.attempts ?? 1);
  }
  const done = kind === "curtail" ? isCurtailed : isResumed;
  let last: Reading | undefined;
  let lastError = "";
  for (let poll = 0; poll < MAX_POLLS; poll++) {
    try {
      last = await steps.read(l);
      if (done(last, t)) return result("confirmed", "", last, attempts);
    } catch (e) {
      lastError = (e as Error).message;
    }
    if (Date.now() + l.pollIntervalMs >= l.deadline) break;
    await pause(l.pollIntervalMs, l.deadline);
  }
  const secs = ((Date.now() - start) / 1000).toFixed(1);
  if (last === undefined) return result("failed", `${kind} acknowledged, but no read-back answered within ${secs} s: ${lastError}`, NO_READING, attempts);
  return result("failed", `${kind} acknowledged, but the miner still reads ${describe(last)} after ${secs} s`, last, attempts);
}

/** A reading in words, for reasons. */
export function describe(r: Reading): string {
  const parts: string[] = [];
  if (r.hashrateGhs !== null) parts.push(`${round(r.hashrateGhs)} GH/s`);
  if (r.powerWatts !== null) parts.push(`${round(r.powerWatts)} W`);
  if (r.sleeping !== null) parts.push(r.sleeping ? "sleeping" : "not sleeping");
  return parts.length > 0 ? parts.join(", ") : "nothing";
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** `status`: one read-back, retried on transport failures; confirmed = the miner answered. */
export async function runStatus(miner: MinerTarget, o: CallOptions, read: (l: Limits) => Promise<Reading>): Promise<MinerResult> {
  const l = limits(o);
  const start = Date.now();
  try {
    const { value, attempts } = await withRetries(() => read(l), l);
    return { hostname: miner.hostname, driver: miner.driver, outcome: "confirmed", reason: "", ...value, attempts, elapsedMs: Date.now() - start };
  } catch (e) {
    const err = e as Error & { attempts?: number };
    return {
      hostname: miner.hostname,
      driver: miner.driver,
      outcome: e instanceof TransportError ? "unreachable" : "failed",
      reason: err.message,
      ...NO_READING,
      attempts: err.attempts ?? 1,
      elapsedMs: Date.now() - start,
    };
  }
}
