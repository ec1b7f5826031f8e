/**
 * Stage 2 of `planFarm`: every circuit, every phase of a three-phase circuit, and every feed
 * must carry its machines with every GPU at its minimum cap; otherwise no caps can fix the
 * site, and one SiteError lists every overloaded circuit, phase and feed together.
 */
import type { Problem } from "../../site/problems.js";
import { SiteError } from "../../site/problems.js";
import type { SiteSpec } from "../../site/schema.js";
import { cmpStr } from "../allocate.js";
import { PHASE_NAMES, heaviestPhase } from "../phases.js";
import { WATTS_EPSILON, circuitFormula, formatWatts, phaseFormula } from "../power.js";
import type { Budgets } from "./budgets.js";
import { wirePhases } from "./budgets.js";

/**
 * The problems that make a site unplannable at minimum caps, in order: circuits on an
 * unknown feed, then per circuit its total or else its heaviest phase (cords spread largest
 * first), then per feed its facility load (IT × PUE) against its capacity.
 */
export function minimumLoadProblems(site: SiteSpec, budgets: Budgets): Problem[] {
  const problems: Problem[] = [];
  const pue = site.power.pue;
  site.power.circuits.forEach((c, ci) => {
    if (budgets.circuitFeed[ci] === undefined) {
      problems.push({ message: `circuit ${c.id} is on feed ${c.feed}, which is not in power.feeds`, fix: "set feed to the name of a feed in power.feeds", path: ["power", "circuits", ci, "feed"] });
    }
  });
  site.power.circuits.forEach((c, ci) => {
    const load = budgets.circuitMinWatts[ci]!;
    const budget = budgets.usableWatts[ci]!;
    if (load > budget + WATTS_EPSILON) {
      problems.push({
        message:
          `circuit ${c.id} needs ${formatWatts(load)} W at minimum GPU caps but can deliver ${formatWatts(budget)} W (${circuitFormula(c)}): ` +
          `${formatWatts(Math.max(1, load - budget))} W over; machines: ${budgets.circuitHosts[ci]!.join(", ")}`,
        fix: "move some of these machines to a circuit with headroom, remove GPUs from them, or raise the breaker rating (amps) if the wiring allows it",
        path: ["power", "circuits", ci],
      });
      return;
    }
    // The total fits; the cords still land on single phases, and each phase has its own budget.
    const atMin = wirePhases(budgets, ci, (r) => r.minWallWatts);
    const perPhase = budgets.phaseBudgetWatts[ci];
    if (atMin === null || perPhase === null || perPhase === undefined) return;
    const p = heaviestPhase(atMin.phaseWatts);
    const heavy = atMin.phaseWatts[p]!;
    if (heavy > perPhase + WATTS_EPSILON) {
      const hosts = budgets.onCircuit[ci]!.filter((_, i) => atMin.cordPhases[i]!.includes(p)).map((r) => r.hostname).sort(cmpStr);
      problems.push({
        message:
          `circuit ${c.id} needs ${formatWatts(heavy)} W on phase ${PHASE_NAMES[p]} at minimum GPU caps but one phase can deliver ${formatWatts(perPhase)} W (${phaseFormula(c)}): ` +
          `${formatWatts(Math.max(1, heavy - perPhase))} W over; phases L1/L2/L3 ${atMin.phaseWatts.map((w) => formatWatts(w)).join("/")} W with PSU cords spread largest first; ` +
          `machines on ${PHASE_NAMES[p]}: ${hosts.join(", ")}`,
        fix: "spread these machines over more circuits, put fewer machines on this PDU (a multiple of 3 PSU cords balances best), or use machines with more PSU cords (powerCords) so their load splits over the three phases",
        path: ["power", "circuits", ci],
      });
    }
  });
  site.power.feeds.forEach((f, fi) => {
    const facility = budgets.feedMinItWatts[fi]! * pue;
    const capacity = f.capacityKw * 1000;
    if (facility > capacity + WATTS_EPSILON) {
      problems.push({
        message:
          `feed ${f.name} needs ${formatWatts(facility)} W at minimum GPU caps (IT ${formatWatts(budgets.feedMinItWatts[fi]!)} W × PUE ${pue}) but its capacity is ${formatWatts(capacity)} W: ` +
          `${formatWatts(Math.max(1, facility - capacity))} W over; circuits: ${budgets.feedCircuits[fi]!.join(", ")}`,
        fix: "move machines to a circuit on another feed, remove GPUs or ASIC miners, or raise the feed's capacityKw if the utility contract allows it",
        path: ["power", "feeds", fi],
      });
    }
  });
  return problems;
}

/**
 * Stage 2: stops the plan when the site cannot carry its machines at minimum GPU caps.
 *
 * @throws SiteError with every problem of {@link minimumLoadProblems}.
 */
export function checkMinimumLoads(site: SiteSpec, budgets: Budgets): void {
  const problems = minimumLoadProblems(site, budgets);
  if (problems.length > 0) throw new SiteError(problems);
}
