/**
 * `mine2hpc templates [show NAME]`: the site templates a new site starts from, each with
 * its story and the figures that tell them apart (MW, GPUs, ASICs, power tiers).
 *
 * Also exports the template lookup `init` uses, so both agree on where templates live.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "../command.js";
import { CliError, EXIT } from "../command.js";
import { outputFormat, outputOptions, printResult } from "../output.js";
import { selfCommand } from "../invocation.js";
import { markdownTable, type Table } from "../format/table.js";
import { findRepoRoot, loadAndPlan } from "../site-args.js";
import { TIER_ORDER } from "../../plan/index.js";
import type { FarmPlan } from "../../plan/types.js";
import type { SiteSpec } from "../../site/schema.js";

/** A site template: `templates/<name>/site.yaml` with an optional README.md and inventory. */
export interface TemplateInfo {
  name: string;
  dir: string;
  siteFile: string;
  /** README.md text, or undefined when the template has none. */
  readme?: string;
  /** First sentence of the story: the one line `mine2hpc templates` shows. */
  summary: string;
  /** First paragraph of the README (else of the site file's leading comment), on one line. */
  story: string;
}

/** What sets a template apart, computed by loading and planning it. */
export interface TemplateFigures {
  /** Σ feed capacity, in MW. */
  feedCapacityMw: number;
  /** Planned facility load (IT × PUE), in MW. */
  facilityLoadMw: number;
  /** GPUs by catalog model, sorted by model. */
  gpusByModel: Record<string, number>;
  gpus: number;
  asics: number;
  /** Power tiers of the site's feeds, firm first. */
  tiers: string[];
  machines: number;
  nodes: number;
  pools: number;
}

/**
 * Where templates are: the project's own `templates/` (a site repository may add its own),
 * else the ones shipped with mine2hpc, so `templates` works from any folder.
 */
export function templatesDir(cwd: string): string {
  const local = path.join(findRepoRoot(cwd), "templates");
  if (existsSync(local)) return local;
  return fileURLToPath(new URL("../../../templates/", import.meta.url));
}

/** Every template (a folder holding site.yaml), by name. */
export function listTemplates(cwd: string): TemplateInfo[] {
  const dir = templatesDir(cwd);
  let names: string[] = [];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, "site.yaml")))
      .map((e) => e.name)
      .sort();
  } catch {
    names = [];
  }
  return names.map((name) => readTemplate(dir, name));
}

/** The template NAME; a `CliError` listing the names when there is none. */
export function findTemplate(cwd: string, name: string): TemplateInfo {
  const all = listTemplates(cwd);
  const found = all.find((t) => t.name === name);
  if (!found) {
    throw new CliError(`no template named '${name}'.\n  fix: use one of ${all.map((t) => t.name).join(", ") || "(none found: is there a templates/ folder?)"} (run 'mine2hpc templates' to see them).`);
  }
  return found;
}

function readTemplate(dir: string, name: string): TemplateInfo {
  const tdir = path.join(dir, name);
  const siteFile = path.join(tdir, "site.yaml");
  const readmeFile = path.join(tdir, "README.md");
  const readme = existsSync(readmeFile) ? readFileSync(readmeFile, "utf8") : undefined;
  const story = readme !== undefined ? firstParagraph(readme.split("\n"), (l) => l) : firstParagraph(commentLines(readFileSync(siteFile, "utf8")), (l) => l);
  return { name, dir: tdir, siteFile, ...(readme !== undefined ? { readme } : {}), summary: firstSentence(story), story };
}

/** The site file's leading `#` comment, without the markers and the editor-schema line. */
function commentLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("#")) break;
    if (line.includes("yaml-language-server:")) continue;
    out.push(line.replace(/^#\s?/, ""));
  }
  return out;
}

/** First paragraph that is not a heading, joined into one line. */
function firstParagraph(lines: readonly string[], map: (l: string) => string): string {
  const para: string[] = [];
  for (const raw of lines) {
    const line = map(raw).trim();
    if (line === "" || line.startsWith("#")) {
      if (para.length > 0) break;
      continue;
    }
    para.push(line);
  }
  return para.join(" ");
}

function firstSentence(text: string): string {
  const m = /^(.*?[.!?])(\s+[A-Z0-9]|$)/.exec(text);
  return m ? m[1]! : text;
}

