/**
 * CSV exports: Foreman's miner export and any other spreadsheet (generic, with `--map`).
 *
 * Foreman (foreman.mn). Foreman publishes no schema of its CSV miner export, so the columns
 * read are the fields of its miner and site-map records, under the names its API gives them
 * and the snake_case names exports and spreadsheets use:
 * - the miner record of the Foreman API, `GET /api/miners/...` (foremanmining/foreman-api,
 *   swagger.yaml `components.schemas.miner` and src/main/java/mn/foreman/api/endpoints/miners/Miners.java):
 *   `id`, `name`, `minerType`, `apiIp`, `apiPort`, `mac`, `serial`, `status`, `active`, `platform`;
 * - the site-map location, `setLocation(minerId, rack, row, index)` (same repository,
 *   src/main/java/mn/foreman/api/endpoints/sitemap/SiteMap.java): `rack` (name), `row` and
 *   `index` (grid position inside the rack, 0-up: https://foreman.mn/blog/configuring-site-map/),
 *   and racks grouped in containers or buildings (`container 1, rack 1, row 1, index 0` in the
 *   same page).
 * Header names match ignoring case, spaces, `_` and `-` (`miner_ip` = `minerIp`), and map as:
 *
 * | field     | Foreman columns accepted                                   |
 * |-----------|------------------------------------------------------------|
 * | hostname  | name, miner_name, worker_name, hostname                     |
 * | ip        | apiIp, miner_ip, ip, ip_address                             |
 * | mac       | mac, miner_mac, mac_address                                 |
 * | fleetId   | id, miner_id                                                |
 * | asicModel | minerType, miner_type, model, miner_model                   |
 * | container | container, container_name, building, group                  |
 * | rack      | rack, rack_name                                             |
 * | row       | row, row_name, rack_row                                     |
 * | circuit   | circuit                                                     |
 *
 * Every Foreman row is an ASIC miner (role asic). `index`, `apiPort`, `serial`, `status`,
 * hashrates and other columns are not imported (listed once as a warning); any column can be
 * pointed at with `--map FIELD=COLUMN` (e.g. `--map rack="Rack Name"`).
 *
 * Generic CSV: columns named like inventory fields map by themselves; others need
 * `--map hostname=Name --map ip="IP Address" ...`. A `model` field may name a GPU or an
 * ASIC; the role follows from it unless a `role` column says otherwise.
 */
import type { HardwareCatalog } from "../site/catalog.js";
import { excerpt, quoted } from "../site/input.js";
import { parseCsv } from "../site/inventory.js";
import type { CircuitRule } from "./circuits.js";
import { failedImport, finishRows } from "./rows.js";
import type { ImportProblem, ImportResult, ProgressFn, RawRow } from "./types.js";

/** Fields a `--map FIELD=COLUMN` may name: the inventory columns, plus `container` and `model`. */
export const MAP_FIELDS = [
  "hostname",
  "ip",
  "mac",
  "fleetId",
  "container",
  "rack",
  "row",
  "circuit",
  "role",
  "model",
  "gpuModel",
  "gpuCount",
  "pcieLink",
  "asicModel",
  "psuEfficiency",
  "baseWatts",
  "sshUser",
] as const;
/** One mappable field. */
export type MapField = (typeof MAP_FIELDS)[number];

/** Header names Foreman's export uses for each field (normalized: lowercase, no spaces, `_` or `-`). */
export const FOREMAN_COLUMNS: Partial<Record<MapField, readonly string[]>> = {
  hostname: ["name", "minername", "workername", "hostname"],
  ip: ["apiip", "minerip", "ip", "ipaddress"],
  mac: ["mac", "minermac", "macaddress"],
  fleetId: ["id", "minerid"],
  asicModel: ["minertype", "model", "minermodel"],
  container: ["container", "containername", "building", "group"],
  rack: ["rack", "rackname"],
  row: ["row", "rowname", "rackrow"],
  circuit: ["circuit"],
};

/** Options of `importCsv`. */
export interface CsvImportOptions {
  source: "foreman" | "csv";
  /** FIELD → column header, from `--map`; overrides the defaults. */
  map?: Partial<Record<MapField, string>>;
  rules?: readonly CircuitRule[];
  onProgress?: ProgressFn;
  /** Where models are looked up. @default the built-in catalog */
  catalog?: HardwareCatalog;
}

/**
 * Header cells for a message: each a short sanitised excerpt, at most 20 of them. The first
 * line of a file named by mistake (an env file, a key) is not echoed whole into a CI log.
 */
function columnList(cells: readonly string[]): string {
  const shown = cells.slice(0, 20).map((c) => (c === "" ? "(empty header)" : excerpt(c, 40)));
  return shown.join(", ") + (cells.length > 20 ? ` and ${cells.length - 20} more` : "");
}

