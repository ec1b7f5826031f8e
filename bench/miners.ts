/**
 * Miner curtailment benchmark: the ASIC stage of a curtailment (src/runtime/curtail/miners.ts,
 * the code the in-cluster jobs and `mine2hpc miners` run) on 8,000 simulated miners on
 * loopback — half LuxOS (JSON over TCP, session, `curtail` sleep), half stock Antminer (CGI
 * with HTTP digest + bmminer status API) — 3 % of them unresponsive (accept, never answer),
 * 20 ms simulated latency on every reply, concurrency 200, the drivers' default timeouts
 * (connect 3 s, request 5 s, 2 retries, 60 s per miner).
 *
 * Reported: time from the start of the run until each miner's curtailment is confirmed by
 * its read-back (p50/p95/p100 over the confirmed miners), the whole run's duration (the
 * unresponsive miners' retries included), confirmed vs planned kW, and the p100 as a ratio
 * of the plan's assumed ASIC stage time before this benchmark (60 s).
 *
 * The simulators run in one child process (`--sims N`), the controller in this one: a
 * 2-core machine runs both without 8,000 processes. Simulated miners stop hashing the moment
 * they acknowledge; a real miner's reported hashrate is an average (LuxOS/bmminer
 * `GHS 5s`), which src/plan/curtail.ts adds on top of the figure measured here.
 *
 * Run: `npx tsx bench/miners.ts` (JSON on stdout), or as part of `npm run bench`.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { runMiners } from "../src/runtime/curtail/miners.js";
import { parseCredentials } from "../src/runtime/curtail/credentials.js";
import type { MinerTargetSpec } from "../src/runtime/curtail/targets.js";
import type { MinerResult } from "../src/runtime/miners/types.js";
import { SIM_PASSWORD, SIM_USER, simPorts, startAntminerSim, startLuxosSim, type SimMiner } from "../tests/helpers/miner-sims.js";

/** The scenario of the issue. */
export const MINERS_BENCH = { miners: 8_000, unresponsivePercent: 3, latencyMs: 20, concurrency: 200, wattsPerMiner: 3250, pue: 1.08 } as const;
/** The plan's ASIC stage time before it was measured (src/plan/curtail.ts history), in s. */
export const ASSUMED_ASIC_SECONDS = 60;
/** Wall-clock limit of the whole benchmark. */
const BENCH_TIMEOUT_MS = 600_000;

