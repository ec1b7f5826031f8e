/**
 * An independent exact oracle for the cap allocation: the same problem written as an LP in
 * cap space (not in the allocator's wall-watt segments) and solved by HiGHS (the `highs`
 * package, HiGHS compiled to WebAssembly). Throughput is the hypograph of the concave curve:
 * t_i ≤ g_i F_i (y_k + s_k (c_i − x_k)) for every curve segment k, c_i ∈ [min_i, max_i].
 */
import { PHASE_NAMES, circuitUsableWatts, phaseShare, phaseUsableWatts } from "../src/plan/index.js";
import type { ExactInput, FarmPlan, PlanCatalog } from "../src/plan/index.js";
import type { SiteSpec } from "../src/site/schema.js";

/** The part of HiGHS's one-shot API used here (see node_modules/highs/types.d.ts, LegacyHighs). */
interface Solver {
  solve(problem: string, options?: Record<string, string | number>): { Status: string; ObjectiveValue: number; Columns: Record<string, unknown> };
}
type Loader = () => Promise<Solver>;
let solver: Solver | undefined;

/**
 * Loads HiGHS once per test file; false when the `highs` dev dependency is not installed
 * (a node_modules older than package.json: `npm ci` fixes it). The specifier is a variable so
 * that type-checking does not need the package either.
 */
export async function loadOracle(): Promise<boolean> {
  if (solver) return true;
  const name = "highs";
  let mod: { default: Loader | { default: Loader } };
  try {
    mod = (await import(name)) as typeof mod;
  } catch {
    return false;
  }
  // The package is CommonJS (module.exports = loader) while its types declare a default export.
  const load = typeof mod.default === "function" ? mod.default : mod.default.default;
  solver = await load();
  return true;
}

/**
 * Optimum of Σ throughput under every circuit, phase and feed budget, in TFLOPS, and the
 * optimal caps: continuous, or with `wholeWatts` the best integral caps (a MILP).
 */
export function oracleOptimum(input: ExactInput, wholeWatts = false): { tflops: number; caps: number[] } | null {
  if (!solver) throw new Error("call loadOracle() first");
  const { nodes, circuits, feeds } = input;
  const num = (x: number): string => (Object.is(x, -0) ? "0" : x.toPrecision(17));
  const lines: string[] = ["Maximize", " obj: " + (nodes.length ? nodes.map((_, i) => `t${i}`).join(" + ") : "0 t0"), "Subject To"];
  // Wall watts above minimum caps, per node: g / e × (c − min).
  const incr = (i: number, share = 1): string => `${num((share * nodes[i]!.gpuCount) / nodes[i]!.psuEfficiency)} c${i}`;
  const minPart = (i: number, share = 1): number => (share * nodes[i]!.gpuCount * nodes[i]!.gpu.minWatts) / nodes[i]!.psuEfficiency;
  nodes.forEach((n, i) => {
    const F = n.gpuCount * n.gpu.fp16Tflops;
    const curve = n.gpu.curve;
    for (let k = 1; k < curve.length; k++) {
      const [x0, y0] = curve[k - 1]!;
      const [x1, y1] = curve[k]!;
      const s = (y1 - y0) / (x1 - x0);
      // t − F s c ≤ F (y0 − s x0)
      lines.push(` h${i}_${k}: t${i} - ${num(F * s)} c${i} <= ${num(F * (y0 - s * x0))}`);
    }
  });
  circuits.forEach((c, ci) => {
    const on = nodes.map((n, i) => (n.circuit === ci ? i : -1)).filter((i) => i >= 0);
    if (on.length === 0) return;
    const fixed = on.reduce((s, i) => s + minPart(i), 0);
    lines.push(` c${ci}: ${on.map((i) => incr(i)).join(" + ")} <= ${num(c.usableWatts - c.minLoadWatts + fixed)}`);
    if (c.phaseBudgetWatts !== null && c.minPhaseWatts) {
      for (let p = 0; p < 3; p++) {
        const onP = on.filter((i) => (nodes[i]!.phaseShare?.[p] ?? 0) > 0);
        if (onP.length === 0) continue;
        const fixedP = onP.reduce((s, i) => s + minPart(i, nodes[i]!.phaseShare![p]!), 0);
        lines.push(` p${ci}_${p}: ${onP.map((i) => incr(i, nodes[i]!.phaseShare![p]!)).join(" + ")} <= ${num(c.phaseBudgetWatts - c.minPhaseWatts[p]! + fixedP)}`);
      }
    }
  });
  feeds.forEach((f, fi) => {
    const on = nodes.map((n, i) => (circuits[n.circuit]!.feed === fi ? i : -1)).filter((i) => i >= 0);
    if (on.length === 0) return;
    const fixed = on.reduce((s, i) => s + minPart(i), 0);
    lines.push(` f${fi}: ${on.map((i) => incr(i)).join(" + ")} <= ${num(f.itBudgetWatts - f.minItWatts + fixed)}`);
  });
  lines.push("Bounds");
  nodes.forEach((n, i) => {
    lines.push(` ${n.gpu.minWatts} <= c${i} <= ${n.gpu.maxWatts}`);
    lines.push(` -1e30 <= t${i} <= 1e30`);
  });
  if (wholeWatts && nodes.length > 0) lines.push("General", " " + nodes.map((_, i) => `c${i}`).join(" "));
  lines.push("End");
  // A MILP gets 5 s; past that the caller skips the case (null) rather than compare with a bound.
  const sol = solver.solve(lines.join("\n"), wholeWatts ? { mip_rel_gap: 1e-7, time_limit: 5 } : { presolve: "off" });
  if (wholeWatts && sol.Status === "Time limit reached") return null;
  if (sol.Status !== "Optimal") throw new Error(`oracle: ${sol.Status}`);
  const cols = sol.Columns as Record<string, { Primal: number }>;
  return { tflops: nodes.length ? sol.ObjectiveValue : 0, caps: nodes.map((_, i) => cols[`c${i}`]!.Primal) };
}

