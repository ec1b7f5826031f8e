/**
 * `nvidia-smi`: the one query the agent reads GPUs with, its CSV parsed, and the two setters
 * (`-pm 1`, `-pl W`), every run bounded by a timeout.
 *
 * The query is `nvidia-smi --query-gpu=<GPU_QUERY_FIELDS> --format=csv,noheader,nounits`. Field
 * meanings from `nvidia-smi --help-query-gpu` (driver 590.48.01, as captured in
 * utkuozdemir/nvidia_gpu_exporter internal/captures/linux-x86_64__nvidia-h200__590.48.01.txt @ e656cd8):
 * - `power.limit`: "The software power limit in watts. Set by software like nvidia-smi" — what
 *   `-pl` sets and what the agent reads back;
 * - `enforced.power.limit`: "The power management algorithm's power ceiling … the minimum of
 *   various power limiters" — shown, not compared (other limiters may sit below the cap);
 * - `power.default_limit`: "Power Limit will be set back to Default Power Limit after driver
 *   unload" — why the agent re-applies;
 * - `power.min_limit` / `power.max_limit`: the range `-pl` accepts;
 * - `power.draw`: "On Ampere or newer devices, returns average power draw over 1 sec". Used
 *   rather than `power.draw.instant`/`.average`, which older drivers do not know: one unknown
 *   field fails the whole query;
 * - `persistence_mode`: "Enabled" or "Disabled".
 * `power.management` is not queried: drivers 590+ answer "[Requested functionality has been
 * deprecated]" for it (same captures, every GPU).
 *
 * With `nounits`, numbers are printed with two decimals ("700.00"); a value the driver cannot give
 * is a bracketed phrase: "[N/A]", "[Not Supported]", "[Unknown Error]", "[Insufficient Permissions]"…
 * Fields are separated by ", " (captures above). The name is last so a comma in it cannot shift
 * the numbers.
 *
 * Setters (`nvidia-smi -h`, same capture): `-pm, --persistence-mode= 0/DISABLED, 1/ENABLED`,
 * `-pl, --power-limit= Specifies maximum power management limit in watts`, `-i, --id= Target a
 * specific GPU` (an index, PCI bus id or UUID: the agent uses the UUID, as indexes "can change at
 * each boot"). NVML documents that a limit "is not persistent across reboots or driver unloads.
 * Enable persistent mode to prevent driver from unloading when no application is using the
 * device" (nvmlDeviceSetPowerManagementLimit, NVML API reference).
 */
import { execFile } from "node:child_process";

/** The fields of the one query, in order (see the module comment). */
export const GPU_QUERY_FIELDS = [
  "index",
  "uuid",
  "power.limit",
  "enforced.power.limit",
  "power.min_limit",
  "power.max_limit",
  "power.default_limit",
  "power.draw",
  "persistence_mode",
  "name",
] as const;

