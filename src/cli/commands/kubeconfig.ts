/**
 * `mine2hpc kubeconfig [--stack S] [--output-file F]`: the cluster's admin kubeconfig, from the
 * stack's `kubeconfig` output (src/program.ts `FarmOutputs.kubeconfig`, a Pulumi secret), written
 * to a file created with mode 0600.
 *
 * The value comes from `pulumi stack output kubeconfig --show-secrets --json --stack S` (the
 * Pulumi CLI decrypts it; https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_output/),
 * run as a child process with a deadline. The kubeconfig holds the cluster-admin client key, so
 * it is never printed (stdout only when the file is `-`), never quoted in an error, and never
 * passed on a command line; the file is created 0600 (not chmod-ed after: there is no moment
 * when another user could open it) and moved into place whole.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { parse as parseYaml } from "yaml";
import type { Command, CommandContext } from "../command.js";
import { CliError, EXIT } from "../command.js";
import { defaultStack, displayPath, findRepoRoot } from "../site-args.js";
import { note } from "../output.js";
import { loadStack } from "../../site/stack.js";

/** The stack output holding the admin kubeconfig (src/program.ts, src/index.ts). */
export const KUBECONFIG_OUTPUT = "kubeconfig";

/** Seconds `pulumi stack output` may take (a backend across the internet, a KMS decrypt). */
export const DEFAULT_PULUMI_TIMEOUT_SECONDS = 60;

/** Largest answer read from pulumi; a kubeconfig is a few KB. */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

/** What running a program produced. */
interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Spawn error code (`ENOENT`: not installed). */
  spawnError?: string;
}

/**
 * Runs `cmd args` with no stdin (pulumi must never wait for a prompt). After `timeoutMs` its
 * whole process group is killed (pulumi starts plugin processes that hold its pipes) and the
 * answer is a timeout at once, without waiting for the pipes to close. stdout and stderr are
 * capped at MAX_OUTPUT_BYTES each.
 */
