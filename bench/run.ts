/**
 * `npm run bench`: planner speed and memory on synthetic sites of 1k, 10k and 50k
 * machines, and plan quality on a power-constrained site against two baselines.
 *
 * Each size runs in its own child process (`--child <machines>`) so its peak RSS is its
 * own; results go to bench/results/latest.json and a table on stdout. `--planner [--repeat N]`
 * runs only these sizes, N times each (see `plannerMain`); `--exactness` only the plan-quality
 * report against the LP optimum and the wiring against the best wiring (`exactnessMain`). Then the Pulumi
 * program under mocks for 100, 1,000 and 5,000 GPU nodes against its floor (bench/program.ts),
 * its state (bench/state.ts), and 5,000 GPU nodes as one stack and as 10 partitions
 * (bench/partitions.ts).
 *
 * Synthetic site: ~8 machines per 415 V × 32 A three-phase circuit (4 riser rigs of
 * 6 × RTX 3090, 2 servers of 4 × RTX 4090, 2 Antminer S19j Pro), 250 circuits per feed,
 * feeds alternating firm / curtailable, PUE 1.1. Circuits carry their minimum load but
 * not their maximum, so nearly every circuit binds and the allocator does real work.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { allocateCaps, allocateExact, circuitUsableWatts, planFarm } from "../src/plan/index.js";
import { findAsic, findGpu, relativeThroughput } from "../src/site/catalog.js";
import type { GpuSpec } from "../src/site/catalog.js";
import type { SiteSpec } from "../src/site/schema.js";
import { PROGRAM_TARGETS, formatProgramBench, runProgramBench } from "./program.js";
import { STATE_SIZES, STATE_TARGET_BYTES_PER_MACHINE, formatStateBench, runStateBench } from "./state.js";
import { formatPartitionBench, runPartitionBench } from "./partitions.js";
import { allocProblem, bestWiring, exactAllocate, exactInput, legacyAllocate } from "./alloc.js";
import { loadSite } from "../src/site/load.js";
import { TEST_CATALOG, arbPhasedSite } from "../tests/arbitraries.js";
import { loadOracle, oracleInputFromPlan, oracleOptimum } from "../tests/lp-oracle.js";
import fc from "fast-check";
import { formatMinersBench, type MinersBenchResult } from "./miners.js";
import { formatPowerAgentBench, type PowerAgentBenchResult } from "./power-agent.js";

const SIZES = [1_000, 10_000, 50_000, 100_000];
const RUNS_BY_SIZE: Record<number, number> = { 1_000: 7, 10_000: 5, 50_000: 3, 100_000: 3 };
const CIRCUITS_PER_FEED = 250;
const PUE = 1.1;

type Machine = SiteSpec["machines"][number];

/** A synthetic site with about `machineCount` machines (3 control-plane servers included). */
export function syntheticSite(machineCount: number, circuitAmps = 32): SiteSpec {
  const perCircuit: Omit<Machine, "hostname" | "ip" | "rack" | "circuit">[] = [
    ...Array.from({ length: 4 }, () => ({ role: "gpu" as const, gpuModel: "rtx-3090", gpuCount: 6, pcieLink: "x1" as const })),
    ...Array.from({ length: 2 }, () => ({ role: "gpu" as const, gpuModel: "rtx-4090", gpuCount: 4, pcieLink: "x16" as const })),
    ...Array.from({ length: 2 }, () => ({ role: "asic" as const, asicModel: "s19j-pro" })),
  ];
  const circuitCount = Math.max(1, Math.round((machineCount - 3) / perCircuit.length));
  const feedCount = Math.ceil(circuitCount / CIRCUITS_PER_FEED);
  const circuitUsable = circuitUsableWatts({ volts: 415, amps: circuitAmps, phases: 3, derating: 0.8 });
  const feeds: SiteSpec["power"]["feeds"] = [{ name: "grid-cp", tier: "firm", capacityKw: 50 }];
  for (let f = 0; f < feedCount; f++) {
    const circuitsHere = Math.min(CIRCUITS_PER_FEED, circuitCount - f * CIRCUITS_PER_FEED);
    const curtailable = f % 2 === 1;
    feeds.push({
      name: `feed-${String(f).padStart(3, "0")}`,
      tier: curtailable ? "curtailable" : "firm",
      // 95 % of the circuits' sum: the feed binds too, not only the circuits.
      capacityKw: Math.round((circuitsHere * circuitUsable * 0.95 * PUE) / 1000),
      ...(curtailable ? { curtailment: { responseTimeSeconds: 600, windows: [{ name: "4cp", schedule: "0 15 * 6-9 1-5", durationMinutes: 120 }] } } : {}),
    });
  }
  const circuits: SiteSpec["power"]["circuits"] = [{ id: "pdu-cp", feed: "grid-cp", volts: 240, amps: 30, phases: 1, derating: 0.8 }];
  const machines: Machine[] = [];
  let n = 0;
  const ip = (): string => {
    n++;
    return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  };
  for (let i = 1; i <= 3; i++) machines.push({ hostname: `cp-${i}`, ip: ip(), rack: "core", circuit: "pdu-cp", role: "control-plane" });
  for (let c = 0; c < circuitCount; c++) {
    const id = `pdu-${String(c).padStart(5, "0")}`;
    circuits.push({ id, feed: `feed-${String(Math.floor(c / CIRCUITS_PER_FEED)).padStart(3, "0")}`, volts: 415, amps: circuitAmps, phases: 3, derating: 0.8 });
    perCircuit.forEach((m, k) => {
      machines.push({ ...m, hostname: `${m.role === "asic" ? "asic" : "gpu"}-${String(c).padStart(5, "0")}-${k}`, ip: ip(), rack: `rack-${Math.floor(c / 4)}`, circuit: id } as Machine);
    });
  }
  return {
    apiVersion: "mine2hpc.io/v1alpha1",
    kind: "Site",
    metadata: { name: `bench-${machineCount}`, timezone: "America/Chicago", gridRegion: "ERCOT" },
    power: { pue: PUE, feeds, circuits },
    network: { nodeSubnet: "10.0.0.0/8", clusterCidr: "172.16.0.0/16", serviceCidr: "172.17.0.0/16", cni: "flannel", fabric: "none" },
    kubernetes: { distribution: "k3s", version: "v1.33.5+k3s1", tenantNamespaces: ["default"], rollout: { maxUnavailable: "10%" }, startTimeoutSeconds: 300 },
    gpuOperator: { chartVersion: "v26.7.0", driverMode: "host", timeSlicingReplicas: 4 },
    defaults: { sshUser: "ubuntu", psuEfficiency: 0.92 },
    machines,
  } as SiteSpec;
}

