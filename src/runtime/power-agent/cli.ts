/**
 * `power-agent` as a command: its flags (shared by `mine2hpc power-agent` and the bundled
 * runtime's `power-agent` subcommand, so the DaemonSet and a person run the same thing), the
 * wiring of client, nvidia-smi, metrics and signals, and the dry-run report.
 */
import type { Writable } from "node:stream";
import { POWER_AGENT_INTERVAL_SECONDS } from "../../plan/curtail.js";
import { KubeClient, inClusterConnection, type KubeConnection } from "../kube.js";
import { jsonLogger } from "../log.js";
import { PowerAgent, SAFE_CAP_FILE, SMI_TIMEOUT_MS, type PassResult } from "./agent.js";
import { DEFAULT_METRICS_PORT, serveMetrics } from "./metrics.js";
import { GPU_QUERY_ARGS, type GpuReading } from "./smi.js";

/** One flag (the shape of the CLI's OptionSpec, kept here so the bundle needs no CLI code). */
export interface RuntimeOption {
  type: "string" | "boolean";
  description: string;
  valueName?: string;
}

/** Flags of `power-agent`. */
export const POWER_AGENT_OPTIONS: Record<string, RuntimeOption> = {
  node: { type: "string", valueName: "NAME", description: "Node whose GPUs to cap (the DaemonSet passes spec.nodeName). Required." },
  "kube-api": { type: "string", valueName: "URL", description: "API server URL. Default: in-cluster (KUBERNETES_SERVICE_HOST/PORT, service account token and CA)." },
  "token-file": { type: "string", valueName: "FILE", description: "Bearer token file, read again for every request (rotated tokens). Default with --kube-api: none." },
  "ca-file": { type: "string", valueName: "FILE", description: "CA bundle of the API server's certificate (https). Default with --kube-api: the system's CAs." },
  "nvidia-smi": {
    type: "string",
    valueName: "CMD",
    description: "nvidia-smi command, split on spaces (e.g. 'chroot /run/nvidia/driver nvidia-smi'). Default: nvidia-smi.",
  },
  interval: { type: "string", valueName: "S", description: `Seconds between two apply-and-read-back passes. Default: ${POWER_AGENT_INTERVAL_SECONDS}.` },
  once: { type: "boolean", description: "One pass, then exit: 0 when every cap is read back at its target, 1 otherwise." },
  "dry-run": { type: "boolean", description: "Queries only: never nvidia-smi -pl/-pm, never an API write; prints the GPUs and what it would do." },
  "metrics-port": { type: "string", valueName: "N", description: `Port of /metrics (Prometheus) and /healthz; 0 picks a free port. Default: ${DEFAULT_METRICS_PORT} (none with --once).` },
  "safe-cap-file": { type: "string", valueName: "FILE", description: `Planned cap written by the host bootstrap, applied before anything is read from the API. Default: ${SAFE_CAP_FILE}.` },
};

