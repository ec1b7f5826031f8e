/**
 * The report's two drawings, as inline SVG strings: the electrical tree of one feed
 * (feed → circuits, each with a load bar against its budget) and the curtailment
 * timeline of one non-firm feed (a bar per stage on a seconds axis, with a marker at the
 * required response time). Plain strings, built with arrays and one `join`, so a feed
 * with thousands of circuits stays linear; no ids other than the caller's prefix, so many
 * drawings can share one page.
 */
import type { CircuitLoad, CurtailmentStage, FeedCurtailment, FeedLoad } from "../plan/types.js";
import { coord, escapeHtml as e, int, kw, loadLevel, pct, truncate } from "./format.js";

/** Width of every drawing in SVG user units; the page scales it to its column. */
export const SVG_WIDTH = 960;

// Tree layout: trunk on the left, label column, bar column, value column.
const TREE = {
  feedRowHeight: 40,
  rowHeight: 26,
  barHeight: 14,
  trunkX: 12,
  labelX: 28,
  labelChars: 28,
  barX: 240,
  barWidth: 440,
  valueX: 692,
  bottomPad: 8,
} as const;

/** Fraction of the bar a load fills, clamped to [0, 1]; a zero budget with load counts as full. */
function fill(loadWatts: number, budgetWatts: number): number {
  if (budgetWatts <= 0) return loadWatts > 0 ? 1 : 0;
  return Math.min(1, Math.max(0, loadWatts / budgetWatts));
}

function circuitRow(c: CircuitLoad, y: number): string {
  const midY = y + TREE.rowHeight / 2;
  const barY = midY - TREE.barHeight / 2;
  const loadW = fill(c.loadWatts, c.usableWatts) * TREE.barWidth;
  // ASIC draw is marked by a dark strip under the tail of the bar (it is the first load a
  // curtailment sheds); the bar itself keeps one colour so the load level reads at a glance.
  const asicW = Math.min(loadW, fill(c.asicWatts, c.usableWatts) * TREE.barWidth);
  const tooltip =
    `Circuit ${c.id} (feed ${c.feed}): ${int(c.loadWatts)} W of ${int(c.usableWatts)} W usable (${pct(c.loadPercent)} %)` +
    `, ASIC miners ${int(c.asicWatts)} W, stranded ${int(c.strandedWatts)} W, ${c.machines.length} machine${c.machines.length === 1 ? "" : "s"}`;
  const parts = [
    `<g class="circuit-bar load-${loadLevel(c.loadPercent)}" data-circuit="${e(c.id)}" data-load-percent="${pct(c.loadPercent)}">`,
    `<title>${e(tooltip)}</title>`,
    `<path class="branch" d="M${TREE.trunkX} ${coord(midY)}H${TREE.labelX - 6}"/>`,
    `<text class="label" x="${TREE.labelX}" y="${coord(midY + 4)}">${e(truncate(c.id, TREE.labelChars))}</text>`,
    `<rect class="track" x="${TREE.barX}" y="${coord(barY)}" width="${TREE.barWidth}" height="${TREE.barHeight}" rx="2"/>`,
    `<rect class="load" x="${TREE.barX}" y="${coord(barY)}" width="${coord(loadW)}" height="${TREE.barHeight}"/>`,
  ];
  if (asicW > 0) {
    parts.push(`<rect class="asic" x="${coord(TREE.barX + loadW - asicW)}" y="${coord(barY + TREE.barHeight - 4)}" width="${coord(asicW)}" height="4"/>`);
  }
  parts.push(`<text class="value" x="${TREE.valueX}" y="${coord(midY + 4)}">${int(c.loadWatts)} W of ${int(c.usableWatts)} W · ${pct(c.loadPercent)} %</text>`, `</g>`);
  return parts.join("");
}

/**
 * The tree of one feed: the feed's facility load against its capacity on top, then one
 * row per circuit (in site order) hanging off a trunk line, each with its load bar.
 * `idPrefix` makes the SVG's title id unique on the page.
 */
