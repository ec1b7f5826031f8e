/**
 * `mine2hpc curtail start|end --feed NAME`: shed (or restore) a non-firm feed's load now,
 * for a dispatch nobody scheduled — an ERCOT ERS / demand-response call that wants the load
 * off within minutes. Every non-firm feed with something to shed has a suspended `manual`
 * start and end CronJob (windows or not); this creates a Job from one of them, as
 * `kubectl create job --from=cronjob/…` does, so the manual run is the very same script,
 * image, RBAC and targets as a scheduled one.
 *
 * The CronJob is read from the cluster (what the last `pulumi up` applied), not from the
 * local plan; the plan supplies which CronJob, and the stages and response time to show.
 */
import { stringify } from "yaml";
import type { Command } from "../command.js";
import { CliError, EXIT, SITE_OPTIONS } from "../command.js";
import { outputFormat, outputOptions, printResult } from "../output.js";
import { loadAndPlan, siteSourceFromArgs } from "../site-args.js";
import { kw } from "../format/table.js";
import type { FarmPlan, FeedCurtailment } from "../../plan/types.js";
import { renderCurtailment } from "../../render/curtailment.js";
import { NAMESPACES } from "../../render/versions.js";
import { findCurtailmentCronJob, jobFromCronJob, manualJobName, type CronJobSource, type CurtailPhase, type ManualJob } from "../../live/curtail.js";

const PHASES: readonly CurtailPhase[] = ["start", "end"];

const command: Command = {
  name: "curtail",
  summary: "Start or end a feed's curtailment now (unscheduled dispatch): runs its CronJob's job on the live cluster.",
  usage: "start|end --feed NAME [--stack NAME | --site FILE] [--kubeconfig FILE] [--context NAME] [--dry-run] [-o text|json|yaml|md]",
  description: [
    "For a grid dispatch that no window schedules (e.g. ERCOT ERS: load off within 10 minutes). Creates a Job from the feed's",
    "start (or end) CronJob, like 'kubectl create job --from=cronjob/NAME', and prints the plan's stages with their kW and",
    "the response-time check. The feed must be non-firm with something to shed; its suspended 'manual' CronJobs (rendered",
    "with or without windows) are the job template. Needs the site's kubeconfig: 'mine2hpc kubeconfig --stack NAME' writes it.",
  ].join("\n"),
  options: {
    feed: { type: "string", valueName: "NAME", description: "Non-firm feed to curtail (power.feeds[].name). Required." },
    ...SITE_OPTIONS,
    kubeconfig: { type: "string", valueName: "FILE", description: "Kubeconfig of the site's cluster. Default: KUBECONFIG, then ~/.kube/config." },
    context: { type: "string", valueName: "NAME", description: "Kubeconfig context to use. Default: its current-context." },
    "dry-run": { type: "boolean", description: "Print the Job (text: as YAML; -o json/yaml: the result with the Job as manifest) and call no API; needs no kubeconfig." },
    ...outputOptions(),
  },
  async run(ctx) {
    const format = outputFormat(ctx);
    const phase = phaseArg(ctx.positionals);
    const feedName = ctx.values.feed as string | undefined;
    if (feedName === undefined || feedName === "") {
      throw new CliError(`--feed is required.\n  usage: mine2hpc curtail ${command.usage}\n  fix: name the non-firm feed to curtail, e.g. --feed ercot-flex.`, EXIT.usage);
    }
    const { plan } = loadAndPlan(siteSourceFromArgs(ctx), ctx.cwd);
    const feed = feedCurtailment(plan, feedName);
    const rendered = findCurtailmentCronJob(renderCurtailment(plan), feed.feed, phase);
    if (rendered === undefined) {
      // Non-firm (checked above), so the renderer skipped it: no window and no stage with a target.
      throw new CliError(
        [
          `feed ${feed.feed} has nothing to shed (no ASIC miner, GPU pool or ClusterQueue on it) and no curtailment window, so no curtailment CronJob is rendered for it and 'curtail' has nothing to run.`,
          `  fix: nothing on this feed needs shedding; to make it curtailable, put ASIC miners or GPU machines on circuits of this feed (power.circuits[].feed: ${feed.feed}) and run 'pulumi up'.`,
        ].join("\n"),
      );
    }
    const cronJobName = rendered.metadata.name;
    const namespace = rendered.metadata.namespace ?? NAMESPACES.mine2hpc;
    const jobName = manualJobName(cronJobName, new Date());
    const kubeconfigFlag = ctx.values.kubeconfig as string | undefined;
    const contextFlag = ctx.values.context as string | undefined;
    const follow = followCommand(namespace, jobName, kubeconfigFlag, contextFlag);

    if (ctx.values["dry-run"]) {
      // No API call: the rendered CronJob has no uid, so the Job has no ownerReference yet.
      const job = jobFromCronJob(rendered as unknown as CronJobSource, jobName);
      const about = [
        `mine2hpc curtail ${phase} --feed ${feed.feed} --dry-run: the Job it would create; nothing was sent to a cluster.`,
        `The live CronJob ${cronJobName} is its template; its uid becomes the Job's ownerReference when created.`,
      ];
      const manifest = stringify(job, { lineWidth: 0 }).trimEnd();
      printResult(ctx, format, {
        data: summary(plan, feed, phase, { cronJobName, namespace, jobName, follow, created: false, job }),
        text: () => [...about.map((l) => `# ${l}`), manifest, ""].join("\n"),
        md: () => [about.join(" "), "", "```yaml", manifest, "```", ""].join("\n"),
      });
      return 0;
    }

    // Loaded only here: a dry run and every flag error stay fast and need no client library.
    const { loadKubeConfig, batchClient, LiveError } = await import("../../live/kube.js");
    let job: ManualJob;
    try {
      const live = loadKubeConfig({ cwd: ctx.cwd, ...(kubeconfigFlag !== undefined ? { file: kubeconfigFlag } : {}), ...(contextFlag !== undefined ? { context: contextFlag } : {}) });
      const client = batchClient(live);
      const cronJob = (await client.readCronJob(cronJobName, namespace)) as unknown as CronJobSource;
      job = jobFromCronJob(cronJob, jobName);
      await client.createJob(namespace, job);
    } catch (err) {
      if (err instanceof LiveError) throw new CliError(err.message);
      throw err;
    }
    const report = () => textReport(plan, feed, phase, { cronJobName, namespace, jobName, follow });
    printResult(ctx, format, {
      data: summary(plan, feed, phase, { cronJobName, namespace, jobName, follow, created: true, job }),
      text: report,
      md: () => `\`\`\`\n${report()}\`\`\`\n`,
    });
    return 0;
  },
};
export default command;