/** Key figures of a loaded and planned site. */
export function templateFigures(spec: SiteSpec, plan: FarmPlan): TemplateFigures {
  const gpusByModel: Record<string, number> = {};
  for (const node of [...plan.nodes].sort((a, b) => (a.gpu?.model ?? "").localeCompare(b.gpu?.model ?? ""))) {
    if (node.gpu) gpusByModel[node.gpu.model] = (gpusByModel[node.gpu.model] ?? 0) + node.gpu.count;
  }
  const feedKw = spec.power.feeds.reduce((sum, f) => sum + f.capacityKw, 0);
  return {
    feedCapacityMw: round3(feedKw / 1000),
    facilityLoadMw: round3(plan.totals.facilityWatts / 1e6),
    gpusByModel,
    gpus: plan.totals.gpus,
    asics: plan.totals.asics,
    tiers: TIER_ORDER.filter((t) => spec.power.feeds.some((f) => f.tier === t)),
    machines: plan.totals.machines,
    nodes: plan.totals.nodes,
    pools: plan.pools.length,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Figures as label and value pairs: the one source of the text lines and the Markdown table. */
export function figurePairs(f: TemplateFigures): Array<[string, string]> {
  const gpuModels = Object.entries(f.gpusByModel).map(([model, n]) => `${n} × ${model}`);
  return [
    ["feed capacity", `${f.feedCapacityMw.toFixed(3)} MW`],
    ["planned load", `${f.facilityLoadMw.toFixed(3)} MW facility (IT × PUE, at the planned GPU caps)`],
    ["GPUs", `${f.gpus}${gpuModels.length > 0 ? ` (${gpuModels.join(", ")})` : ""}`],
    ["ASIC miners", `${f.asics}`],
    ["power tiers", f.tiers.join(", ")],
    ["machines", `${f.machines} (${f.nodes} Kubernetes nodes, ${f.pools} GPU pool${f.pools === 1 ? "" : "s"})`],
  ];
}

/** Figures as a two-column table (Markdown output of `templates show`, `init`, `new`). */
export function figureTable(f: TemplateFigures): Table {
  return { headers: ["FIGURE", "VALUE"], rows: figurePairs(f) };
}

/** Figures as the text lines `templates show` and `init` print. */
export function figureLines(f: TemplateFigures): string[] {
  return figurePairs(f).map(([label, value]) => `  ${label.padEnd(17)}${value}`);
}

const command: Command = {
  name: "templates",
  summary: "List the site templates, or show one's story and key figures (templates show NAME).",
  usage: "[show NAME] [-o text|json|yaml|md]",
  description: "A new site starts from a template: mine2hpc init STACK --template NAME copies it into stacks/STACK/.",
  options: {
    ...outputOptions(),
  },
  async run(ctx) {
    const format = outputFormat(ctx);
    const [sub, name, ...extra] = ctx.positionals;
    if (sub === undefined) {
      const all = listTemplates(ctx.cwd);
      if (all.length === 0 && format === "text") throw new CliError("no templates found.\n  fix: run mine2hpc from the project folder (it holds templates/).");
      printResult(ctx, format, {
        data: all.map((t) => ({ name: t.name, summary: t.summary, story: t.story })),
        text: () => {
          const width = Math.max(...all.map((t) => t.name.length));
          const rows = all.map((t) => `${t.name.padEnd(width)}  ${t.summary}\n`).join("");
          return `${rows}\nRun '${selfCommand(ctx, "templates show NAME")}' for a template's story and figures, '${selfCommand(ctx, "init STACK --template NAME")}' to start a site from it.\n`;
        },
        doc: () => ({
          heading: "Site templates",
          summary: [],
          sections: [{ title: "Templates", table: { headers: ["TEMPLATE", "SUMMARY"], rows: all.map((t) => [t.name, t.summary]) } }],
        }),
      });
      return 0;
    }
    if (sub !== "show") throw new CliError(`unknown templates action '${sub}'.\n  fix: run 'mine2hpc templates' to list them or 'mine2hpc templates show NAME'.`, EXIT.usage);
    if (name === undefined) throw new CliError(`which template?\n  fix: mine2hpc templates show NAME (one of ${listTemplates(ctx.cwd).map((t) => t.name).join(", ")}).`, EXIT.usage);
    if (extra.length > 0) throw new CliError(`one template at a time, got ${[name, ...extra].join(", ")}.\n  fix: mine2hpc templates show NAME.`, EXIT.usage);
    const t = findTemplate(ctx.cwd, name);
    const { loaded, plan } = loadAndPlan({ siteFile: t.siteFile, repoRoot: findRepoRoot(ctx.cwd) });
    const figures = templateFigures(loaded.spec, plan);
    const body = (t.readme ?? t.story).trimEnd();
    const from = `planned from templates/${t.name}/site.yaml`;
    printResult(ctx, format, {
      data: { name: t.name, summary: t.summary, story: t.story, readme: t.readme ?? null, figures },
      text: () => `${body}\n\nKey figures (${from}):\n${figureLines(figures).join("\n")}\n`,
      // The README is Markdown already; the figures follow as a table.
      md: () => `${body}\n\n### Key figures\n\n${markdownTable(figureTable(figures))}\n\n(${from})\n`,
    });
    return 0;
  },
};
export default command;
