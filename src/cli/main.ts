/**
 * `mine2hpc` command line: finds the command, parses its flags, runs it, and maps
 * errors to exit codes: 0 ok, 1 unexpected failure, 2 bad input (site problems, bad
 * flags, refused actions). Commands are loaded lazily, one file each.
 */
import { parseArgs } from "node:util";
import type { Command, CommandContext, OptionSpec } from "./command.js";
import { CliError } from "./command.js";
import { SiteError, formatProblem } from "../site/problems.js";

/** Every command, loaded only when it runs (or when help lists them). */
export const COMMANDS: Record<string, () => Promise<{ default: Command }>> = {
  validate: () => import("./commands/validate.js"),
  plan: () => import("./commands/plan.js"),
  report: () => import("./commands/report.js"),
  preview: () => import("./commands/preview.js"),
  templates: () => import("./commands/templates.js"),
  init: () => import("./commands/init.js"),
  import: () => import("./commands/import.js"),
  diff: () => import("./commands/diff.js"),
  curtail: () => import("./commands/curtail.js"),
  miners: () => import("./commands/miners.js"),
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
      return 2;
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
      throw new CliError(`unknown command '${name}'.\n  fix: run 'mine2hpc --help' to list the commands (${Object.keys(COMMANDS).join(", ")}).`);
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
    throw new CliError(`${(err as Error).message}\n  usage: mine2hpc ${command.name} ${command.usage}\n  fix: run 'mine2hpc ${command.name} --help' for its flags.`);
  }
}

/** Prints an error the way a person can act on, and returns the exit code. */
export function reportError(err: unknown, stderr: CommandContext["stderr"]): number {
  if (err instanceof SiteError) {
    stderr.write(`error: the site has ${err.problems.length} problem${err.problems.length === 1 ? "" : "s"}; nothing was planned or applied.\n`);
    for (const p of err.problems) stderr.write(`${formatProblem(p)}\n`);
    return 2;
  }
  if (err instanceof CliError) {
    stderr.write(`error: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  stderr.write(`internal error: ${e?.stack ?? String(err)}\nThis is a bug in mine2hpc; please report it with the command you ran.\n`);
  return 1;
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
  const { readFile } = await import("node:fs/promises");
  const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}
