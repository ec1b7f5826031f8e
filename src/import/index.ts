/**
 * Importing fleet-tool exports (Foreman, Hive OS, any CSV) as mine2hpc inventory rows.
 * Pure: text in, rows and problems out; the `import` command does the file and terminal work.
 */
export * from "./types.js";
export { parseCircuitRules, matchRule, parseIpRange, parseNameMatcher, matchName, ipToNumber, describeRule } from "./circuits.js";
export type { CircuitRule, NameMatcher, RuleSubject } from "./circuits.js";
export { failedImport, finishRows, normalizeHostname, normalizeMac } from "./rows.js";
export { combineImports, problemLines, ROWS_PER_KIND } from "./combine.js";
export type { CombinedImport } from "./combine.js";
export type { FinishOptions } from "./rows.js";
export { importCsv, parseMapFlags, MAP_FIELDS, FOREMAN_COLUMNS, headerKey } from "./csv.js";
export type { CsvImportOptions, MapField } from "./csv.js";
export { importHiveOs, workerOffsets, HIVEOS_SSH_USER } from "./hiveos.js";
export type { HiveOsImportOptions } from "./hiveos.js";
export { inventoryCsv } from "./write.js";

import type { HardwareCatalog } from "../site/catalog.js";
import type { CircuitRule } from "./circuits.js";
import { importCsv, type MapField } from "./csv.js";
import { importHiveOs } from "./hiveos.js";
import type { ImportResult, ImportSource, ProgressFn } from "./types.js";

/** Options of `importFleet`. */
export interface ImportOptions {
  rules?: readonly CircuitRule[];
  /** Where models are looked up: a site's catalog (`siteCatalog`) finds the models it adds. @default the built-in catalog */
  catalog?: HardwareCatalog;
  map?: Partial<Record<MapField, string>>;
  /** SSH user of Hive OS rigs. @default "user" */
  sshUser?: string;
  /** Leave machines the fleet tool reports offline out instead of importing them with state offline. */
  skipOffline?: boolean;
  onProgress?: ProgressFn;
}

/** Imports `text` (the export's content; `file` only names it in messages) from `source`. */
export function importFleet(source: ImportSource, text: string, file: string, opts: ImportOptions = {}): ImportResult {
  const common = { ...(opts.rules ? { rules: opts.rules } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.catalog ? { catalog: opts.catalog } : {}) };
  if (source === "hiveos") return importHiveOs(text, file, { ...common, ...(opts.sshUser !== undefined ? { sshUser: opts.sshUser } : {}), ...(opts.skipOffline ? { skipOffline: true } : {}) });
  return importCsv(text, file, { source, ...common, ...(opts.map ? { map: opts.map } : {}) });
}
