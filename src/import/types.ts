/**
 * Shapes shared by the fleet-export importers (`mine2hpc import`).
 *
 * Every importer turns its export into `RawRow`s (what the export says, with the line it
 * said it on); `finishRows` in `rows.ts` then applies one set of rules to all of them:
 * hostnames to DNS labels, models to catalog keys, circuits from the rule file. So a
 * Foreman miner and a Hive OS rig are judged the same way.
 */
import type { Problem } from "../site/problems.js";
import type { InventoryColumn } from "../site/inventory.js";

/** Fleet tools `mine2hpc import --from` understands. */
export const IMPORT_SOURCES = ["foreman", "hiveos", "csv"] as const;
/** One fleet tool. */
export type ImportSource = (typeof IMPORT_SOURCES)[number];

/** One machine as an export describes it, before normalization. All strings are as written. */
export interface RawRow {
  /** 1-based line in the export where the machine starts (file:line in messages). */
  line: number;
  hostname?: string;
  ip?: string;
  mac?: string;
  rack?: string;
  /** Row inside the rack (Foreman site map); written as the inventory's `row`, and matched by circuit rules. */
  row?: string;
  /**
   * Container or building holding the rack (Foreman site-map group). Rack names repeat from
   * one container to the next (rack 1 of C01, rack 1 of C02), so the inventory's rack becomes
   * `<container>-<rack>`: two containers never collapse into one rack.
   */
  container?: string;
  /** The machine's id in the fleet tool (Foreman miner `id`, Hive OS worker `id`): the inventory's `fleetId`. */
  fleetId?: string;
  /** The fleet tool reports the machine offline (Hive OS `stats.online: false`): imported with state offline. */
  offline?: boolean;
  circuit?: string;
  role?: string;
  /** GPU model as the tool names it (`NVIDIA GeForce RTX 3090`). */
  gpuModel?: string;
  gpuCount?: string;
  pcieLink?: string;
  /** ASIC model as the tool names it (`Antminer S19j Pro`). */
  asicModel?: string;
  /** A model that may be either kind (generic CSV `model` column): GPU catalog first, then ASIC. */
  model?: string;
  psuEfficiency?: string;
  baseWatts?: string;
  sshUser?: string;
  /** Rack used when neither the export nor a circuit rule's `setRack` gives one. */
  fallbackRack?: string;
  /** Set by an importer when the machine cannot be used at all (the reason, as a problem). */
  invalid?: Omit<ImportProblem, "source">;
}

/**
 * A problem of an import. `kind` names the problem without the row's values (`no circuit rule
 * matches`), so 300 rows with the same problem print as one line with a count; rows of one
 * kind share one fix.
 */
export interface ImportProblem extends Problem {
  kind?: string;
}

/** One inventory row, ready to be written as CSV (keys are inventory columns). */
export type ImportedMachine = Partial<Record<InventoryColumn, string | number>> & {
  hostname: string;
  ip: string;
  rack: string;
  circuit: string;
  role: string;
};

/** A hostname the importer changed to make it a DNS label. */
export interface HostnameChange {
  line: number;
  from: string;
  to: string;
}

/** What an import produced. Nothing may be written when `problems` is not empty. */
export interface ImportResult {
  /** The export as it appears in messages. */
  file: string;
  /** Machines in input order. */
  machines: ImportedMachine[];
  /** 1-based line of each machine in the export, parallel to `machines`. */
  lines: number[];
  /** Rows that cannot be used (each with `source` file:line), and file-level problems. */
  problems: ImportProblem[];
  /** Things a person should know that do not stop the import (unmapped columns, ...), in the order found. */
  warnings: string[];
  /** Hostnames changed to DNS labels, in input order. */
  renamed: HostnameChange[];
  /** Machine records read from the export (valid or not). */
  records: number;
  /** Machines the fleet tool reports offline: imported with state offline, or left out when `skipped`. */
  offline: OfflineMachine[];
}

/** A machine the fleet tool reports offline. */
export interface OfflineMachine {
  line: number;
  hostname: string;
  /** Left out of the inventory (`--skip-offline`) rather than imported with state offline. */
  skipped: boolean;
}

/** Called while rows are processed; `total` is the number of records. */
export type ProgressFn = (done: number, total: number) => void;
