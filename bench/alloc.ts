/**
 * The cap allocation stage on its own, old against new, on the same extracted problem:
 *
 * - `legacyAllocate`: the planner before the exact allocation (until commit 7e3dc19's parent):
 *   the laminar greedy as filed (bench/greedy-filed.ts) with circuit and feed budgets, cords wired largest first
 *   at the resulting loads, and the budget of every three-phase circuit whose heaviest phase is
 *   over shrunk to load × phase budget / heaviest − 0.5 W, again and again (30 rounds, then
 *   one cut of 3 × the excess). Kept here, verbatim in method, as the baseline.
 * - `exactAllocate`: what `planFarm` does now (plan.ts `allocateWithPhases`): one relaxed
 *   greedy pass to wire the cords, then `allocateExact`.
 *
 * Both return the whole-watt caps and the throughput they give.
 */
import { allocateCaps, allocateExact, assignPhases, circuitUsableWatts, defaultPowerCords, heaviestPhase, loadPhases, nodeThroughputTflops, phaseShareMemo, phaseUsableWatts } from "../src/plan/index.js";
import type { AllocInput, AllocNode, AllocResult, ExactInput } from "../src/plan/index.js";
import { filedAllocateCaps } from "./greedy-filed.js";
import type { PlanCatalog } from "../src/plan/index.js";
import { findAsic, findGpu } from "../src/site/catalog.js";
import type { SiteSpec } from "../src/site/schema.js";

/** A machine on a circuit as the allocation sees it. */
interface Member {
  hostname: string;
  cords: number;
  /** Index into the GPU nodes, or −1 for fixed loads. */
  gpu: number;
  base: number;
  minWall: number;
}

/** The allocation problem of a site: GPU nodes, every machine per circuit, budgets. */
export interface AllocProblem {
  nodes: (AllocNode & { base: number })[];
  members: Member[][];
  usable: number[];
  phaseBudget: (number | null)[];
  circuitFeed: number[];
  circuitMin: number[];
  feedIt: number[];
  feedMin: number[];
}

/** Extracts the allocation problem from a site (machines resolved as planFarm resolves them; retired ones left out). */
export function allocProblem(site: SiteSpec, catalog: PlanCatalog = { findGpu, findAsic }): AllocProblem {
  const circuitIdx = new Map(site.power.circuits.map((c, i) => [c.id, i]));
  const feedIdx = new Map(site.power.feeds.map((f, i) => [f.name, i]));
  const members: Member[][] = site.power.circuits.map(() => []);
  const nodes: AllocProblem["nodes"] = [];
  const circuitMin = site.power.circuits.map(() => 0);
  for (const m of site.machines) {
    if (m.state === "retired") continue;
    const ci = circuitIdx.get(m.circuit)!;
    const eff = m.psuEfficiency ?? site.defaults.psuEfficiency;
    const gpu = m.role === "gpu" ? catalog.findGpu(m.gpuModel!)! : undefined;
    const cords = m.powerCords ?? defaultPowerCords(m.role, m.pcieLink, gpu?.formFactor);
    let member: Member;
    if (gpu) {
      const base = m.baseWatts ?? gpu.hostBaseWatts;
      nodes.push({ hostname: m.hostname, circuit: ci, gpuCount: m.gpuCount!, psuEfficiency: eff, gpu, base });
      member = { hostname: m.hostname, cords, gpu: nodes.length - 1, base, minWall: (base + m.gpuCount! * gpu.minWatts) / eff };
    } else if (m.role === "asic") member = { hostname: m.hostname, cords, gpu: -1, base: 0, minWall: catalog.findAsic(m.asicModel!)!.watts };
    else member = { hostname: m.hostname, cords, gpu: -1, base: 0, minWall: (m.baseWatts ?? 300) / eff };
    members[ci]!.push(member);
    circuitMin[ci]! += member.minWall;
  }
  const circuitFeed = site.power.circuits.map((c) => feedIdx.get(c.feed)!);
  const feedMin = site.power.feeds.map(() => 0);
  circuitFeed.forEach((fi, ci) => (feedMin[fi]! += circuitMin[ci]!));
  return {
    nodes,
    members,
    usable: site.power.circuits.map((c) => circuitUsableWatts(c)),
    phaseBudget: site.power.circuits.map((c) => phaseUsableWatts(c)),
    circuitFeed,
    circuitMin,
    feedIt: site.power.feeds.map((f) => (f.capacityKw * 1000) / site.power.pue),
    feedMin,
  };
}