export function feedTreeSvg(feed: FeedLoad, circuits: readonly CircuitLoad[], idPrefix: string): string {
  const height = TREE.feedRowHeight + circuits.length * TREE.rowHeight + TREE.bottomPad;
  const titleId = `${idPrefix}-title`;
  const feedBarY = 12;
  const feedW = fill(feed.facilityWatts, feed.capacityWatts) * TREE.barWidth;
  const out: string[] = [
    `<svg class="tree" role="img" aria-labelledby="${titleId}" viewBox="0 0 ${SVG_WIDTH} ${height}" width="100%" preserveAspectRatio="xMinYMin meet">`,
    `<title id="${titleId}">Feed ${e(feed.name)} (${e(feed.tier)}): facility load ${kw(feed.facilityWatts)} kW of ${kw(feed.capacityWatts)} kW (${pct(feed.loadPercent)} %), ${circuits.length} circuit${circuits.length === 1 ? "" : "s"}</title>`,
    `<g class="feed-bar load-${loadLevel(feed.loadPercent)}" data-feed="${e(feed.name)}">`,
    `<circle class="node" cx="${TREE.trunkX}" cy="${feedBarY + 8}" r="6"/>`,
    `<text class="label feed-label" x="${TREE.labelX}" y="${feedBarY + 13}">${e(truncate(feed.name, TREE.labelChars - 4))}</text>`,
    `<rect class="track" x="${TREE.barX}" y="${feedBarY}" width="${TREE.barWidth}" height="16" rx="2"/>`,
    `<rect class="load" x="${TREE.barX}" y="${feedBarY}" width="${coord(feedW)}" height="16"/>`,
    `<text class="value" x="${TREE.valueX}" y="${feedBarY + 13}">${kw(feed.facilityWatts)} kW of ${kw(feed.capacityWatts)} kW · ${pct(feed.loadPercent)} %</text>`,
    `</g>`,
  ];
  if (circuits.length > 0) {
    const lastMid = TREE.feedRowHeight + (circuits.length - 1) * TREE.rowHeight + TREE.rowHeight / 2;
    out.push(`<path class="trunk" d="M${TREE.trunkX} ${feedBarY + 14}V${coord(lastMid)}"/>`);
  }
  circuits.forEach((c, i) => out.push(circuitRow(c, TREE.feedRowHeight + i * TREE.rowHeight)));
  out.push(`</svg>`);
  return out.join("\n");
}

/** What a stage does, in words a site operator uses. */
export const STAGE_LABELS: Record<CurtailmentStage["action"], string> = {
  "asics-off": "ASIC miners off",
  "gpu-caps-to-min": "GPU caps to minimum",
  "drain-queue": "Hold and drain GPU queue",
};

