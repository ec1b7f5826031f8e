/**
 * Program benchmark: the FarmCluster component under the recording Pulumi mocks of the tests
 * and the offline preview (src/preview/mocks.ts), for generated plans of 100, 1,000 and 5,000
 * GPU nodes, against a floor measured in the same run: the same number of bare resources
 * (`command.local.Command` with no inputs) under the same mocks.
 *
 * Reported per size: wall time (component construction until the mock monitor has recorded
 * every registration), resources registered, how many of them scale with the machines
 * (bootstrap command + NodePatch per Kubernetes node) and how many are a constant per pool,
 * and the ratio to the floor. Targets (issue 3): at most one resource per machine plus a
 * constant per pool; wall time at most 1.5 × the floor.
 *
 * Pulumi's runtime is a process-wide singleton, so every measurement runs in a fresh child
 * process (`--program N` / `--floor N`); `bench/run.ts` calls {@link runProgramBench}.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { planFarm } from "../src/plan/index.js";
import type { FarmPlan } from "../src/plan/types.js";
import type { SiteSpec } from "../src/site/schema.js";
import { syntheticSite } from "./run.js";

/** GPU-node counts the bench runs. */
export const PROGRAM_SIZES = [100, 1_000, 5_000];
/** Targets of issue 3. */
export const PROGRAM_TARGETS = { perMachineResources: 1, floorRatio: 1.5 } as const;
/** Wall-clock limit of one child, in ms: keeps the 5,000-node case bounded. */
const CHILD_TIMEOUT_MS = 300_000;

/** Fixed placeholder secrets: the bench needs values, never real ones. */
const BENCH_SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nBENCHKEY\n-----END OPENSSH PRIVATE KEY-----\n";
const BENCH_TOKEN = "BENCHK3STOKEN0123456789";

/**
 * A site with exactly `gpuNodes` GPU machines: `syntheticSite` (6 GPU machines and 2 ASIC
 * miners per circuit, 3 control-plane servers) with the GPU machines past `gpuNodes` dropped
 * from the end. Dropping load from a circuit never makes a feasible site infeasible.
 */
export function programSite(gpuNodes: number): SiteSpec {
  if (!Number.isInteger(gpuNodes) || gpuNodes < 1) throw new Error(`program bench: gpuNodes must be a positive integer, got ${gpuNodes}`);
  const circuits = Math.ceil(gpuNodes / 6);
  const site = syntheticSite(3 + 8 * circuits);
  let kept = 0;
  const machines = site.machines.filter((m) => m.role !== "gpu" || ++kept <= gpuNodes);
  return { ...site, metadata: { ...site.metadata, name: `bench-program-${gpuNodes}` }, machines };
}

/** Resource counts of one FarmCluster, split into the part that scales with machines and the rest. */
export interface ProgramCounts {
  /** GPU nodes in the plan. */
  gpuNodes: number;
  /** Kubernetes machines (GPU nodes + control plane); ASIC miners get no resource. */
  machines: number;
  pools: number;
  /** Every resource registered, components and the provider included. */
  resources: number;
  /** Registrations by type token, sorted by type. */
  byType: Record<string, number>;
  /** Resources that exist once per machine, by kind. */
  perMachine: { bootstraps: number; nodePatches: number; total: number };
  /** `perMachine.total / machines`: 2 today (bootstrap + NodePatch); target ≤ 1. */
  resourcesPerMachine: number;
  /** Everything else: components, provider, kubeconfig read, releases, Kueue and agent objects. */
  constant: number;
  /** `constant / pools`. */
  constantPerPool: number;
}

/** One size's measurement of the program (child process `--program N`). */
export interface ProgramMeasure extends ProgramCounts {
  /** Construction of the FarmCluster until every registration is recorded, in ms. */
  wallMs: number;
}

/** One floor measurement (child process `--floor N`). */
export interface FloorMeasure {
  resources: number;
  wallMs: number;
}

/** One row of the program bench. */
export interface ProgramSizeResult extends ProgramMeasure {
  floorMs: number;
  /** `wallMs / floorMs`; target ≤ 1.5. */
  floorRatio: number;
}

/** Splits registrations by type into per-machine resources and the rest. */
export function countProgram(plan: FarmPlan, byType: Record<string, number>, kubeconfigReads: number): ProgramCounts {
  const resources = Object.values(byType).reduce((a, b) => a + b, 0);
  const bootstraps = (byType["command:remote:Command"] ?? 0) - kubeconfigReads;
  const nodePatches = byType["kubernetes:core/v1:NodePatch"] ?? 0;
  const perMachine = bootstraps + nodePatches;
  const machines = plan.nodes.length;
  const constant = resources - perMachine;
  return {
    gpuNodes: plan.nodes.filter((n) => n.gpu !== undefined).length,
    machines,
    pools: plan.pools.length,
    resources,
    byType,
    perMachine: { bootstraps, nodePatches, total: perMachine },
    resourcesPerMachine: round(perMachine / machines, 3),
    constant,
    constantPerPool: round(constant / plan.pools.length, 2),
  };
}

