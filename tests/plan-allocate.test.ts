/**
 * The allocators' shared parts, hand-computed: the curve segments both fill
 * (`gainSegments`), the evening out of identical neighbours (`spreadEvenly`), and the
 * whole-watt hand-out of `allocateExact` when a feed or a circuit binds.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { filedAllocateCaps } from "../bench/greedy-filed.js";
import { allocateCaps, allocateExact, gainSegments, gainSegmentsMemo, phaseShare, phaseShareMemo, spreadEvenly } from "../src/plan/index.js";
import type { AllocNode, ExactInput } from "../src/plan/index.js";
import { TEST_GPUS } from "./arbitraries.js";

const rtx3090 = TEST_GPUS.find((g) => g.key === "rtx-3090")!;
const rtx3060 = TEST_GPUS.find((g) => g.key === "rtx-3060")!;

describe("gainSegments", () => {
  it("keeps the segments inside [min, max] that buy throughput, with TFLOPS per wall W", () => {
    // RTX 3060 (test): 100→150 W buys 0.35 of 25 TFLOPS, 150→170 W 0.05, 170→200 W nothing.
    expect(gainSegments({ gpu: rtx3060, psuEfficiency: 0.92 })).toEqual([
      { k: 1, lo: 100, hi: 150, ratio: 25 * ((0.95 - 0.6) / 50) * 0.92 }, // 0.161
      { k: 2, lo: 150, hi: 170, ratio: 25 * ((1.0 - 0.95) / 20) * 0.92 }, // 0.0575
    ]);
    // A board whose settable range is 220–260 W cuts the first and last segments it touches.
    expect(gainSegments({ gpu: { ...rtx3090, minWatts: 220, maxWatts: 260 }, psuEfficiency: 1 })).toEqual([
      { k: 2, lo: 220, hi: 250, ratio: 71 * ((0.9 - 0.8) / 50) },
      { k: 3, lo: 250, hi: 260, ratio: 71 * ((0.96 - 0.9) / 50) },
    ]);
  });
  it("is computed once per GPU spec and PSU efficiency", () => {
    const segmentsOf = gainSegmentsMemo();
    const a = segmentsOf({ gpu: rtx3090, psuEfficiency: 0.92 });
    expect(segmentsOf({ gpu: rtx3090, psuEfficiency: 0.92 })).toBe(a);
    expect(segmentsOf({ gpu: rtx3090, psuEfficiency: 0.9 })).not.toBe(a);
    expect(segmentsOf({ gpu: rtx3090, psuEfficiency: 0.9 })[0]!.ratio).toBe(71 * ((0.8 - 0.45) / 100) * 0.9);
  });
});

describe("phaseShareMemo", () => {
  it("gives phaseShare's figures, one shared array per cord pattern", () => {
    const shareOf = phaseShareMemo();
    const a = shareOf([0, 1]);
    expect(a).toEqual([0.5, 0.5, 0]);
    expect(shareOf([0, 1])).toBe(a);
    expect(shareOf([1, 0])).toEqual([0.5, 0.5, 0]);
    expect(shareOf([2])).toEqual([0, 0, 1]);
    expect(shareOf([0, 1, 2, 0, 1, 2])).toEqual(phaseShare([0, 1, 2, 0, 1, 2]));
    // 21 cords: past the exact range of the key, computed afresh each time.
    const many = Array.from({ length: 21 }, (_, k) => k % 3);
    expect(shareOf(many)).toEqual(phaseShare(many));
    expect(shareOf(many)).not.toBe(shareOf(many));
  });
});

describe("spreadEvenly", () => {
  const node = (circuit: number, gpuCount = 8): AllocNode => ({ hostname: "", circuit, gpuCount, psuEfficiency: 0.92, gpu: rtx3090 });
  it("evens out caps of identical nodes per circuit and wiring, extra watts to the first by hostname", () => {
    // 0, 2, 5: identical on circuit 0 with one wiring; 3: same kind, other phases; 1, 4: circuit 1; 6: 4 GPUs.
    const nodes = [node(0), node(1), node(0), node(0), node(1), node(0), node(0, 4)];
    const wiring = [[1, 0, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0], [1, 0, 0]];
    const rank = Int32Array.from([6, 5, 4, 3, 2, 1, 0]); // hostnames sort in reverse index order
    const caps = [200, 300, 203, 250, 301, 201, 180];
    const exact = [200.5, 300.25, 203.25, 250, 301.25, 201.25, 180.5];
    spreadEvenly(nodes, rank, exact, caps, (n) => wiring[nodes.indexOf(n)]!);
    // Circuit 0, wiring L1: 604 W over 3 nodes = 201 each and 1 W to node 5 (rank 1, first of the three).
    // Circuit 1: 601 W = 300 each and 1 W to node 4 (rank 2 before node 1's rank 5).
    expect(caps).toEqual([201, 300, 201, 250, 301, 202, 180]);
    expect(exact).toEqual([605 / 3, 601.5 / 2, 605 / 3, 250, 601.5 / 2, 605 / 3, 180.5]);
  });
});

describe("allocateExact whole watts", () => {
  // a: 1 × RTX 3090, b: 8 × RTX 3090, PSU efficiency 1, no base load. Both fill 100→200 W at
  // 0.2485 TFLOPS/W; a first (hostname). With 504 W above the minimum loads: a reaches 200 W,
  // b gets 404 W / 8 = 150.5 W, rounded to 150 W, which frees 4 W. b's next watt costs 8 W
  // and does not fit; a's costs 1 W (0.142 TFLOPS/W on 200→250 W): a takes all four, 204 W.
  const nodes = [
    { hostname: "a", circuit: 0, gpuCount: 1, psuEfficiency: 1, gpu: rtx3090, phaseShare: null },
    { hostname: "b", circuit: 1, gpuCount: 8, psuEfficiency: 1, gpu: rtx3090, phaseShare: null },
  ];
  const circuit = (minLoadWatts: number, usableWatts: number) => ({ feed: 0, usableWatts, minLoadWatts, phaseBudgetWatts: null, minPhaseWatts: null });
  it("when the feed binds", () => {
    const input: ExactInput = { nodes, circuits: [circuit(100, 10_000), circuit(800, 10_000)], feeds: [{ itBudgetWatts: 900 + 504, minItWatts: 900 }] };
    const res = allocateExact(input);
    expect(res.exactCapsWatts).toEqual([200, 150.5]);
    expect(res.capsWatts).toEqual([204, 150]);
  });
  it("when their shared circuit binds (the feed has room to spare)", () => {
    const input: ExactInput = { nodes: nodes.map((n) => ({ ...n, circuit: 0 })), circuits: [circuit(900, 900 + 504)], feeds: [{ itBudgetWatts: 1e6, minItWatts: 900 }] };
    const res = allocateExact(input);
    expect(res.exactCapsWatts).toEqual([200, 150.5]);
    expect(res.capsWatts).toEqual([204, 150]);
  });
});

describe("allocateCaps against the greedy as filed (bench/greedy-filed.ts)", () => {
  it("gives the same caps and figures, bit for bit, on generated instances with ties", () => {
    // Few GPU kinds and PSU efficiencies, many nodes: ratios tie often, which is where the
    // bucketed order and the per-circuit groups could differ from the sorted order and the string keys.
    const arb = fc.record({
      nodes: fc.array(
        fc.record({ gpu: fc.constantFrom(...TEST_GPUS), gpuCount: fc.integer({ min: 1, max: 8 }), psuEfficiency: fc.constantFrom(0.9, 0.92), circuit: fc.integer({ min: 0, max: 5 }), name: fc.integer({ min: 0, max: 999 }) }),
        { minLength: 1, maxLength: 40 },
      ),
      circuitShare: fc.integer({ min: 0, max: 120 }).map((p) => p / 100),
      feedShare: fc.integer({ min: 0, max: 120 }).map((p) => p / 100),
    });
    fc.assert(
      fc.property(arb, (inst) => {
        const nodes: AllocNode[] = inst.nodes.map((n, i) => ({ hostname: `n${n.name}-${i}`, circuit: n.circuit, gpuCount: n.gpuCount, psuEfficiency: n.psuEfficiency, gpu: n.gpu }));
        const minLoad = [0, 1, 2, 3, 4, 5].map(() => 0);
        const span = minLoad.map(() => 0);
        for (const n of nodes) {
          minLoad[n.circuit]! += (n.gpuCount * n.gpu.minWatts) / n.psuEfficiency;
          span[n.circuit]! += (n.gpuCount * (n.gpu.maxWatts - n.gpu.minWatts)) / n.psuEfficiency;
        }
        const circuits = minLoad.map((m, c) => ({ feed: c % 2, usableWatts: m + span[c]! * inst.circuitShare, minLoadWatts: m }));
        const feeds = [0, 1].map((f) => {
          const min = minLoad.reduce((s, m, c) => (c % 2 === f ? s + m : s), 0);
          const sp = span.reduce((s, x, c) => (c % 2 === f ? s + x : s), 0);
          return { itBudgetWatts: min + sp * inst.feedShare, minItWatts: min };
        });
        expect(allocateCaps({ nodes, circuits, feeds })).toEqual(filedAllocateCaps({ nodes, circuits, feeds }));
      }),
      { seed: 2026, numRuns: 300 },
    );
  });
});
