/**
 * Runs the `mine2hpc` binary the way a person does: a child process, its own working
 * directory, stdout and stderr captured. Shared by every CLI end-to-end test.
 *
 * `MINE2HPC_CLI_BIN` may point at another entry script (e.g. an installed package's
 * binary) to run the same tests against it.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { expectGolden as expectGoldenFile } from "./golden.js";

/** The repository root (two levels above this file). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The entry script the tests run. */
export const CLI_BIN = process.env.MINE2HPC_CLI_BIN ?? path.join(REPO_ROOT, "bin", "mine2hpc.js");

/** What a CLI run produced. */
export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Options of `runCli`. */
export interface RunCliOptions {
  /** Working directory of the command (usually a temporary project). */
  cwd: string;
  /** Extra environment variables; the parent's environment is inherited. */
  env?: Record<string, string>;
  /** Text piped to stdin. @default no input */
  input?: string;
}

/**
 * Runs `mine2hpc ARGS` with the current Node (the project needs Node 24) and returns its
 * exit code and output. Never throws on a non-zero exit: tests assert exit codes.
 */
export async function runCli(args: readonly string[], opts: RunCliOptions): Promise<CliResult> {
  const result = await execa(process.execPath, [CLI_BIN, ...args], {
    cwd: opts.cwd,
    env: { NO_COLOR: "1", ...opts.env },
    reject: false,
    stripFinalNewline: false,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: "ignore" }),
  });
  return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? "") };
}

/** Compares `actual` with `tests/golden/cli/NAME`; with `UPDATE_GOLDEN=1` writes it instead. */
export async function expectGolden(name: string, actual: string): Promise<void> {
  expectGoldenFile(`cli/${name}`, actual);
}

/**
 * A temporary mine2hpc project: Pulumi.yaml (the project root marker) and a copy of the
 * repository's templates/ and schema/, so commands that write stacks/ never touch the real repo.
 */
export async function tempProject(): Promise<string> {
  const { cpSync, mkdtempSync, writeFileSync } = await import("node:fs");
  const os = await import("node:os");
  const dir = mkdtempSync(path.join(os.tmpdir(), "mine2hpc-cli-"));
  writeFileSync(path.join(dir, "Pulumi.yaml"), "name: mine2hpc\nruntime: nodejs\nstackConfigDir: stacks\n");
  cpSync(path.join(REPO_ROOT, "templates"), path.join(dir, "templates"), { recursive: true });
  // Like this repository, it holds the editor schema that site files point at (../../schema/).
  cpSync(path.join(REPO_ROOT, "schema"), path.join(dir, "schema"), { recursive: true });
  return dir;
}
