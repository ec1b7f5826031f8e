/**
 * The report's two drawings, as inline SVG strings: the electrical tree of one feed
 * (feed → circuits, each with a load bar against its budget) and the curtailment
 * timeline of one non-firm feed (a bar per stage on a seconds axis, with a marker at the
 * required response time). Plain strings, built with arrays and one `join`, so a feed
 * with thousands of circuits stays linear; no ids other than the caller's prefix, so many
 * drawings can share one page.
 */
import type { CircuitLoad, CurtailmentStage, FeedCurtailment, FeedLoad } from "../plan/types.js";
import type { CircuitRating } from "./context.js";
import { coord, escapeHtml as e, int, kw, loadLevel, pct, truncate } from "./format.js";
import { circuitPhases, phaseText } from "./phases.js";

/** Width of every drawing in SVG user units; the page scales it to its column. */
export const SVG_WIDTH = 960;

// Tree layout: trunk on the left, label column, bar column, value column.
const TREE = {
  feedRowHeight: 40,
  rowHeight: 26,
  /** A three-phase circuit's row: its total bar, then one thin bar per phase. */
  threePhaseRowHeight: 58,
  /** Top of a three-phase row's total bar, below the row's top. */
  threePhaseBarTop: 5,
  barHeight: 14,
  phaseBarHeight: 7,
  phaseBarGap: 3,
  trunkX: 12,
  labelX: 28,
  labelChars: 28,
  barX: 240,
  barWidth: 440,
  valueX: 692,
  bottomPad: 8,
} as const;

/** Height of a circuit's row in the tree: taller for three-phase circuits, which show their phases. */
export function treeRowHeight(c: Pick<CircuitLoad, "phaseWatts">): number {
  return c.phaseWatts ? TREE.threePhaseRowHeight : TREE.rowHeight;
}

/** Fraction of the bar a load fills, clamped to [0, 1]; a zero budget with load counts as full. */
function fill(loadWatts: number, budgetWatts: number): number {
  if (budgetWatts <= 0) return loadWatts > 0 ? 1 : 0;
  return Math.min(1, Math.max(0, loadWatts / budgetWatts));
}

