/**
 * `mine2hpc diff --base REF`: what merging this change would do to a site — resources added,
 * changed and removed, machines re-bootstrapped, pools, GPU caps and circuit loads that move.
 *
 * Each side is computed with its own code: the base with the program and planner as they were
 * at REF, the working tree with today's. That is the honest answer to "what will change when
 * this PR merges": the base is what the last `pulumi up` from REF built, and a code change
 * (a new label, a different cap rule) changes real resources as much as a site edit does.
 *
 * The measuring side is shared: both previews run under today's mocks and masking (same key
 * inputs, same secret masking), so only the program and the site differ between the sides.
 *
 * The base is extracted with git into a temporary folder (a throwaway index file, so the
 * repository's own index, worktrees and HEAD are never touched), with a symlink to the working
 * tree's node_modules: the base runs with today's installed packages (a base whose lockfile
 * differs is previewed with the newer packages). The folder is removed on every exit path.
 *
 * A partitioned site (either side) is compared stack by stack: every stack of the project whose
 * `mine2hpc:site` is the given stack's (the cluster stack and one per partition) is previewed on
 * both sides, so the diff says which stacks a change touches and shows a machine that changes
 * partition as a move, not as an uninstall and an install.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "../command.js";
import { CliError, EXIT } from "../command.js";
import { outStyle, outputFormat, outputOptions, printResult, type Style } from "../output.js";
import { defaultStack, findRepoRoot, loadAndPlan, siteSourceFromArgs } from "../site-args.js";
import { SiteError, formatProblem } from "../../site/problems.js";
import type { FarmPlan } from "../../plan/types.js";
import type { PreviewResult } from "../../preview/offline.js";
import { readPulumiProject } from "../../preview/project.js";
import { SecretValue, loadStack } from "../../site/stack.js";
import type { StackSecrets } from "../../diff/compare.js";

/** The side a problem belongs to, as error messages name it. */
type Side = "base" | "working tree";

/** A site that failed validation on one side; printed like `validate`, with the side named. */
class SideSiteError extends Error {
  constructor(
    readonly side: Side,
    readonly label: string,
    readonly problems: readonly string[],
  ) {
    super(`${label}: site problems`);
  }
}

interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 512 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function git(args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<ExecResult> {
  return run("git", args, { cwd, ...(env ? { env } : {}) });
}

/** Resolves REF to a commit in the repository holding `repoRoot`, or explains how to get it. */
async function resolveBase(ref: string, repoRoot: string): Promise<{ commit: string; gitRoot: string }> {
  const top = await git(["rev-parse", "--show-toplevel"], repoRoot);
  if (top.code !== 0) {
    throw new CliError(`${repoRoot} is not inside a git repository, so there is no base '${ref}' to compare with.\n  fix: run mine2hpc diff in a git clone of the site's repository.`);
  }
  const commit = await git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`], repoRoot);
  if (commit.code !== 0 || ref.startsWith("-")) {
    throw new CliError(
      [
        `base ref '${ref}' is not a commit in this repository.`,
        `  fix: pass a branch, tag or commit that exists here ('git log --oneline', 'git branch -a');`,
        `       for a remote branch fetch it first ('git fetch origin ${ref.replace(/^origin\//, "")}');`,
        `       in GitHub Actions check out with 'fetch-depth: 0' so that origin/<base branch> exists.`,
      ].join("\n"),
    );
  }
  return { commit: commit.stdout.trim(), gitRoot: realpathSync(top.stdout.trim()) };
}

/**
 * Writes the tree of `commit` into `dir` through a temporary index file: `git read-tree` +
 * `git checkout-index` touch neither the repository's index nor its worktree list.
 */
async function extractTree(gitRoot: string, commit: string, dir: string): Promise<void> {
  const env = { ...process.env, GIT_INDEX_FILE: path.join(dir, "index") };
  const tree = path.join(dir, "tree");
  mkdirSync(tree);
  for (const args of [["read-tree", commit], ["checkout-index", "--all", `--prefix=${tree}${path.sep}`]]) {
    const r = await git(args, gitRoot, env);
    if (r.code !== 0) throw new Error(`git ${args[0]} of ${commit} failed: ${r.stderr.trim()}`);
  }
}

/** The node_modules the base runs with: the working tree's, else the one next to this CLI. */
function nodeModulesFor(repoRoot: string): string {
  const own = path.join(repoRoot, "node_modules");
  if (existsSync(own)) return realpathSync(own);
  return realpathSync(fileURLToPath(new URL("../../../node_modules", import.meta.url)));
}

function siteProblems(err: SiteError): string[] {
  return err.problems.map(formatProblem);
}

/** Plans the base with the base's own planner (its `mine2hpc plan --json`), or today's when it has no CLI. */
async function planBase(baseRoot: string, stack: string, label: string): Promise<FarmPlan> {
  const bin = path.join(baseRoot, "bin", "mine2hpc.js");
  if (!existsSync(bin)) {
    try {
      return loadAndPlan(siteSourceFromArgs({ values: { stack }, cwd: baseRoot }), baseRoot).plan;
    } catch (err) {
      if (err instanceof SiteError) throw new SideSiteError("base", label, siteProblems(err));
      throw err;
    }
  }
  const r = await run(process.execPath, [bin, "plan", "--stack", stack, "--json"], { cwd: baseRoot });
  if (r.code === 0) return JSON.parse(r.stdout) as FarmPlan;
  const lines = r.stderr.trimEnd().split("\n");
  if (r.code === 2) throw new SideSiteError("base", label, lines.filter((l) => !/^error: the site has \d+ problems?/.test(l)));
  throw new Error(`planning the base (${label}) failed (exit ${r.code}):\n${r.stderr}`);
}

async function preview(side: Side, label: string, repoRoot: string, stack: string, recorded?: Record<string, string[]>): Promise<PreviewResult> {
  if (!existsSync(path.join(repoRoot, "Pulumi.yaml")) || readPulumiProject(repoRoot).programFile === null) {
    throw new CliError(`${label} has no Pulumi program (Pulumi.yaml and its main, e.g. index.ts), so it cannot be previewed.\n  fix: compare with a base that contains the site's Pulumi project (a commit after 'mine2hpc new' or of this project).`);
  }
  const { previewOffline } = await import("../../preview/offline.js");
  try {
    return await previewOffline({ repoRoot, stack, ...(recorded ? { recorded } : {}) });
  } catch (err) {
    if (err instanceof SiteError) throw new SideSiteError(side, label, siteProblems(err));
    throw err;
  }
}

/** Top-level keys of a Pulumi stack file that say how its secrets are encrypted. */
const SECRETS_PROVIDER_KEYS = ["secretsprovider", "encryptedkey", "encryptionsalt"] as const;

/**
 * The secure values of `stacks/Pulumi.<stack>.yaml` as ciphertexts, and its encryption settings;
 * null when the stack file does not exist (or cannot be read: the preview reports that).
 */
