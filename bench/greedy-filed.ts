/**
 * The laminar greedy as it was when issue 9 was filed (src/plan/allocate.ts at commit
 * 2c66637: `allocateCaps` and `spreadEvenly`), kept verbatim as the timing baseline of
 * `legacyAllocate`. The planner's `allocateCaps` has since become faster with the same
 * results (items bucketed by ratio instead of sorted, groups found per circuit instead of by
 * string keys); were the baseline to call it, every speed-up of the shared greedy would also
 * speed up "today's greedy" and the ratio would no longer compare against it.
 * The bench reports the exact allocation against both (bench/run.ts).
 */
import { cmpStr, nodeThroughputTflops } from "../src/plan/allocate.js";
import type { AllocInput, AllocNode, AllocResult } from "../src/plan/index.js";

/** `allocateCaps` as of commit 2c66637. */
export function filedAllocateCaps(input: AllocInput): AllocResult {
  const { nodes, circuits, feeds } = input;
  const circuitHeadroom = circuits.map((c) => c.usableWatts - c.minLoadWatts);
  const feedHeadroom = feeds.map((f) => f.itBudgetWatts - f.minItWatts);

  // Rank nodes by hostname once so the item sort compares integers, not strings.
  const byName = nodes.map((_, i) => i).sort((a, b) => cmpStr(nodes[a]!.hostname, nodes[b]!.hostname));
  const rank = new Int32Array(nodes.length);
  byName.forEach((nodeIdx, r) => (rank[nodeIdx] = r));

  // Items as parallel arrays: node, segment start cap, segment end cap, ratio.
  const itemNode: number[] = [];
  const itemSeg: number[] = [];
  const itemRatio: number[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    const curve = n.gpu.curve;
    for (let k = 1; k < curve.length; k++) {
      const [x0, y0] = curve[k - 1]!;
      const [x1, y1] = curve[k]!;
      const lo = Math.max(x0, n.gpu.minWatts);
      const hi = Math.min(x1, n.gpu.maxWatts);
      if (!(hi > lo)) continue;
      const slope = (y1 - y0) / (x1 - x0);
      const ratio = n.gpu.fp16Tflops * slope * n.psuEfficiency;
      if (!(ratio > 0)) continue;
      itemNode.push(i);
      itemSeg.push(k);
      itemRatio.push(ratio);
    }
  }
  const order = itemNode.map((_, j) => j);
  order.sort((a, b) => {
    const d = itemRatio[b]! - itemRatio[a]!;
    if (d !== 0) return d;
    const r = rank[itemNode[a]!]! - rank[itemNode[b]!]!;
    if (r !== 0) return r;
    return itemSeg[a]! - itemSeg[b]!;
  });

  const exact = nodes.map((n) => n.gpu.minWatts);
  for (const j of order) {
    const i = itemNode[j]!;
    const n = nodes[i]!;
    const k = itemSeg[j]!;
    const x0 = Math.max(n.gpu.curve[k - 1]![0], n.gpu.minWatts);
    const x1 = Math.min(n.gpu.curve[k]![0], n.gpu.maxWatts);
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

  // 1e-9 W absorbs float noise such as 299.99999999997 for an exactly filled segment; the
  // resulting overshoot (≤ 1e-9 W per GPU) is far below any breaker's resolution.
  const caps = exact.map((x, i) => Math.max(nodes[i]!.gpu.minWatts, Math.floor(x + 1e-9)));
  filedSpreadEvenly(nodes, rank, exact, caps);
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
 * with the same cords on the same phases (`wiring`, a key) are interchangeable.
 */
function filedSpreadEvenly(nodes: readonly AllocNode[], rank: Int32Array, exact: number[], caps: number[], wiring: (n: AllocNode) => string = () => ""): void {
  const gpuIds = new Map<AllocNode["gpu"], number>();
  const groups = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    let g = gpuIds.get(n.gpu);
    if (g === undefined) gpuIds.set(n.gpu, (g = gpuIds.size));
    const key = `${n.circuit}/${g}/${n.gpuCount}/${n.psuEfficiency}/${wiring(n)}`;
    const members = groups.get(key);
    if (members) members.push(i);
    else groups.set(key, [i]);
  });
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    members.sort((a, b) => rank[a]! - rank[b]!);
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

