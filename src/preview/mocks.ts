/**
 * Pulumi mocks that record every registration: shared by the offline preview and the tests
 * (`tests/mocks.ts` re-exports this module).
 *
 * It records what the mocks API alone does not show: the parent URN, the dependency URNs
 * (dependsOn + input dependencies), `protect` and `deleteBeforeReplace`, read from the
 * RegisterResource request the SDK sends to the mock monitor (a private surface of
 * @pulumi/pulumi, pinned in package.json). It fails loudly on any function call (invoke),
 * since the program is not expected to make one, and runs with `preview = false` so every
 * output resolves (an unresolved output hangs a test).
 */
import * as pulumi from "@pulumi/pulumi";

/** Placeholder stdout of the kubeconfig read: k3s writes the loopback URL. */
export const MOCK_KUBECONFIG = [
  "apiVersion: v1",
  "kind: Config",
  "clusters:",
  "- cluster:",
  "    certificate-authority-data: TU9DSy1DQQ==",
  "    server: https://127.0.0.1:6443",
  "  name: default",
  "contexts:",
  "- context:",
  "    cluster: default",
  "    user: default",
  "  name: default",
  "current-context: default",
  "users:",
  "- name: default",
  "  user:",
  "    client-certificate-data: TU9DSy1DRVJU",
  "    client-key-data: TU9DSy1DTElFTlQtS0VZLVNFQ1JFVA==",
  "",
].join("\n");

/** Placeholder stdout of the cluster CA hash read (64 hex digits, as parseCaHash wants). */
export const MOCK_CA_HASH = "c".repeat(64);

/** What the mocked `random.RandomPassword` returns: 48 characters, easy to grep for in outputs. */
export const MOCK_GENERATED_TOKEN = "MOCKGENERATEDK3STOKENMOCKGENERATEDK3STOKENMOCKGEN";

/** The marker object the Pulumi RPC layer wraps secret values in. */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Whether a deserialized input value is a secret wrapper. */
export function isSecretWrapper(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG_VALUE;
}

/** One registered resource as the mock monitor saw it. */
export interface Registration {
  /** Type token, e.g. `command:remote:Command`. */
  type: string;
  name: string;
  urn: string;
  /** Parent URN, `""` at the root. */
  parent: string;
  /** Inputs as deserialized by the monitor; secrets are still wrapped (see {@link isSecretWrapper}). */
  inputs: Record<string, unknown>;
  /** URNs this resource depends on (dependsOn and input dependencies), sorted. */
  dependencies: string[];
  protect: boolean;
  deleteBeforeReplace: boolean;
  /** Input paths whose changes Pulumi ignores (`ignoreChanges`), as given. */
  ignoreChanges: string[];
  retainOnDelete: boolean;
  /** `customTimeouts` as given (`""` when unset). */
  customTimeouts: { create: string; update: string; delete: string };
  custom: boolean;
}

/** Options of {@link setupMocks}. */
export interface MockSetup {
  /** @default "mine2hpc" */
  project?: string;
  /** @default "test" */
  stack?: string;
  /** Organization (`pulumi.getOrganization()`; a self-managed backend's is `organization`). @default "organization" */
  organization?: string;
  /** Stack config, full keys (`mine2hpc:site`). */
  config?: Record<string, string>;
  /** Keys of `config` that are secrets (as `pulumi config set --secret` marks them). */
  secretKeys?: string[];
  /**
   * Results of a `random.RandomShuffle` by resource name, standing for the value an existing
   * stack holds in its state (with `ignoreChanges` on its inputs, that value stays).
   * @default the first `resultCount` inputs, as a first creation gives them
   */
  shuffleResults?: (name: string, inputs: string[]) => string[] | undefined;
  /**
   * Outputs of the stacks the program references (`pulumi.StackReference`), by the referenced
   * stack's name as the program gives it (`org/project/stack`), with the names of the secret ones.
   * A reference to a stack missing here fails loudly, like an unmocked call.
   * @default none
   */
  stackReferences?: Record<string, { outputs: Record<string, unknown>; secretOutputNames?: string[] }>;
}

