/**
 * Loading a site: YAML (plus an optional CSV inventory) → a typed `SiteSpec`, with every
 * problem located at file:line:column.
 *
 * Why we keep YAML nodes instead of `YAML.parse`: a zod issue only has a path
 * (`machines[3].ip`); a person needs the line. `parseDocument` keeps each node's byte range,
 * and a `LineCounter` turns ranges into lines, so any path (from zod, `validate.ts` or the
 * planner) can be shown where it was written — in the site file, or in the CSV row it came from.
 *
 * Loading never throws anything but `SiteError` for bad input, and collects every problem
 * before throwing, so a site is fixed in one pass.
 */
import { dirname } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from "yaml";
import type { z } from "zod";
import { editDistance, siteCatalog, type HardwareCatalog } from "./catalog.js";
import { confinedPath, excerpt, parserMessage, quoted, readInputText } from "./input.js";
import { readInventory, type Inventory } from "./inventory.js";
import { SiteError, type Problem, type SitePath, type SourceRef } from "./problems.js";
import { Site, SiteCatalog, type SiteSpec } from "./schema.js";
import { validateCatalog, validateSite } from "./validate.js";

/** A site that passed the schema, with a way back from any path to where it was written. */
export interface LoadedSite {
  /** The site file as given to `loadSite` (used in messages). */
  file: string;
  /** The parsed site with defaults applied; inventory rows appended to `machines`. */
  spec: SiteSpec;
  /**
   * Where a path was written: the node itself, or its nearest existing parent when the
   * path names something absent (a missing field points at the object that lacks it).
   * Machines from the inventory resolve to their CSV row (and cell column when the path
   * names a field). Undefined only for a path outside the document.
   */
  locate(path: SitePath): SourceRef | undefined;
}

/** Options of `loadSite`. */
export interface LoadOptions {
  /**
   * Inventory CSV to append to `machines`, overriding the site's own `inventory` field.
   * Resolved against the working directory (the stack config gives repo-relative paths),
   * unlike the site's field, which is relative to the site file.
   */
  inventory?: string;
  /**
   * Folder `inventory` must stay inside (after following links), when the path was read from a
   * file a pull request can change (the stack config's `mine2hpc:inventory`: the project
   * folder). Unset for a path a person typed (`--inventory`), which is theirs to choose.
   * The site's own `inventory:` field is always confined to the site file's folder.
   */
  inventoryRoot?: string;
  /** Where `inventory` was written (the stack config line), for a problem with it. */
  inventorySource?: SourceRef;
  /** Strict validation (see `ValidateOptions.strict`). @default false */
  strict?: boolean;
}

interface ReadResult {
  spec?: SiteSpec;
  locate: (path: SitePath) => SourceRef | undefined;
  problems: Problem[];
  /**
   * When the schema failed only inside some machines: the site with those machines
   * replaced by stand-ins, and their indices, so the cross-field checks can still run on
   * everything else in the same pass.
   */
  partial?: { spec: SiteSpec; skipMachines: Set<number> };
}

/** Loads a site file and checks it against the schema; throws `SiteError` listing every problem. */
export function loadSite(file: string, opts: LoadOptions = {}): LoadedSite {
  const result = readSite(file, opts);
  if (result.spec === undefined || result.problems.length > 0) throw new SiteError(result.problems);
  return { file, spec: result.spec, locate: result.locate };
}

/**
 * Loads a site and runs the cross-field checks of `validate.ts`; throws one `SiteError`
 * with schema and cross-field problems together, each located, in document order.
 * Cross-field checks need schema-valid data: when only some machines fail the schema they
 * run on the rest of the site; when anything else fails, only the schema problems are shown.
 */
export function loadAndValidate(file: string, opts: LoadOptions = {}): LoadedSite {
  const result = readSite(file, opts);
  if (result.spec === undefined || result.problems.length > 0) {
    // Inventory rows that could not be read leave a schema-valid site: check the rest of it.
    const extra = (
      result.spec !== undefined
        ? validateSite(result.spec, { strict: opts.strict === true })
        : result.partial
          ? validateSite(result.partial.spec, { skipMachines: result.partial.skipMachines, strict: opts.strict === true })
          : []
    ).map((p) => withSource(p, result.locate, file));
    throw new SiteError(sortProblems([...result.problems, ...extra], file));
  }
  const loaded: LoadedSite = { file, spec: result.spec, locate: result.locate };
  const problems = validateSite(loaded.spec, { strict: opts.strict === true }).map((p) => withSource(p, loaded.locate, file));
  if (problems.length > 0) throw new SiteError(sortProblems(problems, file));
  return loaded;
}

