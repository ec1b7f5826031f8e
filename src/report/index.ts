/**
 * The HTML report of a plan (`mine2hpc report --html FILE`): pure FarmPlan → string, so
 * the CLI, tests and any other caller get the same bytes.
 */
export { renderHtmlReport, FEED_OPEN_CIRCUIT_LIMIT, TARGETS_SHOWN } from "./html.js";
export { escapeHtml, loadLevel, LOAD_AMBER_PERCENT, LOAD_RED_PERCENT, type LoadLevel } from "./format.js";
export { curtailmentTimelineSvg, feedTreeSvg, niceStep, timelineAxis, STAGE_LABELS } from "./svg.js";
