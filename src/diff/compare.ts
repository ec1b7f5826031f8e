/**
 * The diff between two versions of a site: what `pulumi up` would add, change and remove
 * (from two offline previews), and what the plan decided differently (pools, GPU caps,
 * circuit and feed loads). Pure functions over plain data, so the CLI, CI and tests all get
 * the same answer; nothing here runs git, Pulumi or a child process.
 */
import type { PreviewResource, PreviewResult } from "../preview/offline.js";
import type { FarmPlan, PlannedNode, PlannedPool } from "../plan/types.js";
import { CONFIG_HASH_ANYWHERE } from "../render/hash.js";
import { versionChangeLine } from "../render/upgrade.js";

/** Identity of a resource: Pulumi's URN is parent chain + type + name, so a moved parent is a delete and a create. */
export interface ResourceRef {
  type: string;
  name: string;
  /** Parent as `type::name`, or null for a root resource. */
  parent: string | null;
  /** The stack it belongs to, on a partitioned site (several stacks compared at once). */
  stack?: string;
}

/** One value that differs between base and working tree; a side where it is absent is `null`. */
export interface ValueChange {
  /** Input path, e.g. `update` or `metadata.labels["mine2hpc.io/gpu-power-cap"]`. */
  key: string;
  before: unknown;
  after: unknown;
}

/** A resource present on both sides whose key inputs, dependencies or protection differ. */
export interface ResourceChange extends ResourceRef {
  /** Changed key inputs, sorted by key; secrets stay `[secret]` (they are masked before this point). */
  inputs: ValueChange[];
  /** Dependencies that appear or disappear, as `type::name`, sorted. */
  dependsOn: { added: string[]; removed: string[] };
  /** Set when `protect` flips. */
  protect: { before: boolean; after: boolean } | null;
}

/** What the Pulumi program would register differently. */
export interface ResourceDiff {
  added: ResourceRef[];
  removed: ResourceRef[];
  changed: ResourceChange[];
  /** Resources present and identical on both sides. */
  unchanged: number;
}

/** A machine whose bootstrap command runs again (or for the first time, or its uninstall). */
export interface Rebootstrap {
  hostname: string;
  /**
   * `added`: new machine, bootstrapped; `removed`: uninstall runs; `changed`: its host config
   * hash (in the `update` command) moved; `readdressed`: its IP or SSH user moved, so the
   * bootstrap runs at the new address (an in-place update); `reencoded`: its command changed but
   * its host config hash did not (e.g. after a mine2hpc upgrade changed how the script travels):
   * the bootstrap re-runs once, changing nothing on the host.
   */
  reason: "added" | "removed" | "changed" | "readdressed" | "reencoded" | "forgotten";
  /** Resource name of its `HostBootstrap` command. */
  resource: string;
  /** The stack of the command, on a partitioned site. `forgotten`: a partition stack drops it from state without the uninstall. */
  stack?: string;
  /** Content hashes of the host config; null on the side where the machine is absent. */
  configBefore: string | null;
  configAfter: string | null;
}

/** A field of a pool, circuit or feed that moved. */
export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

/** Summary of a pool that appears or disappears. */
export interface PoolSummary {
  name: string;
  gpus: number;
  nodes: number;
  /** Lowest and highest node cap, in W. */
  capWatts: { min: number; max: number };
}

/** A node whose GPU count or GPU power cap moved (nodes on both sides only). */
export interface NodeCapMove {
  hostname: string;
  /** Pool in the working tree (the base's when the node left its pool). */
  pool: string | null;
  gpusBefore: number;
  gpusAfter: number;
  /** Per-GPU power cap, in W; null for a node without GPUs on that side. */
  capWattsBefore: number | null;
  capWattsAfter: number | null;
}

/** A circuit whose budget or load moved. */
export interface CircuitMove {
  id: string;
  feed: string;
  usableWatts: { before: number; after: number };
  loadWatts: { before: number; after: number };
  loadPercent: { before: number; after: number };
}

/** A feed whose capacity or load moved. */
export interface FeedMove {
  name: string;
  capacityWatts: { before: number; after: number };
  itWatts: { before: number; after: number };
  facilityWatts: { before: number; after: number };
  loadPercent: { before: number; after: number };
}