/**
 * The hardware catalog of a site file: its `catalog` block over the built-in catalog, for a
 * tool that needs models but not the whole site (`mine2hpc import --site`, whose inventory
 * may not exist yet). Only the catalog block is read and checked.
 *
 * @throws SiteError with every problem of the file's YAML or of its catalog block, located
 */
export function loadSiteCatalog(file: string): HardwareCatalog {
  const read = readInputText(file, "site file", file);
  if (!read.ok) throw new SiteError([{ message: read.message, fix: read.fix, source: { file, line: 1 } }]);
  const lineCounter = new LineCounter();
  const doc = parseDocument(read.text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: "error" });
  const at = (offset: number): SourceRef => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, column: pos.col };
  };
  if (doc.errors.length > 0) {
    throw new SiteError(doc.errors.map((err) => ({ message: `YAML syntax error: ${parserMessage(err.message, err.code)}`, fix: yamlFix(err.code), source: at(err.pos[0]) })));
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new SiteError([{ message: `YAML cannot be read: ${parserMessage((err as Error).message, "TOJS")}`, fix: "remove the excessive aliases (*name) from the file", source: { file, line: 1 } }]);
  }
  const block = isRecord(data) ? data["catalog"] : undefined;
  if (block === undefined || block === null) return siteCatalog({});
  const locate = (path: SitePath, preferKey = false): SourceRef => locateInYaml(doc, path, preferKey, at) ?? { file, line: 1 };
  const parsed = SiteCatalog.safeParse(block);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) =>
      describeIssue({ ...issue, path: ["catalog", ...issue.path] } as Issue, data).map((p) => ({ ...p, source: locate(p.path ?? [], issue.code === "unrecognized_keys") })),
    );
    throw new SiteError(sortProblems(problems, file));
  }
  const spec = { catalog: parsed.data };
  const problems = validateCatalog(spec).map((p) => ({ ...p, source: locate(p.path ?? []) }));
  if (problems.length > 0) throw new SiteError(sortProblems(problems, file));
  return siteCatalog(spec);
}

/** A machine that passes the schema, standing in for one that does not (and that validation skips). */
const STAND_IN_MACHINE = { hostname: "schema-invalid", ip: "0.0.0.0", rack: "-", circuit: "schema-invalid", role: "cpu" } as const;

/** The site with schema-failing machines replaced, when the schema failed only inside machines. */
function partialSite(data: unknown, issues: readonly z.core.$ZodIssue[]): ReadResult["partial"] {
  if (!isRecord(data) || !Array.isArray(data["machines"])) return undefined;
  const skip = new Set<number>();
  for (const issue of issues) {
    const [head, index] = issue.path;
    if (head !== "machines" || typeof index !== "number") return undefined;
    skip.add(index);
  }
  const machines = (data["machines"] as unknown[]).map((m, i) => (skip.has(i) ? STAND_IN_MACHINE : m));
  const parsed = Site.safeParse({ ...data, machines });
  return parsed.success ? { spec: parsed.data, skipMachines: skip } : undefined;
}

/** Fills `source` from `path` (or the file itself when the path cannot be found). */
function withSource(p: Problem, locate: (path: SitePath) => SourceRef | undefined, file: string): Problem {
  if (p.source) return p;
  return { ...p, source: (p.path && locate(p.path)) || { file, line: 1 } };
}

/** Document order: the site file first, then the inventory, each by line and column; ties keep their order. */
function sortProblems(problems: Problem[], siteFile: string): Problem[] {
  const rank = (p: Problem): [number, number, number] => [p.source?.file === siteFile ? 0 : 1, p.source?.line ?? 0, p.source?.column ?? 0];
  return problems
    .map((p, index) => ({ p, index, r: rank(p) }))
    .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.r[2] - b.r[2] || a.index - b.index)
    .map((x) => x.p);
}

