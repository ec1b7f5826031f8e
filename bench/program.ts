/**
 * Program benchmark: the FarmCluster component under the recording Pulumi mocks of the tests
 * and the offline preview (src/preview/mocks.ts), for generated plans of 100, 1,000 and 5,000
 * GPU nodes, against a floor measured in the same run: the same number of bare resources
 * (`command.local.Command` with no inputs) under the same mocks.
 *
 * Reported per size: wall time (component construction until the mock monitor has recorded
 * every registration), resources registered, how many of them scale with the machines
 * (bootstrap command and install-version record per Kubernetes node; NodePatches, which earlier
 * versions registered per node, are still counted) and how many
 * are a constant per pool, and the ratio to the floor. Targets (issue 3): at most one resource
 * per machine plus a constant per pool; wall time at most 1.5 × the floor.
 *
 * Also per size (issue 7): the sequential steps of a first install (the longest chain of the
 * registered dependency graph, counting resources that act: commands, releases, objects) and
 * of a k3s version change (Pulumi updates the two upgrade Plans, one step; the
 * system-upgrade-controller then upgrades the servers one by one and the agents in batches of
 * `rollout.agentBatch`: servers + ⌈agents / batch⌉ rounds), next to the batch size.
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
import { rolloutOf } from "../src/components/lifecycle.js";

/** GPU-node counts the bench runs. */
export const PROGRAM_SIZES = [100, 1_000, 5_000];
/** Targets of issue 3. */
export const PROGRAM_TARGETS = { perMachineResources: 1, floorRatio: 1.5 } as const;
/** Wall-clock limit of one child, in ms: keeps the 5,000-node case (about 15,000 registrations) bounded. */
const CHILD_TIMEOUT_MS = 900_000;

/** Fixed placeholder secrets: the bench needs values, never real ones. */
const BENCH_SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nBENCHKEY\n-----END OPENSSH PRIVATE KEY-----\n";
const BENCH_TOKEN = "BENCHK3STOKEN0123456789";
const BENCH_AGENT_TOKEN = "BENCHK3SAGENTTOKEN987654";

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
  perMachine: { bootstraps: number; installRecords: number; nodePatches: number; total: number };
  /** `perMachine.total / machines`: 2 (bootstrap, install-version record); target ≤ 1. */
  resourcesPerMachine: number;
  /** Everything else: components, provider, kubeconfig read, releases, Kueue and agent objects. */
  constant: number;
  /** `constant / pools`. */
  constantPerPool: number;
}

/** Sequential steps of a first install and of a k3s version change. */
export interface ProgramDepth {
  /** k3s agents (the nodes the agent Plan upgrades). */
  agents: number;
  servers: number;
  /** Longest chain of acting resources in the registered dependency graph (a first `pulumi up`). */
  installSteps: number;
  /** Pulumi steps of a version change: the two Plans are updated, nothing else. */
  upgradePulumiSteps: number;
  /** Agents upgraded at once (`rollout.agentBatch`). */
  agentBatch: number;
  /** Rounds the upgrade controller runs: one per server, then ⌈agents / batch⌉. */
  upgradeRounds: number;
}

