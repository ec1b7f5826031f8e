/**
 * Several exports into one inventory (`mine2hpc import foreman:miners.csv hiveos:workers.json`),
 * and the problems of an import told the way a person reads them: one line per kind of
 * problem with a count and the first rows, the full list only when asked.
 */
import { formatProblem } from "../site/problems.js";
import { printable } from "../site/input.js";
import type { ImportedMachine, ImportProblem, ImportResult } from "./types.js";

/** Rows listed under a kind of problem before the rest are counted (`--verbose` lists them all). */
export const ROWS_PER_KIND = 5;

/** The exports of one run, in the order given, as one inventory. */
export interface CombinedImport {
  /** Each export's own result, in the order given. */
  results: ImportResult[];
  /** Every export's machines, export after export, each in its file's order. */
  machines: ImportedMachine[];
  /** Every export's problems, then hostnames, IPs and MACs that more than one export claims. */
  problems: ImportProblem[];
  /** Machine records read from all exports. */
  records: number;
}

/** What must be unique across the inventory, and how a duplicate is fixed. */
const UNIQUE_FIELDS = [
  { field: "hostname", what: "hostname", fix: "a machine is in one fleet tool only: rename it in one of them, or leave one export out" },
  { field: "ip", what: "IP", fix: "each machine needs its own IP: the same address in two exports is one machine listed twice, or an address conflict to fix on the site" },
  { field: "mac", what: "MAC", fix: "a MAC belongs to one NIC: the same MAC in two exports is one machine listed twice; leave it in one fleet tool" },
] as const;

/**
 * Joins the results of several exports. A hostname, IP or MAC that two exports both claim is a
 * problem located at its first occurrence and naming every file:line that has it (within one
 * export, `finishRows` already refused the second row, so every repeat here spans exports).
 */
export function combineImports(results: readonly ImportResult[]): CombinedImport {
  const machines: ImportedMachine[] = [];
  const problems: ImportProblem[] = [];
  const seen = UNIQUE_FIELDS.map(() => new Map<string, Array<{ file: string; line: number }>>());
  let records = 0;
  for (const result of results) {
    records += result.records;
    problems.push(...result.problems);
    result.machines.forEach((m, k) => {
      machines.push(m);
      const at = { file: result.file, line: result.lines[k] ?? 0 };
      UNIQUE_FIELDS.forEach(({ field }, f) => {
        const value = m[field];
        if (value === undefined || value === "") return;
        const key = String(value);
        const list = seen[f]!.get(key);
        if (list) list.push(at);
        else seen[f]!.set(key, [at]);
      });
    });
  }
  UNIQUE_FIELDS.forEach(({ what, fix }, f) => {
    for (const [value, at] of seen[f]!) {
      if (at.length < 2) continue;
      problems.push({
        kind: `${what} in more than one export`,
        message: `${what} '${value}' appears ${at.length} times: ${at.map((a) => `${a.file}:${a.line}`).join(", ")}`,
        fix,
        source: at[0]!,
      });
    }
  });
  return { results: [...results], machines, problems, records };
}

/**
 * The problems as printed lines, summary first: problems of one kind (`no circuit rule
 * matches`) become one line with their count, their shared fix and the first
 * {@link ROWS_PER_KIND} rows, then how many more; a kind with one problem prints as it always
 * did (`file:line: message` and its fix). Kinds keep the order of their first problem.
 * `verbose` lists every problem in full, in order.
 */
export function problemLines(problems: readonly ImportProblem[], verbose = false): string[] {
  const lines: string[] = [];
  if (verbose) {
    for (const p of problems) lines.push(...formatProblem(p).split("\n"));
    return lines;
  }
  const groups = new Map<string, ImportProblem[]>();
  for (const p of problems) {
    // Without a kind a problem is its own group: file-level problems are never lumped together.
    const key = p.kind !== undefined ? `kind:${p.kind}` : `one:${groups.size}`;
    const group = groups.get(key);
    if (group) group.push(p);
    else groups.set(key, [p]);
  }
  for (const group of groups.values()) {
    const first = group[0]!;
    if (group.length === 1) {
      lines.push(...formatProblem(first).split("\n"));
      continue;
    }
    lines.push(printable(`${first.kind}: ${group.length} rows`), `  fix: ${printable(first.fix)}`);
    for (const p of group.slice(0, ROWS_PER_KIND)) {
      lines.push(printable(`  ${p.source ? `${p.source.file}:${p.source.line}: ` : ""}${p.message}`));
    }
    if (group.length > ROWS_PER_KIND) lines.push(`  ... and ${group.length - ROWS_PER_KIND} more (run with --verbose to list every row)`);
  }
  return lines;
}
