/**
 * `mine2hpc hosts`: the host side of a site.
 * - `hosts script HOST [--uninstall | --removal | --published]` prints the script that runs as
 *   root on HOST (or, for `--removal`, on the first server to remove HOST); secrets are never in
 *   it, they arrive on STDIN. An agent runs it from the first server: its host file (settings,
 *   `--published` prints it as published) and the steps every agent of its kind runs.
 * - `hosts keyscan [--timeout S] [--concurrency N] [--port P] [--write]` reads every SSH host's
 *   public key with `ssh-keyscan` and pins it: `--write` fills the `sshHostKey` column of the
 *   inventory CSV (machines written in the site file get YAML lines to paste). Hosts that do not
 *   answer are listed, not fatal.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { execa } from "execa";
import type { Command, CommandContext } from "../command.js";
import { CliError, EXIT, SITE_OPTIONS } from "../command.js";
import { note, outputFormat, outputOptions, printResult } from "../output.js";
import { loadAndPlan, siteSourceFromArgs, displayPath } from "../site-args.js";
import { loadSite } from "../../site/load.js";
import { parseCsv } from "../../site/inventory.js";
import { headerKey } from "../../import/csv.js";
import type { FarmPlan } from "../../plan/types.js";
import { bootstrapDeadlineSeconds, renderAgentHostFile, renderBootstrapScript, renderServerSideRemovalScript, renderUninstallScript } from "../../render/index.js";

/** Key types asked for, in the order one is pinned when a host offers several. */
export const KEYSCAN_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"] as const;

/** One host to scan. */
export interface ScanTarget {
  hostname: string;
  ip: string;
}

/** What a scan found: the pinned key per hostname, and the hosts that gave none (with why). */
export interface ScanResult {
  keys: Map<string, string>;
  failed: { hostname: string; ip: string; reason: string }[];
}

/**
 * The preferred key of `ssh-keyscan` output (`host type base64` lines, `#` comments): ed25519,
 * then ECDSA, then RSA; null when there is none.
 */
export function pickHostKey(output: string): string | null {
  const found = new Map<string, string>();
  for (const line of output.split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 3 || parts[0]!.startsWith("#")) continue;
    const [, type, key] = parts;
    if ((KEYSCAN_TYPES as readonly string[]).includes(type!) && /^[A-Za-z0-9+/]+={0,3}$/.test(key!) && !found.has(type!)) found.set(type!, `${type} ${key}`);
  }
  for (const t of KEYSCAN_TYPES) if (found.has(t)) return found.get(t)!;
  return null;
}

/**
 * Runs `ssh-keyscan -T TIMEOUT -t ed25519,ecdsa,rsa -p PORT IP` for every target, `concurrency`
 * at a time, each bounded (ssh-keyscan's own timeout, and a hard kill a few seconds later).
 */
export async function scanHostKeys(targets: readonly ScanTarget[], opts: { timeoutSeconds: number; concurrency: number; port: number }): Promise<ScanResult> {
  const keys = new Map<string, string>();
  const failed: ScanResult["failed"] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const t = targets[next++];
      if (t === undefined) return;
      const r = await execa("ssh-keyscan", ["-T", String(opts.timeoutSeconds), "-t", "ed25519,ecdsa,rsa", "-p", String(opts.port), t.ip], {
        reject: false,
        timeout: (opts.timeoutSeconds + 5) * 1000,
        stdin: "ignore",
      });
      const key = pickHostKey(String(r.stdout));
      if (key !== null) keys.set(t.hostname, key);
      else {
        const err = String(r.stderr).split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")).join("; ");
        failed.push({ hostname: t.hostname, ip: t.ip, reason: r.timedOut ? "timed out" : err || `no answer within ${opts.timeoutSeconds} s` });
      }
    }
  };
  // A missing binary is a setup problem, not a host that did not answer.
  if ((await execa("ssh-keyscan", [], { reject: false, stdin: "ignore" })).exitCode === undefined) {
    throw new CliError("ssh-keyscan is not installed.\n  fix: install OpenSSH's client (apt-get install openssh-client).", 1);
  }
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, Math.max(targets.length, 1)) }, worker));
  failed.sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
  return { keys, failed };
}