/** A round axis step (1, 2 or 5 × 10ⁿ) giving about `ticks` intervals up to `max`. */
export function niceStep(max: number, ticks = 6): number {
  if (!(max > 0)) return 1;
  const raw = max / ticks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

const TIMELINE = {
  topPad: 26,
  rowHeight: 30,
  barHeight: 16,
  labelX: 8,
  labelChars: 34,
  plotX: 300,
  plotWidth: 560,
  axisHeight: 40,
} as const;

/** The x axis of a timeline: 0 to a round number of seconds covering the last stage and the response time. */
export function timelineAxis(curtailment: Pick<FeedCurtailment, "stages" | "responseTimeSeconds">): { maxSeconds: number; stepSeconds: number } {
  const lastDone = Math.max(0, ...curtailment.stages.map((s) => s.completeAfterSeconds));
  const horizon = Math.max(lastDone, curtailment.responseTimeSeconds ?? 0);
  const step = niceStep(horizon);
  return { maxSeconds: Math.max(step, Math.ceil((horizon * 1.04) / step) * step), stepSeconds: step };
}

/**
 * The curtailment timeline of one feed: x is seconds after the call, one bar per stage
 * from when it starts to when it has taken effect, labelled with the kW it sheds; a
 * dashed line marks the feed's required response time (none when it has none). A stage
 * that ends after that line is drawn as late.
 */
export function curtailmentTimelineSvg(c: FeedCurtailment, idPrefix: string): string {
  const { maxSeconds, stepSeconds } = timelineAxis(c);
  const x = (seconds: number) => TIMELINE.plotX + (Math.min(seconds, maxSeconds) / maxSeconds) * TIMELINE.plotWidth;
  const plotBottom = TIMELINE.topPad + c.stages.length * TIMELINE.rowHeight;
  const height = plotBottom + TIMELINE.axisHeight;
  const titleId = `${idPrefix}-title`;
  const rt = c.responseTimeSeconds === null ? "no required response time" : `required response time ${c.responseTimeSeconds} s`;
  const out: string[] = [
    `<svg class="timeline" role="img" aria-labelledby="${titleId}" viewBox="0 0 ${SVG_WIDTH} ${height}" width="100%" preserveAspectRatio="xMinYMin meet">`,
    `<title id="${titleId}">Curtailment of feed ${e(c.feed)} (${e(c.tier)}): ${c.stages.length} stage${c.stages.length === 1 ? "" : "s"}, ${rt}</title>`,
  ];
  // Grid and axis first, so bars draw over them.
  const ticks: string[] = [];
  for (let s = 0; s <= maxSeconds + 1e-9; s += stepSeconds) {
    const tx = coord(x(s));
    ticks.push(
      `<path class="grid" d="M${tx} ${TIMELINE.topPad - 6}V${plotBottom}"/>`,
      `<text class="tick" x="${tx}" y="${plotBottom + 16}" text-anchor="middle">${int(s)} s</text>`,
    );
  }
  out.push(
    `<g class="axis">`,
    ...ticks,
    `<path class="axis-line" d="M${TIMELINE.plotX} ${plotBottom}H${TIMELINE.plotX + TIMELINE.plotWidth}"/>`,
    `<text class="axis-title" x="${TIMELINE.plotX + TIMELINE.plotWidth / 2}" y="${plotBottom + 34}" text-anchor="middle">seconds after the curtailment call</text>`,
    `</g>`,
  );
  c.stages.forEach((s, i) => {
    const y = TIMELINE.topPad + i * TIMELINE.rowHeight;
    const barY = y + (TIMELINE.rowHeight - TIMELINE.barHeight) / 2;
    const startX = x(Math.max(0, s.completeAfterSeconds - s.durationSeconds));
    const endX = x(s.completeAfterSeconds);
    const late = c.responseTimeSeconds !== null && !s.meetsResponseTime;
    const label = `${s.order}. ${STAGE_LABELS[s.action]}`;
    const tooltip =
      `Stage ${s.order}, ${s.action}: sheds ${kw(s.shedWatts)} kW (total ${kw(s.cumulativeShedWatts)} kW), ` +
      `from ${int(s.completeAfterSeconds - s.durationSeconds)} s to ${int(s.completeAfterSeconds)} s after the call` +
      (c.responseTimeSeconds === null ? "" : late ? ", after the required response time" : ", within the required response time");
    // The value sits right of the bar, or left of its end when the bar reaches the right edge.
    const valueInside = endX > TIMELINE.plotX + TIMELINE.plotWidth - 90;
    out.push(
      `<g class="stage-bar ${late ? "late" : "on-time"}" data-stage="${s.order}" data-action="${s.action}" data-shed-watts="${Math.round(s.shedWatts)}">`,
      `<title>${e(tooltip)}</title>`,
      `<text class="label" x="${TIMELINE.labelX}" y="${coord(barY + 12)}">${e(truncate(label, TIMELINE.labelChars))}</text>`,
      `<rect class="stage" x="${coord(startX)}" y="${coord(barY)}" width="${coord(Math.max(2, endX - startX))}" height="${TIMELINE.barHeight}" rx="2"/>`,
      `<text class="value" x="${coord(valueInside ? startX - 6 : endX + 6)}" y="${coord(barY + 12)}"${valueInside ? ` text-anchor="end"` : ""}>−${kw(s.shedWatts)} kW</text>`,
      `</g>`,
    );
  });
  if (c.responseTimeSeconds !== null) {
    const mx = coord(x(c.responseTimeSeconds));
    out.push(
      `<g class="response-marker" data-seconds="${c.responseTimeSeconds}">`,
      `<path d="M${mx} ${TIMELINE.topPad - 10}V${plotBottom + 4}"/>`,
      `<text x="${mx}" y="${TIMELINE.topPad - 14}" text-anchor="middle">respond by ${int(c.responseTimeSeconds)} s</text>`,
      `</g>`,
    );
  }
  out.push(`</svg>`);
  return out.join("\n");
}
