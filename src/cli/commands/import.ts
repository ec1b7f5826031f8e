/** `mine2hpc import`: a fleet tool's export → inventory CSV rows, all or nothing. */
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "../command.js";
import { CliError } from "../command.js";
import { displayPath } from "../site-args.js";
import { readInputText } from "../../site/input.js";
import { loadSiteCatalog } from "../../site/load.js";
import { formatProblem, SiteError, type Problem } from "../../site/problems.js";
import { IMPORT_SOURCES, MAP_FIELDS, importFleet, inventoryCsv, parseCircuitRules, parseMapFlags, type ImportResult, type ImportSource, type ImportOptions } from "../../import/index.js";

/** Hostname changes and problems listed one by one before the rest is summarized, so a broken 100k-row file stays readable. */
const LIST_LIMIT = 100;

/** The file as UTF-8 text; a missing, binary, UTF-16 or private-key file is a CliError that names it, never shows it. */
function readText(file: string, what: string, shown: string): string {
  const read = readInputText(file, what, shown);
  if (read.ok) return read.text;
  throw new CliError(`${read.message}.\n  fix: ${read.fix}.`);
}

function problemJson(p: Problem) {
  return { file: p.source?.file ?? null, line: p.source?.line ?? null, ...(p.source?.column ? { column: p.source.column } : {}), message: p.message, fix: p.fix };
}