interface SizeResult {
  machines: number;
  gpuNodes: number;
  circuits: number;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Peak resident set of the child process (site, plan, Node itself), in MiB. */
  peakRssMiB: number;
  /** heapUsed after one plan minus before it (GC'd before measuring both), in MiB: what the plan itself keeps. */
  heapDeltaMiB: number;
  /** RSS growth over the child's RSS just before planning, in MiB. */
  rssDeltaMiB: number;
  /** The allocation stage alone (bench/alloc.ts), median ms: the planner's exact allocation, and the old greedy with phase shrinking measured in the same process. */
  allocExactMs: number;
  allocLegacyMs: number;
  /** exact / legacy time. */
  allocTimeRatio: number;
  /** The same two, median CPU time of the process (user + system) per run, in ms: less moved by other load on a shared machine than wall time. */
  allocExactCpuMs: number;
  allocLegacyCpuMs: number;
  allocCpuRatio: number;
  /** The old method with the planner's current greedy (same caps as the filed one, faster), median ms, and exact / it. */
  allocLegacyNowMs: number;
  allocTimeRatioVsNow: number;
  /** Rounds the old greedy needed. */
  legacyRounds: number;
  /** Whole-watt throughput, exact / legacy. */
  throughputRatio: number;
}

function childMain(size: number): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  const site = syntheticSite(size);
  gc?.();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const times: number[] = [];
  let plan = planFarm(site);
  const heapAfter = process.memoryUsage().heapUsed;
  const runs = RUNS_BY_SIZE[size] ?? 3;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    plan = planFarm(site);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  // The allocation stage, new and old, alternating on the same extracted problem.
  const problem = allocProblem(site);
  const exactTimes: number[] = [];
  const legacyTimes: number[] = [];
  const exactCpu: number[] = [];
  const legacyCpu: number[] = [];
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const legacyNowTimes: number[] = [];
  let exact = exactAllocate(problem);
  let legacy = legacyAllocate(problem);
  legacyAllocate(problem, allocateCaps);
  // At least 7 rounds: the allocation takes a fraction of a plan, so more runs cost little and steady the medians.
  for (let r = 0; r < Math.max(runs, 7); r++) {
    let c0 = cpuMs();
    let t0 = process.hrtime.bigint();
    legacy = legacyAllocate(problem);
    legacyTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
    legacyCpu.push(cpuMs() - c0);
    t0 = process.hrtime.bigint();
    legacyAllocate(problem, allocateCaps);
    legacyNowTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
    c0 = cpuMs();
    t0 = process.hrtime.bigint();
    exact = exactAllocate(problem);
    exactTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
    exactCpu.push(cpuMs() - c0);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const result: SizeResult = {
    machines: site.machines.length,
    gpuNodes: plan.pools.reduce((s, p) => s + p.nodes.length, 0),
    circuits: site.power.circuits.length,
    runs,
    medianMs: round(times[Math.floor(times.length / 2)]!),
    minMs: round(times[0]!),
    maxMs: round(times[times.length - 1]!),
    peakRssMiB: round(peakRss / 2 ** 20),
    heapDeltaMiB: round((heapAfter - heapBefore) / 2 ** 20),
    rssDeltaMiB: round((peakRss - rssBefore) / 2 ** 20),
    allocExactMs: round(median(exactTimes)),
    allocLegacyMs: round(median(legacyTimes)),
    allocTimeRatio: round(median(exactTimes) / median(legacyTimes), 2),
    allocExactCpuMs: round(median(exactCpu)),
    allocLegacyCpuMs: round(median(legacyCpu)),
    allocCpuRatio: round(median(exactCpu) / median(legacyCpu), 2),
    allocLegacyNowMs: round(median(legacyNowTimes)),
    allocTimeRatioVsNow: round(median(exactTimes) / median(legacyNowTimes), 2),
    legacyRounds: legacy.rounds,
    throughputRatio: round(exact.tflops / legacy.tflops, 4),
  };
  process.stdout.write(JSON.stringify(result));
}

