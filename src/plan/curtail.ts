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
 * Seconds for ASIC miners to power off after the call. Assumption: the curtailment job
 * sends each miner its API power-off/sleep command (cgminer/bosminer-style), and
 * hash boards drop to standby within about a minute; not measured per model.
 */
export const ASICS_OFF_SECONDS = 60;

/**
 * Seconds between two runs of the power agent on a node (read the cap labels, apply
 * `nvidia-smi -pl` where the limit differs). Also bounds how late a curtailment cap
 * change lands. Each run is one GET of the node from the API server: at 5,000 GPU nodes
 * about 170 requests/s, which a k3s server with embedded etcd handles, but a watch-based
 * agent would be lighter (not done).
 */
export const POWER_AGENT_INTERVAL_SECONDS = 30;

/**
 * Seconds for GPU caps to drop to minimum after the ASIC stage: at worst one power-agent
 * period after the override label is set; the new limit takes effect at once on the board.
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
  pools: string[];
}

/**
 * The three stages with rounded watts. `cumulativeShedWatts` is the running sum of the
 * rounded `shedWatts`, so the figures a person adds up in a report agree.
 */
export function curtailmentStages(inp: StageInputs): CurtailmentStage[] {
  const steps: { action: CurtailmentStage["action"]; watts: number; seconds: number; targets: string[] }[] = [
    { action: "asics-off", watts: inp.asicFacilityWatts, seconds: ASICS_OFF_SECONDS, targets: inp.asicHostnames },
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
