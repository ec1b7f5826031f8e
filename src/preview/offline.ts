/**
 * Offline preview: runs the real Pulumi program (the project's entry point: src/index.ts here,
 * index.ts in a site repository) under mocks and lists every
 * resource it would register — type, name, parent, key inputs with secrets masked — and the
 * counts per type. No Pulumi CLI, state backend, cloud account or cluster is needed; `pulumi
 * preview` stays the source of truth where the CLI is present.
 *
 * The program runs in a child process (`run-child.ts`): Pulumi's runtime is a process-wide
 * singleton, and a fresh process per preview is the reliable way to start from a clean state.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SiteError, type Problem } from "../site/problems.js";
import { SecretValue, loadStack } from "../site/stack.js";
import { isSecretWrapper, type Registration } from "./mocks.js";
import { CONFIG_HASH_MARKER, configHashOf } from "../render/hash.js";
import { readPulumiProject } from "./project.js";

/** What to preview. */
export interface PreviewOptions {
  /** Repository (Pulumi project) root: stack files and site paths are relative to it. */
  repoRoot: string;
  /** Stack whose config to use (`stacks/Pulumi.<stack>.yaml`). */
  stack: string;
  /** Site file to use instead of the stack's `mine2hpc:site` (relative to `repoRoot` or absolute). */
  siteFile?: string;
  /** Inventory CSV to use instead of the site's own (relative to `repoRoot` or absolute). */
  inventory?: string;
  /**
   * Values the stack's state already holds for its records (`random.RandomShuffle` results by
   * resource name), e.g. the base side's {@link PreviewResult.records} in a diff: with
   * `ignoreChanges` on their inputs, Pulumi keeps these, so the preview must too.
   * @default none: every record is new and takes its inputs
   */
  recorded?: Record<string, string[]>;
}

/** One resource the program would register. */
export interface PreviewResource {
  /** Type token, e.g. `command:remote:Command`. */
  type: string;
  name: string;
  /** Parent as `type::name`, or null for a root resource. */
  parent: string | null;
  /** Key inputs, secrets as `[secret]`, long text as `<N bytes sha256:…>`. Keys sorted. */
  inputs: Record<string, unknown>;
  /** Resources this one waits for, as `type::name`, sorted (dependsOn and input dependencies). */
  dependsOn: string[];
  /** Whether the resource is protected from deletion. */
  protect: boolean;
  /** The stack registering it, when previews of several stacks of a partitioned site are combined (`diff`). */
  stack?: string;
}

/** Result of an offline preview. */
export interface PreviewResult {
  stack: string;
  /** Site file, relative to the repository root. */
  siteFile: string;
  /** Resources in a deterministic order (by URN: components group their children). */
  resources: PreviewResource[];
  /** Number of resources by type, sorted by type. */
  counts: Record<string, number>;
  /** Stack outputs; secret outputs are `[secret]`. */
  outputs: Record<string, unknown>;
  /**
   * The value of every record (`random.RandomShuffle`: the k3s version each machine installs
   * when k3s is missing) by resource name. Absent in previews of older programs.
   */
  records?: Record<string, string[]>;
}

/** Config the child sets with `pulumi.runtime.setAllConfig`. */
export interface ChildRequest {
  repoRoot: string;
  /** Pulumi project name (Pulumi.yaml `name`): URNs carry it, as under `pulumi preview`. */
  project: string;
  /** The program file `pulumi up` runs (absolute). */
  programFile: string;
  stack: string;
  siteFile: string;
  config: Record<string, string>;
  secretKeys: string[];
  /** See {@link PreviewOptions.recorded}. */
  recorded?: Record<string, string[]>;
}

/** tsx's loader as this package resolves it (tsx's "." export is one file for every condition). */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** Text a placeholder secret starts with; the preview fails rather than print one. */
export const PLACEHOLDER_SECRET_PREFIX = "mine2hpc-offline-placeholder-secret";

/**
 * The placeholder of secret `key`: the prefix and the key's name without its namespace colon,
 * so it passes the program's checks of real values (a k3s token refuses ':' and whitespace,
 * src/render/k3s.ts) and a stack with a configured `mine2hpc:k3sToken` previews.
 */