function circuitRow(c: CircuitLoad, y: number, rating: CircuitRating | undefined): string {
  const phases = circuitPhases(c, rating);
  // Single-phase rows centre their bar; three-phase rows put the total bar on top and the
  // three phase bars under it, so the branch meets the total bar.
  const barY = phases ? y + TREE.threePhaseBarTop : y + (TREE.rowHeight - TREE.barHeight) / 2;
  const midY = barY + TREE.barHeight / 2;
  const loadW = fill(c.loadWatts, c.usableWatts) * TREE.barWidth;
  // ASIC draw is marked by a dark strip under the tail of the bar (it is the first load a
  // curtailment sheds); the bar itself keeps one colour so the load level reads at a glance.
  const asicW = Math.min(loadW, fill(c.asicWatts, c.usableWatts) * TREE.barWidth);
  const heavy = phases ? phases.phases[phases.heaviest]! : null;
  const tooltip =
    `Circuit ${c.id} (feed ${c.feed}): ${int(c.loadWatts)} W of ${int(c.usableWatts)} W usable (${pct(c.loadPercent)} %)` +
    `, ASIC miners ${int(c.asicWatts)} W, stranded ${int(c.strandedWatts)} W, ${c.machines.length} machine${c.machines.length === 1 ? "" : "s"}` +
    (phases ? `; per phase (of ${int(phases.budgetWatts)} W each): ${phases.phases.map(phaseText).join(", ")}; heaviest ${heavy!.name}` : "");
  const heavyAttrs = heavy ? ` data-heaviest-phase="${heavy.name}" data-heaviest-percent="${pct(heavy.percent)}"` : "";
  const parts = [
    `<g class="circuit-bar load-${loadLevel(c.loadPercent)}" data-circuit="${e(c.id)}" data-load-percent="${pct(c.loadPercent)}"${heavyAttrs}>`,
    `<title>${e(tooltip)}</title>`,
    `<path class="branch" d="M${TREE.trunkX} ${coord(midY)}H${TREE.labelX - 6}"/>`,
    `<text class="label" x="${TREE.labelX}" y="${coord(midY + 4)}">${e(truncate(c.id, TREE.labelChars))}</text>`,
    `<rect class="track" x="${TREE.barX}" y="${coord(barY)}" width="${TREE.barWidth}" height="${TREE.barHeight}" rx="2"/>`,
    `<rect class="load" x="${TREE.barX}" y="${coord(barY)}" width="${coord(loadW)}" height="${TREE.barHeight}"/>`,
  ];
  if (asicW > 0) {
    parts.push(`<rect class="asic" x="${coord(TREE.barX + loadW - asicW)}" y="${coord(barY + TREE.barHeight - 4)}" width="${coord(asicW)}" height="4"/>`);
  }
  parts.push(`<text class="value" x="${TREE.valueX}" y="${coord(midY + 4)}">${int(c.loadWatts)} W of ${int(c.usableWatts)} W · ${pct(c.loadPercent)} %</text>`);
  if (phases) {
    // One thin bar per phase against one phase's budget, each in the colour of its own load.
    phases.phases.forEach((p, i) => {
      const py = barY + TREE.barHeight + TREE.phaseBarGap + 1 + i * (TREE.phaseBarHeight + TREE.phaseBarGap);
      parts.push(
        `<g class="phase-bar p-${p.level}${i === phases.heaviest ? " heaviest" : ""}" data-phase="${p.name}" data-percent="${pct(p.percent)}">`,
        `<text class="phase-name" x="${TREE.barX - 5}" y="${coord(py + 6.5)}" text-anchor="end">${p.name}</text>`,
        `<rect class="phase-track" x="${TREE.barX}" y="${coord(py)}" width="${TREE.barWidth}" height="${TREE.phaseBarHeight}"/>`,
        `<rect class="phase-load" x="${TREE.barX}" y="${coord(py)}" width="${coord(fill(p.watts, phases.budgetWatts) * TREE.barWidth)}" height="${TREE.phaseBarHeight}"/>`,
        `</g>`,
      );
    });
    parts.push(`<text class="value heaviest lvl-${heavy!.level}" x="${TREE.valueX}" y="${coord(barY + TREE.barHeight + 20)}">heaviest ${e(phaseText(heavy!))}</text>`);
  }
  parts.push(`</g>`);
  return parts.join("");
}

/**
 * The tree of one feed: the feed's facility load against its capacity on top, then one
 * row per circuit (in site order) hanging off a trunk line, each with its load bar; a
 * three-phase circuit also gets a bar per phase against one phase's budget, coloured by
 * that phase's own load, and its heaviest phase in figures. `idPrefix` makes the SVG's
 * title id unique on the page; `ratings` (by circuit id) add amps.
 */
export function feedTreeSvg(feed: FeedLoad, circuits: readonly CircuitLoad[], idPrefix: string, ratings?: ReadonlyMap<string, CircuitRating>): string {
  const tops: number[] = [];
  let y = TREE.feedRowHeight;
  for (const c of circuits) {
    tops.push(y);
    y += treeRowHeight(c);
  }
  const height = y + TREE.bottomPad;
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
    const last = circuits[circuits.length - 1]!;
    const lastMid = tops[tops.length - 1]! + (last.phaseWatts ? TREE.threePhaseBarTop + TREE.barHeight / 2 : TREE.rowHeight / 2);
    out.push(`<path class="trunk" d="M${TREE.trunkX} ${feedBarY + 14}V${coord(lastMid)}"/>`);
  }
  circuits.forEach((c, i) => out.push(circuitRow(c, tops[i]!, ratings?.get(c.id))));
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