/** A machine whose lifecycle state moved (`null`: absent on that side). */
export interface StateChange {
  hostname: string;
  before: "active" | "cordoned" | "offline" | "retired" | null;
  after: "active" | "cordoned" | "offline" | "retired" | null;
}

/** A machine reached at another address or as another user (both sides present). Not secret. */
export interface Readdress {
  hostname: string;
  /** `ip` or `user@ip` when the user changed too. */
  before: string;
  after: string;
}

/** A k3s version change, rolled by the upgrade controller rather than by host bootstraps. */
export interface VersionChange {
  before: string;
  after: string;
  /** Machines the upgrade Plans reach: active ones (cordoned and offline are left alone). */
  hosts: number;
  /** Agents upgraded at once (`rollout.agentBatch`). */
  agentBatch: number;
  /** The one line `plan` and `diff` print. */
  line: string;
}

/** What the planner decided differently. */
export interface PlanDiff {
  /** Machines whose state moved, by hostname. */
  states: StateChange[];
  /** Machines re-addressed (IP or SSH user), by hostname. */
  readdressed: Readdress[];
  /** The k3s version change, or null. */
  version: VersionChange | null;
  nodes: { added: string[]; removed: string[] };
  asics: { added: string[]; removed: string[] };
  pools: { added: PoolSummary[]; removed: PoolSummary[]; changed: { name: string; changes: FieldChange[] }[] };
  caps: NodeCapMove[];
  circuits: { added: string[]; removed: string[]; moved: CircuitMove[] };
  feeds: { added: string[]; removed: string[]; moved: FeedMove[] };
  /** Site totals that moved (`gpus`, `itWatts`, ...). */
  totals: FieldChange[];
  /** Warnings only the working tree has, and only the base had. */
  warnings: { added: string[]; removed: string[] };
}

/**
 * The secrets of a stack file as the diff sees them: ciphertexts, never values (only Pulumi can
 * decrypt them, and the diff runs without it). `provider` fingerprints how they are encrypted
 * (the stack file's `secretsprovider`, `encryptedkey` and `encryptionsalt`): when it moves, every
 * ciphertext moves with it.
 */
export interface StackSecrets {
  /** Secure config values (`key: { secure: … }`) by config key, e.g. `mine2hpc:k3sToken`. */
  ciphertexts: Record<string, string>;
  /** The encryption settings of the stack file joined into one string; null when it has none. */
  provider: string | null;
}

/**
 * A secret of the stack file that changed, named and never shown. `set`: configured now, not at
 * the base; `removed`: configured at the base, not now; `changed`: its ciphertext differs (it
 * was set again — Pulumi encrypts every value with a fresh nonce, so the same value set again
 * also shows here).
 */
export interface SecretChange {
  key: string;
  change: "set" | "removed" | "changed";
}

/** Secrets that differ between the stack file at the base and in the working tree. */
export interface SecretDiff {
  /** The stack's secrets provider, key or passphrase salt changed: every ciphertext was re-made. */
  reencrypted: boolean;
  changed: SecretChange[];
}

/** Counts for the one-line summary. */
export interface DiffSummary {
  resourcesAdded: number;
  resourcesRemoved: number;
  resourcesChanged: number;
  rebootstraps: number;
  poolsChanged: number;
  /** Machines whose state moved. */
  statesChanged: number;
  capsMoved: number;
  circuitsMoved: number;
  feedsMoved: number;
  /** Stack secrets whose ciphertext appeared, vanished or changed. */
  secretsChanged: number;
}

/** A Kubernetes machine that another stack holds after the change (`null`: the cluster stack, or the whole site). */
export interface PartitionMove {
  hostname: string;
  from: string | null;
  to: string | null;
}

/** A resource registered by another stack after the change, under the same type, name and parent. */
export interface MovedResource extends ResourceRef {
  fromStack: string;
  toStack: string;
}

/** What one stack's `pulumi up` would change. */
export interface StackTouch {
  stack: string;
  /** The partition it holds, or null for the cluster stack. */
  partition: string | null;
  added: number;
  changed: number;
  removed: number;
  /** Resources that arrive from, and leave to, another stack (machine moves). */
  movedIn: number;
  movedOut: number;
}

