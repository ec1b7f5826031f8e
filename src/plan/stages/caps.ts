/**
 * Stage 3 of `planFarm`: wire the cords of three-phase circuits and choose every GPU node's
 * cap, optimal for that wiring under every circuit, phase and feed budget (`exact.ts`).
 */
import { allocateCaps } from "../allocate.js";
import type { AllocCircuit, AllocFeed, AllocNode } from "../allocate.js";
import { allocateExact } from "../exact.js";
import { loadPhases, phaseShareMemo } from "../phases.js";
import type { PhaseAssignment } from "../phases.js";
import { WATTS_EPSILON } from "../power.js";
import type { SiteSpec } from "../../site/schema.js";
import type { Budgets } from "./budgets.js";
import { wirePhases } from "./budgets.js";
import type { ResolvedMachine } from "./resolve.js";

/** The caps and the loads they give. Per-machine maps are keyed by `ResolvedMachine.index`. */
export interface PowerAllocation {
  /** Whole-watt cap of each GPU node's GPUs, in W. */
  capOf: Map<number, number>;
  /** Wall draw of every machine at its cap (GPU nodes) or fixed draw (others), in W. */
  wallOf: Map<number, number>;
  /** Wall load of each circuit, in W. */
  circuitLoadWatts: number[];
  /** Final phase loads and cord wiring of each three-phase circuit; null for single-phase. */
  phaseLoads: (PhaseAssignment | null)[];
}

/**
 * Caps such that every circuit, every phase and every feed stays within budget, at the
 * optimum (`exact.ts`): first the cords are wired, then the caps are chosen for that wiring.
 * The caller has checked that minimum caps fit (`checkMinimumLoads`).
 *
 * Wiring: the cords of each three-phase circuit go largest first onto the least-loaded
 * phase (`assignPhases`), for the draws the machines would have if only circuits and feeds
 * limited them (the laminar greedy of `allocateCaps`, a single pass) — the loads the caps
 * will be near, so the phases come out about even where it matters. If that wiring would
 * put a phase over its budget at minimum caps (possible in principle, since it balances
 * other loads), the circuit is wired for its minimum loads instead, which fit (checked
 * before). A wiring of sites without three-phase circuits is not needed, nor computed.
 */
export function allocatePower(site: SiteSpec, machines: readonly ResolvedMachine[], budgets: Budgets): PowerAllocation {
  const pue = site.power.pue;
  const { phaseBudgetWatts: phaseBudget, onCircuit } = budgets;
  const gpuNodes = machines.filter((r) => r.role === "gpu");
  const allocCircuits: AllocCircuit[] = site.power.circuits.map((_, ci) => ({ feed: budgets.circuitFeed[ci]!, usableWatts: budgets.usableWatts[ci]!, minLoadWatts: budgets.circuitMinWatts[ci]! }));
  const allocFeeds: AllocFeed[] = site.power.feeds.map((f, fi) => ({ itBudgetWatts: (f.capacityKw * 1000) / pue, minItWatts: budgets.feedMinItWatts[fi]! }));
  const allocNodes: AllocNode[] = gpuNodes.map((r) => ({ hostname: r.hostname, circuit: r.circuit, gpuCount: r.gpuCount, psuEfficiency: r.psuEfficiency, gpu: r.gpu! }));

  const threePhase = phaseBudget.some((b) => b !== null);
  let wiredAt: Map<number, number> | null = null;
  let relaxedExactCaps: number[] | undefined;
  if (threePhase) {
    const relaxed = allocateCaps({ nodes: allocNodes, circuits: allocCircuits, feeds: allocFeeds });
    relaxedExactCaps = relaxed.exactCapsWatts;
    wiredAt = new Map();
    gpuNodes.forEach((r, i) => wiredAt!.set(r.index, (r.baseWatts + r.gpuCount * relaxed.capsWatts[i]!) / r.psuEfficiency));
  }
  const drawAt = (r: ResolvedMachine): number => wiredAt?.get(r.index) ?? r.minWallWatts;
  const wiring: (number[][] | null)[] = site.power.circuits.map((_, ci) => {
    const perPhase = phaseBudget[ci];
    if (perPhase === null || perPhase === undefined) return null;
    const on = onCircuit[ci]!;
    const cordPhases = wirePhases(budgets, ci, drawAt)!.cordPhases;
    const atMin = loadPhases(on.map((r) => r.minWallWatts), cordPhases);
    return atMin.every((w) => w <= perPhase + WATTS_EPSILON) ? cordPhases : wirePhases(budgets, ci, (r) => r.minWallWatts)!.cordPhases;
  });
  const position = budgets.positionOnCircuit;
  const shareOf = phaseShareMemo();
  const result = allocateExact({
    nodes: gpuNodes.map((r, i) => {
      const w = wiring[r.circuit];
      return { ...allocNodes[i]!, phaseShare: w ? shareOf(w[position.get(r.index)!]!) : null };
    }),
    circuits: allocCircuits.map((c, ci) => {
      const w = wiring[ci];
      return {
        ...c,
        phaseBudgetWatts: w ? phaseBudget[ci]! : null,
        minPhaseWatts: w ? loadPhases(onCircuit[ci]!.map((r) => r.minWallWatts), w) : null,
      };
    }),
    feeds: allocFeeds,
    ...(relaxedExactCaps ? { relaxedExactCaps } : {}),
  });
  const capOf = new Map<number, number>();
  gpuNodes.forEach((r, i) => capOf.set(r.index, result.capsWatts[i]!));
  const wallOf = new Map<number, number>();
  const circuitLoadWatts = site.power.circuits.map(() => 0);
  for (const r of machines) {
    const w = r.role === "gpu" ? (r.baseWatts + r.gpuCount * capOf.get(r.index)!) / r.psuEfficiency : r.minWallWatts;
    wallOf.set(r.index, w);
    circuitLoadWatts[r.circuit]! += w;
  }
  const phaseLoads = wiring.map((w, ci): PhaseAssignment | null => (w ? { phaseWatts: loadPhases(onCircuit[ci]!.map((r) => wallOf.get(r.index)!), w), cordPhases: w } : null));
  return { capOf, wallOf, circuitLoadWatts, phaseLoads };
}