/**
 * Sets the `sshHostKey` cell of each row whose hostname is in `keys`, adding the column when
 * the header lacks it. Rows without a new key, comments and blank lines are kept byte for byte;
 * a changed row is written back with RFC 4180 quoting. Throws when the CSV has no hostname column.
 */
export function setHostKeysInCsv(text: string, file: string, keys: ReadonlyMap<string, string>): { text: string; written: string[] } {
  const { records, problems } = parseCsv(text, file);
  if (problems.length > 0) throw new CliError(`${file} is not valid CSV: ${problems[0]!.message}.\n  fix: run 'mine2hpc validate' and correct it first.`);
  const header = records[0];
  if (header === undefined) throw new CliError(`${file} has no header row.\n  fix: add the header (hostname,ip,rack,circuit,role,...).`);
  const hostCol = header.cells.findIndex((c) => headerKey(c) === "hostname");
  if (hostCol < 0) throw new CliError(`${file} has no hostname column.\n  fix: add one; keys are matched to machines by hostname.`);
  let keyCol = header.cells.findIndex((c) => headerKey(c) === headerKey("sshHostKey"));
  const addColumn = keyCol < 0;
  if (addColumn) keyCol = header.cells.length;
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text.split(/\r?\n/);
  const byLine = new Map(records.map((r) => [r.line, r]));
  const out: string[] = [];
  const written: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const record = byLine.get(i + 1);
    if (record === undefined) {
      out.push(lines[i]!);
      continue;
    }
    const span = record.cells.reduce((n, c) => n + (c.match(/\n/g)?.length ?? 0), 1);
    const raw = lines.slice(i, i + span).join(eol);
    i += span - 1;
    const isHeader = record === header;
    const key = isHeader ? undefined : keys.get(record.cells[hostCol] ?? "");
    if (key === undefined || record.cells[keyCol] === key) {
      out.push(addColumn ? `${raw},${isHeader ? "sshHostKey" : ""}` : raw);
      continue;
    }
    const cells = [...record.cells];
    while (cells.length <= keyCol) cells.push("");
    cells[keyCol] = key;
    out.push(cells.map(csvCell).join(","));
    written.push(record.cells[hostCol]!);
  }
  return { text: out.join(eol), written };
}

function csvCell(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Machines that take SSH: planned nodes that are not offline, and retired nodes (uninstalled when reachable). */
export function sshTargets(plan: FarmPlan): { targets: ScanTarget[]; skipped: string[] } {
  const targets: ScanTarget[] = [];
  const skipped: string[] = [];
  for (const n of plan.nodes) {
    if (n.state === "offline") skipped.push(n.hostname);
    else targets.push({ hostname: n.hostname, ip: n.ip });
  }
  for (const r of plan.retired) if (r.k3sRole !== "asic") targets.push({ hostname: r.hostname, ip: r.ip });
  return { targets, skipped };
}

function positiveInt(value: unknown, flag: string, max: number): number {
  const n = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || n < 1 || n > max) {
    throw new CliError(`--${flag} '${String(value)}' is not a whole number from 1 to ${max}.\n  fix: e.g. --${flag} ${flag === "port" ? 22 : flag === "timeout" ? 5 : 16}.`, EXIT.usage);
  }
  return n;
}

