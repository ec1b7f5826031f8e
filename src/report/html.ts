/**
 * `renderHtmlReport(plan)`: the plan as one self-contained HTML page for people who do
 * not read YAML — site operators, electricians, whoever signs off a curtailment program.
 *
 * Pure and deterministic: no dates, no randomness, no I/O; the same plan gives the same
 * bytes. Self-contained: inline CSS and SVG, no scripts, fonts, images or links to the
 * network, so it opens from a CI artifact on an air-gapped laptop. Every plan string is
 * escaped. Built as an array of parts joined once, so a site with thousands of circuits
 * renders in linear time.
 */
import type { CircuitLoad, FarmPlan, FeedCurtailment, FeedLoad, PlannedPool } from "../plan/types.js";
import { amps, escapeHtml as e, int, kw, LOAD_AMBER_PERCENT, LOAD_RED_PERCENT, loadLevel, pct, plural, tierBadge } from "./format.js";
import { REPORT_CSS } from "./style.js";
import type { ReportContext, ReportProvenance } from "./context.js";
import { usableAmps } from "./context.js";
import type { PhaseCell } from "./phases.js";
import { circuitPhases } from "./phases.js";
import { describeCircuit, describeFeed, explainStranded } from "./stranded.js";
import { curtailmentTimelineSvg, feedTreeSvg, STAGE_LABELS } from "./svg.js";
import { wiringSection } from "./wiring.js";

/**
 * A feed with more circuits than this starts collapsed: its tree would be metres long and
 * push everything below it off screen. The summary line still shows the feed's load.
 */
export const FEED_OPEN_CIRCUIT_LIMIT = 60;

/** Stage targets listed by name before the rest is counted ("+120 more"). */
export const TARGETS_SHOWN = 8;

/** Circuits grouped by feed in one pass (site order kept within a feed). */
function circuitsByFeed(plan: FarmPlan): Map<string, CircuitLoad[]> {
  const byFeed = new Map<string, CircuitLoad[]>();
  for (const f of plan.feeds) byFeed.set(f.name, []);
  for (const c of plan.circuits) {
    const list = byFeed.get(c.feed);
    if (list) list.push(c);
    else byFeed.set(c.feed, [c]);
  }
  return byFeed;
}

function header(plan: FarmPlan): string {
  const t = plan.totals;
  const facts: [string, string][] = [
    ["Grid region", plan.site.gridRegion],
    ["Timezone", plan.site.timezone],
    ["PUE", String(plan.site.pue)],
    ["Kubernetes", `${plan.kubernetes.distribution} ${plan.kubernetes.version}`],
    ["API", `${plan.kubernetes.apiEndpoint}:6443`],
    ["CNI", plan.network.cni],
    ["Fabric", plan.network.fabric],
    ["GPU driver", plan.gpuOperator.driverMode === "host" ? "on the host" : "GPU operator container"],
  ];
  const totals: [string, string][] = [
    [int(t.machines), "machines"],
    [int(t.nodes), "Kubernetes nodes"],
    [int(t.gpus), "GPUs"],
    [int(t.asics), "ASIC miners"],
    [kw(t.itWatts), "kW IT load"],
    [kw(t.facilityWatts), "kW facility (× PUE)"],
    [kw(t.strandedWatts), "kW stranded"],
    [int(t.throughputTflops), "TFLOPS (dense FP16)"],
  ];
  return [
    `<header class="site">`,
    `<div class="kicker">mine2hpc site plan</div>`,
    `<h1>${e(plan.site.name)}</h1>`,
    `<dl class="facts">`,
    ...facts.map(([k, v]) => `<div><dt>${e(k)}</dt><dd>${e(v)}</dd></div>`),
    `</dl>`,
    `</header>`,
    `<div class="totals">`,
    ...totals.map(([num, what]) => `<div class="total"><span class="num">${e(num)}</span><span class="what">${e(what)}</span></div>`),
    `</div>`,
    `<nav class="toc" aria-label="Sections"><a href="#power">Power tree</a><a href="#phases">Phase loads</a><a href="#pools">Pools</a><a href="#stranded">Stranded power</a>` +
      `<a href="#curtailment">Curtailment</a><a href="#warnings">Warnings (${plan.warnings.length})</a><a href="#wiring">Wiring sheet</a></nav>`,
  ].join("\n");
}

