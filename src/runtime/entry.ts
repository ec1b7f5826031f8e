/**
 * Entry of the bundled runtime (`node runtime.mjs <command> [flags]`): the file the cluster
 * runs from a ConfigMap on a stock Node image. One line per command in {@link RUNTIME_COMMANDS};
 * each command owns its flags and returns its exit code. Exit codes: 0 ok, 1 the job's goal not
 * met (e.g. caps not in force with --once), 2 bad flags.
 */
import { parseArgs } from "node:util";
import { POWER_AGENT_OPTIONS, UsageError, runPowerAgentCommand, type RuntimeOption } from "./power-agent/cli.js";
import { CURTAIL_OPTIONS, runCurtailRuntime } from "./curtail/cli.js";

/** A runtime command: its flags and what runs them. */
export interface RuntimeCommand {
  summary: string;
  options: Record<string, RuntimeOption>;
  /** Whether the command takes positional arguments (e.g. `curtail start`). */
  positionals?: boolean;
  run(values: Record<string, unknown>, positionals: string[]): Promise<number>;
}

/** The bundle's commands, by name. */
export const RUNTIME_COMMANDS: Record<string, RuntimeCommand> = {
  "power-agent": {
    summary: "Apply and keep this node's GPU power caps (fail-safe first, read back, taint until confirmed).",
    options: POWER_AGENT_OPTIONS,
    run: (values) => runPowerAgentCommand(values, { stdout: process.stdout, stderr: process.stderr }),
  },
  curtail: {
    summary: "Run a feed's curtailment stages (start) or restore them (end), each confirmed by read-back; exit 1 when short.",
    options: CURTAIL_OPTIONS,
    positionals: true,
    run: (values, positionals) => runCurtailRuntime(values, positionals, { stdout: process.stdout }),
  },
};

/** Runs `argv` (without node and script); returns the exit code. */
export async function runtimeMain(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : RUNTIME_COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`error: unknown command '${name ?? ""}'.\n  fix: one of ${Object.keys(RUNTIME_COMMANDS).join(", ")}, e.g. runtime.mjs power-agent --node NAME.\n`);
    return 2;
  }
  try {
    const options = Object.fromEntries(Object.entries(command.options).map(([k, o]) => [k, { type: o.type }]));
    const { values, positionals } = parseArgs({ args: rest, options, strict: true, allowPositionals: command.positionals === true });
    return await command.run(values, positionals);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`internal error: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

process.exitCode = await runtimeMain(process.argv.slice(2));
