/**
 * State-size benchmark: the bytes of Pulumi state the mine2hpc program would hold, per resource
 * type, and the bytes a non-journaling backend writes during a first `pulumi up`.
 *
 * The program runs under the recording mocks (src/preview/mocks.ts); every registration is then
 * turned into the resource record Pulumi's checkpoint holds and measured as the DIY (self-managed)
 * backend serializes it. The record follows the real checkpoint format:
 *
 * - `apitype.VersionedCheckpoint{version: 3, checkpoint: CheckpointV3{stack, latest: DeploymentV3}}`,
 *   DeploymentV3 = `{manifest, secrets_providers, resources: ResourceV3[]}` (pulumi/pulumi
 *   sdk/go/common/apitype/core.go, `DeploymentV3`, `ResourceV3`). ResourceV3 keeps per resource:
 *   urn, custom, id, type, inputs, outputs, parent, protect, dependencies, provider
 *   (`<provider URN>::<provider id>`), propertyDependencies, customTimeouts, retainOnDelete,
 *   ignoreChanges, additionalSecretOutputs, created, modified, sourcePosition and stackTrace.
 * - URNs (the record's, its parent's, its dependencies' and its provider's) as the engine makes
 *   them, with the parent's whole type chain, not as the mocks do ({@link engineUrns}).
 * - Compact JSON without HTML escaping (pkg/backend/diy/state.go `compactJSONMarshaler`).
 * - Secrets as `{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
 *   "ciphertext": …}` (pkg/resource/stack/deployment.go `SerializePropertyValue`): the plaintext
 *   is the secret's value marshalled by Go's `json.Marshal` (which escapes `<`, `>` and `&` as
 *   `\u003c`…), encrypted with AES-256-GCM by the passphrase secrets manager and written as
 *   `v1:<base64 12-byte nonce>:<base64 ciphertext + 16-byte tag>`
 *   (sdk/go/common/resource/config/crypt.go `symmetricCrypter.EncryptValue`).
 * - Source position and stack trace as the engine stores them: each frame the Node.js SDK sends
 *   (`Resource.stackTrace`, file URLs) becomes `project:///<path relative to the project>#line,col`,
 *   frames that are not files become `{}` (pkg/resource/deploy/source_eval.go `parseSourcePosition`).
 *
 * Outputs are what the providers return, modelled from their sources:
 * - `command:remote:Command`: all inputs (its outputs embed `CommandInputs`) with `connection`
 *   secret as a whole (`provider:"secret"`) and the `port` default (22) filled in, plus `stdout`
 *   and `stderr` — always captured in full, whatever `logging` says (pulumi-command v1.2.1
 *   provider/pkg/provider/remote/command.go `CommandOutputs`, commandOutputs.go `run`; the
 *   `logging` input only selects what is streamed to the engine's log). The text is what the
 *   bootstrap prints on a first install ({@link bootstrapLog}: the script's own lines and those
 *   of k3s install.sh run with `INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_SKIP_START=true`).
 * - Kubernetes objects: the live object returned by the API server plus `__inputs`,
 *   `__initialApiVersion` and `__fieldManager` (pulumi-kubernetes provider/pkg/provider/provider.go
 *   `checkpointObject`). For a `NodePatch` the live object is the whole Node, as k3s, the kubelet,
 *   node-feature-discovery and GPU feature discovery leave it ({@link liveNode}).
 *
 * Writes of a first `up` (no journaling: the DIY backend, or Pulumi Cloud with journaling off):
 * the snapshot manager persists the whole checkpoint when a step begins (the resource as a
 * pending operation) and again when it ends (pkg/backend/snapshot.go `doCreate`,
 * `createSnapshotMutation.End`, `saveSnapshot`), plus once per component's
 * `registerOutputs` (`RegisterResourceOutputs`); the DIY backend also copies the previous file to
 * `<stack>.json.bak` before each write (pkg/backend/diy/state.go `saveCheckpoint`,
 * `backupTarget`), which is not counted here. `PULUMI_SKIP_CHECKPOINTS=true` skips the
 * intermediate writes (sdk/go/common/env/env.go `SkipCheckpoints`), at the price of losing
 * track of what a failed `up` created.
 *
 * Steps are taken in registration order; the real order depends on the engine's parallelism,
 * which changes the sum by little (every resource is written about 2 × (resources after it) times).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, relative, join } from "node:path";
import { planFarm } from "../src/plan/index.js";
import type { FarmPlan, PlannedNode } from "../src/plan/types.js";
import type { MockRecorder, MockSetup, Registration } from "../src/preview/mocks.js";
import { programSite } from "./program.js";

/**
 * How the measured stack authenticates over SSH: "agent" (no `mine2hpc:sshPrivateKey`: the SSH
 * agent, the key in no state) or "key" (the key in every command's `connection`, twice).
 */
export type SshMode = "agent" | "key";

/** GPU-node counts the state bench runs. */
export const STATE_SIZES = [100, 1_000, 5_000];
/** Target of issue 11: state per Kubernetes machine at 5,000 GPU nodes, in bytes. */
export const STATE_TARGET_BYTES_PER_MACHINE = 4096;
/** Wall-clock limit of one child, in ms. */
const CHILD_TIMEOUT_MS = 900_000;

/** The repository root: source positions are made relative to it, as the engine does with the project root. */
const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** `resource.SecretSig`: the key and value that mark a secret in state. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";
/** A timestamp as Go's `time.Time` marshals it (RFC 3339 with nanoseconds): `created`, `modified`. */
const TIMESTAMP = "2026-11-27T05:10:52.123456789Z";
/** Kubernetes timestamps (metav1.Time, seconds). */
const K8S_TIME = "2026-11-27T05:10:52Z";
/** A provider ID (the engine gives each provider a UUID). */
const PROVIDER_ID = "8b7c2f1e-4d3a-4c5b-9e6f-0a1b2c3d4e5f";

/**
 * A placeholder private key with the length of a real one: `ssh-keygen -t ed25519 -C ops@bastion`
 * writes 399 bytes (OpenSSH format). The key is part of every command's `connection` in state.
 */