function feedSummary(f: FeedLoad, circuitCount: number): string {
  return (
    `<summary>${e(f.name)} ${tierBadge(f.tier)}<span class="sub">${kw(f.facilityWatts)} kW of ${kw(f.capacityWatts)} kW facility` +
    ` (${pct(f.loadPercent)} %), ${plural(circuitCount, "circuit")}</span></summary>`
  );
}

function powerSection(plan: FarmPlan, byFeed: Map<string, CircuitLoad[]>, ctx: ReportContext): string {
  const out: string[] = [
    `<section id="power">`,
    `<h2>Power tree: feeds and circuits</h2>`,
    `<p class="note">Each bar is a circuit's wall draw at the planned GPU caps against its usable budget ` +
      `(V × A × √3 for three-phase × derating); a feed's bar is its facility load (IT × PUE ${e(String(plan.site.pue))}) against its capacity.</p>`,
    `<div class="legend"><span><i class="sw ok"></i>below ${LOAD_AMBER_PERCENT} %</span><span><i class="sw warn"></i>${LOAD_AMBER_PERCENT}–${LOAD_RED_PERCENT} %</span>` +
      `<span><i class="sw over"></i>above ${LOAD_RED_PERCENT} %</span><span><i class="sw asic"></i>ASIC miners (shed first)</span>` +
      `<span><i class="sw phases"></i>three-phase: L1, L2, L3 against one phase's budget, each in the colour of its own load</span></div>`,
  ];
  if (plan.feeds.length === 0) out.push(`<p class="empty">The site has no feeds.</p>`);
  plan.feeds.forEach((f, i) => {
    const circuits = byFeed.get(f.name) ?? [];
    const open = circuits.length <= FEED_OPEN_CIRCUIT_LIMIT ? " open" : "";
    out.push(`<details class="feed"${open} data-feed="${e(f.name)}">`, feedSummary(f, circuits.length), feedTreeSvg(f, circuits, `tree-${i}`, ctx.ratings), `</details>`);
  });
  // Circuits whose feed is not in plan.feeds (a plan that is not self-consistent) still get drawn.
  let orphan = 0;
  for (const [feed, circuits] of byFeed) {
    if (plan.feeds.some((f) => f.name === feed)) continue;
    const f: FeedLoad = { name: feed, tier: "firm", capacityWatts: 0, itWatts: 0, facilityWatts: 0, loadPercent: 0, strandedWatts: 0, circuits: [] };
    out.push(`<details class="feed" open data-feed="${e(feed)}">`, feedSummary(f, circuits.length), feedTreeSvg(f, circuits, `tree-x${orphan++}`, ctx.ratings), `</details>`);
  }
  out.push(`</section>`);
  return out.join("\n");
}

function phaseCell(p: PhaseCell, heaviest: boolean): string {
  const figures = `${p.amps === null ? "" : `${amps(p.amps)} A · `}${pct(p.percent)} %`;
  return `<td class="n lvl-${p.level}${heaviest ? " heaviest" : ""}" data-phase="${p.name}">${int(p.watts)} W<span class="fig">${figures}</span></td>`;
}

/**
 * Every three-phase circuit's L1, L2 and L3 against one phase's budget: a circuit that
 * looks half full can have one phase near its breaker, since each PSU cord loads one phase.
 */
