/**
 * GPU power-cap allocation: the part of the plan that decides how many watts each node's
 * GPUs may draw so that total GPU throughput is as high as the circuits and feeds allow.
 *
 * Problem. Node i has g_i GPUs of one model, PSU efficiency e_i and one cap c_i shared by
 * its GPUs, c_i ∈ [min_i, max_i]. Its throughput is g_i × F_i × r_i(c_i), where F_i is the
 * model's FP16 TFLOPS at stock power and r_i the catalog's piecewise-linear concave
 * relative-throughput curve. Its wall draw is (base_i + g_i × c_i) / e_i. Every circuit's
 * wall load must stay within its usable watts and every feed's IT load within
 * capacity / PUE.
 *
 * Method. Start every node at min_i (the caller has checked that this fits). Each
 * (node, curve segment) is then an item of wall-watt length g_i × (x_{k+1} − x_k) / e_i
 * whose gain per wall watt is constant:
 *
 *     ratio = g_i × F_i × slope_k × δ  /  (g_i × δ / e_i)  =  F_i × slope_k × e_i
 *
 * (TFLOPS per wall W; the GPU count cancels, so a 1-GPU rig and an 8-GPU server of the
 * same model and PSU compete equally per watt). Items are filled in descending ratio
 * order, each as far as its own length and the remaining headroom of its circuit and of
 * its feed allow (fractional fill).
 *
 * Why this is exact. After the change of variables to wall watts the objective is linear
 * in the item fills, each item is bounded by its length, and the circuit and feed limits
 * form a laminar family (every circuit lies in exactly one feed). Capacity constraints on
 * a laminar family define a polymatroid, and the greedy algorithm — take items in
 * non-increasing weight, each as much as feasible — maximizes a non-negative linear
 * function over a polymatroid (Edmonds 1970). Concavity guarantees that a node's
 * segments have non-increasing ratios, so the greedy never fills a later segment of a
 * node before an earlier one (ties are broken by segment index), which makes the
 * segment fills a valid cap. Items with a non-positive slope are never filled: watts
 * that buy no throughput are left as headroom.
 *
 * Caps are then rounded down to whole watts (nvidia-smi -pl takes integers); lowering a
 * cap only lowers loads, so every budget stays satisfied, and no cap drops below min_i
 * because min_i is itself a whole number in the catalog.
 *
 * Ties (equal ratio) go to the node whose hostname sorts first, so the plan is
 * deterministic; identical rigs sharing a binding circuit can end up a segment apart.
 */
import type { GpuSpec } from "../site/catalog.js";
import { relativeThroughput } from "../site/catalog.js";

/** A GPU node as the allocator sees it. */
export interface AllocNode {
  /** Tie-breaker: equal-ratio items go to the node whose hostname sorts first. */
  hostname: string;
  /** Index into {@link AllocInput.circuits}. */
  circuit: number;
  gpuCount: number;
  /** Wall W = DC W / psuEfficiency. */
  psuEfficiency: number;
  gpu: Pick<GpuSpec, "minWatts" | "maxWatts" | "fp16Tflops" | "curve">;
}

/** A circuit: its usable wall watts and the wall watts already spoken for at minimum GPU caps. */
export interface AllocCircuit {
  /** Index into {@link AllocInput.feeds}. */
  feed: number;
  /** V × A × (√3) × derating, in W. */
  usableWatts: number;
  /** Wall load with every GPU node at its minimum cap (ASICs, CPU nodes, node bases, GPUs at min), in W. */
  minLoadWatts: number;
}

/** A feed: the IT watts it may carry (capacity / PUE) and those used at minimum GPU caps. */
export interface AllocFeed {
  /** capacityKw × 1000 / PUE, in IT W. */
  itBudgetWatts: number;
  /** Σ of its circuits' minLoadWatts, in W. */
  minItWatts: number;
}

export interface AllocInput {
  nodes: readonly AllocNode[];
  circuits: readonly AllocCircuit[];
  feeds: readonly AllocFeed[];
}

export interface AllocResult {
  /** Optimal caps before rounding, per node (same order as the input), in W. */
  exactCapsWatts: number[];
  /** Caps rounded down to whole watts, per node, in W. */
  capsWatts: number[];
  /** Σ gpuCount × fp16Tflops × relativeThroughput(exact cap): the optimum of the continuous problem, in TFLOPS. */
  exactObjectiveTflops: number;
  /** The same at the rounded caps, in TFLOPS. */
  objectiveTflops: number;
}

/**
 * Throughput a node's GPUs deliver at `capWatts`, in TFLOPS.
 */
export function nodeThroughputTflops(node: Pick<AllocNode, "gpuCount" | "gpu">, capWatts: number): number {
  return node.gpuCount * node.gpu.fp16Tflops * relativeThroughput(node.gpu as GpuSpec, capWatts);
}