export const STATE_SSH_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${["b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW", "QyNTUxOQAAACBenchBenchBenchBenchBenchBenchBenchBenchBenchAAAAJCBenchBen", "chBenchBenchBenchBenchBenchBenchBenchBenchBenchBenchBenchBenchBenchBenc", "hBenchBenchBenchBenchBenchBenchBenchBenchBenchBenchBenchBenchBenchBench", "BenchBenchBenchBenchBenchBenchBenchBenchBenchBenchBenchAAAAC29wc0BiYXN0", "aW9uAQIDBA=="].join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`;

/** One resource type's share of the state. */
export interface StateTypeRow {
  type: string;
  count: number;
  /** Bytes of these resources' records in the checkpoint (compact JSON, secrets encrypted). */
  bytes: number;
}

/** What {@link StateRecorder.measure} and {@link measureState} return. */
export interface StateMeasure {
  /** Resources in the checkpoint: the registrations plus the root stack and the default providers. */
  resources: number;
  /** Per type, largest first. */
  perType: StateTypeRow[];
  /** Bytes of the checkpoint file after the first `up` (what `pulumi stack export` holds, compact). */
  total: number;
  /** Σ over the checkpoint writes of a first `up` of the checkpoint's size at that write. */
  firstUpBytesWritten: number;
  /** Checkpoint writes of a first `up`. */
  checkpointWrites: number;
  /** Kubernetes machines named in `options.machines` (0 when none were given). */
  machines: number;
  /** Bytes of resources named after one machine (bootstrap, install record, NodePatch, drain…), summed. */
  machineBytes: number;
  /** `total / machines` (0 when no machines): the per-machine figure of issue 11's target. */
  perMachineBytes: number;
  /**
   * Where a machine's bytes go: per type of the resources named after machines, the average
   * bytes of each part of one record (`inputs.<key>`, `outputs.<key>`, and `envelope`: URN,
   * parent, provider, dependencies, propertyDependencies, stack trace, timestamps…).
   */
  machineParts: { type: string; count: number; bytesEach: number; parts: Record<string, number> }[];
  /** Every ResourceV3 record with its bytes, when `keepRecords` was set. */
  records?: { type: string; machine: string | undefined; bytes: number; record: Record<string, unknown> }[];
}

/** Options of {@link StateRecorder.measure}. */
export interface StateOptions {
  /** Hostnames of the Kubernetes machines: resources named `…-<hostname>` or `…-<hostname>-…` count as theirs. */
  machines?: readonly string[];
  /** The plan the program was built from: gives each bootstrap's log its node. */
  plan?: FarmPlan;
  /** @default "mine2hpc" */
  project?: string;
  /** @default "bench" */
  stack?: string;
  /** Return every record with its size (for a look at one resource; large at 5,000 nodes). */
  keepRecords?: boolean;
  /**
   * `engine`: the URNs a real stack holds ({@link engineUrns}); `mocks`: the mocks' own URNs and
   * provider references, as recorded (shorter: for comparing the two).
   * @default "engine"
   */
  urns?: "engine" | "mocks";
}

/** Extra fields of a registration the mock recorder does not keep. */
interface Extra {
  provider: string;
  propertyDependencies: Record<string, string[]>;
  additionalSecretOutputs: string[];
  sourcePosition: string | undefined;
  stackTrace: ({ sourcePosition?: string })[];
}

/** The recorder of {@link recordState}. */
export interface StateRecorder {
  recorder: MockRecorder;
  /** Waits until every registration is recorded. */
  settle(): Promise<void>;
  /** The state the recorded registrations would make. */
  measure(options?: StateOptions): StateMeasure;
}

type Pos = { getUri(): string; getLine(): number; getColumn(): number } | undefined;
type Req = {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProvider(): string;
  getPropertydependenciesMap(): { forEach(cb: (v: { getUrnsList(): string[] }, k: string) => void): void };
  getAdditionalsecretoutputsList(): string[];
  getSourceposition?(): Pos;
  getStacktrace?(): { getFramesList(): { getPc(): Pos }[] } | undefined;
};

/**
 * Installs the recording mocks (as {@link setupMocks}) and also captures what the checkpoint keeps
 * beyond them: provider references, property dependencies, additional secret outputs, source
 * positions and stack traces, and the outputs components register. Call once per process,
 * before the program registers anything.
 */
export async function recordState(setup: MockSetup = {}): Promise<StateRecorder> {
  const { setupMocks } = await import("../src/preview/mocks.js");
  const pulumi = await import("@pulumi/pulumi");
  const recorder = await setupMocks(setup);
  const extras = new Map<string, Extra>();
  const componentOutputs = new Map<string, Record<string, unknown>>();
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: Req, cb: (err: unknown, res: { getUrn(): string } | undefined) => void): Promise<void>;
    registerResourceOutputs(req: { getUrn(): string; getOutputs(): unknown }, cb: (err: unknown, res: unknown) => void): void;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const deps: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((v, k) => (deps[k] = [...v.getUrnsList()]));
    const extra: Extra = {
      provider: req.getProvider(),
      propertyDependencies: deps,
      additionalSecretOutputs: [...req.getAdditionalsecretoutputsList()],
      sourcePosition: projectPosition(req.getSourceposition?.()),
      stackTrace: (req.getStacktrace?.()?.getFramesList() ?? []).map((f) => {
        const p = projectPosition(f.getPc());
        return p === undefined ? {} : { sourcePosition: p };
      }),
    };
    return register(req, (err, res) => {
      if (!err && res) extras.set(res.getUrn(), extra);
      cb(err, res);
    });
  };
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, cb) => {
    componentOutputs.set(req.getUrn(), pulumi.runtime.deserializeProperties(req.getOutputs() as never) as Record<string, unknown>);
    registerOutputs(req, cb);
  };
  return {
    recorder,
    settle: () => recorder.settle(),
    measure: (options = {}) => stateOf(recorder.registrations, extras, componentOutputs, options),
  };
}

/**
 * Plans nothing: builds the FarmCluster of `plan` under {@link recordState}, in this process, and
 * measures its state. Call once per process (Pulumi's runtime is a singleton).
 */
export async function measureState(plan: FarmPlan, options: Omit<StateOptions, "plan" | "machines"> & { ssh?: SshMode } = {}): Promise<StateMeasure> {
  return (await recordFarmState(plan, options))(options);
}

/**
 * Builds the FarmCluster of `plan` under {@link recordState}, in this process, and returns a
 * function measuring its state (callable several times, e.g. with different `urns`). Call once
 * per process (Pulumi's runtime is a singleton).
 */
export async function recordFarmState(plan: FarmPlan, setup: Pick<StateOptions, "project" | "stack"> & { ssh?: SshMode } = {}): Promise<(options?: Omit<StateOptions, "plan" | "machines">) => StateMeasure> {
  const project = setup.project ?? "mine2hpc";
  const stack = setup.stack ?? "bench";
  const rec = await recordState({ project, stack });
  const { FarmCluster, SSH_AGENT } = await import("../src/components/index.js");
  const sshPrivateKey = (setup.ssh ?? "agent") === "agent" ? SSH_AGENT : STATE_SSH_KEY;
  // As src/program.ts does without mine2hpc:k3sToken/k3sAgentToken: generated once, kept in
  // state, and a dependency of every command whose STDIN carries one.
  const random = await import("@pulumi/random");
  const k3sToken = new random.RandomPassword(`${plan.site.name}-k3s-token`, { length: 48, special: false }).result;
  const k3sAgentToken = new random.RandomPassword(`${plan.site.name}-k3s-agent-token`, { length: 48, special: false }).result;
  new FarmCluster(plan.site.name, { plan, sshPrivateKey, k3sToken, k3sAgentToken });
  await rec.settle();
  const machines = [...plan.nodes.map((n) => n.hostname), ...plan.retired.filter((r) => r.k3sRole !== "asic").map((r) => r.hostname)];
  return (options = {}) => rec.measure({ ...options, project, stack, plan, machines });
}

/** `file:///abs/path` + line and column → `project:///rel/path#line,col`, as the engine stores it. */
function projectPosition(pos: Pos): string | undefined {
  if (pos === undefined) return undefined;
  const uri = pos.getUri();
  if (!uri.startsWith("file://")) return undefined;
  const rel = relative(PROJECT_ROOT, fileURLToPath(uri)).split("\\").join("/");
  const col = pos.getColumn() !== 0 ? `,${pos.getColumn()}` : "";
  return `project:///${rel}#${pos.getLine()}${col}`;
}

// ---- serialization ---------------------------------------------------------------------------

function isSecret(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG_VALUE;
}

/** Bytes of Go's `json.Marshal(v)` (HTML characters escaped as `\u003c`, six bytes each). */
function goJsonBytes(v: unknown): number {
  const text = JSON.stringify(v) ?? "null";
  let html = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 60 || c === 62 || c === 38) html++;
  }
  return Buffer.byteLength(text, "utf8") + 5 * html;
}