/** Throughput of GPU nodes at given caps (null = dark), in TFLOPS. */
interface GpuNodeRef {
  hostname: string;
  circuit: number;
  feed: number;
  gpu: GpuSpec;
  count: number;
  base: number;
  eff: number;
}

/** Baselines on the same site: nameplate (no caps, dark when it does not fit) and one uniform cap. */
function baselines(site: SiteSpec) {
  const circuitIdx = new Map(site.power.circuits.map((c, i) => [c.id, i]));
  const feedIdx = new Map(site.power.feeds.map((f, i) => [f.name, i]));
  const usable = site.power.circuits.map((c) => circuitUsableWatts(c));
  const feedIt = site.power.feeds.map((f) => (f.capacityKw * 1000) / site.power.pue);
  const fixedC = usable.map(() => 0);
  const gpuNodes: GpuNodeRef[] = [];
  for (const m of site.machines) {
    const ci = circuitIdx.get(m.circuit)!;
    const eff = m.psuEfficiency ?? site.defaults.psuEfficiency;
    if (m.role === "gpu") {
      const gpu = findGpu(m.gpuModel!)!;
      gpuNodes.push({ hostname: m.hostname, circuit: ci, feed: feedIdx.get(site.power.circuits[ci]!.feed)!, gpu, count: m.gpuCount!, base: m.baseWatts ?? gpu.hostBaseWatts, eff });
    } else if (m.role === "asic") fixedC[ci]! += findAsic(m.asicModel!)!.watts;
    else fixedC[ci]! += (m.baseWatts ?? 300) / eff;
  }
  const fixedF = feedIt.map(() => 0);
  site.power.circuits.forEach((c, ci) => (fixedF[feedIdx.get(c.feed)!]! += fixedC[ci]!));

  // Nameplate: every GPU at TDP; in hostname order a node is switched on only if it fits.
  const loadC = [...fixedC];
  const loadF = [...fixedF];
  let nameplate = 0;
  let dark = 0;
  for (const n of [...gpuNodes].sort((a, b) => (a.hostname < b.hostname ? -1 : 1))) {
    const w = (n.base + n.count * n.gpu.tdpWatts) / n.eff;
    if (loadC[n.circuit]! + w <= usable[n.circuit]! && loadF[n.feed]! + w <= feedIt[n.feed]!) {
      loadC[n.circuit]! += w;
      loadF[n.feed]! += w;
      nameplate += n.count * n.gpu.fp16Tflops * relativeThroughput(n.gpu, n.gpu.tdpWatts);
    } else dark++;
  }

  // Uniform cap: the highest whole-watt cap U (clamped to each GPU's range) that fits everywhere.
  const fits = (u: number): boolean => {
    const c = [...fixedC];
    const f = [...fixedF];
    for (const n of gpuNodes) {
      const w = (n.base + n.count * Math.min(n.gpu.maxWatts, Math.max(n.gpu.minWatts, u))) / n.eff;
      c[n.circuit]! += w;
      f[n.feed]! += w;
    }
    return c.every((x, i) => x <= usable[i]! + 1e-6) && f.every((x, i) => x <= feedIt[i]! + 1e-6);
  };
  let lo = 0;
  let hi = Math.max(...gpuNodes.map((n) => n.gpu.maxWatts));
  if (!fits(lo)) throw new Error("uniform baseline: site does not fit at minimum caps");
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  let uniform = 0;
  for (const n of gpuNodes) uniform += n.count * n.gpu.fp16Tflops * relativeThroughput(n.gpu, Math.min(n.gpu.maxWatts, Math.max(n.gpu.minWatts, lo)));
  return { nameplateTflops: nameplate, darkNodes: dark, gpuNodes: gpuNodes.length, uniformCapWatts: lo, uniformTflops: uniform };
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Least-squares slope of log(ms) over log(machines): the growth exponent. */
function fittedExponent(points: readonly { n: number; ms: number }[]): number {
  const xs = points.map((p) => Math.log(p.n));
  const ys = points.map((p) => Math.log(p.ms));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => ((num += (x - mx) * (ys[i]! - my)), (den += (x - mx) ** 2)));
  return round(num / den, 3);
}