/** `resource.AssetSig` and `ArchiveSig` (pulumi sdk/go/common/resource/asset, archive): the key and values that mark an asset or archive. */
const ASSET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const ASSET_SIGS = new Set(["c44067f5952c0a294b673a41bacd8c17", "0def7320c3a5731c473e5ecbe6d01bc7"]);

/**
 * The request's properties with each asset or archive as a plain object of its fields (`path`,
 * `text`, `uri`, `hash`), as the checkpoint and a preview show it: deserialized, an asset's path
 * would be a Promise.
 */
function withPlainAssets(struct: { toJavaScript(): unknown }): { toJavaScript(): unknown } {
  const plain = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(plain);
    if (typeof v !== "object" || v === null) return v;
    const o = v as Record<string, unknown>;
    if (ASSET_SIGS.has(String(o[ASSET_SIG_KEY]))) return Object.fromEntries(Object.entries(o).filter(([k]) => k !== ASSET_SIG_KEY));
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
  };
  return { toJavaScript: () => plain(struct.toJavaScript()) };
}

/** The recorder returned by {@link setupMocks}. */
export interface MockRecorder {
  registrations: Registration[];
  /** Waits until the program has no RPC in flight (every registration has been recorded). */
  settle(): Promise<void>;
  /** Registrations of one type, in registration order. */
  ofType(type: string): Registration[];
  /** `type -> count`, sorted by type. */
  counts(): Record<string, number>;
}

type ReadReq = {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProperties(): unknown;
  getDependenciesList(): string[];
};

