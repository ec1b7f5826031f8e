/**
 * The HTML report of a plan (`mine2hpc report --html FILE`): pure FarmPlan (+ a few site
 * facts and the page's provenance) → string, so the CLI, tests and any other caller get the
 * same bytes.
 */
export { renderHtmlReport, FEED_OPEN_CIRCUIT_LIMIT, TARGETS_SHOWN } from "./html.js";
export { escapeHtml, loadLevel, LOAD_AMBER_PERCENT, LOAD_RED_PERCENT, type LoadLevel } from "./format.js";
export { curtailmentTimelineSvg, feedTreeSvg, niceStep, timelineAxis, treeRowHeight, STAGE_LABELS } from "./svg.js";
export { siteFacts, outletVolts, usableAmps, type CircuitRating, type ReportContext, type ReportProvenance } from "./context.js";
export { circuitPhases, phaseText, type CircuitPhases, type PhaseCell } from "./phases.js";
export {
  explainStranded,
  describeCircuit,
  describeFeed,
  ROUNDING_WATTS,
  type CircuitStranded,
  type FeedStranded,
  type StrandedCause,
  type StrandedExplanation,
} from "./stranded.js";
export { wiringSection } from "./wiring.js";