/**
 * Plan quality against the LP optimum (HiGHS, tests/lp-oracle.ts) on the demo, the four
 * templates and the constrained synthetic site; the old greedy on the same sites; and the
 * largest-first wiring against the best wiring found by enumeration on generated PDUs.
 */
async function exactnessReport(constrained: SiteSpec) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const sites: [string, SiteSpec][] = [
    ["demo", loadSite(join(root, "stacks/demo/site.yaml")).spec],
    ...["gpu-rig-retrofit", "hpc-hall", "hybrid-curtailable", "immersion-container"].map((t): [string, SiteSpec] => [t, loadSite(join(root, "templates", t, "site.yaml")).spec]),
    ["synthetic 1k, 25 A PDUs", constrained],
  ];
  const hasOracle = await loadOracle();
  const catalog = { findGpu, findAsic };
  const perSite = sites.map(([name, site]) => {
    const plan = planFarm(site);
    const problem = allocProblem(site);
    const legacy = legacyAllocate(problem);
    let planTflops = 0;
    let lp: number | null = null;
    if (hasOracle) {
      const { input, caps } = oracleInputFromPlan(site, plan, catalog);
      input.nodes.forEach((n, i) => (planTflops += n.gpuCount * n.gpu.fp16Tflops * relativeThroughput(n.gpu as GpuSpec, caps[i]!)));
      lp = oracleOptimum(input)!.tflops;
    }
    return {
      site: name,
      planTflops: round(planTflops || plan.totals.throughputTflops),
      legacyTflops: round(legacy.tflops),
      legacyRounds: legacy.rounds,
      lpOptimumTflops: lp === null ? null : round(lp),
      planVsLp: lp === null ? null : round(planTflops / lp, 5),
      legacyVsLp: lp === null ? null : round(legacy.tflops / lp, 5),
    };
  });

  // Wiring: per three-phase PDU of generated sites (1–3 cords, ASICs), the throughput with the
  // planner's wiring against the best wiring of that PDU (others kept), each with exact caps.
  const ratios: number[] = [];
  for (const site of fc.sample(arbPhasedSite(), { seed: 2026, numRuns: 150 })) {
    let problem;
    let base;
    try {
      planFarm(site, { catalog: TEST_CATALOG });
      problem = allocProblem(site, TEST_CATALOG);
      base = exactAllocate(problem);
    } catch {
      continue;
    }
    const own = exactAllocateObjective(problem, base.wiring);
    problem.members.forEach((on, ci) => {
      if (!base.wiring[ci] || on.length > 7 || own <= 0) return;
      const best = bestWiring(problem, ci, base.wiring);
      ratios.push(Math.min(1, own / best));
    });
  }
  ratios.sort((a, b) => a - b);
  const wiring = {
    pdus: ratios.length,
    meanVsBest: round(ratios.reduce((a, b) => a + b, 0) / ratios.length, 5),
    worstVsBest: round(ratios[0]!, 5),
    p5VsBest: round(ratios[Math.floor(ratios.length * 0.05)]!, 5),
    optimalShare: round(ratios.filter((r) => r >= 1 - 1e-9).length / ratios.length, 3),
  };
  return { perSite, wiring };
}