/** Whole-watt caps per GPU node and their throughput (TFLOPS), with the wiring used. */
export interface AllocOutcome {
  caps: number[];
  tflops: number;
  /** Cord phases per circuit member (null on single-phase circuits). */
  wiring: (number[][] | null)[];
  rounds: number;
}

function wallOf(p: AllocProblem, m: Member, caps: readonly number[]): number {
  if (m.gpu < 0) return m.minWall;
  const n = p.nodes[m.gpu]!;
  return (n.base + n.gpuCount * caps[m.gpu]!) / n.psuEfficiency;
}

function tflopsOf(p: AllocProblem, caps: readonly number[]): number {
  let t = 0;
  p.nodes.forEach((n, i) => (t += nodeThroughputTflops(n, caps[i]!)));
  return t;
}

/**
 * The planner's allocation before the exact method (see the module comment), with the
 * greedy as filed (`filedAllocateCaps`, the timing baseline) or another implementation of it
 * (the planner's `allocateCaps`: the same caps, faster).
 */
export function legacyAllocate(p: AllocProblem, greedy: (input: AllocInput) => AllocResult = filedAllocateCaps): AllocOutcome {
  const ROUNDS = 30;
  const budgets = p.usable.slice();
  for (let round = 0; ; round++) {
    const res = greedy({
      nodes: p.nodes,
      circuits: p.usable.map((_, ci) => ({ feed: p.circuitFeed[ci]!, usableWatts: budgets[ci]!, minLoadWatts: p.circuitMin[ci]! })),
      feeds: p.feedIt.map((it, fi) => ({ itBudgetWatts: it, minItWatts: p.feedMin[fi]! })),
    });
    const caps = res.capsWatts;
    let over = false;
    const wiring = p.members.map((on, ci) => {
      const perPhase = p.phaseBudget[ci];
      if (perPhase === null || perPhase === undefined) return null;
      const a = assignPhases(on.map((m) => ({ hostname: m.hostname, wallWatts: wallOf(p, m, caps), cords: m.cords })));
      const heavy = a.phaseWatts[heaviestPhase(a.phaseWatts)]!;
      if (heavy > perPhase + 1e-6) {
        over = true;
        const load = a.phaseWatts[0] + a.phaseWatts[1] + a.phaseWatts[2];
        if (round < ROUNDS) budgets[ci] = Math.min(budgets[ci]!, (load * perPhase) / heavy) - 0.5;
        else if (round === ROUNDS) budgets[ci] = Math.min(budgets[ci]!, load) - 3 * (heavy - perPhase);
        else throw new Error(`legacy allocation: circuit #${ci} still over after ${round} rounds`);
      }
      return a.cordPhases;
    });
    if (!over) return { caps, tflops: tflopsOf(p, caps), wiring, rounds: round + 1 };
  }
}

