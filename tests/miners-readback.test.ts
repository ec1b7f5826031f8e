/**
 * Read-back rules every driver shares (src/runtime/miners/types.ts) and the Whatsminer
 * summary fields (src/runtime/miners/whatsminer.ts): a curtailment counts only when the
 * miner's own report says so.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_THRESHOLDS, isCurtailed, isResumed } from "../src/runtime/miners/types.js";
import { summaryReading } from "../src/runtime/miners/whatsminer.js";

describe("isCurtailed / isResumed", () => {
  const t = DEFAULT_THRESHOLDS;

  it("a firmware that says it is not sleeping is not curtailed, even at 0 GH/s (bmminer restarting, pool lost)", () => {
    expect(isCurtailed({ hashrateGhs: 0, powerWatts: null, sleeping: false }, t)).toBe(false);
    expect(isCurtailed({ hashrateGhs: 0, powerWatts: 10, sleeping: false }, t)).toBe(false);
  });

  it("sleeping with the hashrate and power below the thresholds is curtailed; above either is not", () => {
    expect(isCurtailed({ hashrateGhs: 0, powerWatts: 12, sleeping: true }, t)).toBe(true);
    expect(isCurtailed({ hashrateGhs: 0, powerWatts: null, sleeping: null }, t)).toBe(true);
    expect(isCurtailed({ hashrateGhs: 1, powerWatts: 150, sleeping: null }, t)).toBe(true);
    expect(isCurtailed({ hashrateGhs: 1.5, powerWatts: 12, sleeping: true }, t)).toBe(false);
    expect(isCurtailed({ hashrateGhs: 0, powerWatts: 151, sleeping: true }, t)).toBe(false);
    expect(isCurtailed({ hashrateGhs: null, powerWatts: null, sleeping: null }, t)).toBe(false);
    expect(isCurtailed({ hashrateGhs: null, powerWatts: null, sleeping: true }, t)).toBe(true);
  });

  it("resumed: the firmware left sleep, or it hashes, or it draws more than a sleeping miner", () => {
    expect(isResumed({ hashrateGhs: 0, powerWatts: 12, sleeping: false }, t)).toBe(true);
    expect(isResumed({ hashrateGhs: 90_000, powerWatts: null, sleeping: null }, t)).toBe(true);
    expect(isResumed({ hashrateGhs: null, powerWatts: 3000, sleeping: null }, t)).toBe(true);
    expect(isResumed({ hashrateGhs: 0, powerWatts: 12, sleeping: true }, t)).toBe(false);
  });
});

describe("Whatsminer summary read-back", () => {
  // Fields and values of a Whatsminer M30S+ `summary` reply (btminer API v2).
  const m30s = {
    STATUS: [{ STATUS: "S", Msg: "Summary" }],
    SUMMARY: [{ Elapsed: 2648, "MHS av": 84983730.62, "MHS 5s": 102423869.64, "MHS 1m": 86361423.06, "MHS 5m": 84941366.02, Power: 3593 }],
  };

  it("reads the 5-second hashrate (MH/s → GH/s) and the power", () => {
    expect(summaryReading(m30s)).toEqual({ hashrateGhs: 102423.86964, powerWatts: 3593, sleeping: null });
  });

  it("a miner powered off a few seconds ago reads 0 on MHS 5s while MHS 1m still carries most of the last minute", () => {
    const off = { STATUS: [{ STATUS: "S" }], SUMMARY: [{ "MHS 5s": 0, "MHS 1m": 71967852.55, Power: 0 }] };
    const r = summaryReading(off);
    expect(r).toEqual({ hashrateGhs: 0, powerWatts: 0, sleeping: null });
    expect(isCurtailed(r, DEFAULT_THRESHOLDS)).toBe(true);
  });

  it("falls back to MHS 1m when the firmware has no MHS 5s", () => {
    expect(summaryReading({ STATUS: [{ STATUS: "S" }], SUMMARY: [{ "MHS 1m": 86361423.06, Power: 3593 }] })).toEqual({ hashrateGhs: 86361.42306, powerWatts: 3593, sleeping: null });
  });
});
