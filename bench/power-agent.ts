/**
 * Power agent benchmark, on loopback: the agent (src/runtime/power-agent, in this process)
 * against the fake Kubernetes API and the fake nvidia-smi of the tests (a Node program: each
 * call costs a process start, ~40 ms here; a real nvidia-smi call is of the same order).
 *
 * - Label change → applied limit: the node's cap label is changed (as a curtailment job sets the
 *   override) `LABEL_CHANGES` times; measured from the change until every GPU's limit is at the
 *   new value (polled every 2 ms), and until the agent's condition reports it read back
 *   (what the curtailment controller waits for). Compared with the plan's figure for that step
 *   (GPU_CAPS_TO_MIN_SECONDS, one polling interval of the former bash agent).
 * - API requests per minute per node at rest: requests the fake API received during a window of
 *   `REST_WINDOW_S` seconds after start-up, with an interval of 1 s (so ~20 apply-and-read-back
 *   passes run in the window: they cost no API request), scaled to a minute; plus the watch
 *   re-establishment the server forces every timeoutSeconds (300 s), 0.2/min. The former bash
 *   agent made one GET per interval (30 s): 2/min.
 *
 * Run: `npx tsx bench/power-agent.ts` (JSON on stdout), or as part of `npm run bench`.
 */
import { fileURLToPath } from "node:url";
import { GPU_CAPS_TO_MIN_SECONDS, POWER_AGENT_INTERVAL_SECONDS } from "../src/plan/curtail.js";
import { AgentWorld, h200, waitFor } from "../tests/helpers/power-agent-harness.js";

/** Label changes measured. */
const LABEL_CHANGES = 21;
/** Seconds of the at-rest window. */
const REST_WINDOW_S = 20;
/** Seconds between two passes in the at-rest run (small on purpose: passes must not cost API requests). */
const REST_INTERVAL_S = 1;
/** The watch's server-side timeout (src/runtime/kube.ts default): one re-established watch per this many seconds. */
const WATCH_TIMEOUT_S = 300;

/** Results of one run. */
export interface PowerAgentBenchResult {
  gpus: number;
  labelChanges: number;
  /** Label change → every GPU's limit at the new value, in ms. */
  appliedMs: { p50: number; p95: number; max: number };
  /** Label change → condition True naming the new value (read back), in ms. */
  confirmedMs: { p50: number; p95: number; max: number };
  /** The plan's time for the GPU-caps stage, in s, and the measured p95 confirmation as a fraction of it. */
  plannedStageSeconds: number;
  confirmedP95OverPlanned: number;
  restWindowSeconds: number;
  restPasses: number;
  restRequests: number;
  /** Requests per minute at rest: measured in the window, plus watch re-establishment (60 / 300 s). */
  requestsPerMinuteAtRest: number;
  /** The former bash agent: one GET of the node per interval. */
  bashAgentRequestsPerMinute: number;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(values: number[]): { p50: number; p95: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return { p50: r(pct(s, 50)), p95: r(pct(s, 95)), max: r(s[s.length - 1]!) };
}

/** Runs both measurements. */
export async function runPowerAgentBench(): Promise<PowerAgentBenchResult> {
  const gpus = 4;
  const applied: number[] = [];
  const confirmed: number[] = [];
  const world = new AgentWorld({ gpus: Array.from({ length: gpus }, (_, i) => h200(i)) });
  try {
    await world.startApi({ "mine2hpc.io/gpu-power-cap": "500" });
    world.startAgent({ interval: String(POWER_AGENT_INTERVAL_SECONDS) });
    await waitFor(() => !world.hasTaint(), "caps in force", 30_000);
    for (let i = 0; i < LABEL_CHANGES; i++) {
      const watts = i % 2 === 0 ? 300 : 450;
      const t0 = performance.now();
      world.kube.label(world.nodeName, { "mine2hpc.io/gpu-power-cap-override": String(watts) });
      let tApplied = 0;
      await waitFor(
        () => {
          if (tApplied === 0 && world.state().gpus.every((g) => g.limit === watts)) tApplied = performance.now();
          return tApplied !== 0 && world.condition()?.message === `every GPU's limit read back at its target (${watts} W on ${gpus} GPUs)`;
        },
        `${watts} W confirmed`,
        30_000,
      );
      applied.push(tApplied - t0);
      confirmed.push(performance.now() - t0);
    }
  } finally {
    await world.close();
  }

  const rest = new AgentWorld({ gpus: Array.from({ length: gpus }, (_, i) => h200(i)) });
  let restRequests = 0;
  let restPasses = 0;
  try {
    await rest.startApi({ "mine2hpc.io/gpu-power-cap": "500" });
    rest.startAgent({ interval: String(REST_INTERVAL_S) });
    await waitFor(() => !rest.hasTaint() && rest.condition()?.status === "True", "caps in force", 30_000);
    const before = rest.kube.requests.length;
    const queriesBefore = rest.calls().filter((c) => c.argv.some((a) => a.startsWith("--query-gpu="))).length;
    await new Promise((r) => setTimeout(r, REST_WINDOW_S * 1000));
    restRequests = rest.kube.requests.length - before;
    restPasses = rest.calls().filter((c) => c.argv.some((a) => a.startsWith("--query-gpu="))).length - queriesBefore;
  } finally {
    await rest.close();
  }
  const confirmedSummary = summary(confirmed);
  return {
    gpus,
    labelChanges: LABEL_CHANGES,
    appliedMs: summary(applied),
    confirmedMs: confirmedSummary,
    plannedStageSeconds: GPU_CAPS_TO_MIN_SECONDS,
    confirmedP95OverPlanned: Math.round((confirmedSummary.p95 / 1000 / GPU_CAPS_TO_MIN_SECONDS) * 10000) / 10000,
    restWindowSeconds: REST_WINDOW_S,
    restPasses,
    restRequests,
    requestsPerMinuteAtRest: Math.round(((restRequests * 60) / REST_WINDOW_S + 60 / WATCH_TIMEOUT_S) * 100) / 100,
    bashAgentRequestsPerMinute: 60 / POWER_AGENT_INTERVAL_SECONDS,
  };
}

/** Table lines for `npm run bench`. */
export function formatPowerAgentBench(r: PowerAgentBenchResult): string[] {
  return [
    "",
    `Power agent (${r.gpus} GPUs, fake API and nvidia-smi on loopback)`,
    `  label change → limit applied:   p50 ${r.appliedMs.p50} ms, p95 ${r.appliedMs.p95} ms, max ${r.appliedMs.max} ms (${r.labelChanges} changes)`,
    `  label change → read back (condition): p50 ${r.confirmedMs.p50} ms, p95 ${r.confirmedMs.p95} ms, max ${r.confirmedMs.max} ms; p95 = ${r.confirmedP95OverPlanned} × the plan's ${r.plannedStageSeconds} s`,
    `  API requests at rest: ${r.restRequests} in ${r.restWindowSeconds} s over ${r.restPasses} passes → ${r.requestsPerMinuteAtRest}/min per node with watch renewals (bash agent: ${r.bashAgentRequestsPerMinute}/min)`,
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await runPowerAgentBench();
  process.stdout.write(JSON.stringify(r, null, 2) + "\n");
  process.exit(0);
}
