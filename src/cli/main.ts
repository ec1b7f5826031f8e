/**
 * `mine2hpc` command line: finds the command, parses its flags, runs it, and maps errors to
 * exit codes (`EXIT` in command.ts; the README lists them): 0 ok, 1 failure at run time,
 * 2 invalid site or refused input, 64 usage error (unknown command or flag, missing or bad flag
 * value; 64 is EX_USAGE of BSD sysexits.h). Global flags (--quiet, --color) and the command
 * prefix printed back to the person (invocation.ts) are decided here, once. Commands are loaded lazily, one file each.
 */
import { parseArgs } from "node:util";
import type { Command, CommandContext, OptionSpec } from "./command.js";
import { CliError, EXIT } from "./command.js";
import { editDistance } from "../site/catalog.js";
import { readOwnPackage } from "./site-repo.js";
import { SiteError, formatProblem } from "../site/problems.js";
import { COLOR_MODES, GLOBAL_OPTIONS, PLAIN, colorEnabled, makeStyle, type Style } from "./output.js";
import { currentInvocation, withSelf } from "./invocation.js";

/** Every command, loaded only when it runs (or when help lists them). */
export const COMMANDS: Record<string, () => Promise<{ default: Command }>> = {
  validate: () => import("./commands/validate.js"),
  plan: () => import("./commands/plan.js"),
  report: () => import("./commands/report.js"),
  preview: () => import("./commands/preview.js"),
  templates: () => import("./commands/templates.js"),
  init: () => import("./commands/init.js"),
  new: () => import("./commands/new.js"),
  import: () => import("./commands/import.js"),
  diff: () => import("./commands/diff.js"),
  curtail: () => import("./commands/curtail.js"),
  miners: () => import("./commands/miners.js"),
  hosts: () => import("./commands/hosts.js"),
  mirror: () => import("./commands/mirror.js"),
  kubeconfig: () => import("./commands/kubeconfig.js"),
  "power-agent": () => import("./commands/power-agent.js"),
};

/** What `main` runs with; every field defaults to this process's. */
export interface MainIo extends Partial<Pick<CommandContext, "stdout" | "stderr" | "cwd">> {
  /** Environment (NO_COLOR, TERM, PATH, npm's variables). @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: MainIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const cwd = io.cwd ?? process.cwd();
  const env = io.env ?? process.env;
  const self = currentInvocation(env);
  // Colour of error messages before the flags are parsed: --color as written, else auto.
  let errStyle = makeStyle(safeColor(colorFlagOf(argv), stderr, env));
  const [name, ...rest] = globalsAfterCommand(argv);
  try {
    if (name === "help" && rest[0] !== undefined && COMMANDS[rest[0]]) {
      stdout.write(withSelf(commandHelp((await COMMANDS[rest[0]]!()).default), self));
      return 0;
    }
    if (name === undefined) {
      // No command is a usage error: the help goes to stderr so scripts see only the exit code.
      stderr.write(withSelf(await globalHelp(), self));
      return EXIT.usage;
    }
    if (name === "--help" || name === "-h" || name === "help") {
      stdout.write(withSelf(await globalHelp(), self));
      return 0;
    }
    if (name === "--version" || name === "-v") {
      stdout.write(`${await packageVersion()}\n`);
      return 0;
    }
    const load = COMMANDS[name];
    if (!load) {
      const near = nearest(name, Object.keys(COMMANDS));
      throw new CliError(`unknown command '${name}'${near !== undefined ? `; ${closeEnough(name, near) ? "did you mean" : "nearest command:"} '${near}'${closeEnough(name, near) ? "?" : "."}` : "."} Run 'mine2hpc --help' for the commands.`, EXIT.usage);
    }
    const command = (await load()).default;
    const flagArgs = beforeDoubleDash(rest);
    if (flagArgs.includes("--help") || flagArgs.includes("-h")) {
      stdout.write(withSelf(commandHelp(command), self));
      return 0;
    }
    const { values, positionals } = parseCommandArgs(command, rest);
    const color = typeof values.color === "string" ? values.color : undefined;
    const style = { stdout: makeStyle(colorEnabled(color, stdout, env)), stderr: makeStyle(colorEnabled(color, stderr, env)) };
    errStyle = style.stderr;
    const code = await command.run({ values, positionals, cwd, stdout, stderr, quiet: values.quiet === true, style, self });
    return code ?? 0;
  } catch (err) {
    return reportError(err, stderr, { style: errStyle, self });
  }
}

/**
 * `mine2hpc --quiet plan …` as `mine2hpc plan … --quiet`: global flags may come before the
 * command name, as git and npm allow.
 */
function globalsAfterCommand(argv: readonly string[]): string[] {
  const leading: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quiet" || a === "-q" || a.startsWith("--color=")) leading.push(a);
    else if (a === "--color" && i + 1 < argv.length) leading.push(a, argv[++i]!);
    else break;
  }
  if (leading.length === 0 || i >= argv.length) return [...argv];
  const [name, ...rest] = argv.slice(i);
  const end = rest.indexOf("--");
  // Before a lone `--`, after which everything is a positional.
  return end < 0 ? [name!, ...rest, ...leading] : [name!, ...rest.slice(0, end), ...leading, ...rest.slice(end)];
}

