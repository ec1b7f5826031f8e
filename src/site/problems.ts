/**
 * Problems found in a site: what is wrong, where (file:line), and how to fix it.
 *
 * Loading, validation and planning collect every problem before failing, so a person
 * fixes a site in one pass. Nothing downstream (render, components) runs on a site
 * with problems.
 */
import { printable, quoted } from "./input.js";

/** Path of a value inside the site document, e.g. `["machines", 3, "ip"]`. */
export type SitePath = ReadonlyArray<string | number>;

/** A place in a file. Lines and columns are 1-based. */
export interface SourceRef {
  file: string;
  line: number;
  column?: number;
}

/** One problem in a site. */
export interface Problem {
  /** What is wrong, in one sentence. */
  message: string;
  /** How to fix it, in one sentence. */
  fix: string;
  /** Where in the site document (resolved to file:line by the loader). */
  path?: SitePath;
  /** Where in a file; filled by the loader from `path`, or set directly (YAML syntax, CSV rows). */
  source?: SourceRef;
}

/**
 * Formats a problem as `file:line:col: message\n  fix: ...`. Control characters (and
 * bidirectional or zero-width marks) become `?`: a value quoted from a file can neither move
 * the cursor of a terminal nor hide text in a CI log, whoever built the message.
 */
export function formatProblem(p: Problem): string {
  const where = p.source ? `${p.source.file}:${p.source.line}${p.source.column ? `:${p.source.column}` : ""}: ` : "";
  const at = p.path && p.path.length > 0 ? ` (at ${formatPath(p.path)})` : "";
  return `${printable(where + p.message + at)}\n  fix: ${printable(p.fix)}`;
}

/**
 * `["machines", 3, "ip"]` → `machines[3].ip`. A key that is not a plain field name (an
 * unknown key read from the file) is shown as a sanitised excerpt: `metadata['col?[2J']`.
 */
export function formatPath(path: SitePath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (!/^[A-Za-z_$][A-Za-z0-9_$-]{0,39}$/.test(part)) out += `[${quoted(part, 40)}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

/**
 * Thrown when a site has problems. Carries all of them; the CLI prints each and exits 2,
 * and the Pulumi program throws it before registering any resource.
 */
export class SiteError extends Error {
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    super(
      `site has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => formatProblem(p)).join("\n"),
    );
    this.name = "SiteError";
    this.problems = problems;
  }
}
