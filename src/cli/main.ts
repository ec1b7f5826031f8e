/**
 * `mine2hpc` command line: finds the command, parses its flags, runs it, and maps errors to
 * exit codes (`EXIT` in command.ts; the README lists them): 0 ok, 1 failure at run time,
 * 2 invalid site or refused input, 64 usage error (unknown command or flag, missing flag
 * value; 64 is EX_USAGE of BSD sysexits.h). Commands are loaded lazily, one file each.
 */
import { parseArgs } from "node:util";
import type { Command, CommandContext, OptionSpec } from "./command.js";
import { CliError, EXIT } from "./command.js";
import { editDistance } from "../site/catalog.js";
import { readOwnPackage } from "./site-repo.js";
import { SiteError, formatProblem } from "../site/problems.js";

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
  "power-agent": () => import("./commands/power-agent.js"),
};

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: Partial<Pick<CommandContext, "stdout" | "stderr" | "cwd">> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const cwd = io.cwd ?? process.cwd();
  const [name, ...rest] = argv;
  try {
    if (name === "help" && rest[0] !== undefined && COMMANDS[rest[0]]) {
      stdout.write(commandHelp((await COMMANDS[rest[0]]!()).default));
      return 0;
    }
    if (name === undefined) {
      // No command is a usage error: the help goes to stderr so scripts see only the exit code.
      stderr.write(await globalHelp());
      return EXIT.usage;
    }
    if (name === "--help" || name === "-h" || name === "help") {
      stdout.write(await globalHelp());
      return 0;
    }
    if (name === "--version" || name === "-v") {
      stdout.write(`${await packageVersion()}\n`);
      return 0;
    }
    const load = COMMANDS[name];
    if (!load) {
      throw new CliError(`unknown command '${name}'.\n  fix: run 'mine2hpc --help' to list the commands (${Object.keys(COMMANDS).join(", ")}).`, EXIT.usage);
    }
    const command = (await load()).default;
    if (rest.includes("--help") || rest.includes("-h")) {
      stdout.write(commandHelp(command));
      return 0;
    }
    const { values, positionals } = parseCommandArgs(command, rest);
    const code = await command.run({ values, positionals, cwd, stdout, stderr });
    return code ?? 0;
  } catch (err) {
    return reportError(err, stderr);
  }
}

function parseCommandArgs(command: Command, args: string[]) {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean }> = {};
  for (const [key, spec] of Object.entries(command.options)) {
    options[key] = { type: spec.type };
    if (spec.short) options[key].short = spec.short;
    if (spec.multiple) options[key].multiple = true;
    if (spec.default !== undefined) options[key].default = spec.default;
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${flagProblem(command, err as Error & { code?: string })}\n  usage: mine2hpc ${command.name} ${command.usage}\n  fix: run 'mine2hpc ${command.name} --help' for its flags.`, EXIT.usage);
  }
}

/** node:util parseArgs' message, said in the CLI's words (its own quotes a positional oddly). */
function flagProblem(command: Command, err: Error & { code?: string }): string {
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1] ?? "";
  const key = flag.replace(/^-+/, "");
  const spec = command.options[key] ?? Object.values(command.options).find((o) => o.short === key);
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const near = Object.keys(command.options).filter((k) => editDistance(k, key) <= 2);
    const hint = near.length > 0 ? ` (did you mean ${near.map((k) => `--${k}`).join(" or ")}?)` : "";
    return `unknown flag '${flag}' for 'mine2hpc ${command.name}'${hint}; a value that starts with '-' goes after '--'.`;
  }
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && spec) {
    return spec.type === "string" ? `flag '${flag}' needs a value: ${flag} ${spec.valueName ?? "VALUE"}.` : `flag '${flag}' takes no value.`;
  }
  return err.message;
}

/** Prints an error the way a person can act on, and returns the exit code. */
export function reportError(err: unknown, stderr: CommandContext["stderr"]): number {
  if (err instanceof SiteError) {
    stderr.write(`error: the site has ${err.problems.length} problem${err.problems.length === 1 ? "" : "s"}; nothing was planned or applied.\n`);
    for (const p of err.problems) stderr.write(`${formatProblem(p)}\n`);
    return EXIT.invalidSite;
  }
  if (err instanceof CliError) {
    stderr.write(`error: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  stderr.write(`internal error: ${e?.stack ?? String(err)}\nThis is a bug in mine2hpc; please report it with the command you ran.\n`);
  return EXIT.failure;
}

/** Help for one command, built from its definition (also the CLI reference in the README). */
export function commandHelp(command: Command): string {
  const lines = [`mine2hpc ${command.name} ${command.usage}`, "", command.summary];
  if (command.description) lines.push("", command.description);
  const opts = Object.entries(command.options);
  if (opts.length > 0) {
    lines.push("", "Flags:");
    for (const [key, spec] of opts) lines.push(`  ${flagLabel(key, spec).padEnd(24)} ${spec.description}`);
  }
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
  lines.push("", "Run 'mine2hpc COMMAND --help' for a command's flags.");
  return lines.join("\n") + "\n";
}

async function packageVersion(): Promise<string> {
  return readOwnPackage().version;
}