function readSite(file: string, opts: LoadOptions): ReadResult {
  const noLocation = (): SourceRef | undefined => undefined;
  // Never the file's bytes in a message: a binary, UTF-16 or private-key file is named as such.
  const read = readInputText(file, "site file", file);
  if (!read.ok) {
    const pathFix = "check the path (--site, or mine2hpc:site in the stack config), or start from a template in templates/";
    return { locate: noLocation, problems: [{ message: read.message, fix: read.code === "ENOENT" ? pathFix : read.fix, source: { file, line: 1 } }] };
  }
  const text = read.text;

  const lineCounter = new LineCounter();
  // logLevel "error": at "warn" the yaml package prints warnings that quote the file (a key
  // that is a collection) to stderr through process.emitWarning, bypassing every message here.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: "error" });
  const at = (offset: number): SourceRef => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, column: pos.col };
  };
  if (doc.errors.length > 0) {
    return {
      locate: noLocation,
      problems: doc.errors.map((err) => ({
        message: `YAML syntax error: ${parserMessage(err.message, err.code)}`,
        fix: yamlFix(err.code),
        source: at(err.pos[0]),
      })),
    };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    // Only reachable through alias abuse ("billion laughs"); still bad input, not a crash.
    return {
      locate: noLocation,
      problems: [{ message: `YAML cannot be read: ${parserMessage((err as Error).message, "TOJS")}`, fix: "remove the excessive aliases (*name) from the file", source: { file, line: 1 } }],
    };
  }
  if (data === null || data === undefined) {
    return {
      locate: noLocation,
      problems: [{ message: "site file is empty", fix: "start from a template in templates/ (apiVersion: mine2hpc.io/v1alpha1, kind: Site, ...)", source: { file, line: 1 } }],
    };
  }

  if (!isRecord(data)) {
    // Never quote it: a file passed as --site by mistake (a key, an env file) reads as one long string.
    return {
      locate: noLocation,
      problems: [
        {
          message: `site file ${file} is not a site: its top level is ${Array.isArray(data) ? "a list" : typeof data === "string" ? "plain text" : `a ${typeof data}`}, not a mapping; nothing of it is shown`,
          fix: "check the path; a site file is a YAML mapping starting with apiVersion: mine2hpc.io/v1alpha1 and kind: Site (see templates/)",
          source: { file, line: 1 },
        },
      ],
    };
  }

  const yamlLocate = (path: SitePath, preferKey = false): SourceRef | undefined => locateInYaml(doc, path, preferKey, at);
  const problems: Problem[] = [];

  // Inventory: the override wins; otherwise the site's own field, relative to the site file.
  let inventory: Inventory | undefined;
  let inlineCount = 0;
  const record = isRecord(data) ? data : undefined;
  const invField = record?.["inventory"];
  const invPath = inventoryPath(file, opts, invField, yamlLocate(["inventory"]), problems);
  if (invPath !== undefined && record !== undefined) {
    inventory = readInventory(invPath, opts.inventory === undefined ? yamlLocate(["inventory"]) : opts.inventorySource);
    // A loop, not push(...): a file named by mistake can hold hundreds of thousands of problems.
    for (const p of inventory.problems) problems.push(p);
    const machines = record["machines"];
    if (machines === undefined || machines === null || Array.isArray(machines)) {
      const inline = Array.isArray(machines) ? (machines as unknown[]) : [];
      inlineCount = inline.length;
      record["machines"] = [...inline, ...inventory.machines];
    }
  }

  const locate = (path: SitePath, preferKey = false): SourceRef | undefined => {
    const index = path[1];
    if (inventory !== undefined && path[0] === "machines" && typeof index === "number" && index >= inlineCount) {
      const row = inventory.rows[index - inlineCount];
      if (row === undefined) return undefined;
      const field = path[2];
      const column = typeof field === "string" ? row.cellColumns[field as keyof typeof row.cellColumns] : undefined;
      return { file: inventory.file, line: row.line, column: column ?? 1 };
    }
    return yamlLocate(path, preferKey);
  };

  const parsed = Site.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      for (const p of describeIssue(issue, data)) {
        problems.push({ ...p, source: locate(p.path ?? [], issue.code === "unrecognized_keys") ?? { file, line: 1 } });
      }
    }
  }
  const sorted = sortProblems(problems, file);
  if (parsed.success) return { spec: parsed.data, locate, problems: sorted };
  const partial = partialSite(data, parsed.error.issues);
  return partial ? { locate, problems: sorted, partial } : { locate, problems: sorted };
}

/**
 * The inventory to read: the override (confined to `opts.inventoryRoot` when set), else the
 * site's `inventory:` field, which must stay inside the site file's folder: a site file
 * changed in a pull request must not make CI read (and print) `/proc/self/environ` or
 * `../../.ssh/id_ed25519`. A path outside is a problem and nothing is read.
 */