function printExactness(exactness: Awaited<ReturnType<typeof exactnessReport>>): void {
  console.log("\nexactness (whole-watt plan vs LP optimum, HiGHS):");
  for (const e of exactness.perSite) console.log(`  ${e.site.padEnd(26)} plan ${e.planTflops} (${e.planVsLp ?? "-"} of LP ${e.lpOptimumTflops ?? "-"}), old greedy ${e.legacyTflops} (${e.legacyVsLp ?? "-"}, ${e.legacyRounds} rounds)`);
  console.log(`  wiring: largest-first vs best wiring by enumeration on ${exactness.wiring.pdus} generated PDUs: mean ${exactness.wiring.meanVsBest}, 5th percentile ${exactness.wiring.p5VsBest}, worst ${exactness.wiring.worstVsBest}, optimal on ${exactness.wiring.optimalShare * 100} %`);
}

/** `npm run bench -- --exactness`: only the plan-quality report, printed and written into bench/results/latest.json (`exactness`). */
async function exactnessMain(self: string): Promise<void> {
  const exactness = await exactnessReport(syntheticSite(1_000, 25));
  printExactness(exactness);
  const file = join(dirname(self), "results", "latest.json");
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
  writeFileSync(file, JSON.stringify({ ...previous, exactness }, null, 2) + "\n");
  console.log("\nexactness written to bench/results/latest.json");
}

/** Continuous optimum (before whole watts) for a given wiring, in TFLOPS. */
function exactAllocateObjective(problem: ReturnType<typeof allocProblem>, wiring: ReturnType<typeof exactAllocate>["wiring"]): number {
  return allocateExact(exactInput(problem, wiring)).exactObjectiveTflops;
}

/**
 * Runs every size in its own child process, `repeat` times in turn (1k, 10k, … then again),
 * so a burst of other load on a shared machine hits one repeat, not one size. Each figure is
 * the median over the repeats; `allocTimeRatios` keeps every repeat's ratio.
 */
