/**
 * `mine2hpc power-agent --node NAME`: the GPU power agent, the same code the DaemonSet runs from
 * the bundled runtime (src/runtime/power-agent/), here for a person or a test: against a cluster
 * (`--kube-api`, `--token-file`, `--ca-file`) or read-only (`--dry-run --once`).
 */
import type { Command } from "../command.js";
import { CliError, EXIT } from "../command.js";
import { POWER_AGENT_OPTIONS, UsageError, runPowerAgentCommand } from "../../runtime/power-agent/cli.js";
import { DEFAULT_METRICS_PORT } from "../../runtime/power-agent/metrics.js";

const command: Command = {
  name: "power-agent",
  summary: "Apply and keep a node's GPU power caps: fail-safe cap first, read back, taint until confirmed (what the DaemonSet runs).",
  usage: "--node NAME [--kube-api URL --token-file F --ca-file F] [--nvidia-smi CMD] [--interval S] [--once] [--dry-run] [--metrics-port N] [--safe-cap-file F]",
  description: [
    "Applies the safe cap (/etc/mine2hpc/gpu-power-cap, else each GPU's minimum) before reading anything from the API, then",
    "watches the node: the target is the mine2hpc.io/gpu-power-cap-override label when present, else mine2hpc.io/gpu-power-cap,",
    "clamped to each GPU's settable range. Every interval it re-applies and reads back; the mine2hpc.io/power-unverified:NoSchedule",
    "taint comes off only when every limit reads back at its target. SIGTERM leaves the limits as they are.",
    `Metrics (Prometheus) and /healthz on --metrics-port (default ${DEFAULT_METRICS_PORT}). Logs: one JSON object per line on stderr.`,
    "Read-only check on a GPU machine: mine2hpc power-agent --node $(hostname) --dry-run --once --kube-api http://127.0.0.1:1",
  ].join("\n"),
  options: POWER_AGENT_OPTIONS,
  // A daemon: its JSON log lines on stderr are its interface, so --quiet and --color do not apply.
  globalFlags: false,
  async run(ctx) {
    try {
      return await runPowerAgentCommand(ctx.values, { stdout: ctx.stdout, stderr: ctx.stderr });
    } catch (err) {
      if (err instanceof UsageError) throw new CliError(err.message, EXIT.usage);
      throw err;
    }
  },
};

export default command;