/** The arguments before a lone `--` (after it everything is a positional). */
function beforeDoubleDash(args: readonly string[]): string[] {
  const end = args.indexOf("--");
  return end < 0 ? [...args] : args.slice(0, end);
}

/** The --color value as written (`--color X` or `--color=X`), before parsing, for early errors. */
function colorFlagOf(argv: readonly string[]): string | undefined {
  const args = beforeDoubleDash(argv);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--color") return args[i + 1];
    if (a.startsWith("--color=")) return a.slice("--color=".length);
  }
  return undefined;
}

/** colorEnabled, with an invalid value read as auto (its usage error comes when the flags are parsed). */
function safeColor(mode: string | undefined, stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return colorEnabled((COLOR_MODES as readonly string[]).includes(mode ?? "") ? mode : undefined, stream, env);
}

/** The flags a command parses: its own, and the global ones unless it opts out. */
function optionsOf(command: Command): Record<string, OptionSpec> {
  return command.globalFlags === false ? command.options : { ...command.options, ...GLOBAL_OPTIONS };
}

function parseCommandArgs(command: Command, args: string[]) {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean }> = {};
  for (const [key, spec] of Object.entries(optionsOf(command))) {
    options[key] = { type: spec.type };
    if (spec.short) options[key].short = spec.short;
    if (spec.multiple) options[key].multiple = true;
    if (spec.default !== undefined) options[key].default = spec.default;
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${flagProblem(command, err as Error & { code?: string })} Run 'mine2hpc ${command.name} --help' for its flags.`, EXIT.usage);
  }
}

/** Edit distance small enough to be a typo (or one name a prefix of the other). */
function closeEnough(given: string, candidate: string): boolean {
  const a = given.replace(/^-+/, "");
  const b = candidate.replace(/^-+/, "");
  return editDistance(a, b) <= Math.max(1, Math.min(2, Math.floor(b.length / 3))) || (a.length >= 3 && b.startsWith(a));
}

/** `a`, `a and b`, `a, b and c`. */
function listWords(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

/** The candidate closest to `given` by edit distance; ties go to the earlier candidate. */
function nearest(given: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(given, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * node:util parseArgs' error (several lines, with its own quoting) said in one line: the flag,
 * the nearest valid one, and what to do.
 */
function flagProblem(command: Command, err: Error & { code?: string }): string {
  // parseArgs names a flag with a short form as '-o, --output <value>': read the long name then.
  const both = /'-([^-' ,]), --([^' ]+)/.exec(err.message);
  const flag = both ? `--${both[2]}` : (/'(-{1,2}[^' ,]+)/.exec(err.message)?.[1] ?? "");
  const options = optionsOf(command);
  const key = flag.replace(/^-+/, "");
  const isShort = /^-[^-]/.test(flag);
  const spec = isShort ? Object.values(options).find((o) => o.short === key) : options[key];
  // Unquoted: quoted commands are rewritten to the person's prefix (withSelf), the name is not a command line.
  const where = `for ${command.name}`;
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const entries = Object.entries(options);
    if (entries.length === 0) return `unknown flag '${flag}' ${where}, which takes no flags.`;
    if (isShort) {
      // One letter is as near to any other letter: name every short flag there is.
      const shorts = entries.filter(([, o]) => o.short).map(([k, o]) => `'-${o.short}' (--${k})`);
      if (shorts.length === 0) return `unknown flag '${flag}' ${where}, which has no short flags.`;
      return `unknown flag '${flag}' ${where}; ${shorts.length === 1 ? "its only short flag is" : "its short flags are"} ${listWords(shorts)}.`;
    }
    const near = nearest(key, entries.map(([k]) => k))!;
    return closeEnough(key, near) ? `unknown flag '${flag}' ${where}; did you mean '--${near}'?` : `unknown flag '${flag}' ${where}; nearest valid flag: '--${near}'.`;
  }
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && spec) {
    const long = isShort ? Object.entries(options).find(([, o]) => o === spec)![0] : key;
    const shown = isShort ? flag : spec.short ? `-${spec.short}, --${key}` : `--${key}`;
    const usageFlag = spec.short ? `-${spec.short}` : `--${long}`;
    if (spec.type === "boolean") return `flag '${shown}' takes no value ${where}.`;
    const value = spec.valueName ?? "VALUE";
    // parseArgs calls a following '-x' ambiguous: a value that starts with '-' needs '='.
    const dash = /ambiguous/.test(err.message) ? ` (a value that starts with '-' is written --${long}=-${value})` : "";
    return `flag '${shown}' needs a value ${where}: ${usageFlag} ${value}${dash}.`;
  }
  return `${err.message.split("\n")[0]}`;
}

/** What `reportError` prints with: the stderr style and the command prefix the person used. */
export interface ReportOptions {
  style?: Style;
  self?: string;
}

/** Prints an error the way a person can act on, and returns the exit code. */
export function reportError(err: unknown, stderr: CommandContext["stderr"], opts: ReportOptions = {}): number {
  const style = opts.style ?? PLAIN;
  const self = opts.self ?? "mine2hpc";
  const prefix = style.red(style.bold("error:"));
  if (err instanceof SiteError) {
    stderr.write(`${prefix} the site has ${err.problems.length} problem${err.problems.length === 1 ? "" : "s"}; nothing was planned or applied.\n`);
    for (const p of err.problems) stderr.write(`${withSelf(formatProblem(p), self)}\n`);
    return EXIT.invalidSite;
  }
  if (err instanceof CliError) {
    stderr.write(`${prefix} ${withSelf(err.message, self)}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  stderr.write(`${style.red(style.bold("internal error:"))} ${e?.stack ?? String(err)}\nThis is a bug in mine2hpc; please report it with the command you ran.\n`);
  return EXIT.failure;
}