function phaseArg(positionals: string[]): CurtailPhase {
  const [phase, ...extra] = positionals;
  if (phase === undefined || !(PHASES as readonly string[]).includes(phase) || extra.length > 0) {
    const got = positionals.length === 0 ? "nothing" : `'${positionals.join(" ")}'`;
    throw new CliError(`expected 'start' or 'end', got ${got}.\n  usage: mine2hpc curtail ${command.usage}\n  fix: 'mine2hpc curtail start --feed NAME' sheds the feed's load; 'end' restores it.`, EXIT.usage);
  }
  return phase as CurtailPhase;
}

/** The feed's curtailment plan, or an error that lists the feeds that have one. */
function feedCurtailment(plan: FarmPlan, name: string): FeedCurtailment {
  const found = plan.curtailment.find((c) => c.feed === name);
  if (found !== undefined && found.tier !== "firm") return found;
  const nonFirm = plan.curtailment.filter((c) => c.tier !== "firm").map((c) => c.feed);
  const choose = nonFirm.length > 0 ? `pass one of the site's non-firm feeds: ${nonFirm.join(", ")}` : "the site has no non-firm feed: nothing can be curtailed";
  const feed = plan.feeds.find((f) => f.name === name);
  if (feed !== undefined) {
    throw new CliError(`feed ${name} is firm: mine2hpc never curtails a firm feed (it keeps the control plane up).\n  fix: ${choose}.`);
  }
  throw new CliError(`site ${plan.site.name} has no feed named '${name}'.\n  fix: ${choose}.`);
}

/** `kubectl … logs job/NAME -f`, with the same kubeconfig and context as this run. */
function followCommand(namespace: string, jobName: string, kubeconfig: string | undefined, context: string | undefined): string {
  const parts = ["kubectl"];
  if (kubeconfig !== undefined) parts.push("--kubeconfig", shellWord(kubeconfig));
  if (context !== undefined) parts.push("--context", shellWord(context));
  parts.push("-n", namespace, "logs", `job/${jobName}`, "-f");
  return parts.join(" ");
}

