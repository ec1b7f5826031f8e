/**
 * Partitioned-stacks benchmark: one site of 5,000 GPU nodes as one stack, and as a cluster stack
 * plus 10 partition stacks (issue 11 §3), under the recording mocks with the checkpoint model of
 * bench/state.ts.
 *
 * Per stack: resources, state bytes (the checkpoint after a first `up`), the bytes a
 * non-journaling backend writes during that first `up` (Σ over checkpoint writes of the
 * checkpoint's size), and the registration time (program construction until the mock monitor
 * has recorded every registration) against the floor measured in the same run: the same number
 * of bare registrations (`command.local.Command` with no inputs) under the same hooks.
 *
 * The partitioned site is `programSite(5,000)` with every GPU machine given a `partition` in
 * contiguous blocks (part-01 … part-10, 500 machines each): the plan is the same as the one
 * stack's (partitions decide no power), so the two layouts hold the same machines.
 *
 * A partition stack reads the cluster stack's outputs through a StackReference; in the
 * checkpoint that resource keeps every output of the referenced stack (secret ones encrypted).
 * bench/state.ts models it as its inputs only, so the referenced outputs' bytes are added here
 * ({@link referenceBytes}) to the total and to every checkpoint write after the reference (it is
 * the partition program's first resource).
 *
 * Pulumi's runtime is a process-wide singleton, so every measurement runs in a fresh child.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { planFarm, stackHosts } from "../src/plan/index.js";
import type { FarmPlan } from "../src/plan/types.js";
import { summarizePlan } from "../src/components/farm-cluster.js";
import type { SiteSpec } from "../src/site/schema.js";
import { programSite } from "./program.js";
import { serializeProperty, type StateMeasure } from "./state.js";
import { SECRET_SIG_KEY, SECRET_SIG_VALUE } from "../src/preview/mocks.js";

/** The layout the issue asks for: 5,000 GPU nodes, 10 partitions. */
export const PARTITION_BENCH = { gpuNodes: 5_000, partitions: 10 } as const;
/** Wall-clock limit of one child, in ms (the one-stack 5,000-node case is the long one). */
const CHILD_TIMEOUT_MS = 1_200_000;
/** The cluster stack's name in the bench (partition stacks reference it). */
const CLUSTER_STACK = "bench";
/** A fixed placeholder agent token (in the reference's clusterJoin): the bench needs a value, never a real one. */
const AGENT_TOKEN = "A".repeat(48);

/** Name of partition `k` (0-based) of the bench site. */
export function partitionName(k: number): string {
  return `part-${String(k + 1).padStart(2, "0")}`;
}

/**
 * `programSite(gpuNodes)` with its GPU machines split into `partitions` contiguous blocks by
 * their own `partition` field (sizes differ by at most one).
 */
export function partitionedSite(gpuNodes: number, partitions: number): SiteSpec {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > gpuNodes) throw new Error(`partition bench: partitions must be 1…${gpuNodes}, got ${partitions}`);
  const site = programSite(gpuNodes);
  let k = 0;
  const machines = site.machines.map((m) => (m.role === "gpu" ? { ...m, partition: partitionName(Math.floor((k++ * partitions) / gpuNodes)) } : m));
  return { ...site, machines };
}

/** One stack of a layout. */
export interface StackRow {
  /** `whole` (the site as one stack), `cluster` or the partition's name. */
  part: string;
  /** Kubernetes machines it holds. */
  machines: number;
  resources: number;
  /** Checkpoint bytes after a first `up`. */
  stateBytes: number;
  /** Checkpoint writes of a first `up`, and the bytes they write (no journaling). */
  checkpointWrites: number;
  firstUpBytesWritten: number;
  /** Registration time, and the floor's for the same number of resources, in ms. */
  wallMs: number;
  floorMs: number;
  /** `wallMs / floorMs`. */
  floorRatio: number;
}

/** The bench's result: both layouts of one site. */
export interface PartitionBenchResult {
  gpuNodes: number;
  partitions: number;
  whole: StackRow;
  cluster: StackRow;
  parts: StackRow[];
  /** The partitioned layout summed over its stacks, and its largest partition. */
  split: { resources: number; stateBytes: number; firstUpBytesWritten: number; largestPartStateBytes: number };
}

/** What one child measures: a stack's registration time and state. */
interface ChildMeasure {
  machines: number;
  /** Registrations the mock monitor recorded (what the floor registers). */
  registered: number;
  wallMs: number;
  state: Pick<StateMeasure, "resources" | "total" | "firstUpBytesWritten" | "checkpointWrites">;
}

