/**
 * Exact GPU power caps when every phase of a three-phase circuit has its own budget.
 *
 * Problem. As in `allocate.ts` (node i: g_i GPUs, PSU efficiency e_i, one cap c_i ∈
 * [min_i, max_i], concave piecewise-linear throughput), with one more family of limits: on
 * a three-phase (wye) circuit every PSU cord loads one phase, a machine with k cords puts
 * draw / k on each cord's phase, and each phase may carry its own budget V / √3 × A ×
 * derating. Circuits and feeds keep theirs. In wall watts above the minimum caps, with one
 * variable y_j ∈ [0, L_j] per (node, curve segment) of gain r_j per wall watt (the
 * `allocate.ts` items), this is the linear program
 *
 *     max Σ r_j y_j   s.t.   Σ_j a_jp y_j ≤ h_p   for every row p of every circuit,
 *                            Σ_{j in feed F} y_j ≤ H_F   for every feed,   0 ≤ y_j ≤ L_j,
 *
 * where a circuit's rows are its three phases (a_jp = the node's share of cords on phase p;
 * the phases add up to the circuit, V/√3 × 3 = V × √3, so the circuit total is implied) or,
 * on a single-phase circuit, its total (a_j = 1). A machine on two phases sits in two
 * overlapping rows, so the rows no longer form a laminar family and the plain greedy is not
 * exact any more (the demo lost 1.4 % to it).
 *
 * Method, and why it is exact. The only limit shared between circuits is their feed, and a
 * feed's limit is on the plain sum of its circuits' loads. So for a price λ ≥ 0 per wall watt
 * of the feed, the Lagrangian splits into one small LP per circuit:
 *
 *     V_C(λ):  max Σ_j (r_j − λ) y_j   s.t. the circuit's rows and bounds.
 *
 * 1. Per circuit, a parametric primal simplex (bounded variables, ≤ 4 rows) follows the
 *    optimal solution of V_C(λ) as λ falls from max r_j to 0 (`circuitPieces`). Between two
 *    critical prices the optimal vertex stays put; at a critical price λ* a run of pivots
 *    moves from the vertex optimal above λ* to the one optimal below it. Every vertex on the
 *    way is optimal at λ* (the simplex keeps reduced costs of the right sign for λ*), so the
 *    segment between consecutive vertices is a "piece": slope λ* (throughput per wall watt,
 *    since r·y − λ*·Σy is constant along it) and length Δload > 0 (pivots taken for λ just
 *    below λ* increase the load). The pieces of a circuit therefore come with non-increasing
 *    slopes: they are the breakpoints of the circuit's concave value function "best
 *    throughput for a given load". Degenerate pivots (step 0) are skipped; Bland's rule
 *    (lowest index among equals) keeps them from cycling.
 * 2. Per feed, the circuits' pieces are filled in descending slope, each as far as the
 *    feed's headroom allows (`fillFeed`), which is exact for max Σ_C V_C(b_C) subject to
 *    Σ_C b_C ≤ H_F with concave V_C (a separable concave resource allocation).
 * 3. Optimality certificate: let λ_F be the slope of the feed's last (partly) filled piece,
 *    or 0 if the feed does not bind. Every circuit then sits at a convex combination of two
 *    vertices optimal for V_C(λ_F) — optimal for it, with phase duals μ_p ≥ 0 from its
 *    simplex basis; and Σ_C b_C = H_F whenever λ_F > 0. Primal feasibility, dual feasibility
 *    (λ_F, μ ≥ 0 and reduced costs of the right sign) and complementary slackness together
 *    make the whole solution optimal for the LP (LP duality). tests/plan-exact.test.ts checks
 *    this against HiGHS on generated sites.
 *
 * Single-phase circuits have one row, so their pieces are simply their segments in
 * descending ratio, cut at the circuit's headroom (the greedy of `allocate.ts`).
 *
 * Cost: a three-phase circuit with N segments takes O(N) pivots of O(N) pricing, and
 * circuits are PDUs (tens of machines); the feed pass sorts all pieces once: O(n log n)
 * for the site. Deterministic: ties go to the lower index (nodes in hostname order).
 *
 * Whole watts. Caps are rounded down (loads only fall), identical neighbours (same circuit,
 * GPU, count, PSU and phase wiring) are evened out (`allocate.ts` spreadEvenly), and the
 * watts the rounding freed are handed out one at a time, always to the node whose next
 * +1 W buys the most throughput per wall watt and still fits its circuit, phases and feed
 * (`handOutLeftover`).
 */