function phasesSection(plan: FarmPlan, byFeed: Map<string, CircuitLoad[]>, ctx: ReportContext): string {
  const out: string[] = [`<section id="phases">`, `<h2>Phase loads</h2>`];
  const threePhase = plan.circuits.filter((c) => c.phaseWatts !== null);
  if (threePhase.length === 0) {
    out.push(`<p class="empty">No three-phase circuits: every circuit is single-phase.</p>`, `</section>`);
    return out.join("\n");
  }
  out.push(
    `<p class="note">Each PSU cord loads one phase of a three-phase (wye) PDU, and each phase's breaker pole trips on its own current, so every phase has its own budget: ` +
      `V ÷ √3 × A × derating. Watts per phase are the planner's, with the cords wired as in the wiring sheet; amps are watts ÷ the line-to-neutral voltage (V ÷ √3). ` +
      `Each phase is coloured by its own load; the heaviest phase is outlined.</p>`,
  );
  for (const [feed, circuits] of byFeed) {
    const own = circuits.filter((c) => c.phaseWatts !== null);
    if (own.length === 0) continue;
    const open = own.length <= FEED_OPEN_CIRCUIT_LIMIT ? " open" : "";
    out.push(
      `<details class="feed"${open} data-feed="${e(feed)}"><summary>Three-phase circuits on ${e(feed)}<span class="sub">${plural(own.length, "circuit")}</span></summary>`,
      `<table class="phases">`,
      `<thead><tr><th>Circuit</th><th class="n">Per phase</th><th class="n">L1</th><th class="n">L2</th><th class="n">L3</th><th class="n">Heaviest</th><th class="n">Circuit</th></tr></thead>`,
      `<tbody>`,
    );
    for (const c of own) {
      const rating = ctx.ratings?.get(c.id);
      const ph = circuitPhases(c, rating)!;
      const heavy = ph.phases[ph.heaviest]!;
      const budget = rating && rating.phases === 3 ? `${int(ph.budgetWatts)} W<span class="fig">${amps(usableAmps(rating))} A</span>` : `${int(ph.budgetWatts)} W`;
      out.push(
        `<tr class="phase-row" data-circuit="${e(c.id)}" data-heaviest-phase="${heavy.name}"><td>${e(c.id)}</td><td class="n">${budget}</td>` +
          ph.phases.map((p, i) => phaseCell(p, i === ph.heaviest)).join("") +
          `<td class="n lvl-${heavy.level}">${heavy.name} ${pct(heavy.percent)} %</td>${loadCell(c.loadPercent)}</tr>`,
      );
    }
    out.push(`</tbody>`, `</table>`, `</details>`);
  }
  out.push(`</section>`);
  return out.join("\n");
}

function footer(plan: FarmPlan, prov: ReportProvenance | undefined): string {
  const facts: [string, string][] = [
    ["Site", plan.site.name],
    ["Stack", prov ? (prov.stack ?? "none (site file)") : "not given"],
    ["Commit", prov ? prov.commit : "not given"],
    ["Generated", prov ? prov.generatedAt : "not given"],
  ];
  return [
    `<footer>`,
    `<dl class="provenance">${facts.map(([k, v]) => `<div><dt>${e(k)}</dt><dd data-fact="${e(k.toLowerCase())}">${e(v)}</dd></div>`).join("")}</dl>`,
    `<p>Generated by <code>mine2hpc report</code> from the site's plan (format v${plan.version}). The same site, commit and time give the same bytes.</p>`,
    `</footer>`,
  ].join("\n");
}

function capRange(p: PlannedPool): string {
  return p.capWatts.min === p.capWatts.max ? `${int(p.capWatts.min)} W` : `${int(p.capWatts.min)}–${int(p.capWatts.max)} W`;
}

