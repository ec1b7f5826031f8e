/** `mine2hpc import`: fleet tools' exports → one inventory CSV, all or nothing. */
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command, CommandContext } from "../command.js";
import { CliError, EXIT } from "../command.js";
import { docMarkdown } from "../format/doc.js";
import { note, outputFormat, outputOptions, printResult } from "../output.js";
import { displayPath } from "../site-args.js";
import { readInputText } from "../../site/input.js";
import { loadSiteCatalog } from "../../site/load.js";
import { formatProblem, SiteError, type Problem } from "../../site/problems.js";
import {
  combineImports,
  FOREMAN_COLUMNS,
  HIVEOS_SSH_USER,
  IMPORT_SOURCES,
  MAP_FIELDS,
  importFleet,
  inventoryCsv,
  parseCircuitRules,
  parseMapFlags,
  problemLines,
  ROWS_PER_KIND,
  type ImportedMachine,
  type ImportOptions,
  type ImportResult,
  type ImportSource,
} from "../../import/index.js";

/** The file as UTF-8 text; a missing, binary, UTF-16 or private-key file is a CliError that names it, never shows it. */
function readText(file: string, what: string, shown: string): string {
  const read = readInputText(file, what, shown);
  if (read.ok) return read.text;
  throw new CliError(`${read.message}.\n  fix: ${read.fix}.`);
}

function problemJson(p: Problem) {
  return { file: p.source?.file ?? null, line: p.source?.line ?? null, ...(p.source?.column ? { column: p.source.column } : {}), message: p.message, fix: p.fix };
}

/** One export named on the command line. */
export interface ExportArg {
  source: ImportSource;
  /** The path as given (relative to the working directory). */
  file: string;
}

/**
 * `foreman:miners.csv` → { foreman, miners.csv }; a bare path takes `--from`. A prefix that is
 * no tool is an error unless the whole argument is an existing file (a name with a colon).
 */
export function parseExportArgs(args: readonly string[], from: string | undefined, cwd: string): ExportArg[] {
  const tools = IMPORT_SOURCES as readonly string[];
  if (from !== undefined && !tools.includes(from)) throw new CliError(`unknown export format '${from}'.\n  fix: use --from ${IMPORT_SOURCES.join(", --from ")}.`);
  return args.map((arg) => {
    const m = /^([A-Za-z][\w-]*):(.+)$/.exec(arg);
    if (m && tools.includes(m[1]!.toLowerCase())) return { source: m[1]!.toLowerCase() as ImportSource, file: m[2]! };
    if (m && !existsSync(path.resolve(cwd, arg))) {
      throw new CliError(`unknown export format '${m[1]}' in '${arg}'.\n  fix: name the tool that made the file: ${IMPORT_SOURCES.map((t) => `${t}:FILE`).join(", ")}.`);
    }
    if (from === undefined) throw new CliError(`which tool made ${arg}?\n  fix: write it as ${IMPORT_SOURCES.map((t) => `${t}:${arg}`).join(", ")}, or pass --from ${IMPORT_SOURCES.join("|")}.`);
    return { source: from as ImportSource, file: arg };
  });
}

const foremanColumns = Object.entries(FOREMAN_COLUMNS)
  .map(([field, names]) => `${field} (${names!.join("/")})`)
  .join(", ");