function runSizes(self: string, sizes: readonly number[], repeat: number): (SizeResult & { allocTimeRatios: number[] })[] {
  const runs: SizeResult[][] = sizes.map(() => []);
  for (let r = 0; r < repeat; r++) {
    sizes.forEach((size, k) => {
      const child = spawnSync(process.execPath, [...process.execArgv, "--expose-gc", self, "--child", String(size)], { encoding: "utf8", maxBuffer: 1 << 20 });
      if (child.status !== 0) throw new Error(`bench child for ${size} machines failed:\n${child.stderr}`);
      runs[k]!.push(JSON.parse(child.stdout) as SizeResult);
    });
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return runs.map((rs) => {
    const out: SizeResult & { allocTimeRatios: number[] } = { ...rs[0]!, allocTimeRatios: rs.map((x) => x.allocTimeRatio) };
    for (const key of Object.keys(rs[0]!) as (keyof SizeResult)[]) (out[key] as number) = med(rs.map((x) => x[key]));
    return out;
  });
}

/** Fitted growth exponents of the plan and of both allocations over the sizes run. */
function growthOf(sizes: readonly SizeResult[]) {
  return {
    planFarm: fittedExponent(sizes.map((x) => ({ n: x.machines, ms: x.medianMs }))),
    allocExact: fittedExponent(sizes.map((x) => ({ n: x.machines, ms: x.allocExactMs }))),
    allocLegacy: fittedExponent(sizes.map((x) => ({ n: x.machines, ms: x.allocLegacyMs }))),
  };
}

function printSizes(sizes: readonly (SizeResult & { allocTimeRatios: number[] })[], growth: ReturnType<typeof growthOf>): void {
  console.log("machines  gpuNodes  circuits  median ms    min ms  peak RSS MiB  heap Δ MiB  alloc exact ms  alloc old ms  ratio  per repeat          CPU ratio  vs greedy now  old rounds  TFLOPS exact/old");
  for (const s of sizes) {
    console.log(
      `${String(s.machines).padStart(8)}  ${String(s.gpuNodes).padStart(8)}  ${String(s.circuits).padStart(8)}  ${s.medianMs.toFixed(1).padStart(9)}  ${s.minMs.toFixed(1).padStart(8)}  ${s.peakRssMiB.toFixed(1).padStart(12)}  ${s.heapDeltaMiB.toFixed(1).padStart(10)}  ${s.allocExactMs.toFixed(1).padStart(14)}  ${s.allocLegacyMs.toFixed(1).padStart(12)}  ${s.allocTimeRatio.toFixed(2).padStart(5)}  ${s.allocTimeRatios.map((x) => x.toFixed(2)).join(" ").padEnd(18)}  ${s.allocCpuRatio.toFixed(2).padStart(9)}  ${s.allocTimeRatioVsNow.toFixed(2).padStart(13)}  ${String(s.legacyRounds).padStart(10)}  ${s.throughputRatio.toFixed(4).padStart(16)}`,
    );
  }
  // n log n itself fits as about 1.11 over 1k→100k.
  console.log(`growth exponent ${sizes[0]!.machines}→${sizes[sizes.length - 1]!.machines}: planFarm ${growth.planFarm}, exact allocation ${growth.allocExact}, old allocation ${growth.allocLegacy} (n log n: about 1.11)`);
}

/**
 * `npm run bench -- --planner [--repeat N]`: only the planner sizes (each size N times, default
 * 3), printed, and written into bench/results/latest.json in place of its sizes and growth
 * (the other sections are kept).
 */
function plannerMain(self: string, repeat: number): void {
  const sizes = runSizes(self, SIZES, repeat);
  const growth = growthOf(sizes);
  printSizes(sizes, growth);
  const file = join(dirname(self), "results", "latest.json");
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
  writeFileSync(file, JSON.stringify({ ...previous, node: process.version, sizes, sizeRepeats: repeat, growth }, null, 2) + "\n");
  console.log("\nsizes and growth written to bench/results/latest.json");
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const sizes = runSizes(self, SIZES, 1);

  // Quality: 1k-machine site on 415 V × 25 A circuits (14.4 kW: min load fits, full power does not).
  const constrained = syntheticSite(1_000, 25);
  const plan = planFarm(constrained);
  const base = baselines(constrained);
  const quality = {
    site: "1k machines, 415 V × 25 A × √3 × 0.8 circuits, feeds at 95 % of their circuits",
    gpuNodes: base.gpuNodes,
    planTflops: round(plan.totals.throughputTflops),
    nameplateTflops: round(base.nameplateTflops),
    nameplateDarkNodes: base.darkNodes,
    uniformCapWatts: base.uniformCapWatts,
    uniformTflops: round(base.uniformTflops),
    planVsNameplate: round(plan.totals.throughputTflops / base.nameplateTflops, 3),
    planVsUniform: round(plan.totals.throughputTflops / base.uniformTflops, 3),
  };

  const exactness = await exactnessReport(constrained);
  const program = runProgramBench();
  // State bytes per resource type and the bytes a first `up` writes (bench/state.ts), each size in its own process.
  // With the SSH agent (the default without mine2hpc:sshPrivateKey), and the largest size with the key in state for comparison.
  const state = [...runStateBench(), ...runStateBench([STATE_SIZES[STATE_SIZES.length - 1]!], "key")];
  // 5,000 GPU nodes as one stack and as a cluster + 10 partition stacks (bench/partitions.ts), each stack and its floor in its own process.
  const partitions = runPartitionBench();

  // Miner curtailment (bench/miners.ts): its own process, which runs the simulators in one child.
  const minersChild = spawnSync(process.execPath, [...process.execArgv, join(dirname(self), "miners.ts")], { encoding: "utf8", maxBuffer: 1 << 20, timeout: 600_000 });
  if (minersChild.status !== 0) throw new Error(`miners bench failed:\n${minersChild.stderr}`);
  const miners = JSON.parse(minersChild.stdout) as MinersBenchResult;

  // Power agent (bench/power-agent.ts): its own process too (fake API, fake nvidia-smi, the agent).
  const agentChild = spawnSync(process.execPath, [...process.execArgv, join(dirname(self), "power-agent.ts")], { encoding: "utf8", maxBuffer: 1 << 20, timeout: 300_000 });
  if (agentChild.status !== 0) throw new Error(`power agent bench failed:\n${agentChild.stderr}`);
  const powerAgent = JSON.parse(agentChild.stdout) as PowerAgentBenchResult;

  const out = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    targets: { ms50k: 2000, peakRssMiB: 1024, allocTimeRatio50k: 1.5, growthExponent: "≤ n log n", lpRatio: 0.999, program: PROGRAM_TARGETS, stateBytesPerMachine: STATE_TARGET_BYTES_PER_MACHINE },
    sizes,
    sizeRepeats: 1,
    growth: growthOf(sizes),
    quality,
    exactness,
    program,
    state,
    partitions,
    miners,
    powerAgent,
  };
  const dir = join(dirname(self), "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), JSON.stringify(out, null, 2) + "\n");

  printSizes(sizes, out.growth);
  printExactness(exactness);
  console.log(`\npower-constrained site (${quality.site}), ${quality.gpuNodes} GPU nodes:`);
  console.log(`  plan (per-node caps):  ${quality.planTflops} TFLOPS`);
  console.log(`  nameplate (no caps):   ${quality.nameplateTflops} TFLOPS, ${quality.nameplateDarkNodes} nodes dark   → plan × ${quality.planVsNameplate}`);
  console.log(`  uniform cap ${quality.uniformCapWatts} W:     ${quality.uniformTflops} TFLOPS   → plan × ${quality.planVsUniform}`);
  console.log("");
  for (const line of formatProgramBench(program)) console.log(line);
  console.log("");
  for (const line of formatStateBench(state)) console.log(line);
  console.log("");
  for (const line of formatPartitionBench(partitions)) console.log(line);
  console.log("");
  for (const line of formatMinersBench(miners)) console.log(line);
  for (const line of formatPowerAgentBench(powerAgent)) console.log(line);
  console.log(`\nwritten to bench/results/latest.json`);
}

// Run only as the entry point, so tools can import syntheticSite() without starting the bench.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const childAt = process.argv.indexOf("--child");
  const repeatAt = process.argv.indexOf("--repeat");
  if (childAt >= 0) childMain(Number(process.argv[childAt + 1]));
  else if (process.argv.includes("--planner")) plannerMain(fileURLToPath(import.meta.url), repeatAt >= 0 ? Number(process.argv[repeatAt + 1]) : 3);
  else if (process.argv.includes("--exactness")) await exactnessMain(fileURLToPath(import.meta.url));
  else await main();
}