import type { AllocFeed, AllocNode, AllocResult, GainSegment } from "./allocate.js";
import { allocResult, allocateCaps, cmpStr, gainSegmentsMemo, nodeThroughputTflops, spreadEvenly } from "./allocate.js";
import { SiteError } from "../site/problems.js";

/** A GPU node with the phases its cords load. */
export interface ExactNode extends AllocNode {
  /**
   * Share of the node's wall draw on L1, L2, L3 (cords on that phase / cords); sums to 1.
   * null on a single-phase circuit.
   */
  phaseShare: readonly [number, number, number] | null;
}

/** A circuit with its per-phase budget and the phase loads at minimum GPU caps. */
export interface ExactCircuit {
  /** Index into the feeds. */
  feed: number;
  /** V × A × (√3) × derating, in W. */
  usableWatts: number;
  /** Wall load with every GPU node at its minimum cap, in W. */
  minLoadWatts: number;
  /** V / √3 × A × derating, in W; null on a single-phase circuit. */
  phaseBudgetWatts: number | null;
  /** Load of L1, L2, L3 at minimum GPU caps with the chosen wiring, in W; null on a single-phase circuit. */
  minPhaseWatts: readonly [number, number, number] | null;
}

export interface ExactInput {
  nodes: readonly ExactNode[];
  circuits: readonly ExactCircuit[];
  feeds: readonly AllocFeed[];
  /**
   * An optimum of the same problem without the phase budgets (`allocateCaps(...).exactCapsWatts`),
   * if the caller already has one; computed here otherwise.
   */
  relaxedExactCaps?: readonly number[];
}

/** Pivots allowed per circuit, per segment: the parametric simplex takes about one per segment; the bound only turns a bug into an error. */
const PIVOTS_PER_COLUMN = 50;
/** Coefficients below this count as zero in the simplex (phase shares are ≥ 1/6 or 0). */
const TOL = 1e-12;

/** One circuit's LP: columns (segments) with gain, length, node, and per-row coefficients. */
interface CircuitLp {
  circuit: number;
  rows: number;
  headroom: number[];
  colNode: number[];
  colGain: number[];
  colLength: number[];
  /** colCoef[j × rows + p] */
  colCoef: number[];
}

/** The breakpoints of a circuit's value function, each with the column changes that walk it. */
interface Pieces {
  slope: number[];
  load: number[];
  /** Changes of piece k are at [start[k], start[k + 1]). */
  start: number[];
  changeCol: number[];
  changeDelta: number[];
}

/**
 * Caps that maximize total throughput within every circuit, phase and feed budget (see the
 * module comment for why they are optimal). The caller guarantees that minimum caps fit.
 */
