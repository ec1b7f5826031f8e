/**
 * CSV machine inventory: the export a site operator already has (a spreadsheet, a DCIM or
 * a mining-pool dashboard), read as extra `machines` of a site.
 *
 * Format (RFC 4180 with two conveniences):
 * - The first record that is not a comment is the header. Columns are the Machine fields of
 *   `schema.ts`, in any order: hostname, ip, mac, rack, circuit, role, gpuModel, gpuCount,
 *   pcieLink, asicModel, psuEfficiency, baseWatts, sshUser, powerCords, gpuMaxWatts, state, generation, sshHostKey,
 *   minerApi, firmware, partition, row, fleetId. hostname, ip, rack, circuit and
 *   role are required columns. Header names match ignoring case, spaces, `_` and `-`
 *   (`GPU Model` and `gpu_model` are `gpuModel`); any other column is an error that names it.
 * - An empty cell means the field is absent (the site's defaults apply).
 * - gpuCount, gpuMaxWatts, psuEfficiency, baseWatts, powerCords and generation are numbers; psuEfficiency may be written as a
 *   percentage (`94%` = 0.94), as spreadsheets export it.
 * - Fields may be quoted: `"rack 1, row 2"`; a quote inside a quoted field is doubled (`""`);
 *   quoted fields may span lines. Unquoted cells are trimmed. LF and CRLF line ends both work;
 *   a UTF-8 byte-order mark is ignored.
 * - A line starting with `#` is a comment; blank lines are skipped.
 * - Every row must have as many cells as the header (a shifted column is a typo, not data).
 *
 * ```csv
 * # exported from the DCIM on 2025-06-01
 * hostname,ip,rack,circuit,role,gpuModel,gpuCount,pcieLink
 * rig-001,10.20.0.11,r1,pdu-a1,gpu,rtx-3090,8,x1
 * "cp-1",10.20.0.2,"rack 1, row 2",pdu-a1,control-plane,,,
 * ```
 */
import { editDistance } from "./catalog.js";
import { printable, quoted, readInputText } from "./input.js";
import type { Problem, SourceRef } from "./problems.js";

/** Columns an inventory may have, in the order `schema.ts` lists the Machine fields. */
export const INVENTORY_COLUMNS = [
  "hostname",
  "ip",
  "mac",
  "rack",
  "circuit",
  "role",
  "gpuModel",
  "gpuCount",
  "pcieLink",
  "asicModel",
  "psuEfficiency",
  "baseWatts",
  "sshUser",
  "powerCords",
  // After sshUser: columns fleet tools do not export, which `mine2hpc import` writes only when set.
  "gpuMaxWatts",
  "state",
  "generation",
  "sshHostKey",
  "minerApi",
  "firmware",
  "partition",
  "row",
  "fleetId",
] as const;

/** One inventory column name. */
export type InventoryColumn = (typeof INVENTORY_COLUMNS)[number];

/** Columns without which a row cannot be a machine; checked once on the header rather than once per row. */
export const REQUIRED_INVENTORY_COLUMNS: readonly InventoryColumn[] = ["hostname", "ip", "rack", "circuit", "role"];

/** Unknown header columns named one by one before the rest are counted. */
const MAX_UNKNOWN_COLUMNS = 20;

const NUMBER_COLUMNS: ReadonlySet<InventoryColumn> = new Set(["gpuCount", "gpuMaxWatts", "psuEfficiency", "baseWatts", "powerCords", "generation"]);

/** One CSV record with where it came from. */
export interface CsvRecord {
  /** 1-based line the record starts on. */
  line: number;
  /** Cell values, unquoted. */
  cells: string[];
  /** 1-based column where each cell starts, parallel to `cells`. */
  columns: number[];
}

/** Where an inventory row and its cells are, so problems point into the CSV. */
export interface InventoryRow {
  /** 1-based line of the row. */
  line: number;
  /** 1-based column of each field's cell. */
  cellColumns: Partial<Record<InventoryColumn, number>>;
}

/** Result of reading an inventory: machines as plain objects (validated later by the site schema). */
export interface Inventory {
  /** The CSV file as it appears in messages. */
  file: string;
  /** One object per data row, empty cells left out, numbers parsed. */
  machines: Record<string, unknown>[];
  /** Source positions, parallel to `machines`. */
  rows: InventoryRow[];
  /** Everything wrong with the file; each has `source` set. */
  problems: Problem[];
}