type Req = {
  getType(): string;
  getName(): string;
  getParent(): string;
  getObject(): unknown;
  getDependenciesList(): string[];
  getProtect?(): boolean;
  getDeletebeforereplace?(): boolean;
  getIgnorechangesList?(): string[];
  getRetainondelete?(): boolean;
  getCustomtimeouts?(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
  getCustom(): boolean;
};

/**
 * Installs the mocks and the stack config, and returns the recorder. Call before importing
 * the program or constructing components.
 */
export async function setupMocks(setup: MockSetup = {}): Promise<MockRecorder> {
  const registrations: Registration[] = [];
  const pending: Array<Omit<Registration, "urn">> = [];
  const project = setup.project ?? "mine2hpc";
  const stack = setup.stack ?? "test";

  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "command:remote:Command") {
          const create = unwrap(args.inputs.create);
          state.stdout =
            typeof create !== "string" ? "" : /k3s\.yaml/.test(create) ? MOCK_KUBECONFIG : / mine2hpc-ca-hash( |$)/.test(create) ? MOCK_CA_HASH : "";
          state.stderr = "";
        } else if (args.type === "random:index/randomPassword:RandomPassword") {
          // Distinct per resource (server and agent tokens must differ), same length.
          const seed = `${MOCK_GENERATED_TOKEN}${args.name.toUpperCase().replace(/[^A-Z0-9]/g, "")}`;
          const length = Number(args.inputs.length ?? 48);
          state.result = args.name.endsWith("-agent-token") ? seed.slice(seed.length - length) : MOCK_GENERATED_TOKEN.slice(0, length);
        } else if (args.type === "pulumi:pulumi:StackReference") {
          // What the engine answers for a stack reference (a read of the referenced stack):
          // its outputs and which of them are secret (sdk/nodejs/stackReference.ts `isSecretOutputName`).
          const name = String(args.inputs.name);
          const ref = setup.stackReferences?.[name];
          if (ref === undefined) throw new Error(`unmocked stack reference '${name}': the program reads a stack the mocks were not given`);
          return { id: name, state: { name, outputs: ref.outputs, secretOutputNames: ref.secretOutputNames ?? [] } };
        } else if (args.type === "random:index/randomShuffle:RandomShuffle") {
          const items = (args.inputs.inputs as string[] | undefined) ?? [];
          state.results = setup.shuffleResults?.(args.name, items) ?? items.slice(0, Number(args.inputs.resultCount ?? items.length));
        }
        return { id: args.custom === false ? undefined : `${args.name}-id`, state };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        throw new Error(`unmocked call '${args.token}': the program made an invoke the tests do not expect`);
      },
    },
    project,
    stack,
    false,
    setup.organization ?? "organization",
  );
  pulumi.runtime.setAllConfig(setup.config ?? {}, setup.secretKeys ?? []);

  // The mock monitor drops the parent, dependencies and options: read them off the request.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: Req, cb: (err: unknown, res: { getUrn(): string } | undefined) => void): Promise<void>;
  };
  // A StackReference is a read (ReadResource), not a registration: recorded the same way, so a
  // preview shows it and tests can count it.
  const monitorRead = monitor as unknown as {
    readResource(req: ReadReq, cb: (err: unknown, res: { getUrn(): string } | undefined) => void): Promise<void>;
  };
  const originalRead = monitorRead.readResource.bind(monitorRead);
  monitorRead.readResource = (req, cb) => {
    const entry = {
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent(),
      inputs: pulumi.runtime.deserializeProperties(req.getProperties() as never) as Record<string, unknown>,
      dependencies: [...req.getDependenciesList()].sort(),
      protect: false,
      deleteBeforeReplace: false,
      ignoreChanges: [],
      retainOnDelete: false,
      customTimeouts: { create: "", update: "", delete: "" },
      custom: true,
    };
    pending.push(entry);
    return originalRead(req, (err, res) => {
      if (!err && res) registrations.push({ ...entry, urn: res.getUrn() });
      cb(err, res);
    });
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const entry = {
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent(),
      inputs: pulumi.runtime.deserializeProperties(withPlainAssets(req.getObject() as never) as never) as Record<string, unknown>,
      dependencies: [...req.getDependenciesList()].sort(),
      protect: req.getProtect?.() ?? false,
      deleteBeforeReplace: req.getDeletebeforereplace?.() ?? false,
      ignoreChanges: [...(req.getIgnorechangesList?.() ?? [])],
      retainOnDelete: req.getRetainondelete?.() ?? false,
      customTimeouts: (() => {
        const t = req.getCustomtimeouts?.();
        return { create: t?.getCreate() ?? "", update: t?.getUpdate() ?? "", delete: t?.getDelete() ?? "" };
      })(),
      custom: req.getCustom(),
    };
    pending.push(entry);
    return original(req, (err, res) => {
      if (!err && res) registrations.push({ ...entry, urn: res.getUrn() });
      cb(err, res);
    });
  };

  const settle = async (): Promise<void> => {
    const wait = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
    for (let stable = 0, last = -1; stable < 3; ) {
      if (wait) await wait();
      await new Promise((r) => setImmediate(r));
      if (registrations.length === last && registrations.length === pending.length) stable++;
      else stable = 0;
      last = registrations.length;
    }
  };

  return {
    registrations,
    settle,
    ofType: (type) => registrations.filter((r) => r.type === type),
    counts: () => {
      const out: Record<string, number> = {};
      for (const r of [...registrations].sort((a, b) => a.type.localeCompare(b.type))) out[r.type] = (out[r.type] ?? 0) + 1;
      return out;
    },
  };
}

/** The plain value inside a secret wrapper (or the value itself). */
export function unwrap(v: unknown): unknown {
  return isSecretWrapper(v) ? v.value : v;
}

/** Resolves an Output in a test (outputs resolve because mocks run with preview = false). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** Whether an Output is secret. */
export function secretOf(o: pulumi.Output<unknown>): Promise<boolean> {
  return pulumi.isSecret(o);
}