function poolsSection(plan: FarmPlan): string {
  const out: string[] = [`<section id="pools">`, `<h2>GPU pools</h2>`];
  if (plan.pools.length === 0) {
    out.push(`<p class="empty">No GPU nodes: the site has no pools.</p>`, `</section>`);
    return out.join("\n");
  }
  out.push(
    `<p class="note">A pool is one GPU model, interconnect and power tier. Caps are the per-GPU power limits the power agent applies; non-firm pools carry a NoSchedule taint.</p>`,
    `<table class="pools">`,
    `<thead><tr><th>Pool</th><th>Tier</th><th>GPU</th><th>Workload</th><th class="n">Nodes</th><th class="n">GPUs</th><th class="n">GPU cap</th><th class="n">TFLOPS</th><th>Feeds</th><th>Queue</th></tr></thead>`,
    `<tbody>`,
  );
  for (const p of plan.pools) {
    const workload = p.timeSlicingReplicas > 1 ? `${p.workload}, time-sliced ×${p.timeSlicingReplicas}` : p.workload;
    out.push(
      `<tr class="pool-row" data-pool="${e(p.name)}"><td><code>${e(p.name)}</code></td><td>${tierBadge(p.tier)}</td>` +
        `<td>${e(p.gpuModel)} <span class="targets">${e(p.interconnect)}</span></td><td>${e(workload)}</td>` +
        `<td class="n">${int(p.nodes.length)}</td><td class="n">${int(p.gpus)}</td><td class="n">${capRange(p)}</td>` +
        `<td class="n">${int(p.throughputTflops)}</td><td>${p.feeds.map((f) => `<span class="nw">${e(f)}</span>`).join(", ")}</td><td><code>${e(p.clusterQueue)}</code></td></tr>`,
    );
  }
  out.push(`</tbody>`, `</table>`, `</section>`);
  return out.join("\n");
}

function wattsCell(watts: number): string {
  return `<td class="n${watts < 0 ? " neg" : ""}">${int(watts)} W</td>`;
}

function loadCell(percent: number): string {
  return `<td class="n lvl-${loadLevel(percent)}">${pct(percent)} %</td>`;
}

function strandedSection(plan: FarmPlan, byFeed: Map<string, CircuitLoad[]>, ctx: ReportContext): string {
  const why = explainStranded(plan, ctx.findGpu ? { findGpu: ctx.findGpu } : {});
  const feedWhy = new Map(why.feeds.map((f) => [f.feed, f]));
  const circuitWhy = new Map(why.circuits.map((c) => [c.circuit, c]));
  const gpuNodesOn = new Map<string, number>();
  for (const n of plan.nodes) if (n.gpu) gpuNodesOn.set(n.circuit, (gpuNodesOn.get(n.circuit) ?? 0) + 1);
  const out: string[] = [
    `<section id="stranded">`,
    `<h2>Stranded power</h2>`,
    `<p class="note">Budget the plan leaves unused: a feed's capacity minus its facility load, a circuit's usable watts minus its draw. ` +
      `Site total: <strong>${kw(plan.totals.strandedWatts)} kW</strong>. A negative figure is an overload. ` +
      `<em>Why</em> names the limits that stop each machine from drawing more, from the plan's figures: a GPU node stops at its max power limit or where ` +
      `one more watt of cap (GPU count ÷ PSU efficiency at the wall) does not fit its feed, a phase its cords load, or its circuit; ASIC miners and CPU nodes draw a fixed load.</p>`,
    `<table class="feeds">`,
    `<thead><tr><th>Feed</th><th>Tier</th><th class="n">Capacity</th><th class="n">IT load</th><th class="n">Facility load</th><th class="n">Load</th><th class="n">Stranded</th><th>Why</th></tr></thead>`,
    `<tbody>`,
  ];
  for (const f of plan.feeds) {
    const fw = feedWhy.get(f.name);
    const text = fw ? describeFeed(fw, plan.site.pue) : f.strandedWatts < 0 ? "overloaded" : "nothing unused";
    out.push(
      `<tr class="feed-row" data-feed="${e(f.name)}"><td>${e(f.name)}</td><td>${tierBadge(f.tier)}</td><td class="n">${kw(f.capacityWatts)} kW</td>` +
        `<td class="n">${kw(f.itWatts)} kW</td><td class="n">${kw(f.facilityWatts)} kW</td>${loadCell(f.loadPercent)}` +
        `<td class="n${f.strandedWatts < 0 ? " neg" : ""}">${kw(f.strandedWatts)} kW</td><td class="why">${e(text)}</td></tr>`,
    );
  }
  out.push(`</tbody>`, `</table>`);
  for (const [feed, circuits] of byFeed) {
    if (circuits.length === 0) continue;
    const stranded = circuits.reduce((s, c) => s + c.strandedWatts, 0);
    const open = circuits.length <= FEED_OPEN_CIRCUIT_LIMIT ? " open" : "";
    out.push(
      `<details class="feed"${open} data-feed="${e(feed)}"><summary>Circuits on ${e(feed)}<span class="sub">${plural(circuits.length, "circuit")}, ${kw(stranded)} kW stranded</span></summary>`,
      `<table class="circuits">`,
      `<thead><tr><th>Circuit</th><th class="n">Usable</th><th class="n">Load</th><th class="n">of which ASIC</th><th class="n">Load</th><th class="n">Heaviest phase</th><th class="n">Stranded</th><th class="n">Machines</th><th>Why</th></tr></thead>`,
      `<tbody>`,
    );
    for (const c of circuits) {
      const cw = circuitWhy.get(c.id);
      const text = cw ? describeCircuit(cw, gpuNodesOn.get(c.id) ?? 0) : c.strandedWatts < 0 ? "overloaded" : "nothing unused";
      const phases = circuitPhases(c);
      const heavy = phases ? phases.phases[phases.heaviest]! : null;
      const heavyCell = heavy ? `<td class="n lvl-${heavy.level}">${heavy.name} ${pct(heavy.percent)} %</td>` : `<td class="n">—</td>`;
      out.push(
        `<tr class="circuit-row" data-circuit="${e(c.id)}"><td>${e(c.id)}</td><td class="n">${int(c.usableWatts)} W</td><td class="n">${int(c.loadWatts)} W</td>` +
          `<td class="n">${int(c.asicWatts)} W</td>${loadCell(c.loadPercent)}${heavyCell}${wattsCell(c.strandedWatts)}<td class="n">${int(c.machines.length)}</td><td class="why">${e(text)}</td></tr>`,
      );
    }
    out.push(`</tbody>`, `</table>`, `</details>`);
  }
  out.push(`</section>`);
  return out.join("\n");
}