/** Results of one run. */
export interface MinersBenchResult {
  miners: number;
  unresponsive: number;
  latencyMs: number;
  concurrency: number;
  counts: { confirmed: number; failed: number; unreachable: number };
  /** Seconds from the run's start until a miner's curtailment was confirmed, over the confirmed miners. */
  confirmedSeconds: { p50: number; p95: number; p100: number };
  /** Seconds until every miner had a result (unresponsive ones given up after their retries). */
  runSeconds: number;
  plannedKw: number;
  confirmedKw: number;
  /** Confirmed over planned kW. */
  confirmedShare: number;
  /** p100 over the 60 s the plan assumed. */
  p100VsAssumed: number;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Whether miner `i` of `n` is unresponsive: the first of each of `percent` % × n equal slices, so both firmwares get their share. */
export function unresponsive(i: number, n: number, percent: number): boolean {
  const count = Math.round((n * percent) / 100);
  return i === 0 ? count > 0 : Math.floor((i * count) / n) > Math.floor(((i - 1) * count) / n);
}

/** Child: starts the simulators, prints one JSON line of targets, exits when stdin closes. */
async function simsChild(n: number): Promise<void> {
  const sims: SimMiner[] = [];
  const targets: MinerTargetSpec[] = [];
  for (let i = 0; i < n; i++) {
    const fault = unresponsive(i, n, MINERS_BENCH.unresponsivePercent) ? "timeout" : "none";
    const s = i % 2 === 0 ? await startLuxosSim({ fault, latencyMs: MINERS_BENCH.latencyMs }) : await startAntminerSim({ fault, latencyMs: MINERS_BENCH.latencyMs });
    sims.push(s);
    targets.push({ hostname: `asic-${String(i).padStart(5, "0")}`, driver: s.kind, host: "127.0.0.1", ...simPorts(s), plannedWatts: MINERS_BENCH.wattsPerMiner });
  }
  process.stdout.write(JSON.stringify(targets) + "\n");
  process.stdin.resume();
  process.stdin.on("end", () => void Promise.all(sims.map((s) => s.close())).then(() => process.exit(0)));
}

/** Runs the benchmark: simulators in one child, the curtailment here. */
export async function runMinersBench(n: number = MINERS_BENCH.miners): Promise<MinersBenchResult> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...process.execArgv, self, "--sims", String(n)], { stdio: ["pipe", "pipe", "inherit"] });
  const killer = setTimeout(() => child.kill("SIGKILL"), BENCH_TIMEOUT_MS);
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      rl.once("line", resolve);
      child.once("exit", (code) => reject(new Error(`simulator child exited (${code}) before it was ready`)));
    });
    const targets = JSON.parse(line) as MinerTargetSpec[];
    const creds = parseCredentials(JSON.stringify({ byDriver: { antminer: { user: SIM_USER, password: SIM_PASSWORD } } }), "bench");
    const start = performance.now();
    const confirmedAt: number[] = [];
    const run = await runMiners(targets, "curtail", creds, {
      feed: "bench",
      concurrency: MINERS_BENCH.concurrency,
      webhookUrl: null,
      onResult: (r: MinerResult) => {
        if (r.outcome === "confirmed") confirmedAt.push((performance.now() - start) / 1000);
      },
    });
    const runSeconds = (performance.now() - start) / 1000;
    confirmedAt.sort((a, b) => a - b);
    const plannedKw = (run.plannedWatts * MINERS_BENCH.pue) / 1000;
    const confirmedKw = (run.confirmedWatts * MINERS_BENCH.pue) / 1000;
    const p100 = percentile(confirmedAt, 100);
    return {
      miners: n,
      unresponsive: targets.filter((_, i) => unresponsive(i, n, MINERS_BENCH.unresponsivePercent)).length,
      latencyMs: MINERS_BENCH.latencyMs,
      concurrency: MINERS_BENCH.concurrency,
      counts: run.counts,
      confirmedSeconds: { p50: round(percentile(confirmedAt, 50)), p95: round(percentile(confirmedAt, 95)), p100: round(p100) },
      runSeconds: round(runSeconds),
      plannedKw: round(plannedKw, 1),
      confirmedKw: round(confirmedKw, 1),
      confirmedShare: round(confirmedKw / plannedKw, 4),
      p100VsAssumed: round(p100 / ASSUMED_ASIC_SECONDS, 3),
    };
  } finally {
    clearTimeout(killer);
    child.stdin!.end();
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
  }
}

/** Lines for the bench report. */
export function formatMinersBench(r: MinersBenchResult): string[] {
  return [
    `miner curtailment: ${r.miners} simulated miners (LuxOS + Antminer), ${r.unresponsive} unresponsive, ${r.latencyMs} ms latency, concurrency ${r.concurrency}:`,
    `  confirmed ${r.counts.confirmed}, failed ${r.counts.failed}, unreachable ${r.counts.unreachable}`,
    `  time to confirmed shed: p50 ${r.confirmedSeconds.p50} s, p95 ${r.confirmedSeconds.p95} s, p100 ${r.confirmedSeconds.p100} s (× ${r.p100VsAssumed} of the 60 s assumed before)`,
    `  every miner resolved after ${r.runSeconds} s; confirmed ${r.confirmedKw} kW of ${r.plannedKw} kW planned (${round(r.confirmedShare * 100, 2)} %)`,
  ];
}

async function main(): Promise<void> {
  const at = process.argv.indexOf("--sims");
  if (at >= 0) return simsChild(Number(process.argv[at + 1]));
  const countAt = process.argv.indexOf("--miners");
  const r = await runMinersBench(countAt >= 0 ? Number(process.argv[countAt + 1]) : MINERS_BENCH.miners);
  process.stdout.write(JSON.stringify(r) + "\n");
  for (const l of formatMinersBench(r)) process.stderr.write(`${l}\n`);
}

// Run only as the entry point, so bench/run.ts and tests can import the helpers.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  });
}
