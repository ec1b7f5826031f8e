/**
 * `mine2hpc mirror list`: every artifact URL and pinned container image a site needs, with
 * where the site's mirror must serve each, so an operator can fill the mirror before the site
 * goes dark (src/render/mirror.ts `siteArtifacts`).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import type { Command } from "../command.js";
import { CliError, EXIT, SITE_OPTIONS } from "../command.js";
import { outputFormat, outputOptions, printResult } from "../output.js";
import type { Doc } from "../format/doc.js";
import { loadAndPlan, siteSourceFromArgs } from "../site-args.js";
import { siteArtifacts, siteCharts, type SiteArtifacts } from "../../render/mirror.js";
import type { FarmPlan } from "../../plan/types.js";

/**
 * Values files of the site's charts found in `dir`, laid out as `../shared/fixtures` is:
 * `<chart>-v<version>/values.yaml`. Charts without one are left out.
 */
export function readChartValues(plan: FarmPlan, dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, pin } of siteCharts(plan)) {
    const file = path.join(dir, `${pin.chart}-${pin.version.startsWith("v") ? pin.version : `v${pin.version}`}`, "values.yaml");
    if (existsSync(file)) out[key] = parse(readFileSync(file, "utf8")) as unknown;
  }
  return out;
}

/** Human-readable listing: URLs, then images, each with its mirror location. */
export function mirrorListText(plan: FarmPlan, a: SiteArtifacts): string {
  const lines = [`site ${plan.site.name}: ${a.urls.length} files and ${a.images.length} images to mirror`, "", "Files (URL → site mirror):"];
  for (const u of a.urls) lines.push(`  ${u.what}`, `    ${u.source}`, `    → ${u.mirror ?? "(no mirror set: fetched from the source)"}`);
  lines.push("", "Images, pinned (→ site registry mirror):");
  for (const i of a.images) lines.push(`  ${i.image}  [${i.what}]${i.mirror !== null ? `\n    → ${i.mirror}` : ""}`);
  if (a.chartsWithoutImages.length > 0) {
    lines.push("", `Not listed: the images of ${a.chartsWithoutImages.join(", ")} (no values file given: --chart-values DIR with <chart>-v<version>/values.yaml).`);
  }
  return lines.join("\n") + "\n";
}

/** The same listing as tables (for -o md). */
export function mirrorListDoc(plan: FarmPlan, a: SiteArtifacts): Doc {
  const none = "(no mirror set: fetched from the source)";
  return {
    heading: `Site ${plan.site.name}: ${a.urls.length} files and ${a.images.length} images to mirror`,
    summary: a.chartsWithoutImages.length > 0 ? [`not listed: the images of ${a.chartsWithoutImages.join(", ")} (no values file given: --chart-values DIR)`] : [],
    sections: [
      { title: "Files", table: { headers: ["WHAT", "SOURCE", "SITE MIRROR"], rows: a.urls.map((u) => [u.what, u.source, u.mirror ?? none]) } },
      { title: "Images (pinned)", table: { headers: ["IMAGE", "WHAT", "SITE MIRROR"], rows: a.images.map((i) => [i.image, i.what, i.mirror ?? ""]) } },
    ],
  };
}

const command: Command = {
  name: "mirror",
  summary: "List every artifact URL and pinned container image the site needs, for an air-gapped mirror.",
  usage: "list [--stack NAME | --site FILE] [--chart-values DIR] [-o text|json|yaml|md]",
  description:
    "Prints the k3s installer, binary, checksums and airgap image archive of the pinned version, every Helm chart, and the container images pinned in the charts' values (where a values file is found) and in mine2hpc itself, each with the location the site mirror (site 'mirror') must serve it at. Charts' values are read from --chart-values DIR, default ../shared/fixtures next to the repository when present.",
  options: {
    ...SITE_OPTIONS,
    "chart-values": { type: "string", valueName: "DIR", description: "Folder holding <chart>-v<version>/values.yaml of the pinned charts (default ../shared/fixtures when present)." },
    ...outputOptions(),
  },
  async run(ctx) {
    const format = outputFormat(ctx);
    const sub = ctx.positionals[0];
    if (sub !== "list" || ctx.positionals.length > 1) {
      throw new CliError(`${sub === undefined ? "missing subcommand" : `unknown subcommand '${ctx.positionals.join(" ")}'`}.\n  usage: mine2hpc mirror ${command.usage}`, EXIT.usage);
    }
    const source = siteSourceFromArgs(ctx);
    const { plan } = loadAndPlan(source, ctx.cwd);
    const flag = ctx.values["chart-values"] as string | undefined;
    const dir = flag !== undefined ? path.resolve(ctx.cwd, flag) : path.resolve(source.repoRoot, "..", "shared", "fixtures");
    if (flag !== undefined && !existsSync(dir)) throw new CliError(`--chart-values ${flag}: no such folder.\n  fix: point it at a folder with <chart>-v<version>/values.yaml files.`);
    const artifacts = siteArtifacts(plan, existsSync(dir) ? readChartValues(plan, dir) : {});
    printResult(ctx, format, { data: artifacts, text: () => mirrorListText(plan, artifacts), doc: () => mirrorListDoc(plan, artifacts) });
    return 0;
  },
};
export default command;
