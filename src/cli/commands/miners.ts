/**
 * `mine2hpc miners status|curtail|resume`: the ASIC stage of a curtailment, run from an
 * operator's machine with the same drivers the in-cluster jobs run (src/runtime/miners):
 * each miner through its firmware API, confirmed by read-back, with bounded concurrency,
 * per-miner deadline and retries; one result per miner and the confirmed kW against the plan.
 *
 * GPU caps and Kueue stay with `mine2hpc curtail` (the cluster's jobs): this command only
 * needs network access to the miners. Credentials come from `--credentials FILE` or the
 * `MINE2HPC_MINER_CREDENTIALS` environment variable (the file's text), never from a flag
 * value, and are never printed.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Command, CommandContext } from "../command.js";
import { CliError, EXIT, SITE_OPTIONS } from "../command.js";
import { loadAndPlan, siteSourceFromArgs } from "../site-args.js";
import { kw, textTable } from "../format/table.js";
import type { Doc } from "../format/doc.js";
import { outputFormat, outputOptions, printResult } from "../output.js";
import type { FarmPlan } from "../../plan/types.js";
import { parse as parseYaml } from "yaml";
import { NO_CREDENTIALS, parseCredentials, type MinerCredentials, type TextParser } from "../../runtime/curtail/credentials.js";
import { DEFAULT_CONCURRENCY, DEFAULT_MINER_TIMEOUT_SECONDS, runMiners, type MinerOp, type MinerRun } from "../../runtime/curtail/miners.js";
import { feedTargets, minerTargetOf, parseFeedTargets, type MinerTargetSpec } from "../../runtime/curtail/targets.js";
import { redactUrl } from "../../runtime/miners/webhook.js";

const OPS: readonly MinerOp[] = ["status", "curtail", "resume"];

/** Environment variable holding the credentials file's text. */
export const CREDENTIALS_ENV = "MINE2HPC_MINER_CREDENTIALS";

const command: Command = {
  name: "miners",
  summary: "Read, curtail or resume ASIC miners through their firmware APIs, confirmed by read-back.",
  usage: "status|curtail|resume [--feed NAME] [--stack NAME | --site FILE | --targets FILE] [--credentials FILE] [--concurrency N] [--timeout S] [-o text|json|yaml|md]",
  description: [
    "Drives each miner through the API its site entry names (minerApi: luxos://, braiins://, antminer://, whatsminer://, or the",
    "feed's asicWebhookUrl): curtail = sleep/pause/power-off, confirmed only when the miner's hashrate (and power, where reported)",
    "reads back below threshold; resume = wake, confirmed when it leaves sleep. Prints one result per miner and the confirmed kW",
    "against the planned kW; exits 1 when a curtail confirms less than planned, or a resume/status leaves a miner unconfirmed.",
    "Credentials: --credentials FILE or MINE2HPC_MINER_CREDENTIALS (YAML/JSON: default, byDriver, byHost → { user, password }).",
  ].join("\n"),
  options: {
    feed: { type: "string", valueName: "NAME", description: "Feed whose miners to act on (required for curtail and resume; status reads every miner without it)." },
    ...SITE_OPTIONS,
    targets: { type: "string", valueName: "FILE", description: "A feed's targets JSON (the curtailment ConfigMap's FEED.targets.json) instead of the site's plan." },
    credentials: { type: "string", valueName: "FILE", description: `Miner credentials (YAML/JSON). Default: the ${CREDENTIALS_ENV} environment variable, else none (LuxOS and webhooks need none).` },
    concurrency: { type: "string", valueName: "N", description: `Miners in flight at once. Default: ${DEFAULT_CONCURRENCY}.` },
    timeout: { type: "string", valueName: "S", description: `Seconds per miner, retries and read-backs included. Default: ${DEFAULT_MINER_TIMEOUT_SECONDS}.` },
    ...outputOptions(),
  },
  async run(ctx) {
    const format = outputFormat(ctx);
    const op = ctx.positionals[0] as MinerOp | undefined;
    if (op === undefined || !OPS.includes(op) || ctx.positionals.length > 1) {
      throw new CliError(`expected one of ${OPS.join(", ")}${op !== undefined ? `, got '${ctx.positionals.join(" ")}'` : ""}.\n  usage: mine2hpc miners ${command.usage}`, EXIT.usage);
    }
    const feedName = ctx.values.feed as string | undefined;
    const concurrency = positiveInt(ctx.values.concurrency as string | undefined, "--concurrency", DEFAULT_CONCURRENCY);
    const timeoutSeconds = positiveInt(ctx.values.timeout as string | undefined, "--timeout", DEFAULT_MINER_TIMEOUT_SECONDS);
    const credentials = loadCredentials(ctx);
    const sel = select(ctx, op, feedName);
    const run = await runMiners(sel.miners, op, credentials, { feed: sel.feed, concurrency, timeoutSeconds, webhookUrl: sel.webhookUrl });
    const confirmedFacility = Math.round(run.confirmedWatts * sel.pue);
    const plannedFacility = Math.round(run.plannedWatts * sel.pue);
    const ok = op === "curtail" ? confirmedFacility >= plannedFacility : run.counts.confirmed === run.results.length;
    printResult(ctx, format, {
      data: { op, feed: sel.feed, counts: run.counts, plannedWatts: plannedFacility, confirmedWatts: confirmedFacility, pue: sel.pue, ok, elapsedMs: run.elapsedMs, results: run.results },
      text: () => textReport(minersDoc(op, sel, run, plannedFacility, confirmedFacility)),
      doc: () => minersDoc(op, sel, run, plannedFacility, confirmedFacility),
    });
    return ok ? 0 : 1;
  },
};
export default command;