async function runScript(ctx: CommandContext): Promise<number> {
  const host = ctx.positionals[1];
  if (host === undefined || ctx.positionals.length > 2) throw new CliError("hosts script takes one HOST.\n  usage: mine2hpc hosts script HOST [--uninstall | --removal | --published] [--stack S | --site F]", EXIT.usage);
  if ([ctx.values.uninstall, ctx.values.removal, ctx.values.published].filter(Boolean).length > 1) {
    throw new CliError("--uninstall, --removal and --published contradict each other.\n  fix: pass one of them.", EXIT.usage);
  }
  // The script is the artefact this subcommand prints (whatever --quiet says); it has one format.
  if (ctx.values.output !== undefined || ctx.values.json === true) throw new CliError("hosts script prints the script itself; -o/--json apply to 'hosts keyscan'.\n  fix: drop -o.", EXIT.usage);
  const { plan } = loadAndPlan(siteSourceFromArgs(ctx), ctx.cwd);
  try {
    const text = ctx.values.removal
      ? renderServerSideRemovalScript(plan, host)
      : ctx.values.uninstall
        ? renderUninstallScript(plan, host)
        : ctx.values.published
          ? renderAgentHostFile(plan, host, bootstrapDeadlineSeconds(plan))
          : renderBootstrapScript(plan, host);
    ctx.stdout.write(text);
  } catch (err) {
    throw new CliError(`${(err as Error).message}`);
  }
  return 0;
}

async function runKeyscan(ctx: CommandContext): Promise<number> {
  const format = outputFormat(ctx);
  if (ctx.positionals.length > 1) throw new CliError("hosts keyscan takes no HOST: it scans every SSH machine of the site.\n  fix: drop the extra arguments.", EXIT.usage);
  const timeoutSeconds = positiveInt(ctx.values.timeout ?? "5", "timeout", 600);
  const concurrency = positiveInt(ctx.values.concurrency ?? "16", "concurrency", 256);
  const port = positiveInt(ctx.values.port ?? "22", "port", 65535);
  const source = siteSourceFromArgs(ctx);
  const { plan } = loadAndPlan(source, ctx.cwd);
  const { targets, skipped } = sshTargets(plan);
  const result = await scanHostKeys(targets, { timeoutSeconds, concurrency, port });
  const keys = targets.flatMap((t) => {
    const key = result.keys.get(t.hostname);
    return key !== undefined ? [{ hostname: t.hostname, key }] : [];
  });
  let csvWritten: { file: string; hosts: string[] } | null = null;
  const inYaml: { hostname: string; key: string }[] = [];
  let siteFile: string | null = null;
  if (ctx.values.write) {
    const loaded = loadSite(source.siteFile, source.inventory ? { inventory: source.inventory } : {});
    siteFile = displayPath(loaded.file, ctx.cwd);
    const inCsv = new Map<string, string>();
    let csvFile: string | null = null;
    loaded.spec.machines.forEach((m, i) => {
      const key = result.keys.get(m.hostname);
      if (key === undefined) return;
      const where = loaded.locate(["machines", i]);
      if (where !== undefined && where.file !== loaded.file && /\.csv$/i.test(where.file)) {
        csvFile = where.file;
        inCsv.set(m.hostname, key);
      } else if (m.sshHostKey !== key) inYaml.push({ hostname: m.hostname, key });
    });
    if (csvFile !== null) {
      const file: string = csvFile;
      const { text, written } = setHostKeysInCsv(readFileSync(file, "utf8"), displayPath(file, ctx.cwd), inCsv);
      writeFileSync(file, text);
      csvWritten = { file: displayPath(file, ctx.cwd), hosts: written };
      note(ctx, `wrote sshHostKey for ${written.length} machine${written.length === 1 ? "" : "s"} into ${csvWritten.file}`);
    }
  }
  printResult(ctx, format, {
    data: { keys, csvWritten, toPaste: inYaml, failed: result.failed, skipped },
    text: () => {
      const out = keys.map((k) => `${k.hostname} ${k.key}\n`);
      if (inYaml.length > 0) {
        out.push(`# machines written in ${siteFile}: add these sshHostKey values under each machine\n`);
        for (const { hostname, key } of inYaml) out.push(`- hostname: ${hostname}\n  sshHostKey: "${key}"\n`);
      }
      return out.join("");
    },
    doc: () => ({
      heading: `SSH host keys of site ${plan.site.name}: ${keys.length} of ${targets.length} hosts answered`,
      summary: [
        ...(csvWritten !== null ? [`wrote sshHostKey for ${csvWritten.hosts.length} machines into ${csvWritten.file}`] : []),
        ...(inYaml.length > 0 ? [`${inYaml.length} machines written in ${siteFile}: add their sshHostKey there`] : []),
      ],
      sections: [
        { title: "Keys", table: { headers: ["HOST", "KEY"], rows: keys.map((k) => [k.hostname, k.key]) } },
        { title: "No key", table: { headers: ["HOST", "IP", "WHY"], rows: [...result.failed.map((f) => [f.hostname, f.ip, f.reason]), ...skipped.map((h) => [h, "", "state offline (no SSH is attempted)"])] } },
      ],
    }),
  });
  for (const s of skipped) note(ctx, `skipped ${s}: state offline (no SSH is attempted)`);
  for (const f of result.failed) note(ctx, `no key from ${f.hostname} (${f.ip}:${port}): ${f.reason}`);
  if (result.failed.length > 0) note(ctx, `${result.failed.length} of ${targets.length} host${targets.length === 1 ? "" : "s"} did not answer; their keys stay unpinned (a validation warning, an error with --strict)`);
  return 0;
}