/** `IP Address`, `ip_address` → `ipaddress`. */
export function headerKey(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, "");
}

/** Parses `FIELD=COLUMN` flags; throws a message naming the bad one. */
export function parseMapFlags(flags: readonly string[]): Partial<Record<MapField, string>> {
  const map: Partial<Record<MapField, string>> = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    const field = eq > 0 ? MAP_FIELDS.find((f) => headerKey(f) === headerKey(flag.slice(0, eq))) : undefined;
    if (eq <= 0 || eq === flag.length - 1) throw new Error(`--map ${quoted(flag)} is not FIELD=COLUMN\n  fix: write it as --map hostname=Name (the export's column header after '=')`);
    if (!field) throw new Error(`--map ${quoted(flag)}: unknown field ${quoted(flag.slice(0, eq))}\n  fix: map one of ${MAP_FIELDS.join(", ")}`);
    map[field] = flag.slice(eq + 1);
  }
  return map;
}

/** Turns a Foreman or generic CSV export into inventory rows (nothing is usable when `problems` is not empty). */
export function importCsv(text: string, file: string, opts: CsvImportOptions): ImportResult {
  const { records, problems } = parseCsv(text, file);
  const empty = (extra: ImportProblem[]): ImportResult => failedImport(file, [...problems, ...extra], Math.max(records.length - 1, 0));
  const header = records[0];
  if (header === undefined) {
    return empty([{ message: "export has no header row", fix: "export the file again with its header row", source: { file, line: 1 } }]);
  }
  const byKey = new Map<string, number>();
  header.cells.forEach((name, k) => {
    if (!byKey.has(headerKey(name))) byKey.set(headerKey(name), k);
  });

  const columnOf: Partial<Record<MapField, number>> = {};
  const headerProblems: ImportProblem[] = [];
  for (const field of MAP_FIELDS) {
    const wanted = opts.map?.[field];
    if (wanted !== undefined) {
      const k = byKey.get(headerKey(wanted));
      if (k === undefined) {
        headerProblems.push({
          message: `--map ${field}=${wanted}: the export has no column ${quoted(wanted)}`,
          fix: `use one of its columns: ${columnList(header.cells)}`,
          source: { file, line: header.line },
        });
      } else columnOf[field] = k;
      continue;
    }
    const names = opts.source === "foreman" ? (FOREMAN_COLUMNS[field] ?? [headerKey(field)]) : [headerKey(field)];
    const k = names.map((n) => byKey.get(n)).find((x) => x !== undefined);
    if (k !== undefined) columnOf[field] = k;
  }
  for (const field of ["hostname", "ip"] as const) {
    if (columnOf[field] === undefined && opts.map?.[field] === undefined) {
      headerProblems.push({
        message: `the export has no ${field} column`,
        fix: `map one with --map ${field}=COLUMN (columns: ${columnList(header.cells)})`,
        source: { file, line: header.line },
      });
    }
  }
  if (columnOf.circuit === undefined && !opts.rules) {
    headerProblems.push({
      message: "the export has no circuit column and no circuit rules were given",
      fix: "pass --circuits RULES (a YAML file mapping racks, rows or IP ranges to circuits), or map a column with --map circuit=COLUMN",
      source: { file, line: header.line },
    });
  }
  if (headerProblems.length > 0) return empty(headerProblems);

  const used = new Set(Object.values(columnOf));
  const unmapped = header.cells.filter((_, k) => !used.has(k));
  const rows: RawRow[] = [];

  for (const record of records.slice(1)) {
    if (record.cells.length !== header.cells.length) {
      rows.push({
        line: record.line,
        invalid: {
          kind: "row has the wrong number of cells",
          message: `row has ${record.cells.length} cell${record.cells.length === 1 ? "" : "s"} but the header has ${header.cells.length}`,
          fix: "add or remove commas so each row has one cell per header column (quote cells that contain commas)",
        },
      });
      continue;
    }
    const raw: RawRow = { line: record.line };
    for (const field of MAP_FIELDS) {
      const k = columnOf[field];
      if (k === undefined) continue;
      const cell = record.cells[k]!;
      if (cell !== "") raw[field] = cell;
    }
    if (opts.source === "foreman") raw.role = raw.role ?? "asic";
    rows.push(raw);
  }
  const result = finishRows(rows, { file, ...(opts.rules ? { rules: opts.rules } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.catalog ? { catalog: opts.catalog } : {}) });
  result.problems = [...problems, ...result.problems].sort((a, b) => (a.source?.line ?? 0) - (b.source?.line ?? 0));
  if (unmapped.length > 0) {
    result.warnings.push(`columns not imported (no inventory field): ${columnList(unmapped)}; map one with --map FIELD=COLUMN if it holds an inventory field`);
  }
  return result;
}
