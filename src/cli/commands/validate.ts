/** `mine2hpc validate`: load and check a site (and plan it, which finds overloaded circuits). */
import type { Command } from "../command.js";
import { SITE_OPTIONS } from "../command.js";
import { displayPath, loadAndPlan, siteSourceFromArgs } from "../site-args.js";
import { unpinnedHostKeyWarning } from "../../plan/plan.js";

const command: Command = {
  name: "validate",
  summary: "Check a site: schema, references, addresses, CIDRs, catalog models and power budgets.",
  usage: "[--stack NAME | --site FILE] [--inventory FILE] [--strict] [--json]",
  description: "Reports every problem with file, line and a fix, and exits 2 if there is any. Nothing is applied.",
  options: {
    ...SITE_OPTIONS,
    json: { type: "boolean", description: "Print a JSON summary (ok, counts) instead of text." },
    strict: { type: "boolean", description: "Also fail on machines pulumi up would reach without a pinned SSH host key (for CI)." },
  },
  async run(ctx) {
    const source = siteSourceFromArgs(ctx);
    const { plan } = loadAndPlan(source, ctx.cwd, { strict: ctx.values.strict === true });
    const file = displayPath(source.siteFile, ctx.cwd);
    const hostKeys = unpinnedHostKeyWarning(plan);
    const warnings = hostKeys === null ? plan.warnings : [...plan.warnings, hostKeys];
    if (ctx.values.json) {
      ctx.stdout.write(
        JSON.stringify({ ok: true, site: plan.site.name, file, machines: plan.totals.machines, nodes: plan.totals.nodes, gpus: plan.totals.gpus, asics: plan.totals.asics, warnings }, null, 2) + "\n",
      );
    } else {
      ctx.stdout.write(
        `${file}: site ${plan.site.name} is valid: ${plan.totals.machines} machines (${plan.totals.nodes} nodes, ${plan.totals.gpus} GPUs, ${plan.totals.asics} ASIC miners), ${plan.pools.length} pools, ${warnings.length} warning${warnings.length === 1 ? "" : "s"}.\n`,
      );
      for (const w of warnings) ctx.stdout.write(`warning: ${w}\n`);
    }
    return 0;
  },
};
export default command;