/**
 * Plans a site of `gpuNodes` GPU nodes and builds its FarmCluster under the recording mocks,
 * in this process. Call once per process (Pulumi's runtime is a singleton).
 */
export async function measureProgram(gpuNodes: number): Promise<ProgramMeasure> {
  const plan = planFarm(programSite(gpuNodes));
  const { setupMocks } = await import("../src/preview/mocks.js");
  const recorder = await setupMocks({ project: "mine2hpc", stack: "bench" });
  const { FarmCluster } = await import("../src/components/index.js");
  const t0 = process.hrtime.bigint();
  new FarmCluster(plan.site.name, { plan, sshPrivateKey: BENCH_SSH_KEY, k3sToken: BENCH_TOKEN });
  await recorder.settle();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const reads = recorder.ofType("command:remote:Command").filter((r) => r.name === `${plan.site.name}-kubeconfig`).length;
  return { ...countProgram(plan, recorder.counts(), reads), wallMs: round(wallMs) };
}

/**
 * The floor: `resources` bare registrations under the same mocks, in this process — one
 * component and `resources - 1` `command.local.Command`s with no inputs beneath it.
 */
export async function measureFloor(resources: number): Promise<FloorMeasure> {
  const { setupMocks } = await import("../src/preview/mocks.js");
  const recorder = await setupMocks({ project: "mine2hpc", stack: "bench" });
  const pulumi = await import("@pulumi/pulumi");
  const command = await import("@pulumi/command");
  const t0 = process.hrtime.bigint();
  const parent = new pulumi.ComponentResource("mine2hpc:bench:Floor", "floor", {});
  for (let i = 1; i < resources; i++) new command.local.Command(`floor-${i}`, {}, { parent });
  await recorder.settle();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return { resources: recorder.registrations.length, wallMs: round(wallMs) };
}

function runChild<T>(flag: "--program" | "--floor", n: number): T {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, [...process.execArgv, self, flag, String(n)], {
    encoding: "utf8",
    maxBuffer: 16 << 20,
    timeout: CHILD_TIMEOUT_MS,
  });
  if (child.error !== undefined || child.status !== 0) {
    const why = child.error?.message ?? `exit ${child.status}`;
    throw new Error(`program bench child ${flag} ${n} failed (${why}; limit ${CHILD_TIMEOUT_MS / 1000} s):\n${child.stderr}`);
  }
  return JSON.parse(child.stdout) as T;
}

/** Runs every size and its floor, each in a fresh child process. */
export function runProgramBench(sizes: readonly number[] = PROGRAM_SIZES): ProgramSizeResult[] {
  return sizes.map((n) => {
    const program = runChild<ProgramMeasure>("--program", n);
    const floor = runChild<FloorMeasure>("--floor", program.resources);
    if (floor.resources !== program.resources) {
      throw new Error(`program bench: floor registered ${floor.resources} resources, the program ${program.resources}`);
    }
    return { ...program, floorMs: floor.wallMs, floorRatio: round(program.wallMs / floor.wallMs, 2) };
  });
}

/** The program section of the bench's stdout. */
export function formatProgramBench(rows: readonly ProgramSizeResult[]): string[] {
  const lines = [
    "program under mocks (FarmCluster, src/preview/mocks.ts) vs floor (same number of bare resources):",
    "gpuNodes  machines  pools  resources  per machine (bootstrap+NodePatch)  constant (/pool)    wall ms   floor ms  × floor",
  ];
  for (const r of rows) {
    const per = `${r.perMachine.total} = ${r.machines} × ${r.resourcesPerMachine}`;
    lines.push(
      `${String(r.gpuNodes).padStart(8)}  ${String(r.machines).padStart(8)}  ${String(r.pools).padStart(5)}  ${String(r.resources).padStart(9)}  ${per.padStart(33)}  ${`${r.constant} (${r.constantPerPool})`.padStart(16)}  ${r.wallMs.toFixed(1).padStart(9)}  ${r.floorMs.toFixed(1).padStart(9)}  ${r.floorRatio.toFixed(2).padStart(7)}`,
    );
  }
  const per = Math.max(...rows.map((r) => r.resourcesPerMachine));
  const ratio = Math.max(...rows.map((r) => r.floorRatio));
  lines.push(
    `  resources per machine: ${per} (target ≤ ${PROGRAM_TARGETS.perMachineResources}: ${per <= PROGRAM_TARGETS.perMachineResources ? "met" : "NOT met — a bootstrap command and a NodePatch per machine"})`,
    `  time vs floor: ≤ ${ratio} × (target ≤ ${PROGRAM_TARGETS.floorRatio}: ${ratio <= PROGRAM_TARGETS.floorRatio ? "met" : "NOT met"})`,
  );
  return lines;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// Child entry: `--program N` or `--floor N` prints one JSON object on stdout.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.findIndex((a) => a === "--program" || a === "--floor");
  const n = Number(process.argv[at + 1]);
  const job = at >= 0 && process.argv[at] === "--program" ? measureProgram(n) : at >= 0 ? measureFloor(n) : Promise.reject(new Error("usage: program.ts --program N | --floor N"));
  job.then(
    (result) => process.stdout.write(JSON.stringify(result), () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