/** A segment of a GPU's throughput curve that buys throughput: an allocation item. */
export interface GainSegment {
  /** The segment runs from curve point k − 1 to curve point k. */
  k: number;
  /** Where the segment starts and ends within [minWatts, maxWatts], per GPU, in W. */
  lo: number;
  hi: number;
  /** TFLOPS per wall W on the segment: fp16Tflops × slope × psuEfficiency (the GPU count cancels). */
  ratio: number;
}

/**
 * The segments of a node's curve inside [minWatts, maxWatts] whose gain per wall watt is
 * positive, in curve order: the items both allocators fill (`allocateCaps` here, the circuit
 * LPs of `exact.ts`). Watts on a flat or falling segment buy nothing and are left unused.
 */
export function gainSegments(node: Pick<AllocNode, "gpu" | "psuEfficiency">): GainSegment[] {
  const { gpu, psuEfficiency } = node;
  const curve = gpu.curve;
  const out: GainSegment[] = [];
  for (let k = 1; k < curve.length; k++) {
    const p0 = curve[k - 1]!;
    const p1 = curve[k]!;
    const lo = Math.max(p0[0], gpu.minWatts);
    const hi = Math.min(p1[0], gpu.maxWatts);
    if (!(hi > lo)) continue;
    const slope = (p1[1] - p0[1]) / (p1[0] - p0[0]);
    const ratio = gpu.fp16Tflops * slope * psuEfficiency;
    if (!(ratio > 0)) continue;
    out.push({ k, lo, hi, ratio });
  }
  return out;
}

/** {@link gainSegments}, computed once per GPU spec and PSU efficiency: sites repeat a handful of both over thousands of nodes. */
export function gainSegmentsMemo(): (node: Pick<AllocNode, "gpu" | "psuEfficiency">) => readonly GainSegment[] {
  const memo = new Map<AllocNode["gpu"], Map<number, GainSegment[]>>();
  return (node) => {
    let byEff = memo.get(node.gpu);
    if (!byEff) memo.set(node.gpu, (byEff = new Map()));
    let segs = byEff.get(node.psuEfficiency);
    if (!segs) byEff.set(node.psuEfficiency, (segs = gainSegments(node)));
    return segs;
  };
}

/**
 * Chooses per-node GPU caps that maximize total throughput within every circuit and
 * feed budget. The caller guarantees that minimum caps fit (see the module comment for
 * why the greedy is optimal).
 */
export function allocateCaps(input: AllocInput): AllocResult {
  const { nodes, circuits, feeds } = input;
  const circuitHeadroom = circuits.map((c) => c.usableWatts - c.minLoadWatts);
  const feedHeadroom = feeds.map((f) => f.itBudgetWatts - f.minItWatts);

  // Hostname order: the tie-break between items of equal ratio, and the order of `rank`.
  const byName = nodes.map((_, i) => i).sort((a, b) => cmpStr(nodes[a]!.hostname, nodes[b]!.hostname));
  const rank = new Int32Array(nodes.length);
  byName.forEach((nodeIdx, r) => (rank[nodeIdx] = r));

  // Items in the greedy's order: ratio descending, then hostname, then segment. Ratios take a
  // few distinct values (one per GPU model, PSU efficiency and segment), so the items are
  // put into one bucket per ratio, nodes in hostname order, and only the buckets are sorted:
  // the same order as sorting every item, in linear time for a site of a few kinds.
  const segmentsOf = gainSegmentsMemo();
  const bucketOf = new Map<number, number>();
  const bucketRatio: number[] = [];
  const bucketNode: number[][] = [];
  const bucketSeg: GainSegment[][] = [];
  for (const i of byName) {
    for (const seg of segmentsOf(nodes[i]!)) {
      let b = bucketOf.get(seg.ratio);
      if (b === undefined) {
        bucketOf.set(seg.ratio, (b = bucketRatio.length));
        bucketRatio.push(seg.ratio);
        bucketNode.push([]);
        bucketSeg.push([]);
      }
      bucketNode[b]!.push(i);
      bucketSeg[b]!.push(seg);
    }
  }
  const buckets = bucketRatio.map((_, b) => b).sort((a, b) => bucketRatio[b]! - bucketRatio[a]!);

  const exact = nodes.map((n) => n.gpu.minWatts);
  for (const b of buckets) {
    const members = bucketNode[b]!;
    const segs = bucketSeg[b]!;
    for (let j = 0; j < members.length; j++) {
      const i = members[j]!;
      const n = nodes[i]!;
      const x0 = segs[j]!.lo;
      const x1 = segs[j]!.hi;
      // Concavity means earlier segments of this node are already full; the cap sits at x0.
      const lengthWall = (n.gpuCount * (x1 - Math.max(x0, exact[i]!))) / n.psuEfficiency;
      const c = n.circuit;
      const f = circuits[c]!.feed;
      const fill = Math.min(lengthWall, circuitHeadroom[c]!, feedHeadroom[f]!);
      if (!(fill > 0)) continue;
      circuitHeadroom[c]! -= fill;
      feedHeadroom[f]! -= fill;
      exact[i] = Math.min(n.gpu.maxWatts, Math.max(x0, exact[i]!) + (fill * n.psuEfficiency) / n.gpuCount);
    }
  }

  // 1e-9 W absorbs float noise such as 299.99999999997 for an exactly filled segment; the
  // resulting overshoot (≤ 1e-9 W per GPU) is far below any breaker's resolution.
  const caps = exact.map((x, i) => Math.max(nodes[i]!.gpu.minWatts, Math.floor(x + 1e-9)));
  spreadEvenly(nodes, rank, exact, caps);
  return allocResult(nodes, exact, caps);
}