const command: Command = {
  name: "import",
  summary: "Turn a fleet tool's export (Foreman, Hive OS, any CSV) into inventory rows.",
  usage: "--from foreman|hiveos|csv FILE [--circuits RULES] [--map FIELD=COLUMN ...] [--site SITE] [--out FILE] [--json]",
  description: [
    "Fleet tools do not record circuits: --circuits names a YAML file whose rules map racks, rows or IP ranges to circuits",
    "(first match wins), e.g. rules: [{ rack: \"A01-A04\", circuit: pdu-a1 }, { ip: \"10.20.1.0/25\", circuit: pdu-b1 }].",
    "Hostnames become DNS labels (each change is listed). When any row cannot be used, every such row is listed",
    "with file:line and the reason, and nothing is written (exit 2). Rows keep the export's order.",
  ].join("\n"),
  options: {
    from: { type: "string", valueName: "TOOL", description: "Export format: foreman (miner CSV export), hiveos (workers JSON) or csv (any CSV, with --map)." },
    circuits: { type: "string", valueName: "RULES", description: "YAML rules mapping rack/row ranges or IP ranges (CIDR or first-last) to circuits." },
    map: {
      type: "string",
      valueName: "FIELD=COLUMN",
      multiple: true,
      description: `Read FIELD from a CSV column, e.g. --map ip="IP Address"; repeat for each field. FIELD: ${MAP_FIELDS.join(", ")} (model = a GPU or ASIC model, routed to gpuModel or asicModel; row = a location for --circuits rules).`,
    },
    site: {
      type: "string",
      valueName: "SITE",
      description: "Site file whose own catalog (catalog.gpus, catalog.asics) is searched before the built-in one, so models the site adds are recognized.",
    },
    out: { type: "string", valueName: "FILE", description: "Write the inventory CSV here instead of stdout." },
    json: { type: "boolean", description: "Print the result (machines, warnings, renamed hostnames, problems) as JSON." },
  },
  async run(ctx) {
    const from = ctx.values.from as string | undefined;
    if (from === undefined) throw new CliError(`which tool made the export?\n  fix: pass --from ${IMPORT_SOURCES.join("|")}.`);
    if (!(IMPORT_SOURCES as readonly string[]).includes(from)) throw new CliError(`unknown export format '${from}'.\n  fix: use --from ${IMPORT_SOURCES.join(", --from ")}.`);
    const source = from as ImportSource;
    const [fileArg, ...extra] = ctx.positionals;
    if (fileArg === undefined) throw new CliError("no export file given.\n  fix: mine2hpc import --from " + source + " FILE.");
    if (extra.length > 0) throw new CliError(`one export file at a time, got ${ctx.positionals.length} (${ctx.positionals.join(", ")}).\n  fix: import each file separately.`);
    const mapFlags = ((ctx.values.map as string[] | undefined) ?? []).map(String);
    let map: ImportOptions["map"];
    try {
      map = parseMapFlags(mapFlags);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    if (source === "hiveos" && mapFlags.length > 0) throw new CliError("--map applies to CSV exports; Hive OS workers have fixed fields.\n  fix: drop --map, or export the workers as CSV and use --from csv.");
    const rulesArg = ctx.values.circuits as string | undefined;
    if (source === "hiveos" && rulesArg === undefined) throw new CliError("Hive OS records no circuits.\n  fix: pass --circuits RULES, a YAML file mapping IP ranges to circuits, e.g. rules: [{ ip: \"10.20.1.0/25\", circuit: pdu-b1 }].");

    const file = path.resolve(ctx.cwd, fileArg);
    const shown = displayPath(file, ctx.cwd);
    const text = readText(file, "export file", shown);
    const opts: ImportOptions = {};
    if (map && Object.keys(map).length > 0) opts.map = map;
    if (rulesArg !== undefined) {
      const rulesFile = path.resolve(ctx.cwd, rulesArg);
      const rulesShown = displayPath(rulesFile, ctx.cwd);
      const parsed = parseCircuitRules(readText(rulesFile, "circuit rules file", rulesShown), rulesShown);
      if (parsed.problems.length > 0) {
        ctx.stderr.write(`error: the circuit rules have ${parsed.problems.length} problem${parsed.problems.length === 1 ? "" : "s"}; nothing was imported.\n`);
        for (const p of parsed.problems) ctx.stderr.write(`${formatProblem(p)}\n`);
        return 2;
      }
      opts.rules = parsed.rules;
    }
    const siteArg = ctx.values.site as string | undefined;
    if (siteArg !== undefined) {
      try {
        opts.catalog = loadSiteCatalog(displayPath(path.resolve(ctx.cwd, siteArg), ctx.cwd));
      } catch (err) {
        if (!(err instanceof SiteError)) throw err;
        ctx.stderr.write(`error: the site's catalog has ${err.problems.length} problem${err.problems.length === 1 ? "" : "s"}; nothing was imported.\n`);
        for (const p of err.problems) ctx.stderr.write(`${formatProblem(p)}\n`);
        return 2;
      }
    }
    // Progress only on a terminal: piped stderr (CI logs, tests) stays byte-for-byte stable.
    const tty = ctx.stderr.isTTY === true;
    if (tty) {
      opts.onProgress = (done, total) => {
        if (total >= 1000) ctx.stderr.write(`\rimporting ${shown}: ${done}/${total} rows`);
      };
    }
    const result = importFleet(source, text, shown, opts);
    if (tty && result.records >= 1000) ctx.stderr.write("\r\x1b[K");

    const outArg = ctx.values.out as string | undefined;
    const ok = result.problems.length === 0;
    if (ok && outArg !== undefined) writeFileSync(path.resolve(ctx.cwd, outArg), inventoryCsv(result.machines));

    if (ctx.values.json) {
      ctx.stdout.write(
        JSON.stringify(
          {
            ok,
            source,
            file: shown,
            records: result.records,
            imported: ok ? result.machines.length : 0,
            out: ok && outArg !== undefined ? displayPath(path.resolve(ctx.cwd, outArg), ctx.cwd) : null,
            warnings: result.warnings,
            renamed: result.renamed,
            problems: result.problems.map(problemJson),
            machines: ok ? result.machines : [],
          },
          null,
          2,
        ) + "\n",
      );
      return ok ? 0 : 2;
    }
    for (const w of result.warnings) ctx.stderr.write(`warning: ${w}\n`);
    writeRenamed(result, ctx.stderr);
    if (!ok) {
      const bad = new Set(result.problems.map((p) => p.source?.line)).size;
      ctx.stderr.write(`error: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"} in ${bad} line${bad === 1 ? "" : "s"} of ${shown}; nothing was written.\n`);
      for (const p of result.problems.slice(0, LIST_LIMIT)) ctx.stderr.write(`${formatProblem(p)}\n`);
      if (result.problems.length > LIST_LIMIT) ctx.stderr.write(`... and ${result.problems.length - LIST_LIMIT} more problems (run with --json for all of them)\n`);
      return 2;
    }
    if (outArg === undefined) ctx.stdout.write(inventoryCsv(result.machines));
    ctx.stderr.write(`imported ${result.machines.length} machine${result.machines.length === 1 ? "" : "s"} (${roleSummary(result)}) from ${shown}${outArg !== undefined ? ` to ${displayPath(path.resolve(ctx.cwd, outArg), ctx.cwd)}` : ""}\n`);
    return 0;
  },
};

function writeRenamed(result: ImportResult, stderr: NodeJS.WritableStream): void {
  if (result.renamed.length === 0) return;
  stderr.write(`note: ${result.renamed.length} hostname${result.renamed.length === 1 ? " was" : "s were"} changed to DNS labels (Kubernetes node names):\n`);
  for (const r of result.renamed.slice(0, LIST_LIMIT)) stderr.write(`  ${result.file}:${r.line}: '${r.from}' -> '${r.to}'\n`);
  if (result.renamed.length > LIST_LIMIT) stderr.write(`  ... and ${result.renamed.length - LIST_LIMIT} more (run with --json for all of them)\n`);
}

function roleSummary(result: ImportResult): string {
  const counts = new Map<string, number>();
  for (const m of result.machines) counts.set(m.role, (counts.get(m.role) ?? 0) + 1);
  return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([role, n]) => `${n} ${role}`).join(", ") || "none";
}

export default command;
