/**
 * Stage 5 of `planFarm`: the load of every circuit and feed at the allocated caps, as the
 * plan reports it (whole watts, percentages to one decimal).
 */
import type { SiteSpec } from "../../site/schema.js";
import { round1, roundWatts } from "../power.js";
import type { CircuitLoad, FeedLoad } from "../types.js";
import type { Budgets } from "./budgets.js";
import type { PowerAllocation } from "./caps.js";
import type { ResolvedMachine } from "./resolve.js";

/** Circuit and feed loads, and the site's IT load. */
export interface Loads {
  circuits: CircuitLoad[];
  feeds: FeedLoad[];
  /** IT load of each feed (Σ of its circuits' wall loads), unrounded, in W. */
  feedItWatts: number[];
  /** Σ of the feeds' IT loads, unrounded, in W. */
  itWatts: number;
}

/** Loads of every circuit (with phase loads on three-phase circuits) and every feed (IT and facility = IT × PUE). */
export function planLoads(site: SiteSpec, machines: readonly ResolvedMachine[], budgets: Budgets, power: PowerAllocation): Loads {
  const pue = site.power.pue;
  const { usableWatts: usable, phaseBudgetWatts: phaseBudget } = budgets;
  const { circuitLoadWatts: circuitLoad, phaseLoads } = power;
  const circuitAsic = site.power.circuits.map(() => 0);
  for (const r of machines) if (r.role === "asic") circuitAsic[r.circuit]! += power.wallOf.get(r.index)!;
  const feedIt = site.power.feeds.map(() => 0);
  site.power.circuits.forEach((_, ci) => (feedIt[budgets.circuitFeed[ci]!]! += circuitLoad[ci]!));

  const circuits: CircuitLoad[] = site.power.circuits.map((c, ci) => {
    const usableW = roundWatts(usable[ci]!);
    const loadW = roundWatts(circuitLoad[ci]!);
    const phases = phaseLoads[ci];
    const perPhase = phaseBudget[ci];
    return {
      id: c.id,
      feed: c.feed,
      usableWatts: usableW,
      loadWatts: loadW,
      asicWatts: roundWatts(circuitAsic[ci]!),
      loadPercent: round1((circuitLoad[ci]! / usable[ci]!) * 100),
      strandedWatts: Math.max(0, usableW - loadW),
      machines: budgets.circuitHosts[ci]!,
      phaseWatts: phases ? (phases.phaseWatts.map((w) => roundWatts(w)) as [number, number, number]) : null,
      phaseBudgetWatts: perPhase === null || perPhase === undefined ? null : roundWatts(perPhase),
    };
  });
  const feeds: FeedLoad[] = site.power.feeds.map((f, fi) => {
    const capacity = f.capacityKw * 1000;
    const facility = feedIt[fi]! * pue;
    const capacityW = roundWatts(capacity);
    const facilityW = roundWatts(facility);
    return {
      name: f.name,
      tier: f.tier,
      capacityWatts: capacityW,
      itWatts: roundWatts(feedIt[fi]!),
      facilityWatts: facilityW,
      loadPercent: round1((facility / capacity) * 100),
      strandedWatts: Math.max(0, capacityW - facilityW),
      circuits: budgets.feedCircuits[fi]!,
    };
  });
  return { circuits, feeds, feedItWatts: feedIt, itWatts: feedIt.reduce((s, x) => s + x, 0) };
}
