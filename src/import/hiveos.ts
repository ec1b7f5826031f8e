/**
 * Hive OS workers: the JSON of `GET /farms/{farmId}/workers` (Hive OS API v2), either the
 * response itself (`{ "data": [worker, ...] }`) or its bare array.
 *
 * Worker fields read (the worker model of Hive OS API v2, https://api2.hiveos.farm/api/v2,
 * `GET /farms/{farmId}/workers` → `{ data: [worker], tags: [...] }`; only these are relied on):
 * - `id` → fleetId (the worker id the Hive OS API addresses the rig by);
 * - `name` → hostname (normalized to a DNS label);
 * - `ip_addresses` (string[], the rig's LAN addresses) → ip, the first one;
 * - `hardware_info.net_interfaces` ([{ iface, mac }]) → mac: the first interface with a MAC
 *   (Hive OS lists the wired NIC the rig boots from first);
 * - `stats.online` (false when Hive OS has not heard from the rig) → the rig is reported and
 *   imported with state offline: its power is still planned (it draws it when it comes back)
 *   but no SSH is attempted; `--skip-offline` leaves such rigs out instead. Importing them
 *   silently as live hosts would make `pulumi up` wait on machines that cannot answer;
 *   leaving them out by default would under-count the load on their circuits;
 * - `gpu_info` ([{ brand: "nvidia"|"amd"|"internal", model, short_name, ... }]) → one GPU
 *   model and its count; `internal` (on-board graphics) is skipped, AMD cards cannot be
 *   planned (the GPU operator is NVIDIA only), and a rig mixing models is refused because a
 *   machine has one GPU model;
 * - `asic_info.model` → an ASIC miner (Hive OS for ASICs);
 * - `hardware_power_draw` (W drawn by everything but the GPUs, as the user set it) → baseWatts;
 * - `psu_efficiency` (percent) → psuEfficiency;
 * - `farm_id` → rack `farm-<id>` when no circuit rule gives a `setRack` (Hive OS records no location).
 * Rigs are riser rigs: pcieLink x1. sshUser is `user`, the account Hive OS images ship with
 * (password `1` until changed; mine2hpc logs in with the stack's key), unless `--ssh-user`
 * names another. Measured power (`stats.power_draw`, `gpu_stats[].power`)
 * is not imported: the planner derives draw from the catalog and the caps it sets.
 */
import type { HardwareCatalog } from "../site/catalog.js";
import { excerpt, printable } from "../site/input.js";
import type { CircuitRule } from "./circuits.js";
import { failedImport, finishRows } from "./rows.js";
import type { ImportResult, ProgressFn, RawRow } from "./types.js";

/** SSH account of a Hive OS rig as the image ships it. */
export const HIVEOS_SSH_USER = "user";

/** Options of `importHiveOs`. */
export interface HiveOsImportOptions {
  rules?: readonly CircuitRule[];
  /** SSH user written for every rig. @default "user" (Hive OS's own account) */
  sshUser?: string;
  /** Leave offline rigs out instead of importing them with state offline. */
  skipOffline?: boolean;
  onProgress?: ProgressFn;
  /** Where models are looked up. @default the built-in catalog */
  catalog?: HardwareCatalog;
}

/**
 * Start offsets of the objects that are direct elements of the workers array (top-level
 * array, or the array under a top-level `data` key), so every worker has a line number.
 * One pass over the text; strings are skipped so braces inside names do not count.
 */
export function workerOffsets(text: string): number[] {
  const offsets: number[] = [];
  const stack: Array<{ kind: "{" | "["; workers: boolean }> = [];
  let lastKey: string | undefined;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const str = text.slice(i + 1, j);
      i = j + 1;
      // A string followed by ':' inside the top-level object is a key.
      let k = i;
      while (k < n && (text[k] === " " || text[k] === "\n" || text[k] === "\r" || text[k] === "\t")) k++;
      if (text[k] === ":" && stack.length === 1) lastKey = str;
      continue;
    }
    if (ch === "{" || ch === "[") {
      const parent = stack[stack.length - 1];
      if (ch === "{" && parent?.workers) offsets.push(i);
      const workers = ch === "[" && (stack.length === 0 || (stack.length === 1 && stack[0]!.kind === "{" && lastKey === "data"));
      stack.push({ kind: ch, workers });
    } else if (ch === "}" || ch === "]") {
      stack.pop();
    }
    i++;
  }
  return offsets;
}

/** 1-based line of each offset (offsets ascending). */
function linesOf(text: string, offsets: readonly number[]): number[] {
  const lines: number[] = [];
  let line = 1;
  let pos = 0;
  for (const off of offsets) {
    for (; pos < off; pos++) if (text.charCodeAt(pos) === 10) line++;
    lines.push(line);
  }
  return lines;
}

