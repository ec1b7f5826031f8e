/**
 * Names the power agent and its DaemonSet (render/power-agent.ts) must agree on; kept apart
 * from the agent's code so the renderer imports constants, not the runtime.
 */

/** Where the host bootstrap writes the node's planned cap (one integer, watts). */
export const SAFE_CAP_FILE = "/etc/mine2hpc/gpu-power-cap";

/** Default metrics port: 9400 is dcgm-exporter's, 9401 is taken by some of its forks; 9402 is free in both. */
export const DEFAULT_METRICS_PORT = 9402;

/** Type of the node condition the agent maintains. */
export const CAPS_CONDITION_TYPE = "mine2hpc.io/PowerCapsInForce";
