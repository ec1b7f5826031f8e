/**
 * The shape of a `mine2hpc` command. One file per command under `commands/`, each
 * default-exporting a `Command`; `main.ts` loads only the one that runs.
 */
import type { Writable } from "node:stream";
import type { Style } from "./output.js";

/** One flag of a command. Every flag has a description (it is the CLI reference). */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  description: string;
  /** Placeholder shown in help for string flags, e.g. `NAME`. */
  valueName?: string;
  /** May be given more than once (string flags). */
  multiple?: boolean;
  default?: string | boolean;
}

/** What a command gets to run with. */
export interface CommandContext {
  /** Flag values by name (parsed with node:util parseArgs). */
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  positionals: string[];
  /** Directory the command runs in (repo root is found from here). */
  cwd: string;
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  /** --quiet: print only errors, and data asked for as json/yaml (see output.ts). @default false */
  quiet?: boolean;
  /** Colour per stream, decided once by main from --color, NO_COLOR and the TTY. @default no colour */
  style?: { stdout: Style; stderr: Style };
  /** How the person runs mine2hpc (`mine2hpc`, `npx mine2hpc`, …), for printed commands. @default "mine2hpc" */
  self?: string;
}

export interface Command {
  name: string;
  /** One line, shown in `mine2hpc --help`. */
  summary: string;
  /** Usage line after the command name, e.g. `[--stack NAME | --site FILE] [--json]`. */
  usage: string;
  /** Longer help text shown by `mine2hpc NAME --help`. */
  description?: string;
  options: Record<string, OptionSpec>;
  /**
   * False for a command that takes no global flags (--quiet, --color): the power agent, a
   * daemon whose JSON log lines are its interface.
   * @default true
   */
  globalFlags?: boolean;
  /** Returns the exit code (0 when omitted). */
  run(ctx: CommandContext): Promise<number | void>;
}

/**
 * Exit codes of every `mine2hpc` command (documented in the README): scripts and CI tell a
 * broken site from a broken run and from a mistyped command.
 */
export const EXIT = {
  ok: 0,
  /** Failure at run time: a cluster, API or file that did not answer as needed; a bug. */
  failure: 1,
  /** Invalid site (every problem listed) or input refused (a missing file, a refused overwrite). */
  invalidSite: 2,
  /** Usage error: unknown command or flag, a flag without its value (EX_USAGE of sysexits.h). */
  usage: 64,
} as const;

/**
 * An error a person can fix: bad flags, missing files, refused overwrite. Its message
 * says what is wrong and how to fix it; `main` prints it and exits with `exitCode`.
 */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.invalidSite) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** Shared flags of commands that act on one site. */
export const SITE_OPTIONS: Record<string, OptionSpec> = {
  stack: { type: "string", valueName: "NAME", description: "Stack whose site to use (reads stacks/Pulumi.NAME.yaml). Default: demo, or the project's only stack, unless --site is given." },
  site: { type: "string", valueName: "FILE", description: "Site file to use instead of a stack." },
  inventory: { type: "string", valueName: "FILE", description: "Inventory CSV to use instead of the one the site names." },
};