export function placeholderSecret(key: string): string {
  return `${PLACEHOLDER_SECRET_PREFIX}-${key.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

/** Secrets the program requires; a stack without them still previews, with a placeholder. */
const REQUIRED_SECRETS = ["mine2hpc:sshPrivateKey"];

/**
 * Builds the stack config the program sees: the stack file's `mine2hpc:*` keys, with every
 * secure value and every missing required secret replaced by a placeholder secret (the real
 * ciphertext can only be decrypted by Pulumi, and a preview must not need it).
 */
export function buildChildRequest(opts: PreviewOptions): ChildRequest {
  const repoRoot = resolve(opts.repoRoot);
  const stackFile = join(repoRoot, "stacks", `Pulumi.${opts.stack}.yaml`);
  const raw: Record<string, unknown> = opts.siteFile !== undefined && !existsSync(stackFile) ? {} : loadStack(opts.stack, repoRoot).config;
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(raw).sort(([a], [b]) => a.localeCompare(b))) {
    if (!key.startsWith("mine2hpc:")) continue;
    if (value instanceof SecretValue) {
      config[key] = placeholderSecret(key);
      secretKeys.push(key);
    } else if (value !== null && value !== undefined) {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  for (const key of REQUIRED_SECRETS) {
    if (!(key in config)) {
      config[key] = placeholderSecret(key);
      secretKeys.push(key);
    }
  }
  const rel = (p: string) => (isAbsolute(p) ? relative(repoRoot, p) || "." : p);
  if (opts.siteFile !== undefined) config["mine2hpc:site"] = rel(resolve(process.cwd(), opts.siteFile));
  if (opts.inventory !== undefined) config["mine2hpc:inventory"] = rel(resolve(process.cwd(), opts.inventory));
  const siteFile = config["mine2hpc:site"];
  if (siteFile === undefined || siteFile === "") {
    throw new SiteError([
      {
        message: `stack ${opts.stack} does not name a site (no mine2hpc:site in its config)`,
        fix: `run 'pulumi config set mine2hpc:site <path> --stack ${opts.stack}' or pass --site FILE`,
        source: { file: relative(repoRoot, stackFile), line: 1 },
      },
    ]);
  }
  const project = readPulumiProject(repoRoot);
  if (project.programFile === null) {
    throw new Error(`no Pulumi program found in ${repoRoot}: Pulumi.yaml names no 'main' that exists, and there is no index.ts or index.js.\n  fix: set 'main: index.ts' in Pulumi.yaml (mine2hpc new writes it), with index.ts calling run() from "mine2hpc".`);
  }
  return { repoRoot, project: project.name, programFile: project.programFile, stack: opts.stack, siteFile, config, secretKeys: secretKeys.sort(), ...(opts.recorded ? { recorded: opts.recorded } : {}) };
}

/** What the child prints on stdout: a result, or the site's problems. */
export type ChildResponse = { ok: true; result: PreviewResult } | { ok: false; problems: Problem[] } | { ok: false; error: string };

/**
 * Runs the program under mocks in a fresh child process and returns what it would register.
 * @throws SiteError when the site is invalid (nothing is listed then).
 */
export async function previewOffline(opts: PreviewOptions): Promise<PreviewResult> {
  const request = buildChildRequest(opts);
  const child = fileURLToPath(new URL("./run-child.ts", import.meta.url));
  const stdout = await new Promise<string>((resolvePromise, reject) => {
    execFile(
      process.execPath,
      // tsx as this package resolves it: a project without its own node_modules/tsx still previews.
      ["--import", TSX_LOADER, child],
      { cwd: request.repoRoot, maxBuffer: 512 * 1024 * 1024, env: { ...process.env, MINE2HPC_PREVIEW_REQUEST: JSON.stringify(request) } },
      (err, out, errText) => {
        // The child exits 2 with a JSON answer for site problems; anything else without JSON is a crash.
        if (out.trim().startsWith("{")) resolvePromise(out);
        else reject(new Error(`offline preview child failed${err ? ` (${err.message.split("\n")[0]})` : ""}:\n${errText}`));
      },
    );
  });
  const response = JSON.parse(stdout) as ChildResponse;
  if (response.ok) return response.result;
  if ("problems" in response) throw new SiteError(response.problems);
  throw new Error(`offline preview failed: ${response.error}`);
}

/** Longest string shown as-is in key inputs; longer ones are summarized by size and hash. */
const MAX_SHOWN_CHARS = 160;

/** Input paths shown per type; every other type shows its Kubernetes identity. */
const KEY_INPUTS: Record<string, string[]> = {
  // Not `triggers`: the kubeconfig read's trigger is the run's start time (it re-reads every up).
  "command:remote:Command": ["connection.host", "connection.user", "connection.hostKey", "connection.privateKey", "create", "update", "delete", "stdin", "logging"],
  // The agents' bootstrap files: the archive is named by its content's sha256.
  "command:remote:CopyToRemote": ["connection.host", "connection.user", "remotePath", "source.path"],
  "kubernetes:helm.sh/v3:Release": ["name", "chart", "version", "namespace", "repositoryOpts.repo", "values"],
  "kubernetes:core/v1:NodePatch": ["metadata.name", "metadata.labels", "spec.unschedulable", "spec.taints"],
  // What a version change or a state change does to the rolling upgrade.
  "kubernetes:upgrade.cattle.io/v1:Plan": ["metadata.name", "metadata.namespace", "spec.version", "spec.concurrency", "spec.nodeSelector"],
  "pulumi:providers:kubernetes": ["kubeconfig"],
  "random:index/randomPassword:RandomPassword": ["length", "special"],
};
const K8S_IDENTITY = ["apiVersion", "kind", "metadata.name", "metadata.namespace"];

/** Masks secrets and summarizes long text, recursively. */
export function maskValue(v: unknown): unknown {
  if (isSecretWrapper(v)) return "[secret]";
  if (typeof v === "string") return v.length > MAX_SHOWN_CHARS ? summarize(v) : v;
  if (Array.isArray(v)) return v.map(maskValue);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = maskValue((v as Record<string, unknown>)[k]);
    const text = JSON.stringify(out);
    return text.length > MAX_SHOWN_CHARS * 4 ? summarize(text) : out;
  }
  return v;
}

function summarize(text: string): string {
  const hostConfig = configHashOf(text);
  if (hostConfig !== null) return `<${Buffer.byteLength(text)} bytes ${CONFIG_HASH_MARKER}=${hostConfig}>`;
  return `<${Buffer.byteLength(text)} bytes sha256:${createHash("sha256").update(text).digest("hex").slice(0, 12)}>`;
}

/**
 * Fields of a `remote.Command` connection that are not secret: where and as whom the command
 * runs, and the host key it pins (a public key). `@pulumi/command` marks the whole connection
 * secret (its schema: `connection` is `provider:"secret"`) because it holds the private key;
 * a reviewer must still see a re-addressed machine, so these are shown and everything else
 * under the connection (privateKey, password, privateKeyPassword, proxy) stays `[secret]`.
 */
export const PUBLIC_CONNECTION_FIELDS: ReadonlySet<string> = new Set(["host", "user", "port", "hostKey"]);

function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  const parts = path.split(".");
  for (const [i, part] of parts.entries()) {
    if (isSecretWrapper(cur)) {
      // Only the public fields of a connection are read through its secret wrapper.
      const publicField = i === 1 && parts[0] === "connection" && PUBLIC_CONNECTION_FIELDS.has(part);
      if (!publicField) return cur; // a secret parent hides everything under it
      cur = cur.value;
      const v = typeof cur === "object" && cur !== null ? (cur as Record<string, unknown>)[part] : undefined;
      return v;
    }
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** `urn:pulumi:stack::project::a$b$type::name` → `type::name`. */
export function urnLabel(urn: string): string {
  const parts = urn.split("::");
  const name = parts.slice(3).join("::");
  const type = (parts[2] ?? "").split("$").pop() ?? "";
  return `${type}::${name}`;
}

/** Turns mock registrations into preview resources, sorted by URN. */
export function toPreviewResources(registrations: readonly Registration[]): PreviewResource[] {
  return [...registrations]
    .sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0))
    .map((r) => {
      const paths = KEY_INPUTS[r.type] ?? (r.custom ? K8S_IDENTITY : []);
      const inputs: Record<string, unknown> = {};
      for (const p of [...paths].sort()) {
        const v = getPath(r.inputs, p);
        if (v !== undefined && v !== null) inputs[p] = maskValue(v);
      }
      return {
        type: r.type,
        name: r.name,
        parent: r.parent ? urnLabel(r.parent) : null,
        inputs,
        dependsOn: r.dependencies.filter((d) => d !== r.parent).map(urnLabel).sort(),
        protect: r.protect,
      };
    });
}

/** Counts per type, sorted by type. */
export function countByType(resources: readonly { type: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of resources.map((r) => r.type).sort()) counts[t] = (counts[t] ?? 0) + 1;
  return counts;
}

/** The preview as text: one block per resource, then counts per type. */
export function formatPreview(result: PreviewResult): string {
  const lines = [
    `Offline preview of stack '${result.stack}' (site ${result.siteFile}): what the program would register under mocks.`,
    "Secrets are masked; long text is shown as size and hash. `pulumi preview` is the source of truth.",
    "",
  ];
  for (const r of result.resources) {
    lines.push(`+ ${r.type}  ${r.name}${r.protect ? "  [protect]" : ""}`);
    if (r.parent) lines.push(`    parent: ${r.parent}`);
    if (r.dependsOn.length > 0) lines.push(`    dependsOn: ${r.dependsOn.join(", ")}`);
    for (const [k, v] of Object.entries(r.inputs)) lines.push(`    ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  }
  lines.push("", "Outputs:");
  for (const [k, v] of Object.entries(result.outputs)) lines.push(`  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  lines.push("", "Resources by type:");
  const width = Math.max(...Object.keys(result.counts).map((t) => t.length), 4);
  for (const [t, n] of Object.entries(result.counts)) lines.push(`  ${t.padEnd(width)}  ${n}`);
  lines.push(`  ${"total".padEnd(width)}  ${result.resources.length}`);
  return lines.join("\n") + "\n";
}