/** The query's arguments. */
export const GPU_QUERY_ARGS = [`--query-gpu=${GPU_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits"] as const;

/** A reading: a number, or the driver's reason for not giving one (e.g. `[N/A]`). */
export type Reading = { watts: number } | { unavailable: string };

/** One GPU as the query reports it. */
export interface GpuReading {
  index: number;
  uuid: string;
  name: string;
  /** `power.limit`: the software limit, what `-pl` sets. */
  limit: Reading;
  enforcedLimit: Reading;
  minLimit: Reading;
  maxLimit: Reading;
  defaultLimit: Reading;
  draw: Reading;
  /** `persistence_mode`: true when "Enabled", false when "Disabled", null otherwise ([N/A] on Windows). */
  persistence: boolean | null;
}

/** A line of the query output that is not a GPU row. */
export class SmiParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SmiParseError";
  }
}

/** Parses `value` as watts ("300.00", "300") or keeps the driver's phrase ("[N/A]"). */
export function parseReading(value: string): Reading {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return { watts: Number(v) };
  // Without `nounits` a value carries " W": accept it, the agent may be pointed at either form.
  const m = /^(\d+(?:\.\d+)?) W$/.exec(v);
  if (m) return { watts: Number(m[1]) };
  return { unavailable: v === "" ? "[empty]" : v };
}

/**
 * Parses the query output (`--format=csv,noheader`, with or without `nounits`), one GPU per
 * non-empty line, the columns being `fields` in order (default: the agent's query). `index` and
 * `uuid` are required; a field not queried reads as `[not queried]`; a `name` column may hold
 * commas only when it is the last one.
 */
export function parseGpuQuery(stdout: string, fields: readonly string[] = GPU_QUERY_FIELDS): GpuReading[] {
  const gpus: GpuReading[] = [];
  const nameLast = fields[fields.length - 1] === "name";
  for (const f of ["index", "uuid"]) if (!fields.includes(f)) throw new SmiParseError(`the query must include ${f}`);
  const lines = stdout.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    let cells = line.split(",").map((c) => c.trim());
    if (cells.length < fields.length || (cells.length > fields.length && !nameLast)) {
      throw new SmiParseError(`nvidia-smi output line ${i + 1} has ${cells.length} fields, expected ${fields.length} (${fields.join(",")}): ${line.slice(0, 200)}`);
    }
    // The name is last: any commas in it belong to it.
    if (cells.length > fields.length) cells = [...cells.slice(0, fields.length - 1), cells.slice(fields.length - 1).join(", ")];
    const cell = (f: string): string | undefined => {
      const k = fields.indexOf(f);
      return k < 0 ? undefined : cells[k];
    };
    const reading = (f: string): Reading => {
      const v = cell(f);
      return v === undefined ? { unavailable: "[not queried]" } : parseReading(v);
    };
    const index = cell("index")!;
    const uuid = cell("uuid")!;
    if (!/^\d+$/.test(index)) throw new SmiParseError(`nvidia-smi output line ${i + 1}: index '${index}' is not a number: ${line.slice(0, 200)}`);
    if (!/^GPU-[0-9a-fA-F-]+$/.test(uuid)) throw new SmiParseError(`nvidia-smi output line ${i + 1}: '${uuid}' is not a GPU UUID: ${line.slice(0, 200)}`);
    const persistence = cell("persistence_mode");
    gpus.push({
      index: Number(index),
      uuid,
      name: cell("name") ?? "",
      limit: reading("power.limit"),
      enforcedLimit: reading("enforced.power.limit"),
      minLimit: reading("power.min_limit"),
      maxLimit: reading("power.max_limit"),
      defaultLimit: reading("power.default_limit"),
      draw: reading("power.draw"),
      persistence: persistence === "Enabled" ? true : persistence === "Disabled" ? false : null,
    });
  });
  return gpus;
}

/** Watts of a reading, or null. */
export function wattsOf(r: Reading): number | null {
  return "watts" in r ? r.watts : null;
}

/**
 * The settable range of a GPU as whole watts (`-pl` takes an integer): the minimum rounded
 * up and the maximum rounded down, so a value inside is always accepted. Null when the driver
 * does not report a range or the GPU's limit cannot be read (then it cannot be capped).
 */
export function settableRange(gpu: GpuReading): { min: number; max: number } | null {
  const min = wattsOf(gpu.minLimit);
  const max = wattsOf(gpu.maxLimit);
  if (min === null || max === null || wattsOf(gpu.limit) === null) return null;
  const lo = Math.ceil(min - 1e-9);
  const hi = Math.floor(max + 1e-9);
  return lo <= hi ? { min: lo, max: hi } : null;
}

/** `cap` clamped into `range`. */
export function clampCap(cap: number, range: { min: number; max: number }): number {
  return Math.min(range.max, Math.max(range.min, Math.round(cap)));
}

/** How the agent runs nvidia-smi: a command prefix (e.g. `chroot /run/nvidia/driver nvidia-smi`) and a deadline. */
export interface SmiRunner {
  /** argv prefix; the subcommand arguments are appended. */
  command: readonly string[];
  /** Deadline of one run, in ms: a wedged driver must not stall the loop. */
  timeoutMs: number;
}

/** Result of one nvidia-smi run. */
export interface SmiResult {
  ok: boolean;
  stdout: string;
  /** Why it failed: exit code and stderr, timeout, or spawn error (absent binary). */
  error?: string;
}

/** Runs `runner.command ...args` with its deadline; never throws. */
export function runSmi(runner: SmiRunner, args: readonly string[]): Promise<SmiResult> {
  const [file, ...prefix] = runner.command;
  if (file === undefined) return Promise.resolve({ ok: false, stdout: "", error: "no nvidia-smi command configured" });
  return new Promise((resolve) => {
    execFile(file, [...prefix, ...args], { timeout: runner.timeoutMs, killSignal: "SIGKILL", maxBuffer: 1 << 20, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err === null) {
        resolve({ ok: true, stdout });
        return;
      }
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      const why =
        e.killed === true
          ? `timed out after ${runner.timeoutMs} ms`
          : typeof e.code === "string"
            ? `cannot run ${file}: ${e.code}`
            : `exit ${String(e.code)}${stderr.trim() !== "" ? `: ${stderr.trim().slice(0, 300)}` : stdout.trim() !== "" ? `: ${stdout.trim().slice(0, 300)}` : ""}`;
      resolve({ ok: false, stdout, error: why });
    });
  });
}

/** Reads every GPU: the parsed table, or why it could not (driver not ready, parse error). */
export async function queryGpus(runner: SmiRunner): Promise<{ gpus: GpuReading[] } | { error: string; raw?: string }> {
  const r = await runSmi(runner, GPU_QUERY_ARGS);
  if (!r.ok) return { error: r.error ?? "failed" };
  try {
    const gpus = parseGpuQuery(r.stdout);
    if (gpus.length === 0) return { error: "nvidia-smi listed no GPU", raw: r.stdout };
    return { gpus };
  } catch (err) {
    return { error: (err as Error).message, raw: r.stdout };
  }
}

/** `nvidia-smi -i UUID -pl W`. */
export function setPowerLimit(runner: SmiRunner, uuid: string, watts: number): Promise<SmiResult> {
  return runSmi(runner, ["-i", uuid, "-pl", String(watts)]);
}

/** `nvidia-smi -i UUID -pm 1`. */
export function enablePersistence(runner: SmiRunner, uuid: string): Promise<SmiResult> {
  return runSmi(runner, ["-i", uuid, "-pm", "1"]);
}