/** One size's measurement of the program (child process `--program N`). */
export interface ProgramMeasure extends ProgramCounts {
  /** Construction of the FarmCluster until every registration is recorded, in ms. */
  wallMs: number;
  depth: ProgramDepth;
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

/** Splits registrations by type into per-machine resources and the rest (`bootstraps`: commands named after a node). */
export function countProgram(plan: FarmPlan, byType: Record<string, number>, bootstraps: number): ProgramCounts {
  const resources = Object.values(byType).reduce((a, b) => a + b, 0);
  const nodePatches = byType["kubernetes:core/v1:NodePatch"] ?? 0;
  const installRecords = byType["random:index/randomShuffle:RandomShuffle"] ?? 0;
  const perMachine = bootstraps + installRecords + nodePatches;
  const machines = plan.nodes.length;
  const constant = resources - perMachine;
  return {
    gpuNodes: plan.nodes.filter((n) => n.gpu !== undefined).length,
    machines,
    pools: plan.pools.length,
    resources,
    byType,
    perMachine: { bootstraps, installRecords, nodePatches, total: perMachine },
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
  new FarmCluster(plan.site.name, { plan, sshPrivateKey: BENCH_SSH_KEY, k3sToken: BENCH_TOKEN, k3sAgentToken: BENCH_AGENT_TOKEN });
  await recorder.settle();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const nodeNames = new Set(plan.nodes.map((n) => `${plan.site.name}-${n.hostname}`));
  const bootstraps = recorder.ofType("command:remote:Command").filter((r) => nodeNames.has(r.name)).length;
  return { ...countProgram(plan, recorder.counts(), bootstraps), wallMs: round(wallMs), depth: programDepth(plan, recorder.registrations) };
}

/** Types that only group or record (no step on a host or in the cluster): left out of the install depth. */
const PASSIVE_TYPES = /^(mine2hpc:index:|pulumi:providers:|random:)/;

/**
 * Sequential steps of a first install: the longest chain of acting resources through the
 * recorded dependencies (dependsOn and input dependencies; components and records pass their
 * dependencies on without adding a step). Iterative over a topological order: bounded by the
 * number of registrations, no recursion.
 */
export function installDepth(registrations: readonly { urn: string; type: string; dependencies: string[]; parent: string }[]): number {
  const byUrn = new Map(registrations.map((r) => [r.urn, r]));
  const depth = new Map<string, number>();
  const pending = new Map(registrations.map((r) => [r.urn, r.dependencies.filter((d) => byUrn.has(d) && d !== r.urn).length]));
  const dependents = new Map<string, string[]>();
  for (const r of registrations) for (const d of r.dependencies) if (byUrn.has(d) && d !== r.urn) dependents.set(d, [...(dependents.get(d) ?? []), r.urn]);
  const ready = registrations.filter((r) => pending.get(r.urn) === 0).map((r) => r.urn);
  let best = 0;
  for (let i = 0; i < ready.length; i++) {
    const urn = ready[i]!;
    const r = byUrn.get(urn)!;
    const before = Math.max(0, ...r.dependencies.filter((d) => depth.has(d)).map((d) => depth.get(d)!));
    const own = before + (PASSIVE_TYPES.test(r.type) ? 0 : 1);
    depth.set(urn, own);
    best = Math.max(best, own);
    for (const next of dependents.get(urn) ?? []) {
      const left = pending.get(next)! - 1;
      pending.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  if (ready.length !== registrations.length) throw new Error(`program bench: the dependency graph has a cycle (${registrations.length - ready.length} resources never ready)`);
  return best;
}

/** Install depth from the registrations; upgrade rounds from the plan (what the upgrade Plans say). */
export function programDepth(plan: FarmPlan, registrations: readonly { urn: string; type: string; dependencies: string[]; parent: string }[]): ProgramDepth {
  const agents = plan.nodes.filter((n) => n.k3sRole === "agent").length;
  const servers = plan.nodes.length - agents;
  const agentBatch = rolloutOf(plan).agentBatch;
  return {
    agents,
    servers,
    installSteps: installDepth(registrations),
    upgradePulumiSteps: 1,
    agentBatch,
    upgradeRounds: servers + Math.ceil(agents / agentBatch),
  };
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
    "gpuNodes  machines  pools  resources  per machine (bootstrap+record[+NodePatch])  constant (/pool)    wall ms   floor ms  × floor",
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
    `  resources per machine: ${per} (target ≤ ${PROGRAM_TARGETS.perMachineResources}: ${per <= PROGRAM_TARGETS.perMachineResources ? "met" : "NOT met — a bootstrap command and an install-version record per machine"})`,
    `  time vs floor: ≤ ${ratio} × (target ≤ ${PROGRAM_TARGETS.floorRatio}: ${ratio <= PROGRAM_TARGETS.floorRatio ? "met" : "NOT met"})`,
    "sequential steps (first install: longest chain of the registered graph; k3s upgrade: Pulumi steps, then controller rounds):",
    "  agents  servers  install steps  upgrade: pulumi steps  agent batch  controller rounds (servers + ⌈agents/batch⌉)",
  );
  for (const r of rows) {
    const d = r.depth;
    lines.push(
      `${String(d.agents).padStart(8)}  ${String(d.servers).padStart(7)}  ${String(d.installSteps).padStart(13)}  ${String(d.upgradePulumiSteps).padStart(21)}  ${String(d.agentBatch).padStart(11)}  ${`${d.upgradeRounds} = ${d.servers} + ${d.upgradeRounds - d.servers}`.padStart(17)}`,
    );
  }
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
