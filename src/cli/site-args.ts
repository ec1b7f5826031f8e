/**
 * Turning `--stack NAME | --site FILE [--inventory FILE]` into a validated site and its
 * plan, with every problem located at file:line (planner problems too).
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { CliError, type CommandContext } from "./command.js";
import { loadAndValidate, type LoadedSite } from "../site/load.js";
import { loadStack, unsplitClusterStackProblem } from "../site/stack.js";
import { SiteError } from "../site/problems.js";
import { planFarm } from "../plan/index.js";
import type { FarmPlan } from "../plan/types.js";

/** The repository (Pulumi project) root: the nearest folder upwards holding Pulumi.yaml, else `cwd`. */
export function findRepoRoot(cwd: string): string {
  let dir = path.resolve(cwd);
  for (;;) {
    if (existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(cwd);
    dir = parent;
  }
}

/** Where the site comes from, as the flags say. */
export interface SiteSource {
  siteFile: string;
  inventory?: string;
  stack?: string;
  repoRoot: string;
  /** The partition the stack holds (`mine2hpc:partition`) and where its file says so. */
  partition?: { name: string; file: string; line: number };
  /** A stack without a partition: whether it sets `mine2hpc:partitioned: "true"`, and where (its file's line, else 1). */
  partitioned?: { set: boolean; value: unknown; file: string; line: number };
}

/** The stack commands use when neither --stack nor --site is given (as `npm start`, `preview` and `diff` do). */
export const DEFAULT_STACK = "demo";

/**
 * The stack a command uses without --stack: `demo` where it exists (this repository), else the
 * project's only stack (a site repository from `mine2hpc new` has one), else `demo`, whose
 * missing-stack error says how to pick one.
 */
export function defaultStack(repoRoot: string): string {
  const dir = path.join(repoRoot, "stacks");
  if (existsSync(path.join(dir, `Pulumi.${DEFAULT_STACK}.yaml`)) || !existsSync(dir)) return DEFAULT_STACK;
  const stacks = readdirSync(dir).flatMap((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1] ?? []);
  return stacks.length === 1 ? stacks[0]! : DEFAULT_STACK;
}

/** Resolves the site flags: --site FILE, else --stack NAME, else the default stack. */
export function siteSourceFromArgs(ctx: Pick<CommandContext, "values" | "cwd">, defaultStackName?: string): SiteSource {
  const stack = ctx.values.stack as string | undefined;
  const site = ctx.values.site as string | undefined;
  const inventoryFlag = ctx.values.inventory as string | undefined;
  const repoRoot = findRepoRoot(ctx.cwd);
  if (stack && site) throw new CliError("--stack and --site both given.\n  fix: pass one of them: a stack (stacks/Pulumi.NAME.yaml) or a site file.");
  const inventory = inventoryFlag ? path.resolve(ctx.cwd, inventoryFlag) : undefined;
  if (site) return { siteFile: path.resolve(ctx.cwd, site), repoRoot, ...(inventory ? { inventory } : {}) };
  const name = stack ?? defaultStackName ?? defaultStack(repoRoot);
  const s = loadStack(name, repoRoot);
  const inv = inventory ?? s.inventory;
  const file = path.join(repoRoot, "stacks", `Pulumi.${name}.yaml`);
  const partition = s.partition
    ? { partition: { ...s.partition, file } }
    : { partitioned: { set: s.partitioned, value: s.config["mine2hpc:partitioned"], file, line: s.partitionedLine } };
  return { siteFile: s.siteFile, stack: name, repoRoot, ...(inv ? { inventory: inv } : {}), ...partition };
}

/**
 * Loads and validates the site, then plans it; planner problems get file:line too. File
 * names in problems are shown relative to `cwd` (the person's working directory).
 */
export function loadAndPlan(source: SiteSource, cwd: string = process.cwd(), opts: { strict?: boolean } = {}): { loaded: LoadedSite; plan: FarmPlan } {
  let loaded: LoadedSite | undefined;
  try {
    loaded = loadAndValidate(source.siteFile, { ...(source.inventory ? { inventory: source.inventory } : {}), ...(opts.strict ? { strict: true } : {}) });
    const plan = planFarm(loaded.spec);
    checkStackPartition(source, plan);
    return { loaded, plan };
  } catch (err) {
    if (!(err instanceof SiteError)) throw err;
    const located = err.problems.map((p) => (p.source || !p.path || !loaded ? p : { ...p, ...withSource(loaded, p.path) }));
    throw new SiteError(located.map((p) => (p.source ? { ...p, source: { ...p.source, file: displayPath(p.source.file, cwd) } } : p)));
  }
}

/**
 * A partition stack must name a partition of its site, and a partitioned site's cluster stack
 * must say it holds no partition's machines (the program refuses both otherwise, at `pulumi up`).
 */
function checkStackPartition(source: SiteSource, plan: FarmPlan): void {
  const c = source.partitioned;
  if (c !== undefined && !c.set && plan.partitions !== undefined) {
    throw new SiteError([unsplitClusterStackProblem(source.stack!, plan.site.name, plan.partitions.names, { file: c.file, line: c.line }, c.value)]);
  }
  const p = source.partition;
  if (p === undefined) return;
  const names = plan.partitions?.names ?? [];
  if (names.includes(p.name)) return;
  throw new SiteError([
    {
      message:
        plan.partitions === undefined
          ? `stack ${source.stack} holds partition '${p.name}', but site ${plan.site.name} has no partitions`
          : `stack ${source.stack} holds partition '${p.name}', which site ${plan.site.name} does not have (it has ${names.join(", ")})`,
      fix: plan.partitions === undefined ? "partition the site (partitions: {by: feed}, or partition on each gpu/cpu machine), or remove mine2hpc:partition from the stack" : `set mine2hpc:partition to one of ${names.join(", ")}`,
      source: { file: p.file, line: p.line },
    },
  ]);
}

function withSource(loaded: LoadedSite, p: ReadonlyArray<string | number>) {
  const source = loaded.locate(p);
  return source ? { source } : {};
}

/** Path relative to `from`, for messages and reports (never an absolute path of this machine). */
export function displayPath(file: string, from: string): string {
  const rel = path.relative(from, file);
  return rel.startsWith("..") ? file : rel;
}