const command: Command = {
  name: "hosts",
  summary: "Host side of a site: print the script that runs as root on a host; pin SSH host keys with ssh-keyscan.",
  usage: "script HOST [--uninstall | --removal | --published] | keyscan [--timeout S] [--concurrency N] [--port P] [--write] [-o text|json|yaml|md]  [--stack NAME | --site FILE]",
  description:
    "'hosts script HOST' prints what HostBootstrap runs as root on HOST (bootstrap; --uninstall: the uninstall; --removal: the server-side removal run on the first server). A server runs it inline; an agent runs it from the first server as its host file (its settings; --published prints it as published) and the steps every agent of its kind shares, each checked by sha256. Secrets are never part of it: they arrive on STDIN (servers: server token, agent token; agents: the agent token only).\n" +
    "'hosts keyscan' runs ssh-keyscan (bounded by --timeout, --concurrency at a time) against every machine that takes SSH and prints 'hostname key'; --write pins the keys in the inventory CSV's sshHostKey column (machines in the site file get YAML lines to paste). Hosts that do not answer are listed on stderr; the exit code stays 0.",
  options: {
    ...SITE_OPTIONS,
    uninstall: { type: "boolean", description: "script: print the uninstall script (remote.Command delete) instead of the bootstrap." },
    removal: { type: "boolean", description: "script: print the server-side removal of HOST (runs on the first server) instead of the bootstrap." },
    published: { type: "boolean", description: "script: print an agent's host file as published on the first server (what its command fetches by sha256) instead of the whole bootstrap." },
    timeout: { type: "string", valueName: "S", description: "keyscan: seconds ssh-keyscan waits for each host (default 5)." },
    concurrency: { type: "string", valueName: "N", description: "keyscan: hosts scanned at once (default 16)." },
    port: { type: "string", valueName: "P", description: "keyscan: SSH port (default 22)." },
    write: { type: "boolean", description: "keyscan: write the keys into the inventory CSV (sshHostKey column)." },
    ...outputOptions(),
  },
  async run(ctx) {
    const sub = ctx.positionals[0];
    if (sub === "script") return runScript(ctx);
    if (sub === "keyscan") return runKeyscan(ctx);
    throw new CliError(`${sub === undefined ? "missing subcommand" : `unknown subcommand '${sub}'`}.\n  usage: mine2hpc hosts ${command.usage}`, EXIT.usage);
  },
};
export default command;