function str(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

/** Turns a Hive OS workers export into inventory rows. */
export function importHiveOs(text: string, file: string, opts: HiveOsImportOptions = {}): ImportResult {
  let data: unknown;
  try {
    data = JSON.parse(text.startsWith("\uFEFF") ? text.slice(1) : text);
  } catch (err) {
    // V8's message may quote the text around the error ('Unexpected token 'T', "{"a": TOKEN=…" is
    // not valid JSON'): keep what it says and where, never the quoted text (the file may not be
    // the export it should be, and CI prints this).
    const msg = (err as Error).message;
    const pos = /at position (\d+)/.exec(msg);
    const before = pos ? text.slice(0, Number(pos[1])) : "";
    const line = pos ? before.split("\n").length : 1;
    const column = pos ? Number(pos[1]) - before.lastIndexOf("\n") : 1;
    const what = printable(msg.replace(/,\s*(\.\.\.)?".*$/s, "").replace(/ in JSON at position \d+.*$/s, "")).slice(0, 80);
    return failedImport(file, [{ message: `not valid JSON: ${what}${pos ? ` (line ${line}, column ${column})` : ""}`, fix: "export the workers again (GET /farms/{farmId}/workers) and import the file unchanged", source: { file, line } }], 0);
  }
  const workers = Array.isArray(data) ? data : typeof data === "object" && data !== null && Array.isArray((data as { data?: unknown }).data) ? ((data as { data: unknown[] }).data) : undefined;
  if (workers === undefined) {
    return failedImport(file, [{ message: "not a Hive OS workers export (expected a JSON array of workers or { \"data\": [...] })", fix: "export the workers with GET /farms/{farmId}/workers", source: { file, line: 1 } }], 0);
  }
  const offsets = workerOffsets(text);
  const lines = linesOf(text, offsets);
  let severalIps = 0;
  let measuredPower = false;
  const rows: RawRow[] = workers.map((w, index) => {
    const line = lines[index] ?? 1;
    if (typeof w !== "object" || w === null || Array.isArray(w)) {
      return { line, invalid: { kind: "worker is not a JSON object", message: `worker ${index + 1} is not a JSON object`, fix: "import the workers export unchanged" } };
    }
    const worker = w as Record<string, unknown>;
    const raw: RawRow = { line, sshUser: opts.sshUser ?? HIVEOS_SSH_USER };
    const id = str(worker.id);
    if (id !== undefined) raw.fleetId = id;
    if ((worker.stats as { online?: unknown } | undefined)?.online === false) raw.offline = true;
    const nics = (worker.hardware_info as { net_interfaces?: unknown } | undefined)?.net_interfaces;
    const mac = Array.isArray(nics) ? nics.map((n) => str((n as { mac?: unknown } | null)?.mac)).find((m) => m !== undefined && m.trim() !== "") : undefined;
    if (mac !== undefined) raw.mac = mac;
    const name = str(worker.name);
    if (name !== undefined) raw.hostname = name;
    const ips = Array.isArray(worker.ip_addresses) ? worker.ip_addresses.filter((x): x is string => typeof x === "string" && x.trim() !== "") : [];
    if (ips.length > 1) severalIps++;
    if (ips[0] !== undefined) raw.ip = ips[0];
    if (worker.farm_id !== undefined && str(worker.farm_id) !== undefined) raw.fallbackRack = `farm-${str(worker.farm_id)}`;
    const draw = str(worker.hardware_power_draw);
    if (draw !== undefined) raw.baseWatts = draw;
    const psu = str(worker.psu_efficiency);
    if (psu !== undefined && Number(psu) > 0) raw.psuEfficiency = psu;
    if ((worker.stats as { power_draw?: unknown } | undefined)?.power_draw !== undefined || Array.isArray(worker.gpu_stats)) measuredPower = true;

    const asicModel = str((worker.asic_info as { model?: unknown } | undefined)?.model);
    const gpus = Array.isArray(worker.gpu_info) ? (worker.gpu_info as Array<Record<string, unknown>>) : [];
    const cards = gpus.filter((g) => str(g?.brand)?.toLowerCase() !== "internal");
    if (asicModel !== undefined && cards.length === 0) {
      raw.asicModel = asicModel;
      raw.role = "asic";
      return raw;
    }
    const amd = cards.filter((g) => str(g?.brand)?.toLowerCase() === "amd");
    if (amd.length > 0) {
      raw.invalid = { kind: "AMD GPUs cannot be planned", message: `worker has ${amd.length} AMD GPU${amd.length === 1 ? "" : "s"} (${str(amd[0]!.model) !== undefined ? excerpt(str(amd[0]!.model)!) : "unknown model"})`, fix: "leave AMD rigs out: the NVIDIA GPU operator and the catalog cover NVIDIA GPUs only" };
      return raw;
    }
    if (cards.length === 0) {
      raw.invalid = { kind: "worker reports no GPUs", message: "worker reports no GPUs (gpu_info is empty) and no ASIC", fix: "boot the rig once with Hive OS so it reports its GPUs, or add it to the inventory by hand" };
      return raw;
    }
    const models = cards.map((g) => str(g.model) ?? str(g.short_name) ?? "");
    const distinct = [...new Set(models)];
    if (distinct.length > 1) {
      raw.invalid = { kind: "worker mixes GPU models", message: `worker mixes GPU models (${distinct.map((m) => excerpt(m)).join(", ")})`, fix: "a machine has one GPU model: move the odd cards to another rig, or list the rig in the inventory by hand with its main model" };
      return raw;
    }
    raw.gpuModel = distinct[0] || (str(cards[0]!.short_name) ?? "");
    raw.gpuCount = String(cards.length);
    raw.pcieLink = "x1";
    raw.role = "gpu";
    return raw;
  });
  const result = finishRows(rows, { file, ...(opts.rules ? { rules: opts.rules } : {}), ...(opts.skipOffline ? { skipOffline: true } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.catalog ? { catalog: opts.catalog } : {}) });
  if (severalIps > 0) result.warnings.push(`${severalIps} worker${severalIps === 1 ? " reports" : "s report"} several IP addresses; the first of ip_addresses was used`);
  if (measuredPower) result.warnings.push("measured power (stats.power_draw, gpu_stats[].power) is not imported: the planner derives draw from the catalog and the caps it sets");
  return result;
}