function runChild(cmd: string, args: readonly string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<ChildResult> {
  return new Promise((resolve) => {
    const group = process.platform !== "win32";
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"], detached: group });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let done = false;
    const finish = (r: ChildResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      try {
        if (group && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        else child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      child.stdout.destroy();
      child.stderr.destroy();
      finish({ code: null, stdout: "", stderr: "", timedOut: true });
    }, opts.timeoutMs);
    child.stdout.on("data", (d: Buffer) => {
      if (outBytes < MAX_OUTPUT_BYTES) out.push(d);
      outBytes += d.length;
    });
    child.stderr.on("data", (d: Buffer) => {
      if (errBytes < MAX_OUTPUT_BYTES) err.push(d);
      errBytes += d.length;
    });
    child.on("error", (e: NodeJS.ErrnoException) => finish({ code: null, stdout: "", stderr: "", timedOut: false, spawnError: e.code ?? e.message }));
    child.on("close", (code) => finish({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), timedOut: false }));
  });
}

/** Pulumi's own error line (`error: …`), one line, printable characters only, at most 200 of them. */
function pulumiErrorLine(stderr: string): string {
  const line = stderr.split("\n").find((l) => /^error:/i.test(l.trim())) ?? stderr.split("\n").find((l) => l.trim() !== "") ?? "";
  const clean = line.trim().replace(/^error:\s*/i, "").replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

/**
 * Why `pulumi stack output` failed, in words with the fix. Pulumi's messages matched here:
 * `PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions` (no login),
 * `passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE
 * environment variables` / `incorrect passphrase` (passphrase secrets provider),
 * `no stack named 'S' found`, and `current stack does not have output property 'kubeconfig'`
 * (pulumi/pulumi pkg/cmd/pulumi/stack/stack_output.go).
 */
export function pulumiFailure(stack: string, r: ChildResult, timeoutSeconds: number): CliError {
  if (r.spawnError === "ENOENT") {
    return new CliError(
      "the Pulumi CLI is not installed (no 'pulumi' on PATH); the kubeconfig is a secret stack output only Pulumi can decrypt.\n  fix: install it (https://www.pulumi.com/docs/iac/download-install/: curl -fsSL https://get.pulumi.com | sh), then 'pulumi login'.",
      EXIT.failure,
    );
  }
  if (r.spawnError !== undefined) return new CliError(`could not run pulumi (${r.spawnError}).\n  fix: check that 'pulumi version' runs in this shell.`, EXIT.failure);
  if (r.timedOut) {
    return new CliError(`pulumi stack output did not answer within ${timeoutSeconds} s (stack ${stack}); nothing was written.\n  fix: check the connection to the Pulumi backend ('pulumi whoami'), or pass a longer --timeout.`, EXIT.failure);
  }
  const text = r.stderr;
  if (/PULUMI_ACCESS_TOKEN must be set|not logged in|pulumi login/i.test(text)) {
    return new CliError(
      "pulumi is not logged in to a backend, so it cannot read the stack's outputs; nothing was written.\n  fix: run 'pulumi login' (Pulumi Cloud; or 'pulumi login s3://…' / 'file://…' for the backend that holds this stack), or set PULUMI_ACCESS_TOKEN in CI.",
      EXIT.failure,
    );
  }
  if (/passphrase/i.test(text)) {
    return new CliError(
      `stack ${stack} encrypts its secrets with a passphrase, and pulumi could not use it; nothing was written.\n  fix: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the stack's passphrase and run again.`,
      EXIT.failure,
    );
  }
  if (/no stack named/i.test(text)) {
    return new CliError(`the Pulumi backend you are logged in to has no stack named '${stack}'; nothing was written.\n  fix: list them with 'pulumi stack ls' and pass --stack NAME (ORG/NAME for another Pulumi Cloud organisation).`, EXIT.failure);
  }
  if (/does not have output property/i.test(text)) {
    return new CliError(
      `stack ${stack} has no '${KUBECONFIG_OUTPUT}' output: it was never deployed, or it is a partition stack (the cluster stack holds the kubeconfig); nothing was written.\n  fix: run 'pulumi up --stack ${stack}' first, or pass the cluster's stack with --stack.`,
      EXIT.failure,
    );
  }
  return new CliError(`pulumi stack output failed (exit ${r.code ?? "?"}): ${pulumiErrorLine(text) || "no message"}; nothing was written.\n  fix: run 'pulumi stack output --stack ${stack}' to see what pulumi says.`, EXIT.failure);
}

/**
 * The kubeconfig text from `pulumi stack output --json` (a JSON string), checked to be a
 * kubeconfig (`kind: Config` with a cluster and a user) without ever quoting it.
 * @returns the text and the API server URL (public: where the cluster answers)
 */
export function parseKubeconfigOutput(stdout: string, stack: string): { text: string; server: string | null } {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    throw new CliError(`pulumi stack output printed something that is not JSON for stack ${stack}; nothing was written.\n  fix: check 'pulumi version' (mine2hpc needs a Pulumi CLI with 'stack output --json').`, EXIT.failure);
  }
  if (typeof value !== "string" || value.trim() === "") {
    throw new CliError(`stack ${stack}'s '${KUBECONFIG_OUTPUT}' output is ${typeof value === "string" ? "empty" : `not text (${value === null ? "null" : typeof value})`}; nothing was written.\n  fix: run 'pulumi up --stack ${stack}' so the program reads the kubeconfig from the first server.`, EXIT.failure);
  }
  let doc: unknown;
  try {
    doc = parseYaml(value, { prettyErrors: false });
  } catch {
    doc = undefined;
  }
  const d = doc as { kind?: unknown; clusters?: Array<{ cluster?: { server?: unknown } }>; users?: unknown[] } | undefined;
  if (typeof d !== "object" || d === null || d.kind !== "Config" || !Array.isArray(d.clusters) || d.clusters.length === 0 || !Array.isArray(d.users) || d.users.length === 0) {
    throw new CliError(`stack ${stack}'s '${KUBECONFIG_OUTPUT}' output is not a kubeconfig (kind: Config with clusters and users); nothing was written.\n  fix: run 'pulumi up --stack ${stack}' again; the output is read from the first server's /etc/rancher/k3s/k3s.yaml.`, EXIT.failure);
  }
  const server = d.clusters[0]?.cluster?.server;
  return { text: value.endsWith("\n") ? value : `${value}\n`, server: typeof server === "string" ? server : null };
}

/**
 * Writes `text` to `file` as a new file of mode 0600: a temporary file in the same folder is
 * created with O_CREAT|O_EXCL and mode 0600, written, synced, then renamed over `file` (the
 * rename is atomic: a reader sees the old file or the whole new one, never a partial one).
 * The umask can only take bits away from 0600.
 */
export function writeSecretFile(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
}

/** The cluster stack a partition stack's file names (`mine2hpc:clusterStack`), or undefined. */
function clusterStackOf(stack: string, repoRoot: string): string | undefined {
  if (!existsSync(path.join(repoRoot, "stacks", `Pulumi.${stack}.yaml`))) return undefined;
  try {
    return loadStack(stack, repoRoot).clusterStack;
  } catch {
    // An unreadable stack file is pulumi's to report; the stack is read as given.
    return undefined;
  }
}

function timeoutArg(value: unknown): number {
  if (value === undefined) return DEFAULT_PULUMI_TIMEOUT_SECONDS;
  const n = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || n < 1 || n > 3600) {
    throw new CliError(`--timeout '${String(value)}' is not a whole number of seconds from 1 to 3600.\n  fix: e.g. --timeout ${DEFAULT_PULUMI_TIMEOUT_SECONDS}.`, EXIT.usage);
  }
  return n;
}

