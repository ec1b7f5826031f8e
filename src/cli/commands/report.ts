/** `mine2hpc report --html FILE`: the plan as one self-contained HTML page (inline SVG and CSS, no network). */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "../command.js";
import { CliError, EXIT, SITE_OPTIONS } from "../command.js";
import { outputFormat, outputOptions, printResult } from "../output.js";
import { displayPath, loadAndPlan, siteSourceFromArgs } from "../site-args.js";
import { renderHtmlReport, siteFacts } from "../../report/index.js";

/** How long `git` may take to name the site's commit before the report says it could not. */
export const GIT_TIMEOUT_MS = 5000;

/**
 * The commit of the repository holding `siteFile` (`git rev-parse HEAD`), with ` (modified)`
 * when the site file or inventory differ from it, or why there is none: `not a git
 * repository`, `no commit yet`, `git not installed`, `unknown (git did not answer)`.
 * Bounded by {@link GIT_TIMEOUT_MS} per call; never throws.
 */
export function siteCommit(siteFile: string, inventory?: string): string {
  const dir = path.dirname(siteFile);
  const git = (args: string[]): string =>
    execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", timeout: GIT_TIMEOUT_MS, stdio: ["ignore", "pipe", "pipe"] }).trim();
  let commit: string;
  try {
    commit = git(["rev-parse", "--verify", "HEAD"]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; signal?: string };
    if (e.code === "ENOENT") return "git not installed";
    if (e.signal) return "unknown (git did not answer)";
    const stderr = String(e.stderr ?? "");
    if (/not a git repository/i.test(stderr)) return "not a git repository";
    if (/needed a single revision|unknown revision|ambiguous argument/i.test(stderr)) return "no commit yet";
    return "unknown (git rev-parse failed)";
  }
  if (!/^[0-9a-f]{40,64}$/.test(commit)) return "unknown (git rev-parse failed)";
  try {
    // Only the site's own files: other changes in the repository do not change the report.
    const files = [siteFile, ...(inventory ? [inventory] : [])];
    const changed = git(["status", "--porcelain", "--", ...files]);
    return changed === "" ? commit : `${commit} (modified)`;
  } catch {
    // An inventory outside the repository makes `git status` refuse the path: the commit still stands.
    return commit;
  }
}

/**
 * The generation time, ISO 8601 UTC to the second: `SOURCE_DATE_EPOCH` (seconds since the
 * epoch, digits only) when set, so the same commit gives the same bytes, else `now`.
 * https://reproducible-builds.org/specs/source-date-epoch/ — a malformed value is an error.
 */
export function generationTime(env: NodeJS.ProcessEnv, now: () => Date = () => new Date()): string {
  const raw = env.SOURCE_DATE_EPOCH;
  let date: Date;
  if (raw === undefined || raw === "") {
    date = now();
  } else {
    if (!/^[0-9]+$/.test(raw) || Number(raw) > 8_640_000_000_000) {
      throw new CliError(
        // The value is not echoed: an environment variable is no place to quote into CI logs.
        `SOURCE_DATE_EPOCH is set but is not a time: it must be whole seconds since 1970-01-01 UTC (digits only), as 'date +%s' prints.\n` +
          `  fix: export SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)", or unset it to stamp the current time.`,
      );
    }
    date = new Date(Number(raw) * 1000);
  }
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

const command: Command = {
  name: "report",
  summary: "Write the plan as one self-contained HTML page: power tree, phase loads, pools, stranded power and why, curtailment, wiring sheet.",
  usage: "--html FILE [--stack NAME | --site FILE] [--inventory FILE] [-o text|json|yaml|md]",
  description:
    "The page has no scripts and loads nothing from the network, so it can be attached to a ticket or kept as a CI artifact; it prints " +
    "a wiring sheet (machine → circuit → phase → cap) with a page per feed. Its footer names the site, stack, commit of the site's " +
    "repository and generation time; set SOURCE_DATE_EPOCH (seconds) to fix the time, and the same site and commit write the same bytes. " +
    "Parent folders of FILE are created. Prints the path it wrote (-o json: {\"file\": PATH}).",
  options: {
    ...SITE_OPTIONS,
    html: { type: "string", valueName: "FILE", description: "Where to write the HTML report (parent folders are created)." },
    ...outputOptions(),
  },
  async run(ctx) {
    const format = outputFormat(ctx);
    const html = ctx.values.html;
    if (typeof html !== "string" || html.trim() === "") {
      throw new CliError("no output file given: the report is written to a file, not the terminal.\n  fix: pass --html FILE, e.g. 'mine2hpc report --html out/report.html --stack demo'.", EXIT.usage);
    }
    const generatedAt = generationTime(process.env);
    const source = siteSourceFromArgs(ctx);
    const { loaded, plan } = loadAndPlan(source);
    const page = renderHtmlReport(plan, {
      ...siteFacts(loaded.spec),
      provenance: { stack: source.stack ?? null, commit: siteCommit(source.siteFile, source.inventory), generatedAt },
    });
    const file = path.resolve(ctx.cwd, html);
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, page, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "error";
      throw new CliError(`cannot write ${displayPath(file, ctx.cwd)} (${code}: ${(err as Error).message}).\n  fix: pass --html with a path in a folder you can write to.`);
    }
    const shown = displayPath(file, ctx.cwd);
    printResult(ctx, format, { data: { file: shown }, text: () => `${shown}\n`, md: () => `[${shown}](${shown})\n` });
    return 0;
  },
};
export default command;