export function allocateExact(input: ExactInput): AllocResult {
  const { nodes, circuits, feeds } = input;
  const byName = nodes.map((_, i) => i).sort((a, b) => cmpStr(nodes[a]!.hostname, nodes[b]!.hostname));
  const rank = new Int32Array(nodes.length);
  byName.forEach((nodeIdx, r) => (rank[nodeIdx] = r));

  // Per feed: first the relaxed problem (circuit totals and the feed only), solved exactly by
  // the laminar greedy of allocate.ts (or given by the caller, who may have solved it to wire
  // the cords). If its optimum already keeps every phase of the feed's circuits within
  // budget, it is optimal for the phased problem too (a feasible point of the smaller set,
  // optimal over the larger one), and the feed is done: most are. Otherwise the feed's
  // circuits get their value functions (phased ones by the parametric simplex) and the feed
  // is filled from those.
  const relaxedCaps = input.relaxedExactCaps ?? allocateCaps(input).exactCapsWatts;
  const exact = relaxedCaps.slice();
  const increment = (i: number): number => ((relaxedCaps[i]! - nodes[i]!.gpu.minWatts) * nodes[i]!.gpuCount) / nodes[i]!.psuEfficiency;
  const phaseLoad = circuits.map((c) => (c.minPhaseWatts ? [...c.minPhaseWatts] : null));
  for (const i of byName) {
    const n = nodes[i]!;
    const pl = phaseLoad[n.circuit];
    if (pl && n.phaseShare) {
      const d = increment(i);
      for (let p = 0; p < 3; p++) pl[p]! += d * n.phaseShare[p]!;
    }
  }
  const byFeed: number[][] = feeds.map(() => []);
  circuits.forEach((c, ci) => byFeed[c.feed]!.push(ci));
  const segmentsOf = gainSegmentsMemo();
  // Each circuit's nodes in hostname order (the LP's column order); built only if a feed needs the LPs.
  let circuitNodes: number[][] | undefined;
  byFeed.forEach((cis, fi) => {
    const phasesHold = cis.every((ci) => {
      const pl = phaseLoad[ci];
      const budget = circuits[ci]!.phaseBudgetWatts;
      return !pl || budget === null || pl.every((w) => w <= budget * (1 + 1e-12) + 1e-9);
    });
    if (phasesHold) return;
    const members = (circuitNodes ??= nodesByCircuit(circuits.length, nodes, byName));
    const lps = cis.map((ci) => circuitLp(nodes, circuits[ci]!, ci, members[ci]!, segmentsOf));
    const pieces: Pieces[] = [];
    const fill: Float64Array[] = [];
    cis.forEach((ci, k) => {
      const lp = lps[k]!;
      pieces[ci] = lp.rows === 1 ? singleRowPieces(lp, lp.headroom[0]!) : circuitPieces(lp);
      fill[ci] = new Float64Array(lp.colNode.length);
    });
    fillFeed(cis, pieces, fill, feeds[fi]!.itBudgetWatts - feeds[fi]!.minItWatts);
    cis.forEach((ci, k) => {
      const lp = lps[k]!;
      const f = fill[ci]!;
      for (const i of members[ci]!) exact[i] = nodes[i]!.gpu.minWatts;
      for (let j = 0; j < lp.colNode.length; j++) {
        const i = lp.colNode[j]!;
        const n = nodes[i]!;
        const y = Math.min(lp.colLength[j]!, Math.max(0, f[j]!));
        exact[i]! += (y * n.psuEfficiency) / n.gpuCount;
      }
      for (const i of members[ci]!) exact[i] = Math.min(nodes[i]!.gpu.maxWatts, exact[i]!);
    });
  });

  // 1e-9 W absorbs float noise such as 299.99999999997 for an exactly filled segment.
  const caps = exact.map((x, i) => Math.max(nodes[i]!.gpu.minWatts, Math.floor(x + 1e-9)));
  spreadEvenly(nodes, rank, exact, caps, (n) => (n as ExactNode).phaseShare);
  handOutLeftover(input, rank, caps);
  return allocResult(nodes, exact, caps);
}

/** The nodes of each circuit, in the order of `order`. */
function nodesByCircuit(circuitCount: number, nodes: readonly ExactNode[], order: readonly number[]): number[][] {
  const out: number[][] = Array.from({ length: circuitCount }, () => []);
  for (const i of order) out[nodes[i]!.circuit]!.push(i);
  return out;
}

/** A circuit's LP: one column per (node, curve segment) with a positive gain, nodes in hostname order so ties go as in allocate.ts. */
function circuitLp(
  nodes: readonly ExactNode[],
  c: ExactCircuit,
  ci: number,
  members: readonly number[],
  segmentsOf: (n: ExactNode) => readonly GainSegment[],
): CircuitLp {
  const phased = c.phaseBudgetWatts !== null && c.minPhaseWatts !== null;
  const headroom = phased ? c.minPhaseWatts!.map((w) => Math.max(0, c.phaseBudgetWatts! - w)) : [Math.max(0, c.usableWatts - c.minLoadWatts)];
  // The phases add up to the circuit; a total row is only needed if the circuit's own
  // budget were tighter than its three phases together (never with the formulas in power.ts).
  if (phased && c.usableWatts - c.minLoadWatts < headroom[0]! + headroom[1]! + headroom[2]! - 1e-9) headroom.push(Math.max(0, c.usableWatts - c.minLoadWatts));
  const lp: CircuitLp = { circuit: ci, rows: headroom.length, headroom, colNode: [], colGain: [], colLength: [], colCoef: [] };
  for (const i of members) {
    const n = nodes[i]!;
    for (const seg of segmentsOf(n)) {
      lp.colNode.push(i);
      lp.colGain.push(seg.ratio);
      lp.colLength.push((n.gpuCount * (seg.hi - seg.lo)) / n.psuEfficiency);
      if (lp.rows === 1) lp.colCoef.push(1);
      else {
        lp.colCoef.push(n.phaseShare![0], n.phaseShare![1], n.phaseShare![2]);
        if (lp.rows === 4) lp.colCoef.push(1);
      }
    }
  }
  return lp;
}

