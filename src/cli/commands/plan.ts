/** `mine2hpc plan`: what mine2hpc would build: pools, caps, loads, curtailment stages. */
import type { Command } from "../command.js";
import { CliError, SITE_OPTIONS } from "../command.js";
import { loadAndPlan, siteSourceFromArgs } from "../site-args.js";
import { planMarkdown, planText } from "../format/plan.js";

const FORMATS = ["text", "md", "json"] as const;

const command: Command = {
  name: "plan",
  summary: "Show the plan of a site: pools, GPU power caps, circuit and feed loads, curtailment stages.",
  usage: "[--stack NAME | --site FILE] [--inventory FILE] [--json | --format text|md|json]",
  description: "Pure and deterministic: the same site prints byte-identical output. --json prints the FarmPlan that the Pulumi program builds from.",
  options: {
    ...SITE_OPTIONS,
    json: { type: "boolean", description: "Print the FarmPlan as JSON (same as --format json)." },
    format: { type: "string", valueName: "FORMAT", description: "Output format: text (default), md (Markdown for a ticket) or json." },
  },
  async run(ctx) {
    if (ctx.values.json && ctx.values.format !== undefined && ctx.values.format !== "json") {
      throw new CliError(`--json and --format ${String(ctx.values.format)} contradict each other.\n  fix: pass one of them.`);
    }
    const format = ctx.values.json ? "json" : ((ctx.values.format as string | undefined) ?? "text");
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw new CliError(`unknown format '${format}'.\n  fix: use --format text, md or json.`);
    }
    const { plan } = loadAndPlan(siteSourceFromArgs(ctx), ctx.cwd);
    ctx.stdout.write(format === "json" ? JSON.stringify(plan, null, 2) + "\n" : format === "md" ? planMarkdown(plan) : planText(plan));
    return 0;
  },
};
export default command;
