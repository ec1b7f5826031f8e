/** `mine2hpc plan`: what mine2hpc would build: pools, caps, loads, curtailment stages. */
import type { Command } from "../command.js";
import { SITE_OPTIONS } from "../command.js";
import { loadAndPlan, siteSourceFromArgs } from "../site-args.js";
import { planDoc } from "../format/plan.js";
import { outputFormat, outputOptions, printResult } from "../output.js";

const command: Command = {
  name: "plan",
  summary: "Show the plan of a site: pools, GPU power caps, circuit and feed loads, curtailment stages.",
  usage: "[--stack NAME | --site FILE] [--inventory FILE] [-o text|json|yaml|md]",
  description: "Pure and deterministic: the same site prints byte-identical output. -o json (or yaml) prints the FarmPlan that the Pulumi program builds from; -o md the report as Markdown tables for a ticket.",
  options: {
    ...SITE_OPTIONS,
    ...outputOptions({ legacyFormat: true }),
  },
  async run(ctx) {
    const format = outputFormat(ctx);
    const { plan } = loadAndPlan(siteSourceFromArgs(ctx), ctx.cwd);
    printResult(ctx, format, { data: plan, doc: () => planDoc(plan) });
    return 0;
  },
};
export default command;