function positiveInt(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} must be a whole number ≥ 1, got '${v}'.\n  fix: e.g. ${flag} ${dflt}.`, EXIT.usage);
  return n;
}

/** YAML (JSON included); a syntax error reports its line only, never the excerpt (it would show a value). */
const yamlText: TextParser = (text) => {
  try {
    return parseYaml(text, { prettyErrors: false }) as unknown;
  } catch (e) {
    const line = (e as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new Error(`not valid YAML/JSON${line !== undefined ? ` (line ${line})` : ""}`);
  }
};

function loadCredentials(ctx: CommandContext): MinerCredentials {
  const file = ctx.values.credentials as string | undefined;
  try {
    if (file !== undefined) {
      const abs = path.resolve(ctx.cwd, file);
      let text: string;
      try {
        text = readFileSync(abs, "utf8");
      } catch (e) {
        throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).\n  fix: pass the path of the credentials file.`);
      }
      return parseCredentials(text, file, yamlText);
    }
    const env = process.env[CREDENTIALS_ENV];
    if (env !== undefined && env.trim() !== "") return parseCredentials(env, CREDENTIALS_ENV, yamlText);
    return NO_CREDENTIALS;
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

interface Selection {
  feed: string;
  pue: number;
  miners: MinerTargetSpec[];
  webhookUrl: string | null;
}

function select(ctx: CommandContext, op: MinerOp, feedName: string | undefined): Selection {
  const targetsFile = ctx.values.targets as string | undefined;
  if (targetsFile !== undefined) {
    if (ctx.values.stack !== undefined || ctx.values.site !== undefined) throw new CliError("--targets and --stack/--site both given.\n  fix: pass one: a targets JSON, or the site to plan.");
    let text: string;
    try {
      text = readFileSync(path.resolve(ctx.cwd, targetsFile), "utf8");
    } catch (e) {
      throw new CliError(`${targetsFile}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
    }
    let t;
    try {
      t = parseFeedTargets(text, targetsFile);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    if (feedName !== undefined && feedName !== t.feed) throw new CliError(`${targetsFile} is feed ${t.feed}, not ${feedName}.\n  fix: drop --feed or pass that feed's targets.`);
    return { feed: t.feed, pue: t.pue, miners: t.miners, webhookUrl: t.webhookUrl };
  }
  const { plan } = loadAndPlan(siteSourceFromArgs(ctx), ctx.cwd);
  if (feedName === undefined) {
    if (op !== "status") throw new CliError(`--feed is required for ${op}.\n  fix: name the feed to ${op}, e.g. --feed ${firstNonFirm(plan) ?? "FEED"}.`, EXIT.usage);
    return { feed: "(all)", pue: plan.site.pue, miners: plan.asics.map((a) => minerTargetOf(a)), webhookUrl: null };
  }
  const t = feedTargets(plan, feedName);
  if (t === undefined) {
    const known = plan.feeds.map((f) => f.name);
    if (known.includes(feedName)) {
      if (op !== "status") throw new CliError(`feed ${feedName} is firm: it has no curtailment.\n  fix: curtail a non-firm feed (${plan.curtailment.map((c) => c.feed).join(", ") || "none in this site"}).`);
      return { feed: feedName, pue: plan.site.pue, miners: plan.asics.filter((a) => a.feed === feedName).map((a) => minerTargetOf(a)), webhookUrl: null };
    }
    throw new CliError(`unknown feed '${feedName}'.\n  fix: one of ${known.join(", ")}.`);
  }
  return { feed: t.feed, pue: t.pue, miners: t.miners, webhookUrl: t.webhookUrl };
}

function firstNonFirm(plan: FarmPlan): string | undefined {
  return plan.curtailment[0]?.feed;
}

/** The report as sections (for -o md): one result per miner and the confirmed kW against the plan. */
function minersDoc(op: MinerOp, sel: Selection, run: MinerRun, planned: number, confirmed: number): Doc {
  const rows = run.results.map((r) => [
    r.hostname,
    r.driver,
    r.outcome,
    r.hashrateGhs === null ? "-" : (r.hashrateGhs / 1000).toFixed(1),
    r.powerWatts === null ? "-" : String(Math.round(r.powerWatts)),
    r.reason,
  ]);
  const verb = op === "curtail" ? "confirmed shed" : op === "resume" ? "confirmed resumed" : "answering";
  return {
    heading: `mine2hpc miners ${op} --feed ${sel.feed}: ${run.results.length} miner${run.results.length === 1 ? "" : "s"}${sel.webhookUrl ? ` (webhook ${redactUrl(sel.webhookUrl)})` : ""}`,
    summary: [
      `${run.counts.confirmed} confirmed, ${run.counts.failed} failed, ${run.counts.unreachable} unreachable.`,
      `${verb}: ${kw(confirmed)} kW of ${kw(planned)} kW planned (facility, × PUE ${sel.pue}).`,
    ],
    sections: [{ title: "Miners", table: { headers: ["MINER", "DRIVER", "RESULT", "TH/S", "W", "REASON"], align: ["left", "left", "left", "right", "right", "left"], rows } }],
  };
}
/** The report for a terminal: heading, the table, then the counts and kW (the layout scripts have grepped). */
function textReport(doc: Doc): string {
  return [doc.heading, "", textTable(doc.sections[0]!.table!), "", ...doc.summary, ""].join("\n");
}
