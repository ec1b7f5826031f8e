/**
 * The wiring sheet: what an electrician plugs where. One block per circuit (feeds and
 * circuits in site order, machines by hostname), each machine with its PSU cords, the
 * phase each cord goes on (the wiring the planner checked every phase budget with), its
 * GPU cap and its wall draw at that cap, and an empty box to tick. Printed, every feed
 * starts on a new page and a circuit's block is kept on one page where it fits.
 */
import { cmpStr } from "../plan/allocate.js";
import { circuitFormula, phaseFormula } from "../plan/power.js";
import type { CircuitLoad, FarmPlan, PlannedAsic, PlannedNode } from "../plan/types.js";
import type { CircuitRating, ReportContext } from "./context.js";
import { outletVolts, usableAmps } from "./context.js";
import { amps, escapeHtml as e, int, kw, loadLevel, pct, plural, tierBadge } from "./format.js";
import { circuitPhases, phaseText } from "./phases.js";

/** What a machine is, in a few words: `GPU 8 × h100-pcie`, `ASIC s19j-pro`, `control plane`. */
function kindOf(m: { node?: PlannedNode; asic?: PlannedAsic }): string {
  if (m.asic) return `ASIC ${m.asic.model}`;
  const n = m.node!;
  if (n.gpu) return `GPU ${n.gpu.count} × ${n.gpu.model}`;
  return n.machineRole === "control-plane" ? "control plane" : "CPU";
}

/** Cord → phase, e.g. `1→L1 2→L2`; on a single-phase circuit every cord shares its one phase. */
function cordPhases(phases: readonly string[] | undefined, threePhase: boolean): string {
  if (phases && phases.length > 0) return phases.map((p, i) => `<span class="cord">${i + 1} → ${e(p)}</span>`).join(" ");
  return threePhase ? "—" : "single-phase";
}

function circuitHeading(c: CircuitLoad, rating: CircuitRating | undefined): string {
  const ph = c.phaseBudgetWatts;
  const budget = rating
    ? `${e(circuitFormula(rating))} = ${int(c.usableWatts)} W usable` +
      (ph !== null && rating.phases === 3 ? `; per phase ${e(phaseFormula(rating))} = ${int(ph)} W (${amps(usableAmps(rating))} A)` : ` (${amps(usableAmps(rating))} A)`)
    : `${int(c.usableWatts)} W usable${ph !== null ? `; per phase ${int(ph)} W` : ""}`;
  return `<h4><span class="cid">${e(c.id)}</span> <span class="sub">${budget}</span></h4>`;
}

function circuitTotals(c: CircuitLoad, rating: CircuitRating | undefined): string {
  const phases = circuitPhases(c, rating);
  if (phases) {
    return phases.phases
      .map((p, i) => `<span class="lvl-${p.level}${i === phases.heaviest ? " heaviest" : ""}" data-phase="${p.name}">${e(phaseText(p))}</span>`)
      .join(" · ");
  }
  const a = rating ? ` · ${amps(c.loadWatts / outletVolts(rating))} A of ${amps(usableAmps(rating))} A` : "";
  return `<span class="lvl-${loadLevel(c.loadPercent)}">${int(c.loadWatts)} W of ${int(c.usableWatts)} W${a} · ${pct(c.loadPercent)} %</span>`;
}

function circuitBlock(c: CircuitLoad, nodes: ReadonlyMap<string, PlannedNode>, asics: ReadonlyMap<string, PlannedAsic>, ctx: ReportContext): string {
  const rating = ctx.ratings?.get(c.id);
  const threePhase = c.phaseWatts !== null;
  const out: string[] = [`<div class="wiring-circuit" data-circuit="${e(c.id)}">`, circuitHeading(c, rating)];
  if (c.machines.length === 0) {
    out.push(`<p class="empty">No machines on this circuit.</p>`, `</div>`);
    return out.join("\n");
  }
  out.push(
    `<table class="wiring">`,
    `<thead><tr><th>Machine</th><th>Kind</th><th>Rack</th><th class="n">Cords</th><th>Cord → phase</th><th class="n">GPU cap</th><th class="n">Wall draw</th><th>State</th><th class="check">Done</th></tr></thead>`,
    `<tbody>`,
  );
  for (const host of [...c.machines].sort(cmpStr)) {
    const node = nodes.get(host);
    const asic = asics.get(host);
    const m = node ?? asic;
    if (!m) continue;
    const phases = m.phases;
    const cords = phases?.length ?? ctx.cords?.get(host);
    const cap = node?.gpu ? `${int(node.gpu.capWatts)} W × ${int(node.gpu.count)}` : asic ? "fixed" : "—";
    out.push(
      `<tr class="wiring-row" data-host="${e(host)}"><td><code>${e(host)}</code></td><td>${e(kindOf({ ...(node ? { node } : {}), ...(asic ? { asic } : {}) }))}</td>` +
        `<td>${e(m.rack)}</td><td class="n">${cords === undefined ? "—" : int(cords)}</td><td>${cordPhases(phases, threePhase)}</td>` +
        `<td class="n">${cap}</td><td class="n">${int(m.drawWatts)} W</td><td>${e(m.state)}</td><td class="check"></td></tr>`,
    );
  }
  out.push(`</tbody>`, `<tfoot><tr><td colspan="9">${threePhase ? "Per phase: " : "Circuit: "}${circuitTotals(c, rating)}</td></tr></tfoot>`, `</table>`, `</div>`);
  return out.join("\n");
}

/** The wiring sheet of the plan: a block per circuit, grouped by feed. */
export function wiringSection(plan: FarmPlan, byFeed: ReadonlyMap<string, readonly CircuitLoad[]>, ctx: ReportContext): string {
  const nodes = new Map(plan.nodes.map((n) => [n.hostname, n]));
  const asics = new Map(plan.asics.map((a) => [a.hostname, a]));
  const feeds = new Map(plan.feeds.map((f) => [f.name, f]));
  const out: string[] = [
    `<section id="wiring">`,
    `<h2>Wiring sheet</h2>`,
    `<p class="note">Machine → circuit → phase → cap, for the people who wire the site. Plug cord <em>n</em> of each machine into an outlet on the phase shown: ` +
      `the planner checked every phase budget with this wiring. GPU cap is the per-GPU power limit × GPUs; wall draw is the machine's draw at that cap. ` +
      `Feeds and circuits in site order, machines by hostname. Printed, each feed starts on a new page.</p>`,
  ];
  if (plan.circuits.length === 0) out.push(`<p class="empty">The site has no circuits.</p>`);
  for (const [feed, circuits] of byFeed) {
    if (circuits.length === 0) continue;
    const f = feeds.get(feed);
    const machines = circuits.reduce((s, c) => s + c.machines.length, 0);
    out.push(
      `<div class="wiring-feed" data-feed="${e(feed)}">`,
      `<h3>Feed ${e(feed)} ${f ? tierBadge(f.tier) : ""} <span class="sub">${f ? `${kw(f.capacityWatts)} kW capacity, ` : ""}${plural(circuits.length, "circuit")}, ${plural(machines, "machine")}</span></h3>`,
      ...circuits.map((c) => circuitBlock(c, nodes, asics, ctx)),
      `</div>`,
    );
  }
  out.push(`</section>`);
  return out.join("\n");
}
