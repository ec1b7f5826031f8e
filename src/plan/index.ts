/**
 * The planner's public surface: `planFarm` and the FarmPlan types, plus the electrical
 * helpers and constants that `render/` and `cli/` show next to the plan.
 */
export { planFarm, interconnectOf, poolName, tierTaint, labelValue, TIER_ORDER, CIRCUIT_WARN_FRACTION, LOW_CAP_WARN_FRACTION } from "./plan.js";
export type { PlanCatalog, PlanOptions } from "./plan.js";
export { allocateCaps, gainSegments, gainSegmentsMemo, nodeThroughputTflops, spreadEvenly } from "./allocate.js";
export { allocateExact } from "./exact.js";
export type { ExactCircuit, ExactInput, ExactNode } from "./exact.js";
export type { AllocCircuit, AllocFeed, AllocInput, AllocNode, AllocResult, GainSegment } from "./allocate.js";
export { assignPhases, defaultPowerCords, heaviestPhase, loadPhases, phaseShare, phaseShareMemo, PHASE_NAMES } from "./phases.js";
export type { PhaseAssignment, PhaseMachine } from "./phases.js";
export { curtailmentStages, asicsOffSeconds, ASIC_CONFIRMS_PER_SECOND, ASIC_READBACK_LAG_SECONDS, UNCONFIRMED_ASICS_SECONDS, GPU_CAPS_TO_MIN_SECONDS, DRAIN_QUEUE_SECONDS } from "./curtail.js";
export {
  circuitUsableWatts,
  circuitFormula,
  phaseUsableWatts,
  phaseFormula,
  nodeWallWatts,
  formatWatts,
  round1,
  roundWatts,
  DEFAULT_CPU_NODE_BASE_WATTS,
} from "./power.js";
export * from "./types.js";
export { withPartitions, stackHosts, partitionOfHost, type StackPart } from "./partitions.js";