/**
 * A circuit's pieces with its total as the only row: its segments in descending gain (ties:
 * column order), cut at `room`. Exact for a single-phase circuit; for a three-phase one it
 * is the relaxation without the phase rows.
 */
function singleRowPieces(lp: CircuitLp, room: number): Pieces {
  const out: Pieces = { slope: [], load: [], start: [0], changeCol: [], changeDelta: [] };
  const order = lp.colGain.map((_, j) => j).sort((a, b) => lp.colGain[b]! - lp.colGain[a]! || a - b);
  for (const j of order) {
    if (!(room > 0)) break;
    const take = Math.min(room, lp.colLength[j]!);
    room -= take;
    out.slope.push(lp.colGain[j]!);
    out.load.push(take);
    out.changeCol.push(j);
    out.changeDelta.push(take);
    out.start.push(out.changeCol.length);
  }
  return out;
}

/**
 * The pieces of a multi-row circuit's value function, by the parametric primal simplex on
 * max Σ (r_j − λ) y_j, λ falling from max r_j to 0 (see the module comment).
 *
 * Variables 0..N−1 are the columns (bounds [0, L_j]); N..N+m−1 the row slacks ([0, ∞)).
 * The basis has m variables; every other variable sits at a bound.
 */
function circuitPieces(lp: CircuitLp): Pieces {
  const m = lp.rows;
  const n = lp.colNode.length;
  const out: Pieces = { slope: [], load: [], start: [0], changeCol: [], changeDelta: [] };
  if (n === 0) return out;
  const basis = new Int32Array(m);
  const rowOf = new Int32Array(n + m).fill(-1);
  const atUpper = new Uint8Array(n);
  const binv = new Float64Array(m * m);
  const rhs = lp.headroom.slice(); // h − Σ_{at upper} L_j a_j
  const xB = new Float64Array(m);
  for (let p = 0; p < m; p++) {
    basis[p] = n + p;
    rowOf[n + p] = p;
    binv[p * m + p] = 1;
    xB[p] = rhs[p]!;
  }
  const piR = new Float64Array(m);
  const pi1 = new Float64Array(m);
  const w = new Float64Array(m);
  const coef = (v: number, p: number): number => (v < n ? lp.colCoef[v * m + p]! : v - n === p ? 1 : 0);
  let lambda = Infinity;
  let pieceOpen = false;
  const maxPivots = PIVOTS_PER_COLUMN * (n + m);
  for (let pivots = 0; ; pivots++) {
    if (pivots > maxPivots) {
      throw new SiteError([
        {
          message: `circuit #${lp.circuit + 1}: the cap allocation did not settle after ${maxPivots} simplex pivots`,
          fix: "this is a planner bug: report it with the site file",
          path: ["power", "circuits", lp.circuit],
        },
      ]);
    }
    // Duals π(λ) = (r_B − λ 1_B) B⁻¹ = π_r − λ π_1.
    piR.fill(0);
    pi1.fill(0);
    for (let i = 0; i < m; i++) {
      const b = basis[i]!;
      if (b >= n) continue;
      const g = lp.colGain[b]!;
      for (let k = 0; k < m; k++) {
        piR[k]! += g * binv[i * m + k]!;
        pi1[k]! += binv[i * m + k]!;
      }
    }
    // Reduced cost of a nonbasic variable: d(λ) = α − λβ. Find the highest λ ≤ current at
    // which one turns attractive (at lower: d > 0; at upper: d < 0); ties: lowest index.
    let best = -Infinity;
    let enter = -1;
    // A node's columns are consecutive and share one coefficient vector, so π·a is computed
    // once per node, not per segment.
    let dotR = 0;
    let dot1 = 0;
    let lastNode = -1;
    for (let v = 0; v < n + m; v++) {
      if (rowOf[v]! >= 0) continue;
      let alpha: number;
      let beta: number;
      if (v < n) {
        const node = lp.colNode[v]!;
        if (node !== lastNode) {
          lastNode = node;
          dotR = 0;
          dot1 = 0;
          for (let p = 0; p < m; p++) {
            const a = lp.colCoef[v * m + p]!;
            dotR += piR[p]! * a;
            dot1 += pi1[p]! * a;
          }
        }
        alpha = lp.colGain[v]! - dotR;
        beta = 1 - dot1;
      } else {
        alpha = -piR[v - n]!;
        beta = -pi1[v - n]!;
      }
      const upper = v < n && atUpper[v] === 1;
      let cross: number;
      if (!upper) cross = beta > 1e-9 ? alpha / beta : alpha > 1e-9 ? Infinity : -Infinity;
      else cross = beta < -1e-9 ? alpha / beta : alpha < -1e-9 ? Infinity : -Infinity;
      // Variables already attractive at the current price all count as crossing there, so
      // the lowest index among them enters (Bland's rule: no cycling on degenerate pivots).
      if (cross > lambda) cross = lambda;
      if (cross > best) {
        best = cross;
        enter = v;
      }
    }
    if (enter < 0 || !(Math.min(best, lambda) > 1e-12)) return out;
    const price = Math.min(best, lambda);
    if (price < lambda) {
      lambda = price;
      pieceOpen = false;
    }
    // Direction: σ = +1 raises the entering variable from its lower bound, −1 lowers it from its upper.
    const sigma = enter < n && atUpper[enter] === 1 ? -1 : 1;
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let p = 0; p < m; p++) s += binv[i * m + p]! * coef(enter, p);
      w[i] = s;
    }
    let step = enter < n ? lp.colLength[enter]! : Infinity;
    let leave = -1;
    let leaveToUpper = false;
    for (let i = 0; i < m; i++) {
      const rate = -sigma * w[i]!; // d x_B[i] / d step
      const b = basis[i]!;
      let t: number;
      let toUpper = false;
      if (rate < -TOL) t = Math.max(0, xB[i]!) / -rate;
      else if (rate > TOL && b < n) {
        t = Math.max(0, lp.colLength[b]! - xB[i]!) / rate;
        toUpper = true;
      } else continue;
      if (t < step || (t === step && leave >= 0 && b < basis[leave]!)) {
        step = t;
        leave = i;
        leaveToUpper = toUpper;
      }
    }
    if (step === Infinity) {
      throw new SiteError([{ message: `circuit #${lp.circuit + 1}: the cap allocation found an unbounded direction`, fix: "this is a planner bug: report it with the site file", path: ["power", "circuits", lp.circuit] }]);
    }
    if (step > 0) {
      // Record the move as part of the current piece.
      if (!pieceOpen) {
        out.slope.push(lambda);
        out.load.push(0);
        out.start.push(out.changeCol.length);
        pieceOpen = true;
      }
      const k = out.slope.length - 1;
      let dLoad = 0;
      if (enter < n) {
        out.changeCol.push(enter);
        out.changeDelta.push(sigma * step);
        dLoad += sigma * step;
      }
      for (let i = 0; i < m; i++) {
        const b = basis[i]!;
        if (b >= n || w[i] === 0) continue;
        const d = -sigma * step * w[i]!;
        out.changeCol.push(b);
        out.changeDelta.push(d);
        dLoad += d;
      }
      out.load[k]! += dLoad;
      out.start[k + 1] = out.changeCol.length;
    }
    if (leave < 0) {
      // Bound flip: the entering column runs from one bound to the other, the basis stays.
      atUpper[enter] = sigma > 0 ? 1 : 0;
      for (let p = 0; p < m; p++) rhs[p]! -= sigma * lp.colLength[enter]! * coef(enter, p);
    } else {
      const b = basis[leave]!;
      if (b < n) {
        atUpper[b] = leaveToUpper ? 1 : 0;
        if (leaveToUpper) for (let p = 0; p < m; p++) rhs[p]! -= lp.colLength[b]! * coef(b, p);
      }
      rowOf[b] = -1;
      if (enter < n && atUpper[enter] === 1) {
        for (let p = 0; p < m; p++) rhs[p]! += lp.colLength[enter]! * coef(enter, p);
        atUpper[enter] = 0;
      }
      basis[leave] = enter;
      rowOf[enter] = leave;
      // B⁻¹ ← E B⁻¹ with the pivot on w[leave].
      const piv = w[leave]!;
      for (let k = 0; k < m; k++) binv[leave * m + k]! /= piv;
      for (let i = 0; i < m; i++) {
        if (i === leave || w[i] === 0) continue;
        const f = w[i]!;
        for (let k = 0; k < m; k++) binv[i * m + k]! -= f * binv[leave * m + k]!;
      }
    }
    // Basic values from scratch (x_B = B⁻¹ (h − Σ_{at upper} L_j a_j)), so errors do not pile up.
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let p = 0; p < m; p++) s += binv[i * m + p]! * rhs[p]!;
      xB[i] = s;
    }
  }
}