function inventoryPath(file: string, opts: LoadOptions, field: unknown, fieldAt: SourceRef | undefined, problems: Problem[]): string | undefined {
  if (opts.inventory !== undefined) {
    if (opts.inventoryRoot === undefined) return opts.inventory;
    const inside = confinedPath(opts.inventoryRoot, opts.inventory);
    if (inside !== undefined) return inside;
    problems.push({
      message: `inventory ${quoted(opts.inventory)} (mine2hpc:inventory) is outside the project folder; it was not read`,
      fix: "move the inventory into the project and give its path relative to the project folder, or pass it on the command line with --inventory FILE",
      source: opts.inventorySource ?? { file, line: 1 },
    });
    return undefined;
  }
  if (typeof field !== "string" || field === "") return undefined;
  const siteDir = dirname(file);
  const inside = confinedPath(siteDir, field);
  if (inside !== undefined) return inside;
  problems.push({
    message: `inventory ${quoted(field)} is outside the site file's folder (${siteDir === "" ? "." : excerpt(siteDir)}); it was not read`,
    fix: `move the inventory next to the site file (or into a folder below it) and write its relative path, e.g. inventory: inventory.csv; a file elsewhere can only be named on the command line: --inventory FILE`,
    source: fieldAt ?? { file, line: 1 },
  });
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}

function yamlFix(code: string): string {
  switch (code) {
    case "DUPLICATE_KEY":
      return "remove or rename one of the two keys (each key may appear once per mapping)";
    case "TAB_AS_INDENT":
      return "indent with spaces; YAML does not allow tabs for indentation";
    case "MULTIPLE_DOCS":
      return "keep one document per site file (remove the extra '---')";
    case "MISSING_CHAR":
      return "add the missing character named above (a closing quote or bracket, or ':' after a key); an unclosed quote may start several lines earlier";
    case "BAD_INDENT":
      return "check the indentation and the ':' after each key on this line";
    default:
      return "fix the YAML at this position: check indentation, ':' after keys, '- ' before list items, and matching quotes";
  }
}

/**
 * Walks `path` through the YAML tree and returns the deepest node that exists. Scalars
 * point at their value; collections (and `key:` with no value) point at their key, which is
 * the line a person reads as "the machines list". `preferKey` points at the key even for
 * scalars (an unknown field is wrong because of its name).
 */
function locateInYaml(doc: Document, path: SitePath, preferKey: boolean, at: (offset: number) => SourceRef): SourceRef | undefined {
  let node: unknown = doc.contents;
  let keyNode: YamlNode | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) break;
      keyNode = pair.key as YamlNode;
      node = pair.value;
      if (node === null || node === undefined) break;
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg];
      if (item === undefined || item === null) break;
      keyNode = undefined;
      node = item;
    } else {
      break;
    }
  }
  const valueRange = (node as YamlNode | null | undefined)?.range;
  const useKey = keyNode?.range !== undefined && (preferKey || !isScalar(node) || valueRange === undefined);
  const range = useKey ? keyNode!.range : valueRange;
  return range ? at(range[0]) : undefined;
}

// ---- zod issues → problems -------------------------------------------------------------

type Issue = z.core.$ZodIssue;

/** Known keys and descriptions come from the schema itself, so messages never drift from it. */
interface SchemaLike {
  description?: string;
  def: { type: string; innerType?: SchemaLike; shape?: Record<string, SchemaLike>; element?: SchemaLike };
}

function unwrap(s: SchemaLike | undefined): SchemaLike | undefined {
  let cur = s;
  while (cur && (cur.def.type === "optional" || cur.def.type === "default" || cur.def.type === "nullable" || cur.def.type === "prefault")) cur = cur.def.innerType;
  return cur;
}

function schemaAt(path: SitePath): SchemaLike | undefined {
  let cur: SchemaLike | undefined = Site as unknown as SchemaLike;
  for (const seg of path) {
    const u = unwrap(cur);
    if (u?.def.type === "object" && typeof seg === "string") cur = u.def.shape?.[seg];
    else if (u?.def.type === "array" && typeof seg === "number") cur = u.def.element;
    else return undefined;
  }
  return cur;
}

function describeOf(s: SchemaLike | undefined): string | undefined {
  let cur = s;
  while (cur) {
    if (cur.description) return cur.description;
    cur = cur.def.innerType;
  }
  return undefined;
}

function valueAt(data: unknown, path: SitePath): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