function targetsText(targets: readonly string[]): string {
  if (targets.length === 0) return `<span class="targets">nothing on this feed</span>`;
  const shown = targets.slice(0, TARGETS_SHOWN).map(e).join(", ");
  const more = targets.length > TARGETS_SHOWN ? ` and ${int(targets.length - TARGETS_SHOWN)} more` : "";
  return `<span class="targets">${shown}${more}</span>`;
}

function curtailmentBlock(plan: FarmPlan, c: FeedCurtailment, index: number): string {
  const rt = c.responseTimeSeconds === null ? "no required response time" : `must respond within ${int(c.responseTimeSeconds)} s`;
  const out: string[] = [
    `<div class="curtailment" data-feed="${e(c.feed)}">`,
    `<h3>${e(c.feed)} ${tierBadge(c.tier)} <span class="targets">${e(rt)}</span></h3>`,
  ];
  const facts: string[] = [];
  if (c.windows.length > 0) {
    facts.push(
      `Scheduled windows (${e(plan.site.timezone)}): ` +
        c.windows.map((w) => `<strong>${e(w.name)}</strong> <code>${e(w.schedule)}</code> for ${int(w.durationMinutes)} min`).join("; ") +
        ".",
    );
  } else {
    facts.push("No scheduled windows: stages run when the utility calls.");
  }
  if (c.clusterQueues.length > 0) facts.push(`Queues held during a curtailment: ${c.clusterQueues.map((q) => `<code>${e(q)}</code>`).join(", ")}.`);
  facts.push(`Load left after every stage: <strong>${kw(c.residualWatts)} kW</strong> (control plane, CPU nodes, idle GPUs).`);
  out.push(`<p class="note">${facts.join(" ")}</p>`);
  if (c.stages.length === 0) {
    out.push(`<p class="empty">No stages: nothing on this feed can be shed.</p>`, `</div>`);
    return out.join("\n");
  }
  out.push(curtailmentTimelineSvg(c, `timeline-${index}`));
  out.push(
    `<table class="stages">`,
    `<thead><tr><th class="n">#</th><th>Stage</th><th class="n">Sheds</th><th class="n">Total shed</th><th class="n">Done after</th><th>On time</th><th>Acts on</th></tr></thead>`,
    `<tbody>`,
  );
  for (const s of c.stages) {
    const onTime = c.responseTimeSeconds === null ? "—" : s.meetsResponseTime ? "yes" : `<span class="late-text">late</span>`;
    out.push(
      `<tr class="stage-row"><td class="n">${s.order}</td><td>${e(STAGE_LABELS[s.action])} <code>${e(s.action)}</code></td><td class="n">${kw(s.shedWatts)} kW</td>` +
        `<td class="n">${kw(s.cumulativeShedWatts)} kW</td><td class="n">${int(s.completeAfterSeconds)} s</td><td>${onTime}</td><td>${targetsText(s.targets)}</td></tr>`,
    );
  }
  out.push(`</tbody>`, `</table>`, `</div>`);
  return out.join("\n");
}