/** Rebuilds the allocation problem from a plan (its wiring, the site's budgets) for the oracle, independently of the planner's bookkeeping. */
export function oracleInputFromPlan(s: SiteSpec, plan: FarmPlan, catalog: PlanCatalog): { input: ExactInput; caps: number[] } {
  const circuitIdx = new Map(s.power.circuits.map((c, i) => [c.id, i]));
  const feedIdx = new Map(s.power.feeds.map((f, i) => [f.name, i]));
  const planned = new Map(plan.nodes.map((n) => [n.hostname, n]));
  const asicPhases = new Map(plan.asics.map((a) => [a.hostname, a.phases]));
  const minLoad = s.power.circuits.map(() => 0);
  const minPhase = s.power.circuits.map((): [number, number, number] => [0, 0, 0]);
  const nodes: ExactInput["nodes"][number][] = [];
  const caps: number[] = [];
  for (const m of s.machines) {
    const ci = circuitIdx.get(m.circuit)!;
    const eff = m.psuEfficiency ?? s.defaults.psuEfficiency;
    let w: number;
    let phases: readonly string[] | undefined;
    if (m.role === "asic") {
      w = catalog.findAsic(m.asicModel!)!.watts;
      phases = asicPhases.get(m.hostname);
    } else {
      const n = planned.get(m.hostname)!;
      phases = n.phases;
      if (m.role === "gpu") {
        const g = catalog.findGpu(m.gpuModel!)!;
        w = ((m.baseWatts ?? g.hostBaseWatts) + m.gpuCount! * g.minWatts) / eff;
        nodes.push({ hostname: m.hostname, circuit: ci, gpuCount: m.gpuCount!, psuEfficiency: eff, gpu: g, phaseShare: phases ? phaseShare(phases.map((p) => PHASE_NAMES.indexOf(p as "L1"))) : null });
        caps.push(n.gpu!.capWatts);
      } else w = (m.baseWatts ?? 300) / eff;
    }
    minLoad[ci]! += w;
    if (phases) for (const p of phases) minPhase[ci]![PHASE_NAMES.indexOf(p as "L1")]! += w / phases.length;
  }
  const feedMin = s.power.feeds.map(() => 0);
  s.power.circuits.forEach((c, ci) => (feedMin[feedIdx.get(c.feed)!]! += minLoad[ci]!));
  return {
    input: {
      nodes,
      circuits: s.power.circuits.map((c, ci) => ({
        feed: feedIdx.get(c.feed)!,
        usableWatts: circuitUsableWatts(c),
        minLoadWatts: minLoad[ci]!,
        phaseBudgetWatts: phaseUsableWatts(c),
        minPhaseWatts: c.phases === 3 ? minPhase[ci]! : null,
      })),
      feeds: s.power.feeds.map((f, fi) => ({ itBudgetWatts: (f.capacityKw * 1000) / s.power.pue, minItWatts: feedMin[fi]! })),
    },
    caps,
  };
}

