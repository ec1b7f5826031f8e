/**
 * `npm run bench`: planner speed and memory on synthetic sites of 1k, 10k and 50k
 * machines, and plan quality on a power-constrained site against two baselines.
 *
 * Each size runs in its own child process (`--child <machines>`) so its peak RSS is its
 * own; results go to bench/results/latest.json and a table on stdout. Then the Pulumi
 * program under mocks for 100, 1,000 and 5,000 GPU nodes against its floor (bench/program.ts).
 *
 * Synthetic site: ~8 machines per 415 V × 32 A three-phase circuit (4 riser rigs of
 * 6 × RTX 3090, 2 servers of 4 × RTX 4090, 2 Antminer S19j Pro), 250 circuits per feed,
 * feeds alternating firm / curtailable, PUE 1.1. Circuits carry their minimum load but
 * not their maximum, so nearly every circuit binds and the allocator does real work.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { circuitUsableWatts, planFarm } from "../src/plan/index.js";
import { findAsic, findGpu, relativeThroughput } from "../src/site/catalog.js";
import type { GpuSpec } from "../src/site/catalog.js";
import type { SiteSpec } from "../src/site/schema.js";
import { PROGRAM_TARGETS, formatProgramBench, runProgramBench } from "./program.js";
import { formatMinersBench, type MinersBenchResult } from "./miners.js";
import { formatPowerAgentBench, type PowerAgentBenchResult } from "./power-agent.js";

const SIZES = [1_000, 10_000, 50_000];
const RUNS_BY_SIZE: Record<number, number> = { 1_000: 7, 10_000: 5, 50_000: 3 };
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

function main(): void {
  const self = fileURLToPath(import.meta.url);
  const sizes: SizeResult[] = [];
  for (const size of SIZES) {
    const child = spawnSync(process.execPath, [...process.execArgv, "--expose-gc", self, "--child", String(size)], { encoding: "utf8", maxBuffer: 1 << 20 });
    if (child.status !== 0) throw new Error(`bench child for ${size} machines failed:\n${child.stderr}`);
    sizes.push(JSON.parse(child.stdout) as SizeResult);
  }

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

  const program = runProgramBench();

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
    targets: { ms50k: 2000, peakRssMiB: 1024, program: PROGRAM_TARGETS },
    sizes,
    quality,
    program,
    miners,
    powerAgent,
  };
  const dir = join(dirname(self), "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), JSON.stringify(out, null, 2) + "\n");

  console.log("machines  gpuNodes  circuits  median ms    min ms  peak RSS MiB  heap Δ MiB");
  for (const s of sizes) {
    console.log(
      `${String(s.machines).padStart(8)}  ${String(s.gpuNodes).padStart(8)}  ${String(s.circuits).padStart(8)}  ${s.medianMs.toFixed(1).padStart(9)}  ${s.minMs.toFixed(1).padStart(8)}  ${s.peakRssMiB.toFixed(1).padStart(12)}  ${s.heapDeltaMiB.toFixed(1).padStart(10)}`,
    );
  }
  console.log(`\npower-constrained site (${quality.site}), ${quality.gpuNodes} GPU nodes:`);
  console.log(`  plan (per-node caps):  ${quality.planTflops} TFLOPS`);
  console.log(`  nameplate (no caps):   ${quality.nameplateTflops} TFLOPS, ${quality.nameplateDarkNodes} nodes dark   → plan × ${quality.planVsNameplate}`);
  console.log(`  uniform cap ${quality.uniformCapWatts} W:     ${quality.uniformTflops} TFLOPS   → plan × ${quality.planVsUniform}`);
  console.log("");
  for (const line of formatProgramBench(program)) console.log(line);
  console.log("");
  for (const line of formatMinersBench(miners)) console.log(line);
  for (const line of formatPowerAgentBench(powerAgent)) console.log(line);
  console.log(`\nwritten to bench/results/latest.json`);
}

// Run only as the entry point, so tools can import syntheticSite() without starting the bench.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const childAt = process.argv.indexOf("--child");
  if (childAt >= 0) childMain(Number(process.argv[childAt + 1]));
  else main();
}