/** The result of an allocation: both cap vectors and the throughput each gives. */
export function allocResult(nodes: readonly AllocNode[], exact: number[], caps: number[]): AllocResult {
  let exactObjective = 0;
  let objective = 0;
  for (let i = 0; i < nodes.length; i++) {
    exactObjective += nodeThroughputTflops(nodes[i]!, exact[i]!);
    objective += nodeThroughputTflops(nodes[i]!, caps[i]!);
  }
  return { exactCapsWatts: exact, capsWatts: caps, exactObjectiveTflops: exactObjective, objectiveTflops: objective };
}

/**
 * Identical nodes on one circuit (same GPU, GPU count and PSU efficiency) are
 * interchangeable, and the greedy fills them one after another (ties go to the hostname
 * that sorts first): optimal, but neighbours end up at different caps, which surprises
 * operators. Spreading each group's total evenly keeps every circuit and feed load exactly
 * (each cap watt costs the same wall watts in the group) and, the curves being concave,
 * never lowers throughput. Integer caps differ by at most 1 W inside a group afterwards;
 * the extra watts go to the hostnames that sort first. On a three-phase circuit only nodes
 * with the same cords on the same phases (`wiring`: the node's share per phase) are interchangeable.
 * `rank[i]` is node i's position in hostname order (a permutation of the node indices).
 */
export function spreadEvenly(
  nodes: readonly AllocNode[],
  rank: Int32Array,
  exact: number[],
  caps: number[],
  wiring: (n: AllocNode) => readonly number[] | null = () => null,
): void {
  // Nodes by circuit (a counting sort), then on each circuit the groups by comparing each node
  // with the first member of the circuit's groups so far: circuits hold tens of nodes of a
  // handful of kinds, so this takes nodes × kinds-per-circuit steps and builds no key per node.
  const circuitCount = nodes.reduce((m, n) => Math.max(m, n.circuit + 1), 0);
  const start = new Int32Array(circuitCount + 1);
  for (const n of nodes) start[n.circuit + 1]!++;
  for (let c = 0; c < circuitCount; c++) start[c + 1]! += start[c]!;
  const next = start.slice(0, circuitCount);
  const byCircuit = new Int32Array(nodes.length);
  // In rank order, so every group's members come out sorted by rank.
  const byRank = new Int32Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) byRank[rank[i]!] = i;
  for (const i of byRank) byCircuit[next[nodes[i]!.circuit]!++] = i;
  const wires = nodes.map((n) => wiring(n));
  const same = (a: number, b: number): boolean => {
    const x = nodes[a]!;
    const y = nodes[b]!;
    if (x.gpu !== y.gpu || x.gpuCount !== y.gpuCount || x.psuEfficiency !== y.psuEfficiency) return false;
    const wa = wires[a] ?? null;
    const wb = wires[b] ?? null;
    if (wa === wb) return true;
    if (wa === null || wb === null || wa.length !== wb.length) return false;
    for (let p = 0; p < wa.length; p++) if (wa[p] !== wb[p]) return false;
    return true;
  };
  const groups: number[][] = [];
  for (let c = 0; c < circuitCount; c++) {
    groups.length = 0;
    for (let k = start[c]!; k < start[c + 1]!; k++) {
      const i = byCircuit[k]!;
      const group = groups.find((g) => same(g[0]!, i));
      if (group) group.push(i);
      else groups.push([i]);
    }
    for (const members of groups) {
      if (members.length < 2) continue;
      let exactTotal = 0;
      let capTotal = 0;
      for (const i of members) {
        exactTotal += exact[i]!;
        capTotal += caps[i]!;
      }
      const base = Math.floor(capTotal / members.length);
      const extra = capTotal - base * members.length;
      members.forEach((i, r) => {
        exact[i] = exactTotal / members.length;
        caps[i] = base + (r < extra ? 1 : 0);
      });
    }
  }
}

/** Code-unit string order: locale-independent, so plans are identical on every host. */
export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
