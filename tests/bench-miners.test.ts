/**
 * The miner benchmark's arithmetic (bench/miners.ts): which miners are unresponsive and the
 * percentiles it reports. The timed run itself is `npm run bench`.
 */
import { describe, expect, it } from "vitest";
import { MINERS_BENCH, percentile, unresponsive } from "../bench/miners.js";

describe("miners bench", () => {
  it("3 % of 8,000 miners are unresponsive, spread over both firmwares", () => {
    const idx = [...Array(MINERS_BENCH.miners).keys()].filter((i) => unresponsive(i, MINERS_BENCH.miners, MINERS_BENCH.unresponsivePercent));
    expect(idx).toHaveLength(240);
    expect(idx.filter((i) => i % 2 === 0)).toHaveLength(160);
    expect(idx.slice(0, 4)).toEqual([0, 34, 67, 100]);
  });

  it("nearest-rank percentiles", () => {
    const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect([percentile(v, 50), percentile(v, 95), percentile(v, 100), percentile([], 50)]).toEqual([5, 10, 10, 0]);
  });
});

describe("the plan's asics-off time, from the measured confirmation rate", () => {
  it("read-back lag plus miners at the measured rate; webhook or manual miners keep the 60 s assumption", async () => {
    const { asicsOffSeconds, curtailmentStages, ASIC_CONFIRMS_PER_SECOND, UNCONFIRMED_ASICS_SECONDS } = await import("../src/plan/index.js");
    expect(ASIC_CONFIRMS_PER_SECOND).toBe(125);
    expect([asicsOffSeconds(0), asicsOffSeconds(1), asicsOffSeconds(22), asicsOffSeconds(8_000)]).toEqual([0, 7, 7, 70]);
    const base = { responseTimeSeconds: 60, asicFacilityWatts: 1000, capsToMinFacilityWatts: 0, drainFacilityWatts: 0, pools: [] };
    const hosts = Array.from({ length: 500 }, (_, i) => `asic-${i}`);
    expect(curtailmentStages({ ...base, asicHostnames: hosts })[0]).toMatchObject({ durationSeconds: 10, meetsResponseTime: true });
    expect(curtailmentStages({ ...base, asicHostnames: hosts, unconfirmedAsics: 1 })[0]).toMatchObject({ durationSeconds: UNCONFIRMED_ASICS_SECONDS });
  });
});