const command: Command = {
  name: "import",
  summary: "Turn fleet tools' exports (Foreman, Hive OS, any CSV) into one inventory.",
  usage: "TOOL:FILE ... | --from TOOL FILE ... [--circuits RULES] [--map FIELD=COLUMN ...] [--ssh-user USER] [--skip-offline] [--site SITE] [--out FILE] [-o text|json|yaml|md] [--verbose]",
  description: [
    "TOOL is foreman (miner CSV export), hiveos (workers JSON of GET /farms/{farmId}/workers) or csv (any CSV, with --map);",
    "several exports make one inventory: mine2hpc import foreman:miners.csv hiveos:workers.json --circuits circuits.yaml.",
    "A hostname, IP or MAC that two rows or two exports share is an error naming every file:line.",
    "",
    `Foreman columns read (header case, spaces, '_' and '-' ignored): ${foremanColumns}.`,
    "Foreman's miner id becomes fleetId (the curtailment drivers address the miner by it); rack and row stay separate,",
    "and a container's racks are named <container>-<rack>. Every Foreman row is an ASIC miner.",
    "Hive OS fields read: id (fleetId), name, ip_addresses[0], hardware_info.net_interfaces[].mac, gpu_info, asic_info.model,",
    `hardware_power_draw, psu_efficiency, farm_id, stats.online. Rigs get sshUser ${HIVEOS_SSH_USER} (Hive OS's account) unless --ssh-user says;`,
    "rigs Hive OS reports offline are listed and imported with state offline (power planned, no SSH), or left out with --skip-offline.",
    "",
    "Fleet tools do not record circuits: --circuits names a YAML file whose rules map containers, racks, rows or IP ranges",
    "to circuits (first match wins), e.g. rules: [{ rack: \"A01-A04\", circuit: pdu-a1 }, { ip: \"10.20.1.0/25\", circuit: pdu-b1 }].",
    "Hostnames become DNS labels (each change is listed). When any row cannot be used nothing is written (exit 2):",
    `each kind of problem prints once with its count, its fix and the first ${ROWS_PER_KIND} rows; --verbose lists every row.`,
    "Rows keep the exports' order. -o text (default) prints the inventory CSV on stdout (or writes --out) and notes on stderr;",
    "-o json and -o yaml print the whole result (machines, warnings, renamed hostnames, offline rigs, problems), -o md as tables.",
  ].join("\n"),
  options: {
    from: { type: "string", valueName: "TOOL", description: "Tool of the exports given without a TOOL: prefix: foreman, hiveos or csv." },
    circuits: { type: "string", valueName: "RULES", description: "YAML rules mapping container/rack/row ranges or IP ranges (CIDR or first-last) to circuits." },
    map: {
      type: "string",
      valueName: "FIELD=COLUMN",
      multiple: true,
      description: `Read FIELD from a CSV column (Foreman and csv exports), e.g. --map ip="IP Address"; repeat for each field. FIELD: ${MAP_FIELDS.join(", ")} (model = a GPU or ASIC model, routed to gpuModel or asicModel).`,
    },
    "ssh-user": { type: "string", valueName: "USER", description: `SSH user written for Hive OS rigs. Default: ${HIVEOS_SSH_USER}, the account Hive OS ships with.` },
    "skip-offline": { type: "boolean", description: "Leave rigs Hive OS reports offline (stats.online false) out, instead of importing them with state offline." },
    site: {
      type: "string",
      valueName: "SITE",
      description: "Site file whose own catalog (catalog.gpus, catalog.asics) is searched before the built-in one, so models the site adds are recognized.",
    },
    out: { type: "string", valueName: "FILE", description: "Write the inventory CSV here instead of stdout." },
    verbose: { type: "boolean", description: "List every problem, renamed hostname and offline rig, not each kind's count and first rows." },
    ...outputOptions(),
  },
  async run(ctx) {
    const format = outputFormat(ctx);
    const exportsGiven = parseExportArgs(ctx.positionals, ctx.values.from as string | undefined, ctx.cwd);
    if (exportsGiven.length === 0) throw new CliError("no export file given.\n  fix: mine2hpc import foreman:miners.csv [hiveos:workers.json ...] (or --from TOOL FILE).", EXIT.usage);
    const hiveos = exportsGiven.some((e) => e.source === "hiveos");
    const mapFlags = ((ctx.values.map as string[] | undefined) ?? []).map(String);
    let map: ImportOptions["map"];
    try {
      map = parseMapFlags(mapFlags);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    if (mapFlags.length > 0 && exportsGiven.every((e) => e.source === "hiveos")) {
      throw new CliError("--map applies to CSV exports; Hive OS workers have fixed fields.\n  fix: drop --map, or export the workers as CSV and use csv:FILE.");
    }
    const sshUser = ctx.values["ssh-user"] as string | undefined;
    if (sshUser !== undefined && !hiveos) throw new CliError("--ssh-user applies to Hive OS rigs, and no hiveos export is given.\n  fix: drop --ssh-user, or read a CSV column with --map sshUser=COLUMN.");
    if (sshUser !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(sshUser)) throw new CliError(`--ssh-user '${sshUser.slice(0, 40)}' is not a Linux user name.\n  fix: use lowercase letters, digits, '_' and '-', starting with a letter or '_'.`);
    const rulesArg = ctx.values.circuits as string | undefined;
    if (hiveos && rulesArg === undefined) throw new CliError("Hive OS records no circuits.\n  fix: pass --circuits RULES, a YAML file mapping IP ranges to circuits, e.g. rules: [{ ip: \"10.20.1.0/25\", circuit: pdu-b1 }].");

    // Every file is read before anything is imported: a missing second file fails before the first is parsed.
    const texts = exportsGiven.map((e) => {
      const file = path.resolve(ctx.cwd, e.file);
      const shown = displayPath(file, ctx.cwd);
      return { ...e, shown, text: readText(file, "export file", shown) };
    });
    const opts: ImportOptions = {};
    if (map && Object.keys(map).length > 0) opts.map = map;
    if (sshUser !== undefined) opts.sshUser = sshUser;
    if (ctx.values["skip-offline"] === true) opts.skipOffline = true;
    if (rulesArg !== undefined) {
      const rulesFile = path.resolve(ctx.cwd, rulesArg);
      const rulesShown = displayPath(rulesFile, ctx.cwd);
      const parsed = parseCircuitRules(readText(rulesFile, "circuit rules file", rulesShown), rulesShown);
      if (parsed.problems.length > 0) {
        ctx.stderr.write(`error: the circuit rules have ${parsed.problems.length} problem${parsed.problems.length === 1 ? "" : "s"}; nothing was imported.\n`);
        for (const p of parsed.problems) ctx.stderr.write(`${formatProblem(p)}\n`);
        return EXIT.invalidSite;
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
        return EXIT.invalidSite;
      }
    }
    // Progress only on a terminal: piped stderr (CI logs, tests) stays byte-for-byte stable.
    const tty = ctx.stderr.isTTY === true;
    const results = texts.map(({ source, shown, text }) => {
      const one: ImportOptions = { ...opts };
      if (tty) {
        one.onProgress = (done, total) => {
          if (total >= 1000) ctx.stderr.write(`\rimporting ${shown}: ${done}/${total} rows`);
        };
      }
      const result = importFleet(source, text, shown, one);
      if (tty && result.records >= 1000) ctx.stderr.write("\r\x1b[K");
      return result;
    });
    const all = combineImports(results);

    const outArg = ctx.values.out as string | undefined;
    const outShown = outArg !== undefined ? displayPath(path.resolve(ctx.cwd, outArg), ctx.cwd) : null;
    const ok = all.problems.length === 0;
    if (ok && outArg !== undefined) writeFileSync(path.resolve(ctx.cwd, outArg), inventoryCsv(all.machines));

    const files = results.map((r) => r.file).join(", ");
    const data = {
      ok,
      sources: texts.map((t, k) => ({ tool: t.source, file: t.shown, records: results[k]!.records })),
      records: all.records,
      imported: ok ? all.machines.length : 0,
      out: ok ? outShown : null,
      warnings: results.flatMap((r) => r.warnings.map((message) => ({ file: r.file, message }))),
      renamed: results.flatMap((r) => r.renamed.map((c) => ({ file: r.file, ...c }))),
      offline: results.flatMap((r) => r.offline.map((o) => ({ file: r.file, ...o }))),
      problems: all.problems.map(problemJson),
      machines: ok ? all.machines : [],
    };
    if (format !== "text") {
      // Data for a program (json, yaml) or a page (md): everything in one value on stdout.
      printResult(ctx, format, { data, md: () => importMarkdown(files, data, all.machines, all.problems) });
      return ok ? EXIT.ok : EXIT.invalidSite;
    }
    const verbose = ctx.values.verbose === true;
    const several = results.length > 1;
    for (const r of results) for (const w of r.warnings) note(ctx, `warning: ${several ? `${r.file}: ` : ""}${w}`);
    for (const r of results) writeRenamed(ctx, r, verbose);
    writeOffline(ctx, results, verbose);
    if (!ok) {
      // Errors are printed under --quiet too: they are why the exit code is 2.
      const bad = new Set(all.problems.map((p) => `${p.source?.file}:${p.source?.line}`)).size;
      ctx.stderr.write(`error: ${all.problems.length} problem${all.problems.length === 1 ? "" : "s"} in ${bad} line${bad === 1 ? "" : "s"} of ${files}; nothing was written.\n`);
      for (const line of problemLines(all.problems, verbose)) ctx.stderr.write(`${line}\n`);
      return EXIT.invalidSite;
    }
    // The inventory is the artefact the command exists to print: on stdout even under --quiet.
    if (outArg === undefined) ctx.stdout.write(inventoryCsv(all.machines));
    note(ctx, `imported ${all.machines.length} machine${all.machines.length === 1 ? "" : "s"} (${roleSummary(all.machines)}) from ${files}${outShown !== null ? ` to ${outShown}` : ""}`);
    return EXIT.ok;
  },
};

type NoteContext = Pick<CommandContext, "stderr" | "quiet">;

/** The first rows of a list and how many more there are, or every row with --verbose. */
function firstRows(ctx: NoteContext, rows: readonly string[], verbose: boolean): void {
  const shown = verbose ? rows : rows.slice(0, ROWS_PER_KIND);
  for (const row of shown) note(ctx, `  ${row}`);
  if (shown.length < rows.length) note(ctx, `  ... and ${rows.length - shown.length} more (run with --verbose to list them all)`);
}

function writeRenamed(ctx: NoteContext, result: ImportResult, verbose: boolean): void {
  const n = result.renamed.length;
  if (n === 0) return;
  note(ctx, `note: ${n} hostname${n === 1 ? " was" : "s were"} changed to DNS labels (Kubernetes node names):`);
  firstRows(ctx, result.renamed.map((r) => `${result.file}:${r.line}: '${r.from}' -> '${r.to}'`), verbose);
}

/** One note for the rigs the fleet tool reports offline: how many, what happened to them, the first few. */
function writeOffline(ctx: NoteContext, results: readonly ImportResult[], verbose: boolean): void {
  const offline = results.flatMap((r) => r.offline.map((o) => ({ file: r.file, ...o })));
  const n = offline.length;
  if (n === 0) return;
  note(
    ctx,
    offline[0]!.skipped
      ? `note: ${n} rig${n === 1 ? " is" : "s are"} offline in Hive OS (stats.online false) and ${n === 1 ? "was" : "were"} left out (--skip-offline):`
      : `note: ${n} rig${n === 1 ? " is" : "s are"} offline in Hive OS (stats.online false): imported with state offline (power planned, no SSH); pass --skip-offline to leave ${n === 1 ? "it" : "them"} out:`,
  );
  firstRows(ctx, offline.map((o) => `${o.file}:${o.line}: ${o.hostname}`), verbose);
}

/** `-o md`: what was imported (or why nothing was) as Markdown tables, for a pull request or a ticket. */
function importMarkdown(files: string, data: { ok: boolean; records: number; imported: number }, machines: readonly ImportedMachine[], problems: readonly Problem[]): string {
  const summary = data.ok ? [`${data.imported} of ${data.records} records imported.`] : [`${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was written.`];
  const section = data.ok
    ? {
        title: "Machines",
        table: {
          headers: ["HOSTNAME", "IP", "RACK", "ROW", "CIRCUIT", "ROLE", "MODEL", "FLEET ID", "STATE"],
          rows: machines.map((m) => [m.hostname, m.ip, m.rack, String(m.row ?? ""), m.circuit, m.role, String(m.gpuModel ?? m.asicModel ?? ""), String(m.fleetId ?? ""), String(m.state ?? "active")]),
        },
      }
    : { title: "Problems", table: { headers: ["WHERE", "PROBLEM", "FIX"], rows: problems.map((p) => [p.source ? `${p.source.file}:${p.source.line}` : "", p.message, p.fix]) } };
  return docMarkdown({ heading: `Import of ${files}`, summary, sections: [section] });
}

function roleSummary(machines: ReadonlyArray<{ role: string }>): string {
  const counts = new Map<string, number>();
  for (const m of machines) counts.set(m.role, (counts.get(m.role) ?? 0) + 1);
  return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([role, n]) => `${n} ${role}`).join(", ") || "none";
}

export default command;
