/**
 * One set of rules for every importer: `RawRow`s (what an export says) → inventory rows
 * (what `src/site/inventory.ts` reads), or the reasons a row cannot be used.
 */
import { excerpt, quoted } from "../site/input.js";
import { BUILTIN_CATALOG, isAmdGpuName, nearestName, type HardwareCatalog } from "../site/catalog.js";
import { describeRule, ipToNumber, matchRule, type CircuitRule } from "./circuits.js";
import type { HostnameChange, ImportedMachine, ImportProblem, ImportResult, ProgressFn, RawRow } from "./types.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ROLES = ["control-plane", "gpu", "cpu", "asic"];
const PCIE_LINKS = ["x1", "x4", "x8", "x16"];
/** Rows between two progress callbacks; small enough to feel live, large enough to cost nothing. */
const PROGRESS_EVERY = 5000;
/** Rules named in a "no rule matches" fix; a 41-rule file is summarised, not printed into every line. */
const RULES_SHOWN = 5;

/** An import that produced nothing but `problems` (a broken header, a file that is no export). */
export function failedImport(file: string, problems: ImportProblem[], records: number): ImportResult {
  return { file, machines: [], lines: [], problems, warnings: [], renamed: [], records, offline: [] };
}

/** `rack A01-A04; row 2; ip 10.30.3.0/24` for the first few rules, and how many more there are. */
function rulesChecked(rules: readonly CircuitRule[]): string {
  const shown = rules.slice(0, RULES_SHOWN).map(describeRule).join("; ");
  return rules.length > RULES_SHOWN ? `${shown}; and ${rules.length - RULES_SHOWN} more` : shown;
}

/**
 * `Rig_01.Farm A` → `rig-01-farm-a`: lowercase, anything but letters and digits becomes
 * `-`, runs of `-` collapse, at most 63 characters, no `-` at either end (DNS-1123 label,
 * what k3s accepts as a node name). Empty when nothing usable is left.
 */
export function normalizeHostname(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, 63)
    .replace(/-+$/, "");
}