function curtailmentSection(plan: FarmPlan): string {
  const out: string[] = [`<section id="curtailment">`, `<h2>Curtailment</h2>`];
  if (plan.curtailment.length === 0) {
    out.push(`<p class="empty">Every feed is firm: there is nothing to curtail.</p>`, `</section>`);
    return out.join("\n");
  }
  out.push(
    `<p class="note">What the site does when a non-firm feed is asked to shed load: each bar runs from the start of a stage to when it has taken effect, labelled with the facility power it sheds.</p>`,
    `<div class="legend"><span><i class="sw on-time"></i>within the response time</span><span><i class="sw late"></i>after it</span><span><i class="sw marker"></i>required response time</span></div>`,
  );
  plan.curtailment.forEach((c, i) => out.push(curtailmentBlock(plan, c, i)));
  out.push(`</section>`);
  return out.join("\n");
}

function warningsSection(plan: FarmPlan): string {
  const out: string[] = [`<section id="warnings">`, `<h2>Warnings</h2>`];
  if (plan.warnings.length === 0) out.push(`<p class="empty">No warnings.</p>`);
  else out.push(`<ul class="warnings">`, ...plan.warnings.map((w) => `<li class="warning">${e(w)}</li>`), `</ul>`);
  out.push(`</section>`);
  return out.join("\n");
}

/**
 * The plan as one self-contained HTML document: header with the site and its totals,
 * the feed → circuit tree with load bars, the pools, stranded power, the curtailment
 * timeline of every non-firm feed, and the warnings.
 */
export function renderHtmlReport(plan: FarmPlan, ctx: ReportContext = {}): string {
  const byFeed = circuitsByFeed(plan);
  return [
    `<!DOCTYPE html>`,
    `<html lang="en">`,
    `<head>`,
    `<meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<meta name="generator" content="mine2hpc (plan format v${plan.version})">`,
    // An empty data: icon: otherwise the browser asks the server (or file system) for /favicon.ico.
    `<link rel="icon" href="data:,">`,
    `<title>${e(plan.site.name)} — mine2hpc site plan</title>`,
    `<style>${REPORT_CSS}</style>`,
    `</head>`,
    `<body>`,
    header(plan),
    `<main>`,
    powerSection(plan, byFeed, ctx),
    phasesSection(plan, byFeed, ctx),
    poolsSection(plan),
    strandedSection(plan, byFeed, ctx),
    curtailmentSection(plan),
    warningsSection(plan),
    wiringSection(plan, byFeed, ctx),
    `</main>`,
    footer(plan, ctx.provenance),
    `</body>`,
    `</html>`,
    ``,
  ].join("\n");
}