/**
 * Fills one feed: the pieces of its circuits in descending slope (ties: circuit, then piece
 * order), each as far as the feed's headroom allows; a circuit's pieces are taken in order
 * and its first partly filled piece ends it.
 */
function fillFeed(cis: readonly number[], pieces: readonly Pieces[], fill: Float64Array[], headroom: number): void {
  const pc: number[] = [];
  const pk: number[] = [];
  for (const ci of cis) for (let k = 0; k < pieces[ci]!.slope.length; k++) (pc.push(ci), pk.push(k));
  const order = pc.map((_, j) => j).sort((a, b) => pieces[pc[b]!]!.slope[pk[b]!]! - pieces[pc[a]!]!.slope[pk[a]!]! || pc[a]! - pc[b]! || pk[a]! - pk[b]!);
  const done = new Set<number>();
  let room = Math.max(0, headroom);
  for (const j of order) {
    const ci = pc[j]!;
    if (done.has(ci)) continue;
    const p = pieces[ci]!;
    const k = pk[j]!;
    const load = p.load[k]!;
    const frac = load <= room ? 1 : room / load;
    if (!(frac > 0)) {
      done.add(ci);
      continue;
    }
    room -= load * frac;
    const f = fill[ci]!;
    for (let x = p.start[k]!; x < p.start[k + 1]!; x++) f[p.changeCol[x]!]! += frac * p.changeDelta[x]!;
    if (frac < 1) done.add(ci);
  }
}