/**
 * Splits CSV text into records. Never throws: malformed quoting becomes a problem and the
 * rest of the file is still read, so a person sees every broken row at once.
 */
export function parseCsv(text: string, file: string): { records: CsvRecord[]; problems: Problem[] } {
  const records: CsvRecord[] = [];
  const problems: Problem[] = [];
  const src = text.startsWith("\uFEFF") ? text.slice(1) : text;
  let i = 0;
  let line = 1;
  let col = 1;
  const n = src.length;

  const atLineEnd = (k: number): boolean => src[k] === "\n" || (src[k] === "\r" && src[k + 1] === "\n") || src[k] === "\r";
  // Consumes one line end at i (LF, CRLF or lone CR) and moves to the next line.
  const skipLineEnd = (): void => {
    if (src[i] === "\r" && src[i + 1] === "\n") i += 2;
    else i += 1;
    line += 1;
    col = 1;
  };

  while (i < n) {
    // At the start of a record.
    if (src[i] === "#") {
      while (i < n && !atLineEnd(i)) i++;
      if (i < n) skipLineEnd();
      continue;
    }
    const record: CsvRecord = { line, cells: [], columns: [] };
    let endOfRecord = false;
    while (!endOfRecord) {
      const cellColumn = col;
      let cell = "";
      if (src[i] === '"') {
        const openLine = line;
        const openCol = col;
        i++;
        col++;
        let closed = false;
        while (i < n) {
          const ch = src[i]!;
          if (ch === '"') {
            if (src[i + 1] === '"') {
              cell += '"';
              i += 2;
              col += 2;
              continue;
            }
            i++;
            col++;
            closed = true;
            break;
          }
          if (atLineEnd(i)) {
            cell += "\n";
            skipLineEnd();
            continue;
          }
          cell += ch;
          i++;
          col++;
        }
        if (!closed) {
          problems.push({
            message: "quoted field is never closed",
            fix: 'close the field with a " (write a quote inside a quoted field as "")',
            source: { file, line: openLine, column: openCol },
          });
        } else if (i < n && src[i] !== "," && !atLineEnd(i)) {
          problems.push({
            message: `unexpected '${printable(src[i]!)}' after a closing quote`,
            fix: 'put a comma after the closing quote, or double the quote ("") if it belongs to the text',
            source: { file, line, column: col },
          });
          // Keep the stray text so the row still has the right cell count.
          while (i < n && src[i] !== "," && !atLineEnd(i)) {
            cell += src[i];
            i++;
            col++;
          }
        }
      } else {
        while (i < n && src[i] !== "," && !atLineEnd(i)) {
          cell += src[i];
          i++;
          col++;
        }
        cell = cell.trim();
      }
      record.cells.push(cell);
      record.columns.push(cellColumn);
      if (i < n && src[i] === ",") {
        i++;
        col++;
      } else {
        if (i < n) skipLineEnd();
        endOfRecord = true;
      }
    }
    const blank = record.cells.length === 1 && record.cells[0] === "";
    if (!blank) records.push(record);
  }
  return { records, problems };
}

/** `GPU Model`, `gpu_model`, `gpu-model` → `gpumodel`, compared against the lowercased column names. */
function headerKey(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, "");
}

/**
 * Reads an inventory CSV. `referencedFrom` is where the site names the file, so a missing
 * file is reported at that line rather than in a file that does not exist.
 */
export function readInventory(file: string, referencedFrom?: SourceRef): Inventory {
  // Never the file's bytes in a message: binary, UTF-16, not-UTF-8 and private keys are named, not shown.
  const read = readInputText(file, "inventory file", file);
  if (!read.ok) {
    return {
      file,
      machines: [],
      rows: [],
      problems: [
        {
          message: read.message,
          fix: read.code === "ENOENT" ? "fix the inventory path (it is relative to the site file) or create the CSV file" : read.fix,
          source: referencedFrom ?? { file, line: 1 },
        },
      ],
    };
  }
  return parseInventory(read.text, file);
}