/**
 * The outputs the cluster stack of a partitioned site exports (src/program.ts `run`), as a
 * partition's StackReference reads them, with the secret ones named: `circuitLoads` holds the
 * circuits of the cluster stack's own machines only (`summarizePlan` with its hosts).
 */
function clusterOutputs(plan: FarmPlan): { outputs: Record<string, unknown>; secretOutputNames: string[] } {
  const summary = summarizePlan(plan, stackHosts(plan, null));
  return {
    outputs: {
      apiEndpoint: plan.kubernetes.apiEndpoint,
      // A k3s admin kubeconfig is about 2,960 bytes (bench/state.ts K3S_KUBECONFIG); its length is what counts.
      kubeconfig: "k".repeat(2_960),
      pools: summary.pools,
      circuitLoads: summary.circuitLoads,
      clusterJoin: { site: plan.site.name, apiEndpoint: plan.kubernetes.apiEndpoint, caHash: "c".repeat(64), agentToken: AGENT_TOKEN },
    },
    secretOutputNames: ["clusterJoin", "kubeconfig"],
  };
}

/** Bytes the StackReference's record holds beyond its inputs: the referenced outputs (secret ones encrypted) and their secret names. */
export function referenceBytes(ref: { outputs: Record<string, unknown>; secretOutputNames: string[] }): number {
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ref.outputs)) outputs[k] = ref.secretOutputNames.includes(k) ? { [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value: v } : v;
  // `,"outputs":{…},"secretOutputNames":[…]` inside the record's outputs.
  return Buffer.byteLength(JSON.stringify({ outputs: serializeProperty(outputs), secretOutputNames: ref.secretOutputNames })) - 2 + 1;
}

/**
 * Builds one stack of the site in this process and measures it: `whole` (no partitions),
 * `cluster`, or a partition's name. Call once per process.
 */
export async function measureStack(gpuNodes: number, partitions: number, part: string): Promise<ChildMeasure> {
  const plan = planFarm(part === "whole" ? programSite(gpuNodes) : partitionedSite(gpuNodes, partitions));
  const reference = clusterOutputs(plan);
  const stack = part === "whole" || part === "cluster" ? CLUSTER_STACK : `${CLUSTER_STACK}-${part}`;
  const { recordState } = await import("./state.js");
  const rec = await recordState({ project: "mine2hpc", stack, stackReferences: { [`organization/mine2hpc/${CLUSTER_STACK}`]: reference } });
  const [{ FarmCluster, SSH_AGENT }, { runPartition }, random] = await Promise.all([import("../src/components/index.js"), import("../src/program.js"), import("@pulumi/random")]);
  const t0 = process.hrtime.bigint();
  // As bench/state.ts measures a site: the SSH agent (no key in state; the default without
  // mine2hpc:sshPrivateKey) and, in the cluster stack, k3s tokens generated as src/program.ts does.
  if (part === "whole" || part === "cluster") {
    const token = (kind: string) => new random.RandomPassword(`${plan.site.name}-k3s-${kind}`, { length: 48, special: false }).result;
    new FarmCluster(plan.site.name, { plan, sshPrivateKey: SSH_AGENT, k3sToken: token("token"), k3sAgentToken: token("agent-token") });
  } else {
    runPartition(plan, { partition: part, clusterStack: CLUSTER_STACK, sshPrivateKey: SSH_AGENT });
  }
  await rec.settle();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const hosts = [...stackHosts(plan, part === "whole" || part === "cluster" ? null : part)];
  const m = rec.measure({ plan, machines: hosts, project: "mine2hpc", stack });
  const extra = part === "whole" || part === "cluster" ? 0 : referenceBytes(reference);
  return {
    machines: hosts.length,
    registered: rec.recorder.registrations.length,
    wallMs: round(wallMs),
    state: { resources: m.resources, total: m.total + extra, firstUpBytesWritten: m.firstUpBytesWritten + extra * m.checkpointWrites, checkpointWrites: m.checkpointWrites },
  };
}

/** The floor: `resources` bare registrations under the same hooks as {@link measureStack}, in this process. */
export async function measureStackFloor(resources: number): Promise<{ resources: number; wallMs: number }> {
  const { recordState } = await import("./state.js");
  const rec = await recordState({ project: "mine2hpc", stack: "floor" });
  const pulumi = await import("@pulumi/pulumi");
  const command = await import("@pulumi/command");
  const t0 = process.hrtime.bigint();
  const parent = new pulumi.ComponentResource("mine2hpc:bench:Floor", "floor", {});
  for (let i = 1; i < resources; i++) new command.local.Command(`floor-${i}`, {}, { parent });
  await rec.settle();
  return { resources: rec.recorder.registrations.length, wallMs: round(Number(process.hrtime.bigint() - t0) / 1e6) };
}