/** Partitioned stacks: which stacks a change touches and which machines change stack. */
export interface PartitionDiff {
  /** Stacks with something to do, by stack name; the others need no `pulumi up`. */
  touched: StackTouch[];
  /** Machines whose partition changes, by hostname. */
  moves: PartitionMove[];
  /** Their resources, as they leave one stack and arrive in another (not counted as added or removed). */
  movedResources: MovedResource[];
}

/** The whole diff between the site at a git ref and the working tree. */
export interface SiteDiff {
  base: {
    /** The ref as given (`origin/main`). */
    ref: string;
    /** The commit it resolved to. */
    commit: string;
    /** False when the stack did not exist at the base: everything is new. */
    stackExists: boolean;
  };
  stack: string;
  summary: DiffSummary;
  resources: ResourceDiff;
  rebootstraps: Rebootstrap[];
  plan: PlanDiff;
  /** Stack secrets that changed (by name only). */
  secrets: SecretDiff;
  /** Present when either side of the site is partitioned: every stack of the site is compared. */
  partitions?: PartitionDiff;
}

/** Type of the component whose children are the per-machine bootstrap commands. */
export const HOST_BOOTSTRAP_TYPE = "mine2hpc:index:HostBootstrap";

function resourceKey(r: ResourceRef): string {
  return `${r.stack ?? ""}|${r.parent ?? ""}>${r.type}::${r.name}`;
}

function ref(r: PreviewResource): ResourceRef {
  return { type: r.type, name: r.name, parent: r.parent, ...(r.stack !== undefined ? { stack: r.stack } : {}) };
}