/** Quotes a word for a POSIX shell when it needs it (paths with spaces). */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

interface RunFacts {
  cronJobName: string;
  namespace: string;
  jobName: string;
  follow: string;
}

/** What the end job restores, from the same targets the start job shed. */
function restores(feed: FeedCurtailment): string[] {
  const targetsOf = (action: string) => feed.stages.filter((s) => s.action === action).flatMap((s) => s.targets);
  const asics = targetsOf("asics-off");
  const pools = targetsOf("gpu-caps-to-min");
  const out: string[] = [];
  if (pools.length > 0) out.push(`GPU caps back to plan (override label removed) in pools ${pools.join(", ")}`);
  if (feed.clusterQueues.length > 0) out.push(`stopPolicy None on ClusterQueues ${feed.clusterQueues.join(", ")}`);
  if (asics.length > 0) out.push(`asics-on for ${asics.length} ASIC miner${asics.length === 1 ? "" : "s"}${feed.asicWebhook === null ? " (no webhook: the fleet tool must power them on)" : " (webhook)"}`);
  return out;
}

function textReport(plan: FarmPlan, feed: FeedCurtailment, phase: CurtailPhase, run: RunFacts): string {
  const lines: string[] = [];
  const verb = phase === "start" ? "Started curtailment" : "Ended curtailment";
  lines.push(`${verb} of feed ${feed.feed} (${feed.tier}) on site ${plan.site.name}.`);
  lines.push(`  Job ${run.jobName} in namespace ${run.namespace}, from CronJob ${run.cronJobName}.`);
  if (phase === "start") {
    const rt = feed.responseTimeSeconds === null ? "no required response time" : `response within ${feed.responseTimeSeconds} s`;
    lines.push(`  Stages in plan order (${rt}):`);
    for (const s of feed.stages) {
      if (s.targets.length === 0) {
        lines.push(`    ${s.order}. ${s.action.padEnd(16)} nothing to shed on this feed`);
        continue;
      }
      const ok = feed.responseTimeSeconds === null ? "" : s.meetsResponseTime ? "  meets response time" : "  LATE";
      lines.push(`    ${s.order}. ${s.action.padEnd(16)} sheds ${kw(s.shedWatts).padStart(8)} kW (total ${kw(s.cumulativeShedWatts)} kW) after ${s.completeAfterSeconds} s${ok}`);
    }
    lines.push(`  Residual load ${kw(feed.residualWatts)} kW.`);
    const late = feed.stages.filter((s) => s.targets.length > 0 && !s.meetsResponseTime);
    if (feed.responseTimeSeconds !== null && late.length > 0) {
      lines.push(`  WARNING: ${late.map((s) => s.action).join(", ")} take effect after the required ${feed.responseTimeSeconds} s.`);
    }
    const asics = feed.stages.filter((s) => s.action === "asics-off").flatMap((s) => s.targets);
    if (asics.length > 0 && feed.asicWebhook === null) {
      lines.push(`  ACT NOW: no ASIC webhook is set; the job only lists the ${asics.length} miners: power them off with the fleet tool.`);
    }
  } else {
    const r = restores(feed);
    lines.push(`  Restores: ${r.length > 0 ? r.join("; ") : "nothing (no targets on this feed)"}.`);
  }
  lines.push(`Follow it: ${run.follow}`);
  return lines.join("\n") + "\n";
}

/** The --json shape: what ran, and the plan's view of the feed. */
function summary(
  plan: FarmPlan,
  feed: FeedCurtailment,
  phase: CurtailPhase,
  run: RunFacts & { created: boolean; job?: ManualJob },
): Record<string, unknown> {
  return {
    site: plan.site.name,
    feed: feed.feed,
    tier: feed.tier,
    phase,
    namespace: run.namespace,
    cronJob: run.cronJobName,
    job: run.jobName,
    created: run.created,
    responseTimeSeconds: feed.responseTimeSeconds,
    meetsResponseTime: feed.stages.every((s) => s.targets.length === 0 || s.meetsResponseTime),
    stages: feed.stages,
    residualWatts: feed.residualWatts,
    followCommand: run.follow,
    ...(run.job !== undefined ? { manifest: run.job } : {}),
  };
}