/** `AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff` or `aabbccddeeff` → `aa:bb:cc:dd:ee:ff`; undefined when not a MAC. */
export function normalizeMac(mac: string): string | undefined {
  const hex = mac.trim().toLowerCase().replace(/[:.\-\s]/g, "");
  if (!/^[0-9a-f]{12}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(":");
}

/** Options of `finishRows`. */
export interface FinishOptions {
  /** The export as it appears in messages. */
  file: string;
  /** Circuit rules; rows without a circuit of their own need one to match. */
  rules?: readonly CircuitRule[];
  /** Number of machine records, for `result.records` (defaults to `rows.length`). */
  records?: number;
  /** Leave machines the fleet tool reports offline out (listed in `offline`), rather than import them with state offline. */
  skipOffline?: boolean;
  onProgress?: ProgressFn;
  /** Where models are looked up: a site's catalog finds the models it adds (`mine2hpc import --site`). @default the built-in catalog */
  catalog?: HardwareCatalog;
}

/** Normalizes and checks every row; all problems of all rows are collected, in input order. */
export function finishRows(rows: readonly RawRow[], opts: FinishOptions): ImportResult {
  const { file } = opts;
  const result: ImportResult = { file, machines: [], lines: [], problems: [], warnings: [], renamed: [], records: opts.records ?? rows.length, offline: [] };
  const hostLines = new Map<string, number>();
  const ipLines = new Map<string, number>();
  const macLines = new Map<string, number>();
  const catalog = opts.catalog ?? BUILTIN_CATALOG;
  const gpuKeys = catalog.gpus.map((g) => g.key);
  const asicKeys = catalog.asics.map((a) => a.key);
  const total = rows.length;

  rows.forEach((raw, index) => {
    if (opts.onProgress && index % PROGRESS_EVERY === 0) opts.onProgress(index, total);
    const at = { file, line: raw.line };
    const problems: ImportProblem[] = [];
    const fail = (kind: string, message: string, fix: string): void => {
      problems.push({ kind, message, fix, source: at });
    };
    if (raw.offline && opts.skipOffline) {
      // Left out on request: its problems (if any) do not matter, it is not imported.
      result.offline.push({ line: raw.line, hostname: normalizeHostname(raw.hostname ?? "") || excerpt(raw.hostname ?? ""), skipped: true });
      return;
    }
    if (raw.invalid) {
      result.problems.push({ ...raw.invalid, source: at });
      return;
    }

    // Hostname: a DNS label, unique.
    const given = raw.hostname?.trim() ?? "";
    let hostname = "";
    if (given === "") {
      fail("machine has no hostname", "machine has no hostname", "give the machine a name in the fleet tool, or map a column to hostname with --map hostname=COLUMN");
    } else {
      hostname = normalizeHostname(given);
      if (hostname === "" || !DNS_LABEL.test(hostname)) {
        fail("hostname has no letters or digits", `hostname ${quoted(given)} has no letters or digits to make a node name from`, "rename the machine in the fleet tool");
        hostname = "";
      } else if (hostname !== given) {
        result.renamed.push({ line: raw.line, from: excerpt(given), to: hostname } satisfies HostnameChange);
      }
      if (hostname !== "") {
        const first = hostLines.get(hostname);
        if (first !== undefined) fail("hostname used by an earlier row", `hostname ${quoted(hostname)} is already used on line ${first}`, "give each machine its own name in the fleet tool (node names must be unique)");
        else hostLines.set(hostname, raw.line);
      }
    }

    // IP: IPv4, unique.
    const ip = raw.ip?.trim() ?? "";
    if (ip === "") fail("machine has no IP address", "machine has no IP address", "set the machine's IP in the fleet tool, or map a column to ip with --map ip=COLUMN");
    else if (ipToNumber(ip) === undefined) fail("IP is not an IPv4 address", `IP ${quoted(ip)} is not an IPv4 address`, "write it as 10.20.0.11");
    else {
      const first = ipLines.get(ip);
      if (first !== undefined) fail("IP used by an earlier row", `IP ${ip} is already used on line ${first}`, "each machine needs its own IP; fix the duplicate in the fleet tool");
      else ipLines.set(ip, raw.line);
    }

    let mac: string | undefined;
    if (raw.mac !== undefined && raw.mac.trim() !== "") {
      mac = normalizeMac(raw.mac);
      if (mac === undefined) fail("MAC is not a MAC address", `MAC ${quoted(raw.mac.trim())} is not a MAC address`, "write it as 3c:ec:ef:01:02:03, or leave it empty");
      else {
        // One NIC, one machine: a repeated MAC is a copy-paste in the fleet tool, and DHCP would give both one lease.
        const first = macLines.get(mac);
        if (first !== undefined) fail("MAC used by an earlier row", `MAC ${mac} is already used on line ${first}`, "each machine has its own MAC; fix the duplicate in the fleet tool");
        else macLines.set(mac, raw.line);
      }
    }

    // Circuit: the export's own, else the first matching rule.
    const container = raw.container?.trim() || undefined;
    const rule = opts.rules
      ? matchRule(opts.rules, { ...(raw.rack !== undefined ? { rack: raw.rack } : {}), ...(raw.row !== undefined ? { row: raw.row } : {}), ...(container ? { container } : {}), ...(ip !== "" ? { ip } : {}) })
      : undefined;
    let circuit = raw.circuit?.trim().toLowerCase() ?? "";
    if (circuit === "") {
      if (rule) circuit = rule.circuit;
      else if (opts.rules && !(raw.rack?.trim() || raw.row?.trim() || container || ip)) {
        // Nothing to match on: the missing IP (or location) is the problem already reported.
        if (ip !== "") fail("nothing to match a circuit rule on", "machine has no rack, row or IP to match a circuit rule", "record the machine's location or IP in the fleet tool");
      } else if (opts.rules) {
        const where = [container ? `container ${excerpt(container)}` : "", raw.rack ? `rack ${excerpt(raw.rack.trim())}` : "", raw.row ? `row ${excerpt(raw.row.trim())}` : "", ip ? `ip ${excerpt(ip)}` : ""].filter((s) => s !== "").join(", ");
        fail("no circuit rule matches", `no circuit rule matches this machine (${where || "no rack, row or ip"})`, `add a rule for it to the circuit rules file (rules checked: ${rulesChecked(opts.rules)})`);
      } else fail("machine has no circuit", "machine has no circuit", "pass --circuits RULES (a YAML file mapping racks or IP ranges to circuits) or map a circuit column with --map circuit=COLUMN");
    } else if (!DNS_LABEL.test(circuit)) {
      fail("circuit is not a DNS label", `circuit ${quoted(raw.circuit!.trim())} is not a DNS label`, "use the circuit id as the site names it: lowercase letters, digits and '-'");
    }

    // A container's racks are named within the container: `C01-R1` keeps rack 1 of C01 apart from rack 1 of C02.
    const ownRack = raw.rack?.trim() || "";
    const rack = (container && ownRack ? `${container}-${ownRack}` : ownRack || container) || rule?.setRack || raw.fallbackRack || "";
    if (rack === "") fail("machine has no rack", "machine has no rack", "record the machine's location in the fleet tool, or add setRack: to its circuit rule");

    // Models and role.
    let role = raw.role?.trim().toLowerCase() ?? "";
    let gpuModel: string | undefined;
    let asicModel: string | undefined;
    const gpuName = raw.gpuModel?.trim() || undefined;
    const asicName = raw.asicModel?.trim() || undefined;
    const amd = [gpuName, raw.model?.trim()].find((n) => n !== undefined && n !== "" && isAmdGpuName(n));
    if (amd !== undefined) {
      fail("AMD GPUs cannot be planned", `${quoted(amd)} is an AMD GPU; the NVIDIA GPU operator and nvidia-smi power limits drive only NVIDIA GPUs`, "leave AMD rigs out of the import, or add the machine to the site by hand as role: cpu (its GPUs' draw in baseWatts)");
    } else if (gpuName) {
      gpuModel = catalog.findGpu(gpuName)?.key;
      if (!gpuModel) fail("GPU model not in the hardware catalog", `GPU model ${quoted(gpuName)} is not in the hardware catalog${hint(gpuName, gpuKeys)}`, `use a catalog GPU, or describe the model under catalog.gpus in the site file and import with --site SITE`);
    }
    if (asicName) {
      asicModel = catalog.findAsic(asicName)?.key;
      if (!asicModel) fail("ASIC model not in the hardware catalog", `ASIC model ${quoted(asicName)} is not in the hardware catalog${hint(asicName, asicKeys)}`, `use a catalog ASIC, or describe the model under catalog.asics in the site file and import with --site SITE`);
    }
    const modelName = raw.model?.trim() || undefined;
    if (modelName && !gpuName && !asicName && amd === undefined) {
      gpuModel = catalog.findGpu(modelName)?.key;
      if (!gpuModel) asicModel = catalog.findAsic(modelName)?.key;
      if (!gpuModel && !asicModel) fail("model not in the hardware catalog", `model ${quoted(modelName)} is neither a GPU nor an ASIC of the hardware catalog${hint(modelName, [...gpuKeys, ...asicKeys])}`, "use a catalog model, or describe it under catalog.gpus or catalog.asics in the site file and import with --site SITE");
    }
    if (role === "") {
      if (asicModel || (asicName && !gpuName)) role = "asic";
      else if (gpuModel || gpuName) role = "gpu";
      else if (!modelName) fail("role unknown", "cannot tell the machine's role (no model and no role)", "map a role column (--map role=COLUMN) or a model column (--map model=COLUMN)");
    } else if (!ROLES.includes(role)) {
      fail("role not valid", `role ${quoted(raw.role!.trim())} is not one of ${ROLES.join(", ")}`, `use one of ${ROLES.join(", ")}`);
    }

    let gpuCount: number | undefined;
    if (raw.gpuCount !== undefined && raw.gpuCount.trim() !== "") {
      const n = Number(raw.gpuCount.trim());
      if (!Number.isInteger(n) || n < 0 || n > 16) fail("GPU count not valid", `GPU count ${quoted(raw.gpuCount.trim())} is not a whole number from 0 to 16`, "write the number of GPUs in the machine, e.g. 8");
      else gpuCount = n;
    } else if (role === "gpu") {
      fail("GPU machine has no GPU count", "GPU machine has no GPU count", "map a column to gpuCount with --map gpuCount=COLUMN");
    }

    let pcieLink: string | undefined;
    if (raw.pcieLink !== undefined && raw.pcieLink.trim() !== "") {
      pcieLink = raw.pcieLink.trim().toLowerCase();
      if (!PCIE_LINKS.includes(pcieLink)) fail("PCIe link not valid", `PCIe link ${quoted(raw.pcieLink.trim())} is not one of ${PCIE_LINKS.join(", ")}`, "write x1 for riser rigs, x16 for servers");
    }

    let psuEfficiency: number | undefined;
    if (raw.psuEfficiency !== undefined && raw.psuEfficiency.trim() !== "") {
      psuEfficiency = parseEfficiency(raw.psuEfficiency);
      if (psuEfficiency === undefined) fail("PSU efficiency not valid", `PSU efficiency ${quoted(raw.psuEfficiency.trim())} is not a fraction above 0.5 or a percentage above 50`, "write it as 0.94 or 94%");
    }
    let baseWatts: number | undefined;
    if (raw.baseWatts !== undefined && raw.baseWatts.trim() !== "") {
      const n = Number(raw.baseWatts.trim());
      if (!Number.isFinite(n) || n < 0 || raw.baseWatts.trim() === "") fail("base watts not valid", `base watts ${quoted(raw.baseWatts.trim())} is not a number of watts`, "write the DC draw without GPUs in W, e.g. 120");
      else baseWatts = n;
    }

    if (problems.length > 0) {
      result.problems.push(...problems);
      return;
    }
    const machine: ImportedMachine = { hostname, ip, rack, circuit, role };
    if (mac) machine.mac = mac;
    if (gpuModel) machine.gpuModel = gpuModel;
    if (gpuCount !== undefined) machine.gpuCount = gpuCount;
    if (pcieLink) machine.pcieLink = pcieLink;
    if (asicModel) machine.asicModel = asicModel;
    if (psuEfficiency !== undefined) machine.psuEfficiency = psuEfficiency;
    if (baseWatts !== undefined) machine.baseWatts = baseWatts;
    if (raw.sshUser?.trim()) machine.sshUser = raw.sshUser.trim();
    if (raw.offline) {
      // Its power is still planned (it can come back on), but no SSH is attempted: see MachineState in src/site/schema.ts.
      machine.state = "offline";
      result.offline.push({ line: raw.line, hostname, skipped: false });
    }
    if (raw.row?.trim()) machine.row = raw.row.trim();
    if (raw.fleetId?.trim()) machine.fleetId = raw.fleetId.trim();
    result.machines.push(machine);
    result.lines.push(raw.line);
  });
  if (opts.onProgress) opts.onProgress(total, total);
  return result;
}

/** `0.94`, `94%` or `94` (fleet tools store percent) → 0.94; undefined outside (0.5, 1]. */
function parseEfficiency(text: string): number | undefined {
  const t = text.trim();
  const percent = t.endsWith("%");
  const digits = percent ? t.slice(0, -1).trim() : t;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(digits)) return undefined;
  let value = Number(digits);
  if (percent || value > 1) value = Math.round(value * 100) / 10000;
  return value > 0.5 && value <= 1 ? value : undefined;
}

function hint(name: string, keys: readonly string[]): string {
  const near = nearestName(name, keys);
  return near ? ` (closest: ${near})` : "";
}
