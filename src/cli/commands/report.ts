/** `mine2hpc report --html FILE`: the plan as one self-contained HTML page (inline SVG and CSS, no network). */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "../command.js";
import { CliError, SITE_OPTIONS } from "../command.js";
import { displayPath, loadAndPlan, siteSourceFromArgs } from "../site-args.js";
import { renderHtmlReport } from "../../report/index.js";

const command: Command = {
  name: "report",
  summary: "Write the plan as one self-contained HTML page: power tree, pools, stranded power, curtailment timeline.",
  usage: "--html FILE [--stack NAME | --site FILE] [--inventory FILE]",
  description:
    "The page has no scripts and loads nothing from the network, so it can be attached to a ticket or kept as a CI artifact. " +
    "Deterministic: the same site writes the same bytes. Parent folders of FILE are created. Prints the path it wrote.",
  options: {
    ...SITE_OPTIONS,
    html: { type: "string", valueName: "FILE", description: "Where to write the HTML report (parent folders are created)." },
  },
  async run(ctx) {
    const html = ctx.values.html;
    if (typeof html !== "string" || html.trim() === "") {
      throw new CliError("no output file given: the report is written to a file, not the terminal.\n  fix: pass --html FILE, e.g. 'mine2hpc report --html out/report.html --stack demo'.");
    }
    const { plan } = loadAndPlan(siteSourceFromArgs(ctx));
    const file = path.resolve(ctx.cwd, html);
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, renderHtmlReport(plan), "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "error";
      throw new CliError(`cannot write ${displayPath(file, ctx.cwd)} (${code}: ${(err as Error).message}).\n  fix: pass --html with a path in a folder you can write to.`);
    }
    ctx.stdout.write(`${displayPath(file, ctx.cwd)}\n`);
    return 0;
  },
};
export default command;