/** Length of base64 text for `n` bytes. */
function base64Length(n: number): number {
  return 4 * Math.ceil(n / 3);
}

/** The passphrase manager's ciphertext of a plaintext of `n` bytes (content does not matter, only length). */
function ciphertextOf(n: number): string {
  return `v1:${"N".repeat(base64Length(12))}:${"C".repeat(base64Length(n + 16))}`;
}

/** A property value as the checkpoint holds it: secrets (at any depth) encrypted, undefined dropped. */
export function serializeProperty(v: unknown): unknown {
  if (isSecret(v)) {
    const plain = serializeProperty(unwrapDeep(v.value));
    return { [SECRET_SIG_KEY]: SECRET_SIG_VALUE, ciphertext: ciphertextOf(goJsonBytes(plain)) };
  }
  if (Array.isArray(v)) return v.map(serializeProperty);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = serializeProperty(x);
    return out;
  }
  return v;
}

/** Secrets inside a secret are stored plain inside its ciphertext (no double encryption). */
function unwrapDeep(v: unknown): unknown {
  if (isSecret(v)) return unwrapDeep(v.value);
  if (Array.isArray(v)) return v.map(unwrapDeep);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapDeep(x)]));
  return v;
}

function secret(v: unknown): { [SECRET_SIG_KEY]: string; value: unknown } {
  return { [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value: isSecret(v) ? v.value : v };
}

function plainOf(v: unknown): unknown {
  return isSecret(v) ? v.value : v;
}

// ---- the checkpoint ----------------------------------------------------------------------------

function stateOf(
  registrations: readonly Registration[],
  extras: ReadonlyMap<string, Extra>,
  componentOutputs: ReadonlyMap<string, Record<string, unknown>>,
  options: StateOptions,
): StateMeasure {
  const project = options.project ?? "mine2hpc";
  const stack = options.stack ?? "bench";
  const rootUrn = `urn:pulumi:${stack}::${project}::pulumi:pulumi:Stack::${project}-${stack}`;
  const { urn: urnOf, providerRef } = options.urns === "mocks" ? { urn: (u: string) => u, providerRef: (ref: string) => ref } : engineUrns(registrations, project, stack);
  const nodes = new Map((options.plan?.nodes ?? []).map((n) => [n.hostname, n]));
  const machines = new Set(options.machines ?? []);

  // The engine's own resources: the root stack and a default provider per package used without an explicit one.
  const records: { type: string; machine: string | undefined; record: Record<string, unknown> }[] = [];
  records.push({ type: "pulumi:pulumi:Stack", machine: undefined, record: envelope({ urn: rootUrn, custom: false, type: "pulumi:pulumi:Stack", outputs: {} }) });
  const defaultProviders = new Map<string, string>();
  for (const r of registrations) {
    if (!r.custom || r.type.startsWith("pulumi:providers:") || extras.get(r.urn)?.provider) continue;
    const pkg = r.type.split(":")[0]!;
    if (defaultProviders.has(pkg)) continue;
    const version = PACKAGE_VERSIONS[pkg] ?? "0.0.0";
    const urn = `urn:pulumi:${stack}::${project}::pulumi:providers:${pkg}::default_${version.replace(/\./g, "_")}`;
    defaultProviders.set(pkg, `${urn}::${PROVIDER_ID}`);
    const inputs = { version };
    records.push({ type: `pulumi:providers:${pkg}`, machine: undefined, record: envelope({ urn, custom: true, id: PROVIDER_ID, type: `pulumi:providers:${pkg}`, inputs, outputs: inputs }) });
  }

  for (const r of registrations) {
    const extra = extras.get(r.urn);
    const machine = machineOf(r.name, machines);
    const node = machine === undefined ? undefined : nodes.get(machine);
    const { inputs, outputs } = r.custom ? customState(r, extra, node, options.plan) : { inputs: {}, outputs: componentOutputs.get(r.urn) ?? {} };
    const timeouts = r.customTimeouts;
    const propertyDependencies = extra === undefined ? {} : Object.fromEntries(Object.entries(extra.propertyDependencies).map(([k, urns]) => [k, urns.map(urnOf)]));
    const record = envelope({
      urn: urnOf(r.urn),
      custom: r.custom,
      id: r.custom ? idOf(r) : undefined,
      type: r.type,
      inputs: serializeProperty(inputs) as Record<string, unknown>,
      outputs: serializeProperty(outputs) as Record<string, unknown>,
      parent: r.parent ? urnOf(r.parent) : rootUrn,
      protect: r.protect || undefined,
      dependencies: r.dependencies.length > 0 ? r.dependencies.map(urnOf) : undefined,
      provider: r.custom && !r.type.startsWith("pulumi:providers:") ? (extra?.provider ? providerRef(extra.provider) : defaultProviders.get(r.type.split(":")[0]!)) : undefined,
      propertyDependencies: Object.keys(propertyDependencies).length > 0 ? propertyDependencies : undefined,
      additionalSecretOutputs: extra && extra.additionalSecretOutputs.length > 0 ? extra.additionalSecretOutputs : undefined,
      customTimeouts: timeouts.create || timeouts.update || timeouts.delete ? { create: seconds(timeouts.create), update: seconds(timeouts.update), delete: seconds(timeouts.delete) } : undefined,
      retainOnDelete: r.retainOnDelete || undefined,
      sourcePosition: extra?.sourcePosition,
      stackTrace: extra && extra.stackTrace.length > 0 ? extra.stackTrace : undefined,
      ignoreChanges: r.ignoreChanges.length > 0 ? r.ignoreChanges : undefined,
    });
    records.push({ type: r.type, machine, record });
  }

  // Sizes: each record as compact JSON; the file is the wrapper plus the records joined by commas.
  const sizes = records.map((x) => Buffer.byteLength(JSON.stringify(x.record), "utf8"));
  const wrapper = Buffer.byteLength(JSON.stringify(checkpointWrapper(stack, [])), "utf8");
  const total = wrapper + sizes.reduce((a, b) => a + b, 0) + Math.max(0, sizes.length - 1);
  const byType = new Map<string, StateTypeRow>();
  let machineBytes = 0;
  records.forEach((x, i) => {
    const row = byType.get(x.type) ?? { type: x.type, count: 0, bytes: 0 };
    row.count++;
    row.bytes += sizes[i]!;
    byType.set(x.type, row);
    if (x.machine !== undefined) machineBytes += sizes[i]!;
  });

  // First `up`: per resource a write with it pending (its inputs only) and a write with it done;
  // one more per component's registerOutputs, taken at the end (components finish last).
  let written = 0;
  let writes = 0;
  let current = wrapper;
  records.forEach((x, i) => {
    const pending = Buffer.byteLength(JSON.stringify({ resource: { ...x.record, outputs: undefined }, type: "creating" }), "utf8");
    written += current + pending + 40; // 40: `"pending_operations":[…]` around it
    current += sizes[i]! + (i > 0 ? 1 : 0);
    written += current;
    writes += 2;
  });
  const components = records.filter((x) => x.record.custom === false).length;
  written += components * current;
  writes += components;

  // Per type of machine resource: the average bytes of each part of a record.
  const partSums = new Map<string, { count: number; bytes: number; parts: Map<string, number> }>();
  records.forEach((x, i) => {
    if (x.machine === undefined) return;
    const sum = partSums.get(x.type) ?? { count: 0, bytes: 0, parts: new Map<string, number>() };
    sum.count++;
    sum.bytes += sizes[i]!;
    let fields = 0;
    for (const side of ["inputs", "outputs"] as const) {
      const obj = x.record[side] as Record<string, unknown> | undefined;
      for (const [k, v] of Object.entries(obj ?? {})) {
        const b = Buffer.byteLength(JSON.stringify(k), "utf8") + 1 + Buffer.byteLength(JSON.stringify(v), "utf8");
        sum.parts.set(`${side}.${k}`, (sum.parts.get(`${side}.${k}`) ?? 0) + b);
        fields += b;
      }
    }
    sum.parts.set("envelope", (sum.parts.get("envelope") ?? 0) + sizes[i]! - fields);
    partSums.set(x.type, sum);
  });
  const machineParts = [...partSums].map(([type, s]) => ({
    type,
    count: s.count,
    bytesEach: Math.round(s.bytes / s.count),
    parts: Object.fromEntries([...s.parts].map(([k, b]) => [k, Math.round(b / s.count)] as const).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
  })).sort((a, b) => b.bytesEach * b.count - a.bytesEach * a.count);

  const count = machines.size;
  return {
    resources: records.length,
    perType: [...byType.values()].sort((a, b) => b.bytes - a.bytes || a.type.localeCompare(b.type)),
    total,
    firstUpBytesWritten: written,
    checkpointWrites: writes,
    machines: count,
    machineBytes,
    perMachineBytes: count > 0 ? Math.round(total / count) : 0,
    machineParts,
    ...(options.keepRecords ? { records: records.map((x, i) => ({ ...x, bytes: sizes[i]! })) } : {}),
  };
}

/**
 * The URNs the engine gives the recorded resources, from the mocks' ones. The engine builds a
 * child's URN type from its parent's whole qualified type (every ancestor's type but the root
 * stack's, joined by `$`): `deploy.Deployment.generateURN` passes `parent.QualifiedType()` unless
 * the parent is the root stack, and `urn.New` writes `parentType + "$" + baseType` (pulumi/pulumi
 * pkg/resource/deploy/deployment.go `generateURN`, sdk/go/common/resource/urn/urn.go `New`).
 * The Node.js mocks (@pulumi/pulumi runtime/mocks.js `newUrn`) keep only the parent's LAST type,
 * so a bootstrap command is `mine2hpc:index:HostBootstrap$command:remote:Command` there and
 * `mine2hpc:index:FarmCluster$mine2hpc:index:HostBootstrap$command:remote:Command` in a real stack.
 *
 * A reference to an explicit provider is `<provider URN>::<provider ID>`, and the engine gives a
 * provider created by `up` a UUID as its ID (pkg/resource/deploy/providers/registry.go `Create`),
 * the one its own record holds ({@link idOf}), not the mocks' `<name>-id`.
 *
 * URNs that are not a recorded resource's (the root stack's, the default providers') are kept.
 */
function engineUrns(registrations: readonly Registration[], project: string, stack: string): { urn: (mockUrn: string) => string; providerRef: (ref: string) => string } {
  const byUrn = new Map(registrations.map((r) => [r.urn, r]));
  const memo = new Map<string, string>();
  const urn = (mockUrn: string): string => {
    const known = memo.get(mockUrn);
    if (known !== undefined) return known;
    // The chain up to the root, walked once per resource (bounded: a parent is registered before its children, so no cycle,
    // and the chain is no longer than the registrations).
    const chain: Registration[] = [];
    for (let at = byUrn.get(mockUrn); at !== undefined && !memo.has(at.urn); at = at.parent ? byUrn.get(at.parent) : undefined) {
      if (chain.length > registrations.length) throw new Error(`state bench: the parent chain of ${mockUrn} loops`);
      chain.push(at);
    }
    if (chain.length === 0) return memo.get(mockUrn) ?? mockUrn;
    for (const r of chain.reverse()) {
      const parent = r.parent === "" ? undefined : memo.get(r.parent) ?? r.parent;
      const parentType = parent === undefined ? "" : qualifiedType(parent);
      const type = parentType === "" || parentType === "pulumi:pulumi:Stack" ? r.type : `${parentType}$${r.type}`;
      memo.set(r.urn, `urn:pulumi:${stack}::${project}::${type}::${r.name}`);
    }
    return memo.get(mockUrn)!;
  };
  const providerRef = (ref: string): string => {
    const cut = ref.lastIndexOf("::");
    const provider = cut < 0 ? undefined : byUrn.get(ref.slice(0, cut));
    return provider === undefined ? ref : `${urn(provider.urn)}::${idOf(provider)}`;
  };
  return { urn, providerRef };
}

/** `urn:pulumi:stack::project::a$b$type::name` → `a$b$type` (the URN's third `::` part; a name may itself hold `::`). */
function qualifiedType(urn: string): string {
  return urn.split("::")[2] ?? "";
}

/** Versions of the providers the program uses (package.json), for default provider URNs. */
const PACKAGE_VERSIONS: Record<string, string> = { command: "1.2.1", kubernetes: "4.34.2", random: "4.21.2" };

/** A ResourceV3 with its fields in declaration order, empty ones left out (as `omitempty`). */
function envelope(r: Record<string, unknown>): Record<string, unknown> {
  const order = [
    "urn", "custom", "id", "type", "inputs", "outputs", "parent", "protect", "dependencies", "provider", "propertyDependencies",
    "additionalSecretOutputs", "customTimeouts", "retainOnDelete", "created", "modified", "sourcePosition", "stackTrace", "ignoreChanges",
  ];
  const out: Record<string, unknown> = {};
  const full = { ...r, created: TIMESTAMP, modified: TIMESTAMP };
  for (const k of order) {
    const v = (full as Record<string, unknown>)[k];
    if (v === undefined || (k === "inputs" && isEmpty(v)) || (k === "outputs" && isEmpty(v))) continue;
    out[k] = v;
  }
  return out;
}

function isEmpty(v: unknown): boolean {
  return typeof v === "object" && v !== null && Object.keys(v).length === 0;
}

/** The checkpoint around the resources: manifest (time, magic, version, plugins) and the passphrase secrets provider. */
function checkpointWrapper(stack: string, resources: unknown[]): unknown {
  const plugin = (name: string, kind: string, version: string) => ({ name, path: `/home/ops/.pulumi/plugins/${kind}-${name}-v${version}/pulumi-${kind}-${name}`, type: kind, version });
  return {
    version: 3,
    checkpoint: {
      stack,
      latest: {
        manifest: {
          time: TIMESTAMP,
          magic: "f".repeat(64),
          version: "v3.270.0",
          plugins: [plugin("nodejs", "language", "3.270.0"), ...Object.entries(PACKAGE_VERSIONS).map(([n, v]) => plugin(n, "resource", v))],
        },
        secrets_providers: { type: "passphrase", state: { salt: ciphertextOf(8) } },
        resources,
      },
    },
  };
}

/** `"1560s"` → 1560 (resource.CustomTimeouts holds seconds as numbers). */
function seconds(t: string): number | undefined {
  if (t === "") return undefined;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(t);
  return m ? Number(m[1]) : undefined;
}

/** The machine a resource belongs to: the hostname that is a whole `-`-separated part of its name. */
function machineOf(name: string, machines: ReadonlySet<string>): string | undefined {
  if (machines.size === 0) return undefined;
  const cuts = [-1];
  for (let i = 0; i < name.length; i++) if (name[i] === "-") cuts.push(i);
  cuts.push(name.length);
  for (let a = 1; a < cuts.length; a++) {
    for (let b = cuts.length - 1; b > a - 1; b--) {
      const part = name.slice(cuts[a - 1]! + 1, cuts[b]);
      if (part.length > 0 && machines.has(part) && cuts[a - 1]! >= 0) return part;
    }
  }
  return undefined;
}

/** Provider IDs: remote.Command `NewUniqueHex(name, 8)`, Kubernetes `namespace/name`, random `-` / `none`. */
function idOf(r: Registration): string {
  if (r.type === "command:remote:Command") return `${r.name}${"0".repeat(8)}`;
  if (r.type.startsWith("kubernetes:")) {
    const meta = plainOf(r.inputs.metadata) as { name?: unknown; namespace?: unknown } | undefined;
    const name = typeof meta?.name === "string" ? meta.name : typeof r.inputs.name === "string" ? r.inputs.name : r.name;
    const ns = typeof meta?.namespace === "string" ? meta.namespace : typeof r.inputs.namespace === "string" ? r.inputs.namespace : "";
    return ns ? `${ns}/${name}` : name;
  }
  if (r.type.startsWith("pulumi:providers:")) return PROVIDER_ID;
  if (r.type === "random:index/randomShuffle:RandomShuffle") return "-";
  return "none";
}

// ---- outputs per provider ----------------------------------------------------------------------

function customState(r: Registration, extra: Extra | undefined, node: PlannedNode | undefined, plan: FarmPlan | undefined): { inputs: Record<string, unknown>; outputs: Record<string, unknown> } {
  const inputs = { ...r.inputs };
  if (r.type === "command:remote:Command") {
    // Check fills the connection's defaults (pulumi-command connection.go: port 22).
    const conn = inputs.connection as Record<string, unknown> | undefined;
    if (conn !== undefined && !isSecret(conn)) inputs.connection = { ...conn, port: conn.port ?? 22 };
    const log = commandLog(r, node, plan);
    const secretOut = new Set(extra?.additionalSecretOutputs ?? []);
    const outputs: Record<string, unknown> = {
      ...inputs,
      connection: inputs.connection === undefined ? undefined : secret(inputs.connection),
      stdout: secretOut.has("stdout") ? secret(log.stdout) : log.stdout,
      stderr: secretOut.has("stderr") ? secret(log.stderr) : log.stderr,
    };
    return { inputs, outputs };
  }
  if (r.type === "kubernetes:core/v1:NodePatch") {
    const meta = plainOf(inputs.metadata) as { name: string };
    const live = liveNode(meta.name, node, plan);
    return { inputs, outputs: { ...live, __inputs: inputs, __initialApiVersion: "v1", __fieldManager: "pulumi-kubernetes-0a1b2c3d" } };
  }
  if (r.type.startsWith("kubernetes:helm.sh/")) {
    // helm.v3.Release: inputs plus the release status and the names of what it created.
    const status = { appVersion: "v0.0.0", chart: String(plainOf(inputs.chart) ?? ""), name: r.name, namespace: String(plainOf(inputs.namespace) ?? "default"), revision: 1, status: "deployed", version: String(plainOf(inputs.version) ?? "") };
    return { inputs, outputs: { ...inputs, status, resourceNames: { "ServiceAccount/v1": [`${r.name}`], "Deployment.apps/apps/v1": [`${r.name}`] } } };
  }
  if (r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:yaml")) {
    return { inputs, outputs: { ...liveObject(inputs), __inputs: inputs, __initialApiVersion: String(plainOf(inputs.apiVersion) ?? "v1"), __fieldManager: "pulumi-kubernetes-0a1b2c3d" } };
  }
  if (r.type === "random:index/randomShuffle:RandomShuffle") {
    const items = (plainOf(inputs.inputs) as string[] | undefined) ?? [];
    return { inputs, outputs: { ...inputs, results: items.slice(0, Number(plainOf(inputs.resultCount) ?? items.length)) } };
  }
  if (r.type === "random:index/randomPassword:RandomPassword") {
    const length = Number(plainOf(inputs.length) ?? 48);
    return { inputs, outputs: { ...inputs, bcryptHash: secret("$2a$10$".padEnd(60, "h")), id: "none", result: secret("p".repeat(length)) } };
  }
  return { inputs, outputs: { ...inputs } };
}

/** A Kubernetes object as the API server returns it: the applied manifest plus server-set metadata and a managedFields entry. */
function liveObject(inputs: Record<string, unknown>): Record<string, unknown> {
  const meta = (plainOf(inputs.metadata) as Record<string, unknown> | undefined) ?? {};
  return {
    ...inputs,
    metadata: {
      ...meta,
      creationTimestamp: K8S_TIME,
      generation: 1,
      managedFields: [{ apiVersion: String(plainOf(inputs.apiVersion) ?? "v1"), fieldsType: "FieldsV1", fieldsV1: fieldsOf(inputs), manager: "pulumi-kubernetes-0a1b2c3d", operation: "Apply", time: K8S_TIME }],
      resourceVersion: "1234567",
      uid: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    },
  };
}

/** FieldsV1 of an applied object: every field set, as `f:<name>` (lists as a whole, which undercounts keyed lists). */
function fieldsOf(v: unknown): unknown {
  const plain = unwrapDeep(v);
  if (typeof plain !== "object" || plain === null || Array.isArray(plain)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(plain)) if (k !== "apiVersion" && k !== "kind") out[`f:${k}`] = fieldsOf(x);
  return out;
}

// ---- what hosts print --------------------------------------------------------------------------

/** stdout and stderr of a command, by what it runs (the label in its command string). */
function commandLog(r: Registration, node: PlannedNode | undefined, plan: FarmPlan | undefined): { stdout: string; stderr: string } {
  const create = String(plainOf(r.inputs.create) ?? "");
  if (create === "") return { stdout: "", stderr: "" };
  if (/k3s\.yaml/.test(create)) return { stdout: K3S_KUBECONFIG_MODEL, stderr: "" };
  if (/ mine2hpc-ca-hash( |$)/.test(create)) return { stdout: "c".repeat(64), stderr: "" };
  if (/ mine2hpc-bootstrap( |$)/.test(create) && node !== undefined && plan !== undefined) return bootstrapLog(plan, node);
  // An agent's published bootstrap (render/agent-files.ts): its log stays on the host (AGENT_BOOTSTRAP_LOG), the command prints only warnings (none here).
  if (create.startsWith("M2H_HOST_CONFIG=") && node !== undefined) return { stdout: "", stderr: "" };
  if (/ mine2hpc-publish( |$)/.test(create)) return { stdout: `mine2hpc[${plan?.nodes.find((n) => n.clusterInit)?.hostname ?? "cp"}]: ${plan?.nodes.length ?? 0} files published in /var/lib/rancher/k3s/server/static/mine2hpc for stack bench, 0 old ones removed`, stderr: "" };
  const host = node?.hostname ?? r.name;
  // Drains, removals and uninstalls: a few log lines of the script and kubectl.
  return { stdout: [`mine2hpc[${host}]: draining ${host}`, `node/${host} cordoned`, `node/${host} drained`, `mine2hpc[${host}]: done`].join("\n"), stderr: "" };
}

/**
 * A k3s admin kubeconfig (/etc/rancher/k3s/k3s.yaml) as k3s writes it: the cluster CA (an ECDSA
 * P-256 certificate, ~570 bytes PEM), the admin client certificate with its CA (two PEM
 * certificates) and its EC key, each base64-encoded once more. 2,960 bytes on a k3s v1.33 server.
 */
const K3S_KUBECONFIG_MODEL = (() => {
  const b64 = (n: number) => "L".repeat(base64Length(n));
  return [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${b64(570)}`,
    "    server: https://127.0.0.1:6443",
    "  name: default",
    "contexts:",
    "- context:",
    "    cluster: default",
    "    user: default",
    "  name: default",
    "current-context: default",
    "kind: Config",
    "preferences: {}",
    "users:",
    "- name: default",
    "  user:",
    `    client-certificate-data: ${b64(1166)}`,
    `    client-key-data: ${b64(227)}`,
  ].join("\n");
})();

/**
 * What a first bootstrap of `node` prints (stdout, stderr), line by line as the script and the
 * programs it runs print them:
 * - the script's `log` lines (src/render/scripts.ts), prefixed `mine2hpc[<host>]: `, the label
 *   step's included;
 * - `update-initramfs -u` on GPU nodes whose driver the GPU operator installs (nouveau blacklisted):
 *   `update-initramfs: Generating /boot/initrd.img-<kernel>` (Ubuntu 24.04 initramfs-tools);
 * - k3s install.sh with `INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_SKIP_START=true`
 *   (k3s-io/k3s install.sh: `info` prints `[INFO]  <message>`): download skipped, SELinux RPM
 *   skipped, three symlinks, killall and uninstall scripts, env file, unit file, enable; systemctl
 *   prints its "Created symlink" line on stderr (install.sh `systemd_enable` sends stdout only to
 *   /dev/null).
 */
export function bootstrapLog(plan: FarmPlan, node: PlannedNode): { stdout: string; stderr: string } {
  const h = node.hostname;
  const log = (s: string) => `mine2hpc[${h}]: ${s}`;
  const service = node.k3sRole === "server" ? "k3s" : "k3s-agent";
  const out: string[] = [];
  if (node.gpu !== undefined && plan.gpuOperator.driverMode === "container") {
    out.push("update-initramfs: Generating /boot/initrd.img-6.8.0-87-generic");
    out.push(log("nouveau unloaded"));
  }
  if (node.gpu !== undefined) out.push(log(`wrote /etc/mine2hpc/gpu-power-cap (${node.gpu.capWatts} W per GPU)`));
  out.push(log("wrote /etc/rancher/k3s/config.yaml"));
  if (plan.mirror?.registry) out.push(log("wrote /etc/rancher/k3s/registries.yaml"));
  out.push(log(`installing k3s ${plan.kubernetes.version} as ${node.k3sRole} (installed: none)`));
  const info = (s: string) => `[INFO]  ${s}`;
  out.push(
    info("Skipping k3s download and verify"),
    info("Skipping installation of SELinux RPM"),
    ...["kubectl", "crictl", "ctr"].map((c) => info(`Creating /usr/local/bin/${c} symlink to k3s`)),
    info("Creating killall script /usr/local/bin/k3s-killall.sh"),
    info(`Creating uninstall script /usr/local/bin/${service}-uninstall.sh`),
    info(`env: Creating environment file /etc/systemd/system/${service}.service.env`),
    info(`systemd: Creating service file /etc/systemd/system/${service}.service`),
    info(`systemd: Enabling ${service} unit`),
  );
  out.push(log(`starting ${service} (configuration, token or binary changed; deadline ${plan.kubernetes.startTimeoutSeconds ?? 300} s)`));
  out.push(log(`${service} is active`));
  if (node.k3sRole === "server") out.push(log(`waiting for node ${h} to ${plan.network.cni === "cilium" ? "register (Ready follows once Cilium is installed)" : "be Ready"}`));
  // The label step (render/scripts.ts labelBlock): kubectl's own output is captured, not printed.
  if (Object.keys(node.labels).length > 0) out.push(log(`${Object.keys(node.labels).length} planned labels set`));
  out.push(log("done"));
  const stderr = `Created symlink /etc/systemd/system/multi-user.target.wants/${service}.service → /etc/systemd/system/${service}.service.`;
  return { stdout: out.join("\n"), stderr };
}

// ---- a live Node ---------------------------------------------------------------------------------

/**
 * node-feature-discovery's default labels on a current x86 server (feature.node.kubernetes.io/…,
 * NFD docs "Feature labels": cpu-cpuid, cpu-hardware_multithreading, cpu-model, kernel-version,
 * pci-<class>_<vendor>.present, system-os_release, storage, memory-numa). The GPU operator
 * deploys NFD by default (`nfd.enabled: true`).
 */
const NFD_LABELS: Record<string, string> = Object.fromEntries(
  [
    ...["ADX", "AESNI", "AVX", "AVX2", "AVX512BW", "AVX512CD", "AVX512DQ", "AVX512F", "AVX512VL", "AVX512VNNI", "CETSS", "CLZERO", "CMPXCHG8", "FMA3", "FSRM", "FXSR", "FXSROPT", "GFNI", "IBPB", "IBRS", "LAHF", "MOVBE", "MOVDIR64B", "MOVDIRI", "OSXSAVE", "SHA", "SPEC_CTRL_SSBD", "STIBP", "SYSCALL", "SYSEE", "VAES", "VMX", "VPCLMULQDQ", "WAITPKG", "X87", "XGETBV1", "XSAVE", "XSAVEC", "XSAVEOPT", "XSAVES"].map((f) => [`feature.node.kubernetes.io/cpu-cpuid.${f}`, "true"]),
    ["feature.node.kubernetes.io/cpu-cstate.enabled", "true"],
    ["feature.node.kubernetes.io/cpu-hardware_multithreading", "true"],
    ["feature.node.kubernetes.io/cpu-model.family", "6"],
    ["feature.node.kubernetes.io/cpu-model.id", "143"],
    ["feature.node.kubernetes.io/cpu-model.vendor_id", "Intel"],
    ["feature.node.kubernetes.io/cpu-pstate.status", "active"],
    ["feature.node.kubernetes.io/cpu-pstate.turbo", "true"],
    ["feature.node.kubernetes.io/kernel-config.NO_HZ", "true"],
    ["feature.node.kubernetes.io/kernel-config.NO_HZ_IDLE", "true"],
    ["feature.node.kubernetes.io/kernel-version.full", "6.8.0-87-generic"],
    ["feature.node.kubernetes.io/kernel-version.major", "6"],
    ["feature.node.kubernetes.io/kernel-version.minor", "8"],
    ["feature.node.kubernetes.io/kernel-version.revision", "0"],
    ["feature.node.kubernetes.io/memory-numa", "true"],
    ["feature.node.kubernetes.io/pci-10de.present", "true"],
    ["feature.node.kubernetes.io/pci-0300_1a03.present", "true"],
    ["feature.node.kubernetes.io/storage-nonrotationaldisk", "true"],
    ["feature.node.kubernetes.io/system-os_release.ID", "ubuntu"],
    ["feature.node.kubernetes.io/system-os_release.VERSION_ID", "24.04"],
    ["feature.node.kubernetes.io/system-os_release.VERSION_ID.major", "24"],
    ["feature.node.kubernetes.io/system-os_release.VERSION_ID.minor", "04"],
  ],
);

/**
 * GPU feature discovery and GPU operator labels on a GPU node (NVIDIA k8s-device-plugin README
 * "Generated Labels", gpu-operator `nvidia.com/gpu.deploy.*` operand labels).
 */
function gpuLabels(node: PlannedNode): Record<string, string> {
  const gpu = node.gpu!;
  const deploy = ["container-toolkit", "dcgm", "dcgm-exporter", "device-plugin", "driver", "gpu-feature-discovery", "node-status-exporter", "operator-validator", "mig-manager"];
  return {
    "nvidia.com/cuda.driver-version.full": "580.95.05",
    "nvidia.com/cuda.driver-version.major": "580",
    "nvidia.com/cuda.driver-version.minor": "95",
    "nvidia.com/cuda.driver-version.revision": "05",
    "nvidia.com/cuda.driver.major": "580",
    "nvidia.com/cuda.driver.minor": "95",
    "nvidia.com/cuda.driver.rev": "05",
    "nvidia.com/cuda.runtime-version.full": "13.0",
    "nvidia.com/cuda.runtime-version.major": "13",
    "nvidia.com/cuda.runtime-version.minor": "0",
    "nvidia.com/cuda.runtime.major": "13",
    "nvidia.com/cuda.runtime.minor": "0",
    "nvidia.com/gfd.timestamp": "1795756252",
    "nvidia.com/gpu-driver-upgrade-state": "upgrade-done",
    "nvidia.com/gpu.compute.major": "8",
    "nvidia.com/gpu.compute.minor": "9",
    "nvidia.com/gpu.count": String(gpu.count),
    "nvidia.com/gpu.family": "ada-lovelace",
    "nvidia.com/gpu.machine": "ESC8000A-E12",
    "nvidia.com/gpu.memory": "24564",
    "nvidia.com/gpu.mode": "graphics",
    "nvidia.com/gpu.present": "true",
    "nvidia.com/gpu.product": `NVIDIA-GeForce-RTX-4090`,
    "nvidia.com/gpu.replicas": "1",
    "nvidia.com/gpu.sharing-strategy": "none",
    "nvidia.com/mig.capable": "false",
    "nvidia.com/mps.capable": "false",
    "nvidia.com/vgpu.present": "false",
    ...Object.fromEntries(deploy.map((d) => [`nvidia.com/gpu.deploy.${d}`, "true"])),
  };
}

/** Container images a GPU node holds (status.images): k3s's pause and the node's DaemonSets' images. */
const NODE_IMAGES = [
  "docker.io/rancher/mirrored-pause:3.6",
  "nvcr.io/nvidia/driver:580.95.05-ubuntu24.04",
  "nvcr.io/nvidia/k8s/container-toolkit:v1.18.0",
  "nvcr.io/nvidia/k8s-device-plugin:v0.18.0",
  "nvcr.io/nvidia/k8s/dcgm-exporter:4.4.1-4.6.0-ubuntu22.04",
  "nvcr.io/nvidia/cloud-native/gpu-operator-validator:v26.7.0",
  "nvcr.io/nvidia/cloud-native/k8s-driver-manager:v0.9.0",
  "registry.k8s.io/nfd/node-feature-discovery:v0.18.2",
  "docker.io/library/node:24.11.1-bookworm-slim",
  "quay.io/metallb/speaker:v0.16.1",
  "docker.io/rancher/klipper-lb:v0.4.13",
];

/**
 * The Node object the API server returns to the NodePatch's server-side apply (and a refresh
 * reads): metadata with the labels of the kubelet, k3s, the plan, NFD and GPU feature discovery,
 * k3s's and flannel's annotations and one managedFields entry per field manager; spec with the
 * pod CIDR and provider ID; status with addresses, capacity, conditions, images and nodeInfo.
 */
export function liveNode(hostname: string, node: PlannedNode | undefined, plan: FarmPlan | undefined): Record<string, unknown> {
  const server = node?.k3sRole === "server";
  const ip = node?.ip ?? "10.0.0.1";
  const version = plan?.kubernetes.version ?? "v1.33.5+k3s1";
  const kubelet: Record<string, string> = {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/instance-type": "k3s",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": hostname,
    "kubernetes.io/os": "linux",
    "node.kubernetes.io/instance-type": "k3s",
    ...(server ? { "node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/etcd": "true", "node-role.kubernetes.io/master": "true" } : {}),
  };
  const planned = node?.labels ?? {};
  const discovered = { ...NFD_LABELS, ...(node?.gpu !== undefined ? gpuLabels(node) : {}) };
  const labels = { ...kubelet, ...planned, ...discovered };
  const args = ["agent", "--config", "/etc/rancher/k3s/config.yaml", "--node-ip", ip, ...Object.entries(planned).flatMap(([k, v]) => ["--node-label", `${k}=${v}`]), "--token-file", "/etc/rancher/k3s/token", "--server", "https://10.0.0.1:6443"];
  const annotations = {
    "alpha.kubernetes.io/provided-node-ip": ip,
    "flannel.alpha.coreos.com/backend-data": '{"VNI":1,"VtepMAC":"6a:3f:1c:9e:22:b4"}',
    "flannel.alpha.coreos.com/backend-type": "vxlan",
    "flannel.alpha.coreos.com/kube-subnet-manager": "true",
    "flannel.alpha.coreos.com/public-ip": ip,
    "k3s.io/hostname": hostname,
    "k3s.io/internal-ip": ip,
    "k3s.io/node-args": JSON.stringify(args),
    "k3s.io/node-config-hash": "Q".repeat(52),
    "k3s.io/node-env": '{"K3S_DATA_DIR":"/var/lib/rancher/k3s/data/' + "d".repeat(64) + '"}',
    "nfd.node.kubernetes.io/feature-labels": Object.keys(discovered).filter((k) => k.startsWith("feature.node")).map((k) => k.slice("feature.node.kubernetes.io/".length)).join(","),
    "node.alpha.kubernetes.io/ttl": "0",
    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
  };
  const keys = (o: Record<string, string>) => Object.fromEntries(Object.keys(o).map((k) => [`f:${k}`, {}]));
  const entry = (manager: string, operation: string, fieldsV1: unknown, subresource?: string) => ({ apiVersion: "v1", fieldsType: "FieldsV1", fieldsV1, manager, operation, ...(subresource ? { subresource } : {}), time: K8S_TIME });
  const conditions = [
    ["MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"],
    ["DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"],
    ["PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"],
    ["Ready", "True", "KubeletReady", "kubelet is posting ready status"],
    ...(server ? [["EtcdIsVoter", "True", "MemberNotLearner", "Node is a voting member of the etcd cluster"]] : []),
  ].map(([type, status, reason, message]) => ({ lastHeartbeatTime: K8S_TIME, lastTransitionTime: K8S_TIME, message, reason, status, type }));
  const gpus = node?.gpu?.count ?? 0;
  const resources = { cpu: "64", "ephemeral-storage": "1921298528Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0", memory: "527937500Ki", ...(gpus > 0 ? { "nvidia.com/gpu": String(gpus) } : {}), pods: "110" };
  const statusFields = { "f:addresses": {}, "f:allocatable": {}, "f:capacity": {}, "f:conditions": Object.fromEntries(conditions.map((c) => [`k:{"type":"${c.type}"}`, { ".": {}, "f:lastHeartbeatTime": {}, "f:lastTransitionTime": {}, "f:message": {}, "f:reason": {}, "f:status": {}, "f:type": {} }])), "f:daemonEndpoints": {}, "f:images": {}, "f:nodeInfo": {} };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      annotations,
      creationTimestamp: K8S_TIME,
      finalizers: ["wrangler.cattle.io/node"],
      labels,
      managedFields: [
        entry("k3s", "Update", { "f:metadata": { "f:annotations": keys(Object.fromEntries(Object.entries(annotations).filter(([k]) => k.startsWith("k3s.io") || k.startsWith("flannel")))), "f:finalizers": {}, "f:labels": keys({ ...kubelet, ...planned }) } }),
        entry("kube-controller-manager", "Update", { "f:metadata": { "f:annotations": { "f:node.alpha.kubernetes.io/ttl": {} } }, "f:spec": { "f:podCIDR": {}, "f:podCIDRs": {} } }),
        entry("nfd-master", "Update", { "f:metadata": { "f:annotations": { "f:nfd.node.kubernetes.io/feature-labels": {} }, "f:labels": keys(discovered) } }),
        entry("pulumi-kubernetes-0a1b2c3d", "Apply", { "f:metadata": { "f:annotations": {}, "f:labels": keys(planned) } }),
        entry("k3s", "Update", { "f:status": statusFields }, "status"),
      ],
      name: hostname,
      resourceVersion: "1234567",
      uid: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    },
    spec: { podCIDR: "10.42.17.0/24", podCIDRs: ["10.42.17.0/24"], providerID: `k3s://${hostname}`, ...(node?.state === "cordoned" ? { unschedulable: true } : {}) },
    status: {
      addresses: [{ address: ip, type: "InternalIP" }, { address: hostname, type: "Hostname" }],
      allocatable: resources,
      capacity: resources,
      conditions,
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      images: (gpus > 0 ? NODE_IMAGES : NODE_IMAGES.slice(0, 1)).map((ref) => ({ names: [`${ref.split(":")[0]}@sha256:${"e".repeat(64)}`, ref], sizeBytes: 123456789 })),
      nodeInfo: {
        architecture: "amd64",
        bootID: "3c1d5e7f-9a2b-4c6d-8e0f-1a2b3c4d5e6f",
        containerRuntimeVersion: "containerd://2.1.4-k3s1",
        kernelVersion: "6.8.0-87-generic",
        kubeProxyVersion: version,
        kubeletVersion: version,
        machineID: "0123456789abcdef0123456789abcdef",
        operatingSystem: "linux",
        osImage: "Ubuntu 24.04.3 LTS",
        systemUUID: "4c4c4544-0042-3510-8052-b4c04f4a3733",
      },
    },
  };
}

// ---- the bench -----------------------------------------------------------------------------------

/** One size of the state bench. */
export interface StateSizeResult extends StateMeasure {
  gpuNodes: number;
  ssh: SshMode;
}

/** Measures `gpuNodes` GPU nodes (programSite) in this process. */
export async function measureStateOfSize(gpuNodes: number, ssh: SshMode = "agent"): Promise<StateSizeResult> {
  const plan = planFarm(programSite(gpuNodes));
  return { gpuNodes, ssh, ...(await measureState(plan, { ssh })) };
}

/** Runs every size in a fresh child process (Pulumi's runtime is a singleton). */
export function runStateBench(sizes: readonly number[] = STATE_SIZES, ssh: SshMode = "agent"): StateSizeResult[] {
  const self = fileURLToPath(import.meta.url);
  return sizes.map((n) => {
    const child = spawnSync(process.execPath, [...process.execArgv, self, "--state", String(n), "--ssh", ssh], { encoding: "utf8", maxBuffer: 64 << 20, timeout: CHILD_TIMEOUT_MS });
    if (child.error !== undefined || child.status !== 0) {
      throw new Error(`state bench child for ${n} GPU nodes failed (${child.error?.message ?? `exit ${child.status}`}; limit ${CHILD_TIMEOUT_MS / 1000} s):\n${child.stderr}`);
    }
    return JSON.parse(child.stdout) as StateSizeResult;
  });
}

const KB = 1024;
const MB = 1024 * 1024;
const GB = 1024 * MB;

function human(bytes: number): string {
  if (bytes >= GB) return `${(bytes / GB).toFixed(1)} GiB`;
  if (bytes >= MB) return `${(bytes / MB).toFixed(1)} MiB`;
  if (bytes >= KB) return `${(bytes / KB).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** The state section of the bench's stdout. */
export function formatStateBench(rows: readonly StateSizeResult[]): string[] {
  const lines = [
    "state under mocks (checkpoint model: apitype DeploymentV3/ResourceV3, DIY backend compact JSON, passphrase secrets):",
    "gpuNodes  ssh    machines  resources        state  per machine  first up: writes  bytes written (no journal)",
  ];
  for (const r of rows) {
    lines.push(
      `${String(r.gpuNodes).padStart(8)}  ${r.ssh.padEnd(5)}  ${String(r.machines).padStart(8)}  ${String(r.resources).padStart(9)}  ${human(r.total).padStart(11)}  ${`${r.perMachineBytes} B`.padStart(11)}  ${String(r.checkpointWrites).padStart(16)}  ${human(r.firstUpBytesWritten).padStart(26)}`,
    );
  }
  lines.push("  ssh: agent = no mine2hpc:sshPrivateKey (SSH_AUTH_SOCK; the key in no state), key = the key in every command's connection");
  // The breakdown and the target: the largest size as the program runs by default (SSH agent).
  const agentRows = rows.filter((r) => r.ssh === "agent");
  const last = agentRows[agentRows.length - 1] ?? rows[rows.length - 1];
  if (last !== undefined) {
    lines.push(`  per type at ${last.gpuNodes} GPU nodes (count, bytes, bytes each):`);
    for (const t of last.perType) lines.push(`    ${t.type.padEnd(52)} ${String(t.count).padStart(6)}  ${human(t.bytes).padStart(10)}  ${String(Math.round(t.bytes / t.count)).padStart(7)} B`);
    lines.push(`  one machine's resources at ${last.gpuNodes} GPU nodes (average bytes of each part of a record):`);
    for (const m of last.machineParts) {
      const parts = Object.entries(m.parts).map(([k, b]) => `${k} ${b}`).join(", ");
      lines.push(`    ${m.type} ×${m.count}: ${m.bytesEach} B each = ${parts}`);
    }
    const met = last.perMachineBytes <= STATE_TARGET_BYTES_PER_MACHINE;
    lines.push(`  state per machine at ${last.gpuNodes} GPU nodes: ${last.perMachineBytes} B (target ≤ ${STATE_TARGET_BYTES_PER_MACHINE}: ${met ? "met" : "NOT met"})`);
  }
  return lines;
}

// Child entry: `--state N` prints one JSON object on stdout.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf("--state");
  const sshAt = process.argv.indexOf("--ssh");
  const ssh: SshMode = sshAt >= 0 && process.argv[sshAt + 1] === "key" ? "key" : "agent";
  const job = at >= 0 ? measureStateOfSize(Number(process.argv[at + 1]), ssh) : Promise.reject(new Error("usage: state.ts --state N [--ssh agent|key]"));
  job.then(
    (result) => process.stdout.write(JSON.stringify(result), () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}