export function readStackSecrets(repoRoot: string, stack: string): StackSecrets | null {
  const file = path.join(repoRoot, "stacks", `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) return null;
  let config: Record<string, unknown>;
  let top: Record<string, unknown>;
  try {
    config = loadStack(stack, repoRoot).config;
    const parsed = parseYaml(readFileSync(file, "utf8"), { prettyErrors: false }) as unknown;
    top = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return null;
  }
  const ciphertexts: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) if (value instanceof SecretValue) ciphertexts[key] = value.ciphertext();
  const provider = SECRETS_PROVIDER_KEYS.map((k) => (typeof top[k] === "string" ? `${k}=${top[k] as string}` : "")).join(";");
  return { ciphertexts, provider: provider === ";;" ? null : provider };
}

/**
 * The stacks of the project at `root` that run the same site as `stack` (its cluster stack and
 * its partitions' stacks), by name, with the partition each holds (null: the cluster stack).
 * Stack files that do not load are left out: the stack given is checked on its own.
 */
export function siteStacks(root: string, stack: string): Record<string, string | null> {
  const siteFile = loadStack(stack, root).siteFile;
  const out: Record<string, string | null> = {};
  for (const f of readdirSync(path.join(root, "stacks")).sort()) {
    const name = /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1];
    if (name === undefined) continue;
    try {
      const s = loadStack(name, root);
      if (s.siteFile === siteFile) out[name] = s.partition?.name ?? null;
    } catch (err) {
      if (!(err instanceof SiteError)) throw err;
    }
  }
  return out;
}

/** The previews of several stacks as one, each resource tagged with its stack (null when there are none). */
function combined(stack: string, previews: readonly PreviewResult[]): PreviewResult | null {
  const main = previews.find((p) => p.stack === stack) ?? previews[0];
  if (main === undefined) return null;
  const resources = previews.flatMap((p) => p.resources.map((r) => ({ ...r, stack: p.stack })));
  const counts: Record<string, number> = {};
  for (const t of resources.map((r) => r.type).sort()) counts[t] = (counts[t] ?? 0) + 1;
  return { ...main, stack, resources, counts };
}

/** Removes the temporary tree even when the process is interrupted. */
function withCleanup<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return work().finally(() => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    cleanup();
  });
}

/** Text diff lines coloured by their mark: `+` added (green), `-` removed (red), `~` changed (yellow). */
export function colourDiff(text: string, style: Style): string {
  if (!style.enabled) return text;
  return text
    .split("\n")
    .map((l) => (/^\s*\+ /.test(l) ? style.green(l) : /^\s*- /.test(l) ? style.red(l) : /^\s*~ /.test(l) ? style.yellow(l) : l))
    .join("\n");
}

const command: Command = {
  name: "diff",
  summary: "Compare a stack's offline preview and plan at a git ref with the working tree (for PR comments).",
  usage: "--base GIT_REF [--stack NAME] [-o text|json|yaml|md]",
  description: [
    "Lists resources added, changed (which inputs; secrets stay [secret]) and removed, machines",
    "that will be re-bootstrapped, and pools, node GPU caps, circuit and feed loads that move.",
    "The base runs with its own code (program and planner as they were at GIT_REF) and the",
    "working tree's node_modules; the working tree with today's. Exit 0 when the diff was",
    "computed, with or without changes; 2 for a bad ref or an invalid site on either side.",
    "-o md fits a PR comment (trimmed under 64,000 characters, with a note); -o json/yaml is the structured diff.",
    "A changed secret in the stack file (k3sToken, k3sAgentToken, sshPrivateKey, minerCredentials) is shown by name and",
    "effect, never by value: the ciphertexts are compared, not decrypted.",
    "A partitioned site is compared stack by stack (the cluster stack and every partition's):",
    "the diff names the stacks a change touches and shows a machine changing partition as a move.",
  ].join("\n"),
  options: {
    base: { type: "string", valueName: "GIT_REF", description: "Branch, tag or commit to compare with (e.g. origin/main)." },
    stack: { type: "string", valueName: "NAME", description: "Stack to compare (reads stacks/Pulumi.NAME.yaml on both sides; default: demo, or the project's only stack)." },
    ...outputOptions({ legacyFormat: true }),
  },
  async run(ctx) {
    const format = outputFormat(ctx);
    const ref = ctx.values.base;
    if (typeof ref !== "string" || ref === "") throw new CliError("no base given.\n  fix: pass --base GIT_REF, e.g. --base origin/main or --base HEAD~1.", EXIT.usage);
    const stack = String(ctx.values.stack ?? defaultStack(findRepoRoot(ctx.cwd)));
    const repoRoot = realpathSync(findRepoRoot(ctx.cwd));
    if (!existsSync(path.join(repoRoot, "Pulumi.yaml"))) {
      throw new CliError(`no Pulumi.yaml found in ${ctx.cwd} or above.\n  fix: run mine2hpc diff inside a mine2hpc project.`);
    }
    const { commit, gitRoot } = await resolveBase(ref, repoRoot);
    const baseLabel = `base ${ref} (${commit.slice(0, 12)})`;
    try {
      // The working tree first: its problems are the likelier ones and need no extraction.
      let headPlan: FarmPlan;
      try {
        headPlan = loadAndPlan(siteSourceFromArgs({ values: { stack }, cwd: ctx.cwd }), ctx.cwd).plan;
      } catch (err) {
        if (err instanceof SiteError) throw new SideSiteError("working tree", "working tree", siteProblems(err));
        throw err;
      }
      const tmp = mkdtempSync(path.join(os.tmpdir(), "mine2hpc-diff-"));
      const result = await withCleanup(tmp, async () => {
        await extractTree(gitRoot, commit, tmp);
        const baseRoot = path.join(tmp, "tree", path.relative(gitRoot, repoRoot));
        const stackExists = existsSync(path.join(baseRoot, "stacks", `Pulumi.${stack}.yaml`));
        if (stackExists && !existsSync(path.join(baseRoot, "node_modules"))) symlinkSync(nodeModulesFor(repoRoot), path.join(baseRoot, "node_modules"), "dir");
        const basePlan = stackExists ? await planBase(baseRoot, stack, baseLabel) : null;
        const { diffSite } = await import("../../diff/index.js");
        if (headPlan.partitions !== undefined || basePlan?.partitions !== undefined) {
          const baseStacks = stackExists ? siteStacks(baseRoot, stack) : {};
          const headStacks = siteStacks(repoRoot, stack);
          // One at a time: each preview is a child process holding the whole plan.
          const basePreviews: PreviewResult[] = [];
          for (const s of Object.keys(baseStacks)) basePreviews.push(await preview("base", baseLabel, baseRoot, s));
          const headPreviews: PreviewResult[] = [];
          for (const s of Object.keys(headStacks)) headPreviews.push(await preview("working tree", "working tree", repoRoot, s, basePreviews.find((b) => b.stack === s)?.records));
          return diffSite(
            { ref, commit, plan: basePlan, preview: combined(stack, basePreviews), secrets: stackExists ? readStackSecrets(baseRoot, stack) : null },
            { plan: headPlan, preview: combined(stack, headPreviews)!, secrets: readStackSecrets(repoRoot, stack) },
            { ...baseStacks, ...headStacks },
          );
        }
        // The base first: the working tree's preview starts from the state the base leaves (its
        // records, e.g. the k3s version each machine was installed with), as `pulumi up` would.
        const basePreview = stackExists ? await preview("base", baseLabel, baseRoot, stack) : null;
        const headPreview = await preview("working tree", "working tree", repoRoot, stack, basePreview?.records);
        return diffSite(
          { ref, commit, plan: basePlan, preview: basePreview, secrets: stackExists ? readStackSecrets(baseRoot, stack) : null },
          { plan: headPlan, preview: headPreview, secrets: readStackSecrets(repoRoot, stack) },
        );
      });
      const { diffMarkdown, diffText } = await import("../../diff/index.js");
      printResult(ctx, format, { data: result, text: () => colourDiff(diffText(result), outStyle(ctx)), md: () => diffMarkdown(result) });
      return 0;
    } catch (err) {
      if (!(err instanceof SideSiteError)) throw err;
      const where = err.side === "base" ? `the ${err.label} site` : "the working-tree site";
      const lines = [`${where} of stack ${stack} is invalid; nothing was compared.`];
      if (err.side === "base") lines.push(`  (file paths are inside ${ref}; fix them in a new commit, or diff against another base)`);
      throw new CliError([...lines, ...err.problems].join("\n"), EXIT.invalidSite);
    }
  },
};

export default command;