function runChild<T>(args: string[]): T {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, [...process.execArgv, self, ...args], { encoding: "utf8", maxBuffer: 16 << 20, timeout: CHILD_TIMEOUT_MS });
  if (child.error !== undefined || child.status !== 0) {
    throw new Error(`partition bench child ${args.join(" ")} failed (${child.error?.message ?? `exit ${child.status}`}; limit ${CHILD_TIMEOUT_MS / 1000} s):\n${child.stderr}`);
  }
  return JSON.parse(child.stdout) as T;
}

/** One stack and its floor, each in a fresh child. */
function stackRow(gpuNodes: number, partitions: number, part: string): StackRow {
  const m = runChild<ChildMeasure>(["--stack", String(gpuNodes), String(partitions), part]);
  // As many bare registrations as the mock monitor saw (the checkpoint adds the root stack and default providers).
  const floor = runChild<{ resources: number; wallMs: number }>(["--floor", String(m.registered)]);
  return {
    part,
    machines: m.machines,
    resources: m.state.resources,
    stateBytes: m.state.total,
    checkpointWrites: m.state.checkpointWrites,
    firstUpBytesWritten: m.state.firstUpBytesWritten,
    wallMs: m.wallMs,
    floorMs: floor.wallMs,
    floorRatio: round(m.wallMs / floor.wallMs, 2),
  };
}

/** Runs both layouts of `gpuNodes` GPU nodes, every stack and its floor in fresh children. */
export function runPartitionBench(gpuNodes: number = PARTITION_BENCH.gpuNodes, partitions: number = PARTITION_BENCH.partitions): PartitionBenchResult {
  const whole = stackRow(gpuNodes, partitions, "whole");
  const cluster = stackRow(gpuNodes, partitions, "cluster");
  const parts = Array.from({ length: partitions }, (_, k) => stackRow(gpuNodes, partitions, partitionName(k)));
  const all = [cluster, ...parts];
  return {
    gpuNodes,
    partitions,
    whole,
    cluster,
    parts,
    split: {
      resources: all.reduce((s, r) => s + r.resources, 0),
      stateBytes: all.reduce((s, r) => s + r.stateBytes, 0),
      firstUpBytesWritten: all.reduce((s, r) => s + r.firstUpBytesWritten, 0),
      largestPartStateBytes: Math.max(...parts.map((r) => r.stateBytes)),
    },
  };
}

const MB = 1024 * 1024;
const human = (bytes: number): string => (bytes >= 1024 * MB ? `${(bytes / 1024 / MB).toFixed(1)} GiB` : bytes >= MB ? `${(bytes / MB).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);

/** The partition section of the bench's stdout. */
export function formatPartitionBench(r: PartitionBenchResult): string[] {
  const row = (x: StackRow) =>
    `  ${x.part.padEnd(8)}  ${String(x.machines).padStart(8)}  ${String(x.resources).padStart(9)}  ${human(x.stateBytes).padStart(10)}  ${String(x.checkpointWrites).padStart(6)}  ${human(x.firstUpBytesWritten).padStart(12)}  ${x.wallMs.toFixed(0).padStart(8)}  ${x.floorMs.toFixed(0).padStart(8)}  ${x.floorRatio.toFixed(2).padStart(7)}`;
  const s = r.split;
  return [
    `partitioned stacks: ${r.gpuNodes} GPU nodes as one stack and as a cluster stack + ${r.partitions} partition stacks (same plan; state as bench/state.ts models it):`,
    "  stack     machines  resources       state  writes  first up (B)   reg ms  floor ms  × floor",
    row(r.whole),
    row(r.cluster),
    ...r.parts.map(row),
    `  one stack: ${r.whole.resources} resources, ${human(r.whole.stateBytes)} state, ${human(r.whole.firstUpBytesWritten)} written by a first up`,
    `  partitioned: ${s.resources} resources in ${r.partitions + 1} stacks, ${human(s.stateBytes)} state in all (largest partition ${human(s.largestPartStateBytes)}), ${human(s.firstUpBytesWritten)} written by the first ups (${(r.whole.firstUpBytesWritten / s.firstUpBytesWritten).toFixed(1)} × less)`,
  ];
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// Child entry: `--stack N P PART` or `--floor R` prints one JSON object.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [flag, a, b, c] = process.argv.slice(2);
  const job =
    flag === "--stack"
      ? measureStack(Number(a), Number(b), String(c))
      : flag === "--floor"
        ? measureStackFloor(Number(a))
        : Promise.reject(new Error("usage: partitions.ts --stack N P PART | --floor R"));
  job.then(
    (result) => process.stdout.write(JSON.stringify(result), () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