/** The planner's allocation now, optionally with a given wiring (per circuit member, cord phases). */
export function exactAllocate(p: AllocProblem, givenWiring?: (number[][] | null)[]): AllocOutcome {
  let wiring = givenWiring;
  let relaxedExactCaps: number[] | undefined;
  if (!wiring) {
    const res = allocateCaps({
      nodes: p.nodes,
      circuits: p.usable.map((u, ci) => ({ feed: p.circuitFeed[ci]!, usableWatts: u, minLoadWatts: p.circuitMin[ci]! })),
      feeds: p.feedIt.map((it, fi) => ({ itBudgetWatts: it, minItWatts: p.feedMin[fi]! })),
    });
    relaxedExactCaps = res.exactCapsWatts;
    const relaxed = res.capsWatts;
    wiring = p.members.map((on, ci) => {
      const perPhase = p.phaseBudget[ci];
      if (perPhase === null || perPhase === undefined) return null;
      const w = assignPhases(on.map((m) => ({ hostname: m.hostname, wallWatts: wallOf(p, m, relaxed), cords: m.cords }))).cordPhases;
      const atMin = loadPhases(on.map((m) => m.minWall), w);
      return atMin.every((x) => x <= perPhase + 1e-6) ? w : assignPhases(on.map((m) => ({ hostname: m.hostname, wallWatts: m.minWall, cords: m.cords }))).cordPhases;
    });
  }
  const input = { ...exactInput(p, wiring), ...(relaxedExactCaps ? { relaxedExactCaps } : {}) };
  const res = allocateExact(input);
  return { caps: res.capsWatts, tflops: res.objectiveTflops, wiring, rounds: 1 };
}

/** The allocateExact input for a problem and a wiring. */
export function exactInput(p: AllocProblem, wiring: readonly (number[][] | null)[]): ExactInput {
  const share: (readonly [number, number, number] | null)[] = p.nodes.map(() => null);
  const shareOf = phaseShareMemo();
  p.members.forEach((on, ci) => on.forEach((m, k) => m.gpu >= 0 && wiring[ci] && (share[m.gpu] = shareOf(wiring[ci]![k]!))));
  return {
    nodes: p.nodes.map((n, i) => ({ ...n, phaseShare: share[i]! })),
    circuits: p.usable.map((u, ci) => ({
      feed: p.circuitFeed[ci]!,
      usableWatts: u,
      minLoadWatts: p.circuitMin[ci]!,
      phaseBudgetWatts: wiring[ci] ? p.phaseBudget[ci]! : null,
      minPhaseWatts: wiring[ci] ? loadPhases(p.members[ci]!.map((m) => m.minWall), wiring[ci]!) : null,
    })),
    feeds: p.feedIt.map((it, fi) => ({ itBudgetWatts: it, minItWatts: p.feedMin[fi]! })),
  };
}

/**
 * The best wiring of one circuit by enumeration (every machine's cords over distinct phases
 * where it has ≤ 3, as the planner wires them), with the caps optimal for each: the wiring's
 * own throughput and the best over all wirings. Only for circuits of a few machines (3^k).
 */
export function bestWiring(p: AllocProblem, ci: number, base: readonly (number[][] | null)[]): number {
  const on = p.members[ci]!;
  const options = on.map((m) => (m.cords === 1 ? [[0], [1], [2]] : m.cords === 2 ? [[0, 1], [1, 2], [0, 2]] : m.cords === 3 ? [[0, 1, 2]] : null));
  if (options.some((o) => o === null)) throw new Error("bestWiring: only 1–3 cords");
  let best = -Infinity;
  const choice = on.map(() => 0);
  const total = options.reduce((s, o) => s * o!.length, 1);
  for (let k = 0; k < total; k++) {
    let x = k;
    on.forEach((_, i) => {
      choice[i] = x % options[i]!.length;
      x = Math.floor(x / options[i]!.length);
    });
    const w = on.map((_, i) => options[i]![choice[i]!]!);
    const atMin = loadPhases(on.map((m) => m.minWall), w);
    if (atMin.some((v) => v > p.phaseBudget[ci]! + 1e-6)) continue;
    const wiring = base.map((b, c) => (c === ci ? w : b));
    best = Math.max(best, allocateExact(exactInput(p, wiring)).exactObjectiveTflops);
  }
  return best;
}