function show(v: unknown): string {
  if (typeof v === "string") return quoted(v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return String(v);
}

const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping (key: value lines)",
  array: "a list ('- ' items)",
};

const TYPE_FIXES: Record<string, string> = {
  string: "quote the value if YAML reads it as something else",
  number: "write a plain number without quotes or units",
  int: "write a whole number such as 8",
  boolean: "write true or false",
  object: "write it as indented 'key: value' lines under the key",
  array: "write it as a list of items, each line starting with '- '",
};

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Turns one zod issue into problems with a human message and a fix (several for several unknown keys). */
function describeIssue(issue: Issue, data: unknown): Problem[] {
  const path = issue.path.filter((s): s is string | number => typeof s !== "symbol");
  const field = [...path].reverse().find((s): s is string => typeof s === "string") ?? "site";
  const value = valueAt(data, path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const shape = unwrap(schemaAt(path))?.def.shape;
      const known = shape ? Object.keys(shape) : [];
      return issue.keys.map((key) => {
        const guess = closest(key, known);
        const name = quoted(key);
        return {
          message: `unknown field ${name}${guess ? ` (did you mean '${guess}'?)` : ""}`,
          fix: guess ? `rename ${name} to '${guess}'` : `remove ${name}; allowed fields here are ${known.join(", ")}`,
          path: [...path, key],
        };
      });
    }
    case "invalid_type": {
      if (value === undefined) {
        const desc = describeOf(schemaAt(path));
        return [{ message: `missing required field '${field}'`, fix: `add ${field}${desc ? ` (${desc.replace(/\.$/, "")})` : ""}`, path }];
      }
      const expected = String(issue.expected);
      return [
        {
          message: `${field} must be ${TYPE_WORDS[expected] ?? expected}, got ${show(value)}`,
          fix: TYPE_FIXES[expected] ?? "see schema/site.schema.json for the expected type",
          path,
        },
      ];
    }
    case "invalid_value": {
      const options = issue.values.map((v) => String(v));
      if (options.length === 1) {
        return [{ message: `${field} must be '${options[0]}', got ${show(value)}`, fix: `set ${field}: ${options[0]}`, path }];
      }
      const guess = typeof value === "string" ? closest(value, options) : undefined;
      return [
        {
          message: `${field} must be one of ${options.join(", ")}, got ${show(value)}`,
          fix: guess ? `use '${guess}'` : `use one of ${options.join(", ")}`,
          path,
        },
      ];
    }
    case "invalid_union": {
      const options = issue.errors.flat().flatMap((e) => (e.code === "invalid_value" ? e.values.map((v) => String(v)) : []));
      if (options.length > 0) {
        return [{ message: `${field} must be one of ${options.join(", ")}, got ${show(value)}`, fix: `use one of ${options.join(", ")}`, path }];
      }
      return [{ message: `${field} is not valid: ${issue.message}`, fix: "see schema/site.schema.json for the allowed shapes", path }];
    }
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const limit = small ? issue.minimum : issue.maximum;
      const inclusive = issue.inclusive !== false;
      if (issue.origin === "array") {
        const n = Number(limit);
        return [
          {
            message: `${field} needs ${small ? "at least" : "at most"} ${n} entr${n === 1 ? "y" : "ies"}, has ${Array.isArray(value) ? value.length : 0}`,
            fix: small ? `add ${field} entries` : `remove ${field} entries`,
            path,
          },
        ];
      }
      if (issue.origin === "string") {
        return [
          {
            message: small ? (Number(limit) <= 1 ? `${field} must not be empty` : `${field} must have at least ${limit} characters`) : `${field} must have at most ${limit} characters`,
            fix: `write a ${field} value`,
            path,
          },
        ];
      }
      const bound = small ? (inclusive ? "at least" : "greater than") : inclusive ? "at most" : "less than";
      return [{ message: `${field} must be ${bound} ${limit}, got ${show(value)}`, fix: `set ${field} to a value ${bound} ${limit}`, path }];
    }
    case "invalid_format": {
      const custom = issue.message.startsWith("must");
      return [
        {
          message: custom ? `${field} ${issue.message}, got ${show(value)}` : `${field} is not a valid ${issue.format}, got ${show(value)}`,
          fix: custom ? issue.message.replace(/^must be /, "use ").replace(/^must /, "") : `write a valid ${issue.format}`,
          path,
        },
      ];
    }
    default:
      return [{ message: `${field}: ${issue.message}`, fix: "see schema/site.schema.json for what is allowed here", path }];
  }
}