/** Where the kubeconfig goes, checked before pulumi runs; null for `-` (stdout). */
function targetFile(ctx: CommandContext): string | null {
  const flag = (ctx.values["output-file"] as string | undefined) ?? "kubeconfig";
  if (flag === "-") return null;
  if (flag.trim() === "") throw new CliError("--output-file is empty.\n  fix: pass a file name, or '-' for stdout.", EXIT.usage);
  const file = path.resolve(ctx.cwd, flag);
  if (existsSync(file)) {
    if (statSync(file).isDirectory()) throw new CliError(`${displayPath(file, ctx.cwd)} is a folder.\n  fix: pass a file name with --output-file, e.g. --output-file ${path.join(flag, "kubeconfig")}.`);
    if (ctx.values.force !== true) {
      throw new CliError(`${displayPath(file, ctx.cwd)} already exists; nothing was written (it may hold other clusters' credentials).\n  fix: pass --force to replace it, or another --output-file.`);
    }
  }
  if (!existsSync(path.dirname(file))) throw new CliError(`folder ${displayPath(path.dirname(file), ctx.cwd)} does not exist.\n  fix: create it, or pass another --output-file.`);
  return file;
}

const command: Command = {
  name: "kubeconfig",
  summary: "Write the cluster's admin kubeconfig from the stack's outputs to a file of mode 0600 (needs the Pulumi CLI).",
  usage: "[--stack NAME] [--output-file FILE|-] [--force] [--timeout S]",
  description: [
    "Runs 'pulumi stack output kubeconfig --show-secrets --json --stack NAME' in the project folder (no prompt; killed after",
    "--timeout) and writes the value to FILE, created with mode 0600 and moved into place whole. The kubeconfig is the",
    "cluster-admin credential: it is never printed, except to stdout with --output-file - . Needs the Pulumi CLI, logged in",
    "to the stack's backend (and PULUMI_CONFIG_PASSPHRASE for a passphrase-encrypted stack). Exit 1 when pulumi is missing,",
    "not logged in or the stack has no kubeconfig output; 2 when FILE exists (without --force).",
  ].join("\n"),
  options: {
    stack: { type: "string", valueName: "NAME", description: "Pulumi stack to read (default: demo, or the project's only stack under stacks/)." },
    "output-file": { type: "string", valueName: "FILE", description: "Where to write it (default: kubeconfig in the current folder); '-' prints it to stdout." },
    force: { type: "boolean", description: "Replace FILE when it exists." },
    timeout: { type: "string", valueName: "S", description: `Seconds pulumi may take (default ${DEFAULT_PULUMI_TIMEOUT_SECONDS}).` },
  },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw new CliError(`kubeconfig takes no arguments, got '${ctx.positionals.join(" ")}'.\n  fix: pass the stack with --stack NAME.`, EXIT.usage);
    const timeoutSeconds = timeoutArg(ctx.values.timeout);
    const repoRoot = findRepoRoot(ctx.cwd);
    if (!existsSync(path.join(repoRoot, "Pulumi.yaml"))) {
      throw new CliError(`no Pulumi.yaml found in ${ctx.cwd} or above.\n  fix: run mine2hpc kubeconfig inside the site's Pulumi project.`);
    }
    const asked = String(ctx.values.stack ?? defaultStack(repoRoot));
    // A partition stack holds no kubeconfig (src/program.ts): its cluster stack does.
    const cluster = clusterStackOf(asked, repoRoot);
    const stack = cluster ?? asked;
    if (cluster !== undefined) note(ctx, `stack ${asked} is a partition stack: reading the kubeconfig of its cluster stack ${cluster} (mine2hpc:clusterStack).`);
    const file = targetFile(ctx);
    // The stack name is a flag value, passed as one argv element (no shell); the secret comes back on stdout only.
    const args = ["stack", "output", KUBECONFIG_OUTPUT, "--show-secrets", "--json", "--non-interactive", "--color", "never", "--stack", stack];
    const r = await runChild("pulumi", args, {
      cwd: repoRoot,
      // No update check: one less network call, and no notice mixed into the output.
      env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
      timeoutMs: timeoutSeconds * 1000,
    });
    if (r.code !== 0 || r.timedOut || r.spawnError !== undefined) throw pulumiFailure(stack, r, timeoutSeconds);
    const { text, server } = parseKubeconfigOutput(r.stdout, stack);
    if (file === null) {
      ctx.stdout.write(text);
      return 0;
    }
    try {
      writeSecretFile(file, text);
    } catch (e) {
      throw new CliError(`cannot write ${displayPath(file, ctx.cwd)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).\n  fix: pass --output-file in a folder you can write to.`, EXIT.failure);
    }
    const shown = displayPath(file, ctx.cwd);
    note(ctx, `wrote the kubeconfig of stack ${stack} to ${shown} (mode 0600${server !== null ? `, API server ${server}` : ""}).`);
    note(ctx, `next: kubectl --kubeconfig ${shown} get nodes`);
    return 0;
  },
};
export default command;
