/** `mine2hpc validate`: load and check a site (and plan it, which finds overloaded circuits). */
import type { Command } from "../command.js";
import { SITE_OPTIONS } from "../command.js";
import { displayPath, loadAndPlan, siteSourceFromArgs } from "../site-args.js";
import { unpinnedHostKeyWarning } from "../../plan/plan.js";
import { outStyle, outputFormat, outputOptions, printResult } from "../output.js";

const command: Command = {
  name: "validate",
  summary: "Check a site: schema, references, addresses, CIDRs, catalog models and power budgets.",
  usage: "[--stack NAME | --site FILE] [--inventory FILE] [--strict] [-o text|json|yaml|md]",
  description: "Reports every problem with file, line and a fix, and exits 2 if there is any. Nothing is applied. -o json/yaml prints the summary (ok, counts, warnings); with --quiet only the exit code tells.",
  options: {
    ...SITE_OPTIONS,
    strict: { type: "boolean", description: "Also fail on machines pulumi up would reach without a pinned SSH host key (for CI)." },
    ...outputOptions(),
  },
  async run(ctx) {
    const format = outputFormat(ctx);
    const source = siteSourceFromArgs(ctx);
    const { plan } = loadAndPlan(source, ctx.cwd, { strict: ctx.values.strict === true });
    const file = displayPath(source.siteFile, ctx.cwd);
    const hostKeys = unpinnedHostKeyWarning(plan);
    const warnings = hostKeys === null ? plan.warnings : [...plan.warnings, hostKeys];
    const t = plan.totals;
    const data = { ok: true, site: plan.site.name, file, machines: t.machines, nodes: t.nodes, gpus: t.gpus, asics: t.asics, pools: plan.pools.length, warnings };
    const verdict = `site ${plan.site.name} is valid: ${t.machines} machines (${t.nodes} nodes, ${t.gpus} GPUs, ${t.asics} ASIC miners), ${plan.pools.length} pools, ${warnings.length} warning${warnings.length === 1 ? "" : "s"}.`;
    const style = outStyle(ctx);
    printResult(ctx, format, {
      data,
      text: () => `${file}: ${style.green(verdict)}\n${warnings.map((w) => `${style.yellow("warning:")} ${w}\n`).join("")}`,
      doc: () => ({
        heading: `${file}: ${verdict}`,
        summary: [],
        sections: [{ title: "Warnings", lines: warnings.length > 0 ? warnings.map((w) => `- ${w}`) : ["(none)"] }],
      }),
    });
    return 0;
  },
};
export default command;