/** The exit codes as help and the README state them. */
export const EXIT_CODES_HELP = "Exit codes: 0 ok; 1 failure at run time; 2 invalid site or refused input; 64 usage error (unknown command or flag, bad flag value).";

/** Help for one command, built from its definition (also the CLI reference in the README). */
export function commandHelp(command: Command): string {
  const lines = [`mine2hpc ${command.name} ${command.usage}`, "", command.summary];
  if (command.description) lines.push("", command.description);
  const opts = Object.entries(command.options);
  if (opts.length > 0) {
    lines.push("", "Flags:");
    for (const [key, spec] of opts) lines.push(`  ${flagLabel(key, spec).padEnd(24)} ${spec.description}`);
  }
  if (command.globalFlags !== false) {
    lines.push("", "Global flags:");
    for (const [key, spec] of Object.entries(GLOBAL_OPTIONS)) lines.push(`  ${flagLabel(key, spec).padEnd(24)} ${spec.description}`);
  }
  lines.push("", EXIT_CODES_HELP);
  return lines.join("\n") + "\n";
}

function flagLabel(key: string, spec: OptionSpec): string {
  const short = spec.short ? `-${spec.short}, ` : "";
  return `${short}--${key}${spec.type === "string" ? ` ${spec.valueName ?? "VALUE"}` : ""}`;
}

async function globalHelp(): Promise<string> {
  const lines = ["mine2hpc — turn a mining site into a Kubernetes GPU cluster with power-aware pools", "", "Commands:"];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const c = (await load()).default;
    lines.push(`  ${name.padEnd(12)} ${c.summary}`);
  }
  lines.push("", "Global flags (before or after the command; every command but power-agent):");
  for (const [key, spec] of Object.entries(GLOBAL_OPTIONS)) lines.push(`  ${flagLabel(key, spec).padEnd(24)} ${spec.description}`);
  lines.push("", EXIT_CODES_HELP, "", "Run 'mine2hpc COMMAND --help' for a command's flags.");
  return lines.join("\n") + "\n";
}

async function packageVersion(): Promise<string> {
  return readOwnPackage().version;
}
