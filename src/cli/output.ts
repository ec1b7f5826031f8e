/**
 * Output conventions shared by every command, so no command has its own copy:
 * - `-o/--output text|json|yaml|md` (and `--json`, the same as `-o json`) for commands that print
 *   data: one value, rendered by {@link printResult}. JSON and YAML are the same data model
 *   (YAML is made from the JSON text), keys in the order the command built them, so the same
 *   input prints the same bytes.
 * - `--quiet`: nothing but errors on stderr, and on stdout only the data asked for as json/yaml
 *   (or an artefact the command exists to print: a script, a kubeconfig to '-').
 * - Colour: `--color auto|always|never`; auto colours a stream only when it is a terminal, `NO_COLOR`
 *   is unset or empty (https://no-color.org) and TERM is not `dumb`. `--color always|never` wins over
 *   NO_COLOR (no-color.org: command-line arguments override it). Data (json, yaml, md) is never coloured.
 */
import { stringify } from "yaml";
import { CliError, EXIT, type CommandContext, type OptionSpec } from "./command.js";
import { docMarkdown, docText, type Doc } from "./format/doc.js";

/** Every output format, in the order help lists them. */
export const OUTPUT_FORMATS = ["text", "json", "yaml", "md"] as const;
/** One output format. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Values of `--color`. */
export const COLOR_MODES = ["auto", "always", "never"] as const;

/**
 * Flags every command takes (main.ts adds them): `--quiet` and `--color`. `-q` is the short form
 * of --quiet as in npm, git and curl.
 */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  quiet: { type: "boolean", short: "q", description: "Print only errors, and the data when -o is json or yaml." },
  color: { type: "string", valueName: "WHEN", description: "Colour: auto (default: on a terminal, unless NO_COLOR is set), always or never." },
};

/**
 * `-o/--output FORMAT` and `--json` for a command that prints data. `legacyFormat` adds
 * `--format`, the name `plan` and `diff` used before -o (workflows written by older versions say
 * `--format md`).
 */
export function outputOptions(opts: { legacyFormat?: boolean } = {}): Record<string, OptionSpec> {
  return {
    output: { type: "string", short: "o", valueName: "FORMAT", description: "Output format: text (default), json, yaml or md (Markdown tables)." },
    json: { type: "boolean", description: "Same as -o json." },
    ...(opts.legacyFormat ? { format: { type: "string", valueName: "FORMAT", description: "Same as -o FORMAT (the older name, kept for existing scripts)." } as OptionSpec } : {}),
  };
}

/** The format asked for with -o, --format or --json (text when none); a usage error for an unknown or contradicting one. */
export function outputFormat(ctx: Pick<CommandContext, "values">): OutputFormat {
  const asked: Array<[string, string]> = [];
  if (typeof ctx.values.output === "string") asked.push(["-o", ctx.values.output]);
  if (typeof ctx.values.format === "string") asked.push(["--format", ctx.values.format]);
  if (ctx.values.json === true) asked.push(["--json", "json"]);
  for (const [flag, value] of asked) {
    if (!(OUTPUT_FORMATS as readonly string[]).includes(value)) {
      throw new CliError(`unknown output format '${value}' (${flag}).\n  fix: use -o ${OUTPUT_FORMATS.slice(0, -1).join(", ")} or ${OUTPUT_FORMATS[OUTPUT_FORMATS.length - 1]}.`, EXIT.usage);
    }
  }
  const distinct = [...new Set(asked.map(([, v]) => v))];
  if (distinct.length > 1) {
    throw new CliError(`${asked.map(([f, v]) => (f === "--json" ? f : `${f} ${v}`)).join(" and ")} contradict each other.\n  fix: pass one output format.`, EXIT.usage);
  }
  return (distinct[0] as OutputFormat | undefined) ?? "text";
}

/** What a command prints: its data, and how people read it (a report, or text made by hand). */
export interface Printable {
  /** What -o json and -o yaml print (made JSON-safe: secrets' toJSON, no undefined). */
  data: unknown;
  /** The report behind -o text and -o md, unless `text`/`md` say otherwise. */
  doc?: () => Doc;
  /** -o text; default: the doc as text. */
  text?: () => string;
  /** -o md; default: the doc as Markdown. */
  md?: () => string;
}

/** The data as JSON text, two-space indented, with a final newline. */
export function jsonText(data: unknown): string {
  return `${JSON.stringify(data, null, 2)}\n`;
}

/**
 * The data as YAML 1.2: made from the JSON text, so YAML and JSON always carry the same values;
 * no line folding (lineWidth 0), so long strings stay whole and grep-able.
 */
export function yamlText(data: unknown): string {
  const plain = JSON.parse(JSON.stringify(data ?? null)) as unknown;
  return stringify(plain, { lineWidth: 0, minContentWidth: 0 });
}

/** Renders `p` in `format`. */
export function render(format: OutputFormat, p: Printable): string {
  if (format === "json") return jsonText(p.data);
  if (format === "yaml") return yamlText(p.data);
  if (format === "md") {
    if (p.md) return p.md();
    if (p.doc) return docMarkdown(p.doc());
  } else {
    if (p.text) return p.text();
    if (p.doc) return docText(p.doc());
  }
  throw new Error(`no ${format} rendering for this command's output`);
}

/** Prints `p` in `format` on stdout; under --quiet only json and yaml are printed. */
export function printResult(ctx: Pick<CommandContext, "stdout" | "quiet">, format: OutputFormat, p: Printable): void {
  if (ctx.quiet === true && (format === "text" || format === "md")) return;
  ctx.stdout.write(render(format, p));
}

/** A note for a person (progress, what was written, a hint) on stderr; silent under --quiet. */
export function note(ctx: Pick<CommandContext, "stderr" | "quiet">, text: string): void {
  if (ctx.quiet !== true) ctx.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** ANSI SGR styles for one stream; every function is the identity when colour is off. */
export interface Style {
  readonly enabled: boolean;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

/** ECMA-48 SGR: ESC [ n m; 0 resets, 1 bold, 2 faint, 31 red, 32 green, 33 yellow. */
function sgr(enabled: boolean, code: number): (s: string) => string {
  return enabled ? (s) => `\x1b[${code}m${s}\x1b[0m` : (s) => s;
}

/** A style, on or off. */
export function makeStyle(enabled: boolean): Style {
  return { enabled, red: sgr(enabled, 31), green: sgr(enabled, 32), yellow: sgr(enabled, 33), bold: sgr(enabled, 1), dim: sgr(enabled, 2) };
}

/** No colour: what a command gets when nobody decided (tests, library callers). */
export const PLAIN: Style = makeStyle(false);

/**
 * Whether to colour a stream. `mode` is the --color value (undefined: auto); auto colours a
 * terminal unless NO_COLOR is set to a non-empty value or TERM is `dumb`.
 */
export function colorEnabled(mode: string | undefined, stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (mode === "always") return true;
  if (mode === "never") return false;
  if (mode !== undefined && mode !== "auto") {
    throw new CliError(`unknown --color value '${mode}'.\n  fix: use --color auto, always or never.`, EXIT.usage);
  }
  if ((env.NO_COLOR ?? "") !== "") return false;
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

/** The stderr style of a context (plain when it has none). */
export function errStyle(ctx: Pick<CommandContext, "style">): Style {
  return ctx.style?.stderr ?? PLAIN;
}

/** The stdout style of a context (plain when it has none). */
export function outStyle(ctx: Pick<CommandContext, "style">): Style {
  return ctx.style?.stdout ?? PLAIN;
}