/** Parses inventory CSV text; `file` is only used in problem locations. */
export function parseInventory(text: string, file: string): Inventory {
  const { records, problems } = parseCsv(text, file);
  const result: Inventory = { file, machines: [], rows: [], problems };
  const header = records[0];
  if (header === undefined) {
    problems.push({
      message: "inventory has no header row",
      fix: `start the file with a header row such as ${REQUIRED_INVENTORY_COLUMNS.join(",")},gpuModel,gpuCount`,
      source: { file, line: 1 },
    });
    return result;
  }

  const byKey = new Map<string, InventoryColumn>(INVENTORY_COLUMNS.map((c) => [headerKey(c), c]));
  const fields: (InventoryColumn | undefined)[] = [];
  const seen = new Map<InventoryColumn, number>();
  let headerOk = true;
  let unknown = 0;
  header.cells.forEach((name, k) => {
    const column = byKey.get(headerKey(name));
    const at: SourceRef = { file, line: header.line, column: header.columns[k]! };
    if (column === undefined) {
      headerOk = false;
      // The first few are named; a file that is no inventory at all would otherwise list every cell.
      if (++unknown > MAX_UNKNOWN_COLUMNS) return;
      const suggestion = nearestColumn(name);
      problems.push({
        message: name === "" ? `inventory header has an empty column name (column ${k + 1})` : `inventory has unknown column ${quoted(name)}${suggestion ? ` (did you mean '${suggestion}'?)` : ""}`,
        fix: `rename or remove the column; known columns are ${INVENTORY_COLUMNS.join(", ")}`,
        source: at,
      });
    } else if (seen.has(column)) {
      headerOk = false;
      problems.push({
        message: `inventory column '${column}' appears twice (columns ${seen.get(column)! + 1} and ${k + 1})`,
        fix: "remove one of the two columns",
        source: at,
      });
    } else {
      seen.set(column, k);
    }
    fields.push(column);
  });
  if (unknown > MAX_UNKNOWN_COLUMNS) {
    problems.push({
      message: `inventory has ${unknown - MAX_UNKNOWN_COLUMNS} more unknown columns (${unknown} in all); is this file an inventory?`,
      fix: `check the path; an inventory's header names only known columns: ${INVENTORY_COLUMNS.join(", ")}`,
      source: { file, line: header.line, column: 1 },
    });
  }
  const missing = REQUIRED_INVENTORY_COLUMNS.filter((c) => !seen.has(c));
  if (missing.length > 0) {
    headerOk = false;
    problems.push({
      message: `inventory header lacks required column${missing.length === 1 ? "" : "s"} ${missing.join(", ")}`,
      fix: `the first non-comment line must be the header; add ${missing.join(", ")} to it`,
      source: { file, line: header.line, column: 1 },
    });
  }
  // Rows cannot be read reliably against a broken header; one header problem beats one per row.
  if (!headerOk) return result;

  for (const record of records.slice(1)) {
    if (record.cells.length !== fields.length) {
      problems.push({
        message: `row has ${record.cells.length} cell${record.cells.length === 1 ? "" : "s"} but the header has ${fields.length}`,
        fix: "add or remove commas so each row has one cell per header column (quote cells that contain commas)",
        source: { file, line: record.line, column: 1 },
      });
      continue;
    }
    const machine: Record<string, unknown> = {};
    const row: InventoryRow = { line: record.line, cellColumns: {} };
    record.cells.forEach((cell, k) => {
      const column = fields[k]!;
      row.cellColumns[column] = record.columns[k]!;
      if (cell === "") return;
      if (!NUMBER_COLUMNS.has(column)) {
        machine[column] = cell;
        return;
      }
      const value = parseNumberCell(column, cell);
      if (value === undefined) {
        problems.push({
          message: `${column} ${quoted(cell)} is not a number`,
          fix: `write ${column} as a plain number such as ${column === "gpuCount" ? "8" : column === "psuEfficiency" ? "0.94" : "250"}, or leave the cell empty`,
          source: { file, line: record.line, column: record.columns[k]! },
        });
        return;
      }
      machine[column] = value;
    });
    result.machines.push(machine);
    result.rows.push(row);
  }
  return result;
}

function parseNumberCell(column: InventoryColumn, cell: string): number | undefined {
  const percent = column === "psuEfficiency" && cell.endsWith("%");
  const digits = percent ? cell.slice(0, -1).trim() : cell;
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(digits)) return undefined;
  const value = Number(digits);
  return percent ? value / 100 : value;
}

function nearestColumn(name: string): InventoryColumn | undefined {
  const key = headerKey(name);
  let best: InventoryColumn | undefined;
  let bestDistance = Infinity;
  for (const c of INVENTORY_COLUMNS) {
    const d = editDistance(key, headerKey(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}