/**
 * Gives back the watts that rounding down freed: repeatedly the node whose next +1 W buys
 * the most throughput per wall watt (ties: the lower cap, then hostname) gets it, if it stays within max and
 * keeps its circuit, its phases and its feed within budget; a node that does not fit
 * leaves the queue. Bounded: every +1 W uses ≥ 1 wall watt of the < Σ g_i / e_i wall watts
 * per budget that rounding freed (and any headroom left by flat segments), and a node
 * leaves for good when refused.
 *
 * Feeds share no budget, so each feed has its own queue (the order within a feed is the
 * order one queue for the site would give), which stops as soon as the feed's room is below
 * the smallest step of its nodes. A feed whose room exceeds what its circuits can still take
 * (by more than 1 W, far above float noise) cannot bind, so its circuits are independent in
 * turn and each gets its own queue, stopping when the circuit is full. On a site whose
 * budgets bind, nearly every node is thus left without being queued and refused one by one.
 */
function handOutLeftover(input: ExactInput, rank: Int32Array, caps: number[]): void {
  const { nodes, circuits, feeds } = input;
  const circuitLoad = circuits.map((c) => c.minLoadWatts);
  const phaseLoad = circuits.map((c) => (c.minPhaseWatts ? [...c.minPhaseWatts] : null));
  const feedLoad = feeds.map((f) => f.minItWatts);
  const perWatt = nodes.map((n) => n.gpuCount / n.psuEfficiency);
  nodes.forEach((n, i) => {
    const d = (caps[i]! - n.gpu.minWatts) * perWatt[i]!;
    circuitLoad[n.circuit]! += d;
    feedLoad[circuits[n.circuit]!.feed]! += d;
    const pl = phaseLoad[n.circuit];
    if (pl && n.phaseShare) for (let p = 0; p < 3; p++) pl[p]! += d * n.phaseShare[p]!;
  });
  /** Whether node i's next +1 W keeps its circuit, phases and feed within budget; loads only rise, so a node that does not fit never will. */
  const fits = (i: number): boolean => {
    const n = nodes[i]!;
    const c = circuits[n.circuit]!;
    const d = perWatt[i]!;
    if (!(circuitLoad[n.circuit]! + d <= c.usableWatts && feedLoad[c.feed]! + d <= feeds[c.feed]!.itBudgetWatts)) return false;
    const pl = phaseLoad[n.circuit];
    const share = n.phaseShare;
    if (!pl || !share || c.phaseBudgetWatts === null) return true;
    for (let p = 0; p < 3; p++) if (pl[p]! + d * share[p]! > c.phaseBudgetWatts) return false;
    return true;
  };
  const gainOf = (i: number): number =>
    caps[i]! >= nodes[i]!.gpu.maxWatts ? 0 : (nodeThroughputTflops(nodes[i]!, caps[i]! + 1) - nodeThroughputTflops(nodes[i]!, caps[i]!)) / perWatt[i]!;
  const gain = new Float64Array(nodes.length);
  // Equal gains (to float noise: two points of one segment give the same slope up to 1e-16):
  // the lower cap first, so identical neighbours take turns and stay within 1 W.
  const above = (a: number, b: number): number => {
    const d = gain[a]! - gain[b]!;
    if (Math.abs(d) > 1e-12 * Math.max(gain[a]!, gain[b]!)) return d;
    return caps[b]! - caps[a]! || rank[b]! - rank[a]!;
  };
  /**
   * Hands out +1 W steps to `members` until none fits or `room()` is below their smallest
   * step (by 1 µW, so float rounding of room − step against load + step never ends it early).
   */
  const serve = (members: readonly number[], room: () => number): void => {
    let minStep = Infinity;
    for (const i of members) minStep = Math.min(minStep, perWatt[i]!);
    const heap = new MaxHeap(above);
    for (const i of members) {
      if (!fits(i)) continue;
      gain[i] = gainOf(i);
      if (gain[i]! > 0) heap.push(i);
    }
    // Each pop either raises a cap (≤ Σ (max − min) times in all) or drops a node for good.
    for (let i = heap.pop(); i !== undefined && room() >= minStep - 1e-6; i = heap.pop()) {
      if (!fits(i)) continue;
      const n = nodes[i]!;
      const d = perWatt[i]!;
      caps[i]! += 1;
      circuitLoad[n.circuit]! += d;
      feedLoad[circuits[n.circuit]!.feed]! += d;
      const pl = phaseLoad[n.circuit];
      if (pl && n.phaseShare) for (let p = 0; p < 3; p++) pl[p]! += d * n.phaseShare[p]!;
      gain[i] = gainOf(i);
      if (gain[i]! > 0) heap.push(i);
    }
  };
  const onCircuit = nodesByCircuit(circuits.length, nodes, nodes.map((_, i) => i));
  const byFeed: number[][] = feeds.map(() => []);
  circuits.forEach((c, ci) => byFeed[c.feed]!.push(ci));
  byFeed.forEach((cis, fi) => {
    const feedRoom = (): number => feeds[fi]!.itBudgetWatts - feedLoad[fi]!;
    let circuitsRoom = 0;
    for (const ci of cis) circuitsRoom += Math.max(0, circuits[ci]!.usableWatts - circuitLoad[ci]!);
    if (feedRoom() > circuitsRoom + 1) {
      for (const ci of cis) serve(onCircuit[ci]!, () => circuits[ci]!.usableWatts - circuitLoad[ci]!);
    } else {
      const members: number[] = [];
      for (const ci of cis) for (const i of onCircuit[ci]!) members.push(i);
      serve(members, feedRoom);
    }
  });
}

/** A binary max-heap of indices under a comparator (positive: a above b). */
class MaxHeap {
  private readonly items: number[] = [];
  constructor(private readonly above: (a: number, b: number) => number) {}
  push(x: number): void {
    const h = this.items;
    h.push(x);
    let k = h.length - 1;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (this.above(h[k]!, h[parent]!) <= 0) break;
      [h[k], h[parent]] = [h[parent]!, h[k]!];
      k = parent;
    }
  }
  pop(): number | undefined {
    const h = this.items;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        const r = l + 1;
        let best = k;
        if (l < h.length && this.above(h[l]!, h[best]!) > 0) best = l;
        if (r < h.length && this.above(h[r]!, h[best]!) > 0) best = r;
        if (best === k) break;
        [h[k], h[best]] = [h[best]!, h[k]!];
        k = best;
      }
    }
    return top;
  }
}
