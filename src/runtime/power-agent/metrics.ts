/**
 * The agent's Prometheus metrics, in the text exposition format 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats/: `# HELP`, `# TYPE`, then
 * `name{label="value"} number` lines; label values escape `\`, `"` and newlines), served with
 * `/healthz` for the pod's probes.
 */
import http from "node:http";

export { DEFAULT_METRICS_PORT } from "./constants.js";

/** What the metrics show of one GPU. */
export interface GpuMetrics {
  uuid: string;
  index: number;
  /** Target cap after clamping, in W (null: not settable). */
  targetWatts: number | null;
  /** Limit read back (`power.limit`), in W. */
  limitWatts: number | null;
  drawWatts: number | null;
  /** Limits that had moved away from an already-verified target and were set again. */
  driftCorrections: number;
}

/** A snapshot of the agent, rendered by {@link renderMetrics}. */
export interface AgentMetrics {
  node: string;
  gpus: GpuMetrics[];
  capsInForce: boolean;
  driverReady: boolean;
  /** Unix seconds of the last pass that confirmed every cap; null before the first. */
  lastSuccessSeconds: number | null;
  /** Passes run, and API requests that failed (unreachable or refused). */
  passes: number;
  apiErrors: number;
}

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** The exposition text of a snapshot. */
export function renderMetrics(m: AgentMetrics): string {
  const out: string[] = [];
  const node = `node="${esc(m.node)}"`;
  const family = (name: string, type: "gauge" | "counter", help: string, samples: string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
  };
  const gpuSamples = (name: string, pick: (g: GpuMetrics) => number | null) =>
    m.gpus.flatMap((g) => {
      const v = pick(g);
      return v === null ? [] : [`${name}{${node},uuid="${esc(g.uuid)}",index="${g.index}"} ${v}`];
    });
  family("mine2hpc_gpu_power_target_watts", "gauge", "Power cap the agent applies to the GPU (label, clamped to the settable range).", gpuSamples("mine2hpc_gpu_power_target_watts", (g) => g.targetWatts));
  family("mine2hpc_gpu_power_limit_watts", "gauge", "Power limit read back from the GPU (nvidia-smi power.limit).", gpuSamples("mine2hpc_gpu_power_limit_watts", (g) => g.limitWatts));
  family("mine2hpc_gpu_power_draw_watts", "gauge", "Power draw of the GPU (nvidia-smi power.draw).", gpuSamples("mine2hpc_gpu_power_draw_watts", (g) => g.drawWatts));
  family(
    "mine2hpc_gpu_power_drift_corrections_total",
    "counter",
    "Times the GPU's limit had moved away from a verified target (driver reload, another tool) and was set again.",
    m.gpus.map((g) => `mine2hpc_gpu_power_drift_corrections_total{${node},uuid="${esc(g.uuid)}",index="${g.index}"} ${g.driftCorrections}`),
  );
  family("mine2hpc_power_caps_in_force", "gauge", "1 when every GPU's limit, read back, equals its target.", [`mine2hpc_power_caps_in_force{${node}} ${m.capsInForce ? 1 : 0}`]);
  family("mine2hpc_power_driver_ready", "gauge", "1 when nvidia-smi answered the last query.", [`mine2hpc_power_driver_ready{${node}} ${m.driverReady ? 1 : 0}`]);
  family(
    "mine2hpc_power_last_success_timestamp_seconds",
    "gauge",
    "Unix time of the last pass that confirmed every cap.",
    m.lastSuccessSeconds === null ? [] : [`mine2hpc_power_last_success_timestamp_seconds{${node}} ${m.lastSuccessSeconds}`],
  );
  family("mine2hpc_power_agent_passes_total", "counter", "Apply-and-read-back passes run.", [`mine2hpc_power_agent_passes_total{${node}} ${m.passes}`]);
  family("mine2hpc_power_agent_api_errors_total", "counter", "Kubernetes API requests that failed.", [`mine2hpc_power_agent_api_errors_total{${node}} ${m.apiErrors}`]);
  return out.join("\n") + "\n";
}

/**
 * Serves `/metrics` and `/healthz` on `port` (0: any free port). `healthy()` decides the
 * probe: the loop is alive, whatever the caps (a restart would not fix a driver that is not ready).
 */
export async function serveMetrics(port: number, snapshot: () => AgentMetrics, healthy: () => boolean): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/metrics") {
      res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(renderMetrics(snapshot()));
    } else if (req.method === "GET" && path === "/healthz") {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { "Content-Type": "text/plain" });
      res.end(ok ? "ok\n" : "the control loop has not run recently\n");
    } else {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found: /metrics or /healthz\n");
    }
  });
  // Keep-alive scrapes must not hold the process open after SIGTERM.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "0.0.0.0", () => resolve());
  });
  const address = server.address();
  const bound = typeof address === "object" && address !== null ? address.port : port;
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