/** A bad flag: exit code 2, message with the fix. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** What the command runs with. */
export interface PowerAgentIo {
  stdout: Pick<Writable, "write">;
  stderr: Pick<Writable, "write">;
  /** Aborting stops the agent (SIGTERM in production); absent: the command installs SIGTERM/SIGINT handlers. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** Runs `power-agent` with parsed flag values; returns the exit code. */
export async function runPowerAgentCommand(values: Record<string, unknown>, io: PowerAgentIo): Promise<number> {
  const node = str(values.node);
  if (node === undefined || node === "") throw new UsageError("--node is required.\n  fix: pass the node's name, e.g. --node gpu-01 (the DaemonSet passes --node $(NODE_NAME)).");
  const interval = num(values.interval, "--interval", POWER_AGENT_INTERVAL_SECONDS, 0.05);
  const once = values.once === true;
  const dryRun = values["dry-run"] === true;
  const metricsPort = values["metrics-port"] === undefined ? (once ? null : DEFAULT_METRICS_PORT) : num(values["metrics-port"], "--metrics-port", 0, 0);
  if (metricsPort !== null && (!Number.isInteger(metricsPort) || metricsPort > 65535)) throw new UsageError("--metrics-port must be an integer port 0..65535.\n  fix: e.g. --metrics-port 9402.");
  const smiCommand = (str(values["nvidia-smi"]) ?? "nvidia-smi").split(/\s+/).filter((s) => s !== "");
  if (smiCommand.length === 0) throw new UsageError("--nvidia-smi is empty.\n  fix: e.g. --nvidia-smi nvidia-smi or --nvidia-smi 'chroot /run/nvidia/driver nvidia-smi'.");

  const log = jsonLogger(io.stderr, { component: "power-agent", node });
  let conn: KubeConnection;
  const api = str(values["kube-api"]);
  if (api !== undefined) {
    conn = { server: api };
    const token = str(values["token-file"]);
    const ca = str(values["ca-file"]);
    if (token !== undefined) conn.tokenFile = token;
    if (ca !== undefined) conn.caFile = ca;
  } else {
    try {
      conn = inClusterConnection(io.env ?? process.env);
    } catch (err) {
      throw new UsageError(`${(err as Error).message}.\n  fix: run it in the cluster, or pass --kube-api URL (with --token-file/--ca-file for https).`);
    }
  }
  let client: KubeClient;
  try {
    client = new KubeClient(conn);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}.\n  fix: check --kube-api and --ca-file.`);
  }

  const controller = new AbortController();
  const stop = (why: string) => {
    if (controller.signal.aborted) return;
    log.info("stopping; power limits are kept as they are", { signal: why });
    controller.abort();
  };
  const onTerm = () => stop("SIGTERM");
  const onInt = () => stop("SIGINT");
  if (io.signal) {
    if (io.signal.aborted) controller.abort();
    else io.signal.addEventListener("abort", () => stop("abort"), { once: true });
  } else {
    process.on("SIGTERM", onTerm);
    process.on("SIGINT", onInt);
  }

  const agent = new PowerAgent({
    node,
    client,
    smi: { command: smiCommand, timeoutMs: SMI_TIMEOUT_MS },
    intervalSeconds: interval,
    safeCapFile: str(values["safe-cap-file"]) ?? SAFE_CAP_FILE,
    dryRun,
    log,
    signal: controller.signal,
  });
  let metrics: { port: number; close(): Promise<void> } | null = null;
  try {
    if (metricsPort !== null) {
      metrics = await serveMetrics(metricsPort, () => agent.metrics(), () => agent.healthy());
      log.info("metrics listening", { port: metrics.port, paths: ["/metrics", "/healthz"] });
    }
    log.info("starting", { interval, dryRun, once, nvidiaSmi: smiCommand.join(" "), api: conn.server });
    if (once) {
      const r = await agent.once();
      if (dryRun) io.stdout.write(dryRunReport(node, r, agent.lastReadings));
      log.info(r.capsInForce ? "caps in force" : "caps not in force", { reason: r.reason, message: r.message });
      return r.capsInForce ? 0 : 1;
    }
    await agent.run();
    if (dryRun && agent.result) io.stdout.write(dryRunReport(node, agent.result, agent.lastReadings));
    return 0;
  } finally {
    if (!io.signal) {
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
    }
    await metrics?.close();
    client.close();
  }
}

/** What a dry run prints: the parsed GPU table and what a real run would do. */
export function dryRunReport(node: string, r: PassResult, readings: GpuReading[]): string {
  const show = (x: GpuReading["limit"]) => ("watts" in x ? x.watts.toFixed(2) : x.unavailable);
  const lines = [
    `# mine2hpc power-agent --dry-run on node ${node}: queries only, nothing was set (no -pl, no -pm, no API write).`,
    `# query: nvidia-smi ${GPU_QUERY_ARGS.join(" ")}`,
    `# target: ${r.desired === null ? "each GPU's minimum" : `${r.desired} W`} (from ${r.source}); caps in force: ${r.capsInForce ? "yes" : "no"} (${r.reason}: ${r.message})`,
    ["index", "uuid", "name", "power.limit", "enforced", "min", "max", "default", "draw", "persistence", "target", "action"].join("\t"),
  ];
  const byUuid = new Map(r.gpus.map((g) => [g.uuid, g]));
  for (const g of readings) {
    const s = byUuid.get(g.uuid);
    lines.push(
      [
        g.index,
        g.uuid,
        g.name,
        show(g.limit),
        show(g.enforcedLimit),
        show(g.minLimit),
        show(g.maxLimit),
        show(g.defaultLimit),
        show(g.draw),
        g.persistence === null ? "?" : g.persistence ? "Enabled" : "Disabled",
        s?.target ?? "-",
        s?.action ?? "-",
      ].join("\t"),
    );
  }
  return lines.join("\n") + "\n";
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function num(v: unknown, flag: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n) || n < min) {
    throw new UsageError(`${flag} must be a number ≥ ${min}, got '${String(v)}'.\n  fix: e.g. ${flag} ${dflt}.`);
  }
  return n;
}