function byKey<T extends ResourceRef>(a: T, b: T): number {
  const ka = `${a.stack ?? ""}|${a.type}::${a.name}>${a.parent ?? ""}`;
  const kb = `${b.stack ?? ""}|${b.type}::${b.name}>${b.parent ?? ""}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `a.b` for plain keys, `a["mine2hpc.io/pool"]` for keys a dot would make ambiguous. */
function childKey(parent: string, key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

/**
 * Differences between two input values, descending into objects so a changed label shows as
 * that label rather than the whole label map. Arrays compare whole (order matters to Pulumi).
 */
export function diffValues(key: string, before: unknown, after: unknown): ValueChange[] {
  if (same(before, after)) return [];
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffValues(childKey(key, k), before[k] ?? null, after[k] ?? null));
  }
  return [{ key, before: before ?? null, after: after ?? null }];
}

/** Compares two offline previews resource by resource. */
export function diffResources(base: readonly PreviewResource[], head: readonly PreviewResource[]): ResourceDiff {
  const baseByKey = new Map(base.map((r) => [resourceKey(r), r]));
  const headByKey = new Map(head.map((r) => [resourceKey(r), r]));
  const added = head.filter((r) => !baseByKey.has(resourceKey(r))).map(ref).sort(byKey);
  const removed = base.filter((r) => !headByKey.has(resourceKey(r))).map(ref).sort(byKey);
  const changed: ResourceChange[] = [];
  let unchanged = 0;
  for (const after of head) {
    const before = baseByKey.get(resourceKey(after));
    if (!before) continue;
    const keys = [...new Set([...Object.keys(before.inputs), ...Object.keys(after.inputs)])].sort();
    const inputs = keys.flatMap((k) => diffValues(k, before.inputs[k] ?? null, after.inputs[k] ?? null));
    const depsBefore = new Set(before.dependsOn);
    const depsAfter = new Set(after.dependsOn);
    const dependsOn = {
      added: after.dependsOn.filter((d) => !depsBefore.has(d)).sort(),
      removed: before.dependsOn.filter((d) => !depsAfter.has(d)).sort(),
    };
    const protect = before.protect === after.protect ? null : { before: before.protect, after: after.protect };
    if (inputs.length === 0 && dependsOn.added.length === 0 && dependsOn.removed.length === 0 && protect === null) {
      unchanged++;
      continue;
    }
    changed.push({ ...ref(after), inputs, dependsOn, protect });
  }
  return { added, removed, changed: changed.sort(byKey), unchanged };
}

/** The hostname a bootstrap command stands for: its name is `<component name>-<hostname>`. */
function bootstrapHostname(r: ResourceRef): string | null {
  if (r.type !== "command:remote:Command" || !r.parent?.startsWith(`${HOST_BOOTSTRAP_TYPE}::`)) return null;
  const component = r.parent.slice(HOST_BOOTSTRAP_TYPE.length + 2);
  return r.name.startsWith(`${component}-`) ? r.name.slice(component.length + 1) : r.name;
}

/**
 * The host config hash carried by a bootstrap's command (as the preview summarizes it): `create`,
 * or `update` in previews of stacks from before the bootstrap dropped its copy of the script there.
 */
function configOf(r: PreviewResource | undefined): string | null {
  const u = r?.inputs["create"] ?? r?.inputs["update"];
  if (typeof u !== "string") return null;
  const m = new RegExp(CONFIG_HASH_ANYWHERE).exec(u);
  return m ? m[1]! : null;
}

/**
 * Machines whose bootstrap runs on the next `pulumi up`: new machines, removed machines (their
 * uninstall runs), and machines whose command (which carries the host config hash) changed.
 */
export function findRebootstraps(base: readonly PreviewResource[], head: readonly PreviewResource[], diff: ResourceDiff): Rebootstrap[] {
  const baseByKey = new Map(base.map((r) => [resourceKey(r), r]));
  const headByKey = new Map(head.map((r) => [resourceKey(r), r]));
  const out: Rebootstrap[] = [];
  const push = (r: ResourceRef, reason: Rebootstrap["reason"]) => {
    const hostname = bootstrapHostname(r);
    if (hostname === null) return;
    const key = resourceKey(r);
    const configBefore = configOf(baseByKey.get(key));
    const configAfter = configOf(headByKey.get(key));
    // A bootstrap carries its host config hash on one side at least; the other commands of
    // HostBootstrap (CA read, removals, uninstalls of retired machines) and the placeholders of
    // machines first seen offline carry none and bootstrap nothing.
    if (configBefore === null && configAfter === null) return;
    out.push({ hostname, reason, resource: r.name, configBefore, configAfter, ...(r.stack !== undefined ? { stack: r.stack } : {}) });
  };
  for (const r of diff.added) push(r, "added");
  for (const r of diff.removed) push(r, "removed");
  for (const r of diff.changed) {
    // An offline or retired machine's placeholder has no command: it runs nothing (its state says why).
    if (configOf(headByKey.get(resourceKey(r))) === null) continue;
    if (r.inputs.some((c) => c.key === "connection.host" || c.key === "connection.user")) push(r, "readdressed");
    else if (r.inputs.some((c) => c.key === "create" || c.key === "update")) {
      // The hash covers the config and both scripts: the same hash on both sides means only the
      // command around them (encoding, outer deadline) moved.
      const before = configOf(baseByKey.get(resourceKey(r)));
      push(r, before !== null && before === configOf(headByKey.get(resourceKey(r))) ? "reencoded" : "changed");
    }
  }
  return out.sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
}

function addedRemoved(before: readonly string[], after: readonly string[]): { added: string[]; removed: string[] } {
  const b = new Set(before);
  const a = new Set(after);
  return { added: after.filter((x) => !b.has(x)).sort(), removed: before.filter((x) => !a.has(x)).sort() };
}

function fieldChanges<T>(before: T, after: T, fields: Record<string, (x: T) => unknown>): FieldChange[] {
  const out: FieldChange[] = [];
  for (const [field, get] of Object.entries(fields)) {
    const b = get(before);
    const a = get(after);
    if (!same(b, a)) out.push({ field, before: b, after: a });
  }
  return out;
}

const POOL_FIELDS: Record<string, (p: PlannedPool) => unknown> = {
  gpus: (p) => p.gpus,
  nodes: (p) => p.nodes.length,
  "capWatts.min": (p) => p.capWatts.min,
  "capWatts.max": (p) => p.capWatts.max,
  tier: (p) => p.tier,
  workload: (p) => p.workload,
  timeSlicingReplicas: (p) => p.timeSlicingReplicas,
  throughputTflops: (p) => p.throughputTflops,
};

function poolSummary(p: PlannedPool): PoolSummary {
  return { name: p.name, gpus: p.gpus, nodes: p.nodes.length, capWatts: { min: p.capWatts.min, max: p.capWatts.max } };
}

function nodeGpus(n: PlannedNode): number {
  return n.gpu?.count ?? 0;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Compares two plans. An empty base (`null`: the stack does not exist at the base ref) makes
 * everything added.
 */
export function diffPlans(base: FarmPlan | null, head: FarmPlan): PlanDiff {
  const b = base ?? { nodes: [], asics: [], pools: [], circuits: [], feeds: [], warnings: [], totals: null, retired: [], kubernetes: null };
  const poolsBefore = new Map(b.pools.map((p) => [p.name, p]));
  const poolsAfter = new Map(head.pools.map((p) => [p.name, p]));
  const nodesBefore = new Map(b.nodes.map((n) => [n.hostname, n]));
  const caps: NodeCapMove[] = [];
  for (const after of head.nodes) {
    const before = nodesBefore.get(after.hostname);
    if (!before) continue;
    const capBefore = before.gpu?.capWatts ?? null;
    const capAfter = after.gpu?.capWatts ?? null;
    if (capBefore === capAfter && nodeGpus(before) === nodeGpus(after)) continue;
    caps.push({
      hostname: after.hostname,
      pool: after.pool ?? before.pool ?? null,
      gpusBefore: nodeGpus(before),
      gpusAfter: nodeGpus(after),
      capWattsBefore: capBefore,
      capWattsAfter: capAfter,
    });
  }
  const circuitsBefore = new Map(b.circuits.map((c) => [c.id, c]));
  const moved: CircuitMove[] = [];
  for (const after of head.circuits) {
    const before = circuitsBefore.get(after.id);
    if (!before) continue;
    if (before.usableWatts === after.usableWatts && before.loadWatts === after.loadWatts && before.loadPercent === after.loadPercent) continue;
    moved.push({
      id: after.id,
      feed: after.feed,
      usableWatts: { before: before.usableWatts, after: after.usableWatts },
      loadWatts: { before: before.loadWatts, after: after.loadWatts },
      loadPercent: { before: before.loadPercent, after: after.loadPercent },
    });
  }
  const feedsBefore = new Map(b.feeds.map((f) => [f.name, f]));
  const feedsMoved: FeedMove[] = [];
  for (const after of head.feeds) {
    const before = feedsBefore.get(after.name);
    if (!before) continue;
    if (before.capacityWatts === after.capacityWatts && before.itWatts === after.itWatts && before.facilityWatts === after.facilityWatts && before.loadPercent === after.loadPercent) continue;
    feedsMoved.push({
      name: after.name,
      capacityWatts: { before: before.capacityWatts, after: after.capacityWatts },
      itWatts: { before: before.itWatts, after: after.itWatts },
      facilityWatts: { before: before.facilityWatts, after: after.facilityWatts },
      loadPercent: { before: before.loadPercent, after: after.loadPercent },
    });
  }
  const totals: FieldChange[] = [];
  for (const field of ["machines", "nodes", "gpus", "asics", "itWatts", "facilityWatts", "strandedWatts", "throughputTflops"] as const) {
    const before = b.totals?.[field] ?? 0;
    const after = head.totals[field];
    if (before !== after) totals.push({ field, before, after });
  }
  return {
    states: stateChanges(b, head),
    readdressed: readdressed(b, head),
    version: b.kubernetes === null ? null : versionChange(b.kubernetes.version, head),
    nodes: addedRemoved(b.nodes.map((n) => n.hostname), head.nodes.map((n) => n.hostname)),
    asics: addedRemoved(b.asics.map((a) => a.hostname), head.asics.map((a) => a.hostname)),
    pools: {
      added: head.pools.filter((p) => !poolsBefore.has(p.name)).map(poolSummary).sort(byName),
      removed: b.pools.filter((p) => !poolsAfter.has(p.name)).map(poolSummary).sort(byName),
      changed: head.pools
        .flatMap((after) => {
          const before = poolsBefore.get(after.name);
          const changes = before ? fieldChanges(before, after, POOL_FIELDS) : [];
          return changes.length > 0 ? [{ name: after.name, changes }] : [];
        })
        .sort(byName),
    },
    caps: caps.sort((x, y) => (x.hostname < y.hostname ? -1 : x.hostname > y.hostname ? 1 : 0)),
    circuits: { ...addedRemoved(b.circuits.map((c) => c.id), head.circuits.map((c) => c.id)), moved },
    feeds: { ...addedRemoved(b.feeds.map((f) => f.name), head.feeds.map((f) => f.name)), moved: feedsMoved },
    totals,
    warnings: addedRemoved(b.warnings, head.warnings),
  };
}

type MachinesOf = Pick<FarmPlan, "nodes" | "retired">;

/** State of every Kubernetes machine of a plan, by hostname (retired ones included). */
function statesOf(plan: MachinesOf): Map<string, StateChange["after"]> {
  const out = new Map<string, StateChange["after"]>();
  for (const n of plan.nodes) out.set(n.hostname, n.state);
  for (const r of plan.retired) if (r.k3sRole !== "asic") out.set(r.hostname, "retired");
  return out;
}

/** Machines whose state differs; a new machine counts when it is not `active`, a vanished one always. */
export function stateChanges(base: MachinesOf, head: MachinesOf): StateChange[] {
  const before = statesOf(base);
  const after = statesOf(head);
  const out: StateChange[] = [];
  for (const hostname of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(hostname) ?? null;
    const a = after.get(hostname) ?? null;
    if (b === a || (b === null && a === "active")) continue;
    out.push({ hostname, before: b, after: a });
  }
  return out;
}

/** Address of a machine as `diff` shows it: the IP, with the SSH user when `withUser`. */
function address(m: { ip: string; sshUser: string }, withUser: boolean): string {
  return withUser ? `${m.sshUser}@${m.ip}` : m.ip;
}

/** Machines present on both sides with another IP or SSH user. */
export function readdressed(base: MachinesOf, head: MachinesOf): Readdress[] {
  const all = (p: MachinesOf) => new Map<string, { ip: string; sshUser: string }>([...p.nodes, ...p.retired].map((m) => [m.hostname, m]));
  const before = all(base);
  const out: Readdress[] = [];
  for (const [hostname, a] of [...all(head)].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    const b = before.get(hostname);
    if (b === undefined || (b.ip === a.ip && b.sshUser === a.sshUser)) continue;
    const withUser = b.sshUser !== a.sshUser;
    out.push({ hostname, before: address(b, withUser), after: address(a, withUser) });
  }
  return out;
}

/** The version change of `head` against `before`, or null when the version is the same. */
export function versionChange(before: string, head: FarmPlan): VersionChange | null {
  const after = head.kubernetes.version;
  if (before === after) return null;
  const hosts = head.nodes.filter((n) => n.state === "active").length;
  const agentBatch = head.kubernetes.rollout.agentBatch;
  return { before, after, hosts, agentBatch, line: versionChangeLine(before, after, hosts, agentBatch) };
}

/** The partition of every Kubernetes machine of a plan (null: the cluster stack's, or an unpartitioned site's). */
function partitionsOf(plan: MachinesOf): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const m of [...plan.nodes, ...plan.retired]) if (m.k3sRole !== "asic") out.set(m.hostname, m.partition ?? null);
  return out;
}

/** Machines on both sides whose partition differs (an unpartitioned side counts as the cluster stack). */
export function partitionMoves(base: MachinesOf | null, head: MachinesOf): PartitionMove[] {
  if (base === null) return [];
  const before = partitionsOf(base);
  const out: PartitionMove[] = [];
  for (const [hostname, to] of [...partitionsOf(head)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!before.has(hostname)) continue;
    const from = before.get(hostname)!;
    if (from !== to) out.push({ hostname, from, to });
  }
  return out;
}

/**
 * Takes resources that leave one stack and arrive in another under the same type, name and
 * parent out of `diff.added`/`diff.removed` and returns them as moves. A machine's resources keep
 * their names in every stack (FarmPartition registers under FarmCluster's type), so such a pair
 * is the same host changing stack, not a removal and an install.
 */
export function extractMoves(diff: ResourceDiff): MovedResource[] {
  const identity = (r: ResourceRef) => `${r.parent ?? ""}>${r.type}::${r.name}`;
  const removed = new Map<string, ResourceRef[]>();
  for (const r of diff.removed) if (r.stack !== undefined) removed.set(identity(r), [...(removed.get(identity(r)) ?? []), r]);
  const moved: MovedResource[] = [];
  const taken = new Set<ResourceRef>();
  diff.added = diff.added.filter((a) => {
    const from = a.stack === undefined ? undefined : removed.get(identity(a))?.find((r) => r.stack !== a.stack && !taken.has(r));
    if (from === undefined) return true;
    taken.add(from);
    moved.push({ type: a.type, name: a.name, parent: a.parent, fromStack: from.stack!, toStack: a.stack! });
    return false;
  });
  diff.removed = diff.removed.filter((r) => !taken.has(r));
  return moved.sort(byKey);
}

/** Per stack of the site: what its `pulumi up` changes (stacks with nothing to do are left out). */
function touchedStacks(diff: ResourceDiff, moved: readonly MovedResource[], parts: Readonly<Record<string, string | null>>): StackTouch[] {
  const by = new Map<string, StackTouch>();
  const of = (stack: string): StackTouch => {
    let t = by.get(stack);
    if (t === undefined) {
      t = { stack, partition: parts[stack] ?? null, added: 0, changed: 0, removed: 0, movedIn: 0, movedOut: 0 };
      by.set(stack, t);
    }
    return t;
  };
  for (const r of diff.added) if (r.stack !== undefined) of(r.stack).added++;
  for (const r of diff.changed) if (r.stack !== undefined) of(r.stack).changed++;
  for (const r of diff.removed) if (r.stack !== undefined) of(r.stack).removed++;
  for (const m of moved) {
    of(m.fromStack).movedOut++;
    of(m.toStack).movedIn++;
  }
  return [...by.values()].sort((a, b) => (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
}

/**
 * Secrets whose ciphertext differs, by key, sorted. A null base (no stack file at the base ref)
 * has nothing to change; every secret is new and so is the cluster.
 */
export function diffSecrets(base: StackSecrets | null, head: StackSecrets | null): SecretDiff {
  if (base === null || head === null) return { reencrypted: false, changed: [] };
  const keys = [...new Set([...Object.keys(base.ciphertexts), ...Object.keys(head.ciphertexts)])].sort();
  const changed: SecretChange[] = [];
  for (const key of keys) {
    const b = base.ciphertexts[key];
    const a = head.ciphertexts[key];
    if (b === a) continue;
    changed.push({ key, change: b === undefined ? "set" : a === undefined ? "removed" : "changed" });
  }
  return { reencrypted: base.provider !== head.provider && changed.some((c) => c.change === "changed"), changed };
}

/**
 * The full diff: base preview and plan (null when the stack does not exist at the base) against
 * the working tree's. For a partitioned site the previews hold every stack of the site (each
 * resource tagged with its `stack`) and `parts` names each stack's partition (null: the cluster
 * stack); the diff then says which stacks the change touches and which machines change stack.
 */
export function diffSite(
  base: { ref: string; commit: string; plan: FarmPlan | null; preview: PreviewResult | null; secrets?: StackSecrets | null },
  head: { plan: FarmPlan; preview: PreviewResult; secrets?: StackSecrets | null },
  parts?: Readonly<Record<string, string | null>>,
): SiteDiff {
  const secrets = diffSecrets(base.secrets ?? null, head.secrets ?? null);
  const baseResources = base.preview?.resources ?? [];
  const resources = diffResources(baseResources, head.preview.resources);
  const movedResources = parts !== undefined ? extractMoves(resources) : [];
  // A partition stack forgets a machine that leaves it (retainOnDelete): no uninstall runs.
  const rebootstraps = findRebootstraps(baseResources, head.preview.resources, resources).map((r) =>
    r.reason === "removed" && r.stack !== undefined && (parts?.[r.stack] ?? null) !== null ? { ...r, reason: "forgotten" as const } : r,
  );
  const plan = diffPlans(base.plan, head.plan);
  return {
    base: { ref: base.ref, commit: base.commit, stackExists: base.plan !== null },
    stack: head.preview.stack,
    summary: {
      resourcesAdded: resources.added.length,
      resourcesRemoved: resources.removed.length,
      resourcesChanged: resources.changed.length,
      rebootstraps: rebootstraps.length,
      poolsChanged: plan.pools.added.length + plan.pools.removed.length + plan.pools.changed.length,
      statesChanged: plan.states.length,
      capsMoved: plan.caps.length,
      circuitsMoved: plan.circuits.added.length + plan.circuits.removed.length + plan.circuits.moved.length,
      feedsMoved: plan.feeds.added.length + plan.feeds.removed.length + plan.feeds.moved.length,
      secretsChanged: secrets.changed.length,
    },
    resources,
    rebootstraps,
    plan,
    secrets,
    ...(parts !== undefined
      ? { partitions: { touched: touchedStacks(resources, movedResources, parts), moves: partitionMoves(base.plan, head.plan), movedResources } }
      : {}),
  };
}
