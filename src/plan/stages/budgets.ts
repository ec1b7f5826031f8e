/**
 * What each circuit and feed may carry and what it must carry at minimum GPU caps: the
 * figures `checkMinimumLoads` tests and the allocation starts from. Pure arithmetic on the
 * resolved machines; no decision is made here.
 */
import type { SiteSpec } from "../../site/schema.js";
import { cmpStr } from "../allocate.js";
import { assignPhases } from "../phases.js";
import type { PhaseAssignment } from "../phases.js";
import { circuitUsableWatts, phaseUsableWatts } from "../power.js";
import type { ResolvedMachine } from "./resolve.js";

/** Budgets and minimum loads, per circuit and per feed (arrays in site order). */
export interface Budgets {
  /** Feed index of each circuit; undefined when its feed is unknown (a problem `checkMinimumLoads` reports). */
  circuitFeed: (number | undefined)[];
  /** V × A × (√3) × derating of each circuit, in W. */
  usableWatts: number[];
  /** V / √3 × A × derating of each three-phase circuit, in W; null for single-phase. */
  phaseBudgetWatts: (number | null)[];
  /** Wall load of each circuit with every GPU at its minimum cap, in W. */
  circuitMinWatts: number[];
  /** Hostnames on each circuit, sorted. */
  circuitHosts: string[][];
  /** IT load of each feed at minimum GPU caps (Σ of its circuits' minimum loads), in W. */
  feedMinItWatts: number[];
  /** Circuit ids on each feed, in site order. */
  feedCircuits: string[][];
  /** Machines on each circuit, in site order: the order of a circuit's cords in its wiring. */
  onCircuit: ResolvedMachine[][];
  /** Position of each machine (by `index`) in its circuit's `onCircuit` list. */
  positionOnCircuit: Map<number, number>;
}

/** Budgets and minimum loads of every circuit and feed for the resolved machines. */
export function siteBudgets(site: SiteSpec, machines: readonly ResolvedMachine[]): Budgets {
  const feedIdx = new Map(site.power.feeds.map((f, i) => [f.name, i]));
  const circuitFeed = site.power.circuits.map((c) => feedIdx.get(c.feed));
  const circuitMinWatts = site.power.circuits.map(() => 0);
  const circuitHosts: string[][] = site.power.circuits.map(() => []);
  const onCircuit: ResolvedMachine[][] = site.power.circuits.map(() => []);
  for (const r of machines) {
    circuitMinWatts[r.circuit]! += r.minWallWatts;
    circuitHosts[r.circuit]!.push(r.hostname);
    onCircuit[r.circuit]!.push(r);
  }
  for (const hosts of circuitHosts) hosts.sort(cmpStr);
  const feedMinItWatts = site.power.feeds.map(() => 0);
  const feedCircuits: string[][] = site.power.feeds.map(() => []);
  site.power.circuits.forEach((c, ci) => {
    const fi = circuitFeed[ci];
    if (fi === undefined) return;
    feedMinItWatts[fi]! += circuitMinWatts[ci]!;
    feedCircuits[fi]!.push(c.id);
  });
  const positionOnCircuit = new Map<number, number>();
  for (const on of onCircuit) on.forEach((r, k) => positionOnCircuit.set(r.index, k));
  return {
    circuitFeed,
    usableWatts: site.power.circuits.map((c) => circuitUsableWatts(c)),
    phaseBudgetWatts: site.power.circuits.map((c) => phaseUsableWatts(c)),
    circuitMinWatts,
    circuitHosts,
    feedMinItWatts,
    feedCircuits,
    onCircuit,
    positionOnCircuit,
  };
}

/**
 * The phase wiring of a three-phase circuit's cords for the given machine draws: largest
 * first onto the least-loaded phase (`assignPhases`); null for a single-phase circuit.
 */
export function wirePhases(budgets: Budgets, ci: number, wallOf: (r: ResolvedMachine) => number): PhaseAssignment | null {
  return budgets.phaseBudgetWatts[ci] === null
    ? null
    : assignPhases(budgets.onCircuit[ci]!.map((r) => ({ hostname: r.hostname, wallWatts: wallOf(r), cords: r.cords })));
}
