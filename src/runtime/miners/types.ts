/**
 * What every miner driver takes and returns. A driver speaks one firmware's API; the
 * curtailment controller only sees {@link MinerDriver}: curtail, resume, status, each
 * returning a {@link MinerResult} that says whether the miner itself confirmed the change.
 *
 * No credentials ever appear in a result, a reason or a log line: drivers build reasons
 * from what the miner said and what the network did, never from what they sent.
 */

import type { MinerDriver as PlannedDriver } from "../../plan/types.js";

/** Firmware API a miner is driven through (the plan's `PlannedAsic.minerApi.driver`). */
export type DriverName = PlannedDriver;

/** All driver names, in a fixed order (help texts, validation). */
export const DRIVER_NAMES: readonly DriverName[] = ["luxos", "braiins", "antminer", "whatsminer", "webhook"];

/**
 * Port of the stock Antminer's bmminer (cgminer) API, which the driver reads status from;
 * the target's `port` is its web (CGI) port, as the plan's `minerApi` gives it
 * (src/plan/stages/nodes.ts MINER_API_PORTS: antminer 80). cgminer API-README: `--api-port` default 4028.
 */
export const ANTMINER_STATUS_PORT = 4028;

/** One miner to act on. Carries no secret. */
export interface MinerTarget {
  /** Hostname in the site (the plan's `PlannedAsic.hostname`); what results and logs name. */
  hostname: string;
  driver: DriverName;
  /** Address of the miner's API (IP or DNS name); for `webhook` the URL's host, for messages. */
  host: string;
  /**
   * Port of the miner's API (the plan's `minerApi.port`, src/plan/stages/nodes.ts MINER_API_PORTS):
   * LuxOS/Whatsminer 4028, Braiins 50051, Antminer the web interface's port (80).
   */
  port: number;
  /** Antminer only: port of the bmminer status API. @default {@link ANTMINER_STATUS_PORT} */
  statusPort?: number;
  /** Webhook only: the URL POSTed to (the feed's `asicWebhookUrl`). */
  url?: string;
  /** Feed the miner is on (webhook body, results). */
  feed: string;
  /** Planned wall draw while hashing, in W: what a confirmed curtailment sheds. */
  plannedWatts: number;
  /** The miner's id in the fleet tool (site `fleetId`): the webhook body names it. */
  fleetId?: string;
}

/** Login of one miner's API. Never logged, never in a result. */
export interface MinerCredential {
  user: string;
  password: string;
}

/** How a driver call ended. */
export type Outcome = "confirmed" | "failed" | "unreachable";

/** Result of one driver call on one miner. */
export interface MinerResult {
  hostname: string;
  driver: DriverName;
  /**
   * `confirmed`: the miner acknowledged and its read-back shows the change (or, for
   * `status`, it answered); `failed`: it answered but refused, or its read-back did not
   * show the change before the deadline; `unreachable`: no usable answer at all.
   */
  outcome: Outcome;
  /** Why it is not confirmed (or a note on a confirmation that cannot read back); empty when confirmed plainly. */
  reason: string;
  /** Hashrate read back last, in GH/s; null when the API gave none. */
  hashrateGhs: number | null;
  /** Power read back last, in W; null when the API reports none (stock Antminer, webhook). */
  powerWatts: number | null;
  /** Whether the firmware says it is sleeping/paused/powered off; null when it does not say. */
  sleeping: boolean | null;
  /** Attempts made (1 + retries used). */
  attempts: number;
  /** Milliseconds from the start of the call to its end (confirmation or failure). */
  elapsedMs: number;
}

/** What a read-back returned. */
export interface Reading {
  hashrateGhs: number | null;
  powerWatts: number | null;
  sleeping: boolean | null;
}

/** Limits of one driver call, shared by all drivers. */
export interface CallOptions {
  /** Absolute time (ms since epoch, `Date.now()` clock) by which the call must end. */
  deadline: number;
  /** Milliseconds to establish a TCP connection. @default 3000 */
  connectTimeoutMs?: number;
  /** Milliseconds one request may take from connect to full reply. @default 5000 */
  requestTimeoutMs?: number;
  /** Milliseconds between two read-backs while waiting for a change to show. @default 1000 */
  pollIntervalMs?: number;
  /** Extra attempts after a transport failure (never after a refusal such as a wrong password). @default 2 */
  retries?: number;
  /** Read-back thresholds. */
  thresholds?: Partial<Thresholds>;
}

/**
 * When a miner counts as curtailed: hashrate at or below `maxHashrateGhs` and, where the
 * firmware reports power, power at or below `maxWatts`. A sleeping miner's control board
 * and fans draw tens of watts (LuxOS docs: sleep "turn[s] off the hashboards and the power
 * supply"), so a threshold, not zero.
 */
export interface Thresholds {
  /** @default 1 (GH/s; a hashing S19 reports ~100,000 GH/s) */
  maxHashrateGhs: number;
  /** @default 150 (W) */
  maxWatts: number;
}

/** Default {@link Thresholds}. */
export const DEFAULT_THRESHOLDS: Thresholds = { maxHashrateGhs: 1, maxWatts: 150 };

/** The three operations of a firmware API. */
export interface MinerDriver {
  readonly name: DriverName;
  /** Stop hashing; confirmed only by a read-back below the thresholds before `deadline`. */
  curtail(miner: MinerTarget, credential: MinerCredential | undefined, options: CallOptions): Promise<MinerResult>;
  /** Start hashing again; confirmed by a read-back that is no longer curtailed. */
  resume(miner: MinerTarget, credential: MinerCredential | undefined, options: CallOptions): Promise<MinerResult>;
  /** Read hashrate/power; `confirmed` means the miner answered. */
  status(miner: MinerTarget, credential: MinerCredential | undefined, options: CallOptions): Promise<MinerResult>;
}

/**
 * Whether a reading counts as curtailed under `t`. A firmware that says it is not
 * sleeping/paused is not curtailed whatever its hashrate reads: a miner that restarts its
 * mining process after the command (stock Antminer firmware restarts bmminer on
 * `set_miner_conf.cgi`) or lost its pool reads 0 GH/s for a while and then hashes again.
 */
export function isCurtailed(r: Reading, t: Thresholds): boolean {
  if (r.sleeping === false) return false;
  if (r.hashrateGhs === null && r.powerWatts === null) return r.sleeping === true;
  const hashOk = r.hashrateGhs === null || r.hashrateGhs <= t.maxHashrateGhs;
  const powerOk = r.powerWatts === null || r.powerWatts <= t.maxWatts;
  return hashOk && powerOk;
}

/**
 * Whether a reading shows the miner working again: the firmware says it left sleep mode
 * (hash boards then ramp up for a minute or more, as after a reboot), or it hashes, or it
 * draws more than a sleeping miner.
 */
export function isResumed(r: Reading, t: Thresholds): boolean {
  if (r.sleeping === false) return true;
  if (r.hashrateGhs !== null) return r.hashrateGhs > t.maxHashrateGhs;
  if (r.powerWatts !== null) return r.powerWatts > t.maxWatts;
  return false;
}
