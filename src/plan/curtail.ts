/**
 * Curtailment stages of a non-firm feed: what the site does, in order, when the utility
 * (or a 4CP window) asks it to shed load, how much each step sheds and how long it takes.
 *
 * Every non-firm feed gets all three stages, in this order, even when a stage sheds 0 W
 * (a feed without ASICs still lists `asics-off` with 0 W): the shape of the curtailment
 * plan — and the CronJobs rendered from it — stays the same when machines are added or
 * removed, and a person reading the plan sees that the stage was considered.
 */
import type { CurtailmentStage } from "./types.js";

/**
 * Miners per second the curtailment controller confirms, measured by `npm run bench`
 * (bench/miners.ts, results in bench/results/latest.json): 8,000 simulated miners (LuxOS +
 * stock Antminer, real wire formats, 20 ms latency per reply, 3 % never answering),
 * concurrency 200, the drivers' default timeouts, simulators and controller sharing a
 * 2-core machine: 7,760 confirmed by 45.8 s (p100; 40.3 s in a run of its own), i.e. 169
 * miners/s. Planned with a quarter of margin: 125 miners/s.
 */
export const ASIC_CONFIRMS_PER_SECOND = 125;

/**
 * Seconds a miner's own read-back lags its sleep: LuxOS and bmminer report `GHS 5s`, a
 * 5-second average (cgminer API-README `summary`), plus the controller's 1 s read-back
 * poll. An assumption from the firmware's field, not measured on hardware.
 */
export const ASIC_READBACK_LAG_SECONDS = 6;

/**
 * Seconds until a feed's miners are confirmed off: the read-back lag plus the time to work
 * through `miners` at {@link ASIC_CONFIRMS_PER_SECOND}, in whole seconds. 8,000 miners: 70 s;
 * 22 miners: 7 s. Still assumed, not measured: how long real hash boards and PSUs take to
 * drop (LuxOS "sleep" turns the PSU off; pyasic waits for nothing either), and network
 * latency beyond 20 ms per reply.
 */
export function asicsOffSeconds(miners: number): number {
  return miners === 0 ? 0 : Math.ceil(ASIC_READBACK_LAG_SECONDS + miners / ASIC_CONFIRMS_PER_SECOND);
}

/**
 * Seconds allowed for miners nothing reads back: a fleet tool behind the feed's webhook, or
 * a person acting on the job's list. An assumption (unchanged, not measurable here): the
 * fleet tool or the operator powers them off within a minute.
 */
export const UNCONFIRMED_ASICS_SECONDS = 60;

/**
 * Seconds between two apply-and-read-back passes of the power agent on a node (re-apply
 * `nvidia-smi -pl` where a limit drifted, e.g. after a driver reload). Label changes do not
 * wait for it: the agent watches its Node and applies a new cap at once (bench/power-agent.ts:
 * label change to read-back p95 well under a second on loopback). A pass costs no API request;
 * at rest an agent makes about 0.2 requests per minute (its watch, renewed every 300 s).
 */
export const POWER_AGENT_INTERVAL_SECONDS = 30;

/**
 * Seconds for GPU caps to drop to minimum after the ASIC stage. The agent applies the override
 * label as soon as its watch delivers it (sub-second in bench/power-agent.ts); 30 s stays the
 * planned bound because a watch that is being re-established (reconnect backoff capped at
 * 30 s, src/runtime/kube.ts) delays the label by up to that, and real nvidia-smi calls are slower
 * than the simulator's.
 */
export const GPU_CAPS_TO_MIN_SECONDS = POWER_AGENT_INTERVAL_SECONDS;

/**
 * Seconds to hold the tier's ClusterQueue and drain the pools' nodes: Kubernetes'
 * default termination grace period (30 s) is too short for checkpointing jobs, so the
 * plan budgets five minutes of graceful termination before GPUs are at idle draw.
 */
export const DRAIN_QUEUE_SECONDS = 300;

/** Inputs of one feed's stages, in facility watts (already × PUE). */
export interface StageInputs {
  responseTimeSeconds: number | null;
  /** ASIC wall load × PUE, in W. */
  asicFacilityWatts: number;
  /** Σ gpuCount × (cap − min) / psuEff × PUE over the feed's GPU nodes, in W. */
  capsToMinFacilityWatts: number;
  /** Σ gpuCount × (min − idle) / psuEff × PUE over the feed's GPU nodes, in W. */
  drainFacilityWatts: number;
  asicHostnames: string[];
  /** How many of them have no firmware driver (webhook or manual): the stage then takes {@link UNCONFIRMED_ASICS_SECONDS}. @default 0 */
  unconfirmedAsics?: number;
  pools: string[];
}

/**
 * The three stages with rounded watts. `cumulativeShedWatts` is the running sum of the
 * rounded `shedWatts`, so the figures a person adds up in a report agree.
 */
export function curtailmentStages(inp: StageInputs): CurtailmentStage[] {
  const steps: { action: CurtailmentStage["action"]; watts: number; seconds: number; targets: string[] }[] = [
    { action: "asics-off", watts: inp.asicFacilityWatts, seconds: Math.max(asicsOffSeconds(inp.asicHostnames.length), (inp.unconfirmedAsics ?? 0) > 0 ? UNCONFIRMED_ASICS_SECONDS : 0), targets: inp.asicHostnames },
    { action: "gpu-caps-to-min", watts: inp.capsToMinFacilityWatts, seconds: GPU_CAPS_TO_MIN_SECONDS, targets: inp.pools },
    { action: "drain-queue", watts: inp.drainFacilityWatts, seconds: DRAIN_QUEUE_SECONDS, targets: inp.pools },
  ];
  let cumulative = 0;
  let elapsed = 0;
  return steps.map((s, i) => {
    const shed = Math.max(0, Math.round(s.watts));
    cumulative += shed;
    elapsed += s.seconds;
    return {
      order: i + 1,
      action: s.action,
      shedWatts: shed,
      cumulativeShedWatts: cumulative,
      durationSeconds: s.seconds,
      completeAfterSeconds: elapsed,
      meetsResponseTime: inp.responseTimeSeconds === null || elapsed <= inp.responseTimeSeconds,
      targets: [...s.targets],
    };
  });
}
