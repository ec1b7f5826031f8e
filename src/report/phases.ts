/**
 * The phases of a three-phase circuit as the report shows them: the plan's load of L1, L2
 * and L3 against one phase's budget, each graded by its own utilisation, and the heaviest
 * phase (the one whose breaker pole trips first), picked as the planner picks it.
 */
import { heaviestPhase, PHASE_NAMES } from "../plan/phases.js";
import { round1 } from "../plan/power.js";
import type { CircuitLoad, PhaseName } from "../plan/types.js";
import type { CircuitRating } from "./context.js";
import { outletVolts } from "./context.js";
import type { LoadLevel } from "./format.js";
import { amps, int, loadLevel, pct } from "./format.js";

/** One phase of a circuit. */
export interface PhaseCell {
  name: PhaseName;
  /** Load at the planned caps, W (the plan's `phaseWatts`). */
  watts: number;
  /** watts / the phase budget × 100, rounded to 0.1 like the plan's own percentages. */
  percent: number;
  level: LoadLevel;
  /** Current at unity power factor, A; null without the circuit's rating. */
  amps: number | null;
}

/** A three-phase circuit's phases. */
export interface CircuitPhases {
  phases: [PhaseCell, PhaseCell, PhaseCell];
  /** Index (0..2) of the most loaded phase; ties go to the lowest phase, as in the planner. */
  heaviest: number;
  /** What one phase may carry, W (the plan's `phaseBudgetWatts`). */
  budgetWatts: number;
}

/** Load as a percentage of a budget; a zero budget with load counts as 100 %. */
export function percentOf(watts: number, budgetWatts: number): number {
  if (budgetWatts > 0) return (watts / budgetWatts) * 100;
  return watts > 0 ? 100 : 0;
}

/** The phases of a circuit, or null for a single-phase circuit (no `phaseWatts` in the plan). */
export function circuitPhases(c: CircuitLoad, rating?: CircuitRating): CircuitPhases | null {
  if (!c.phaseWatts || c.phaseBudgetWatts === null) return null;
  const budget = c.phaseBudgetWatts;
  const volts = rating && rating.phases === 3 ? outletVolts(rating) : null;
  const cell = (p: number): PhaseCell => {
    const watts = c.phaseWatts![p]!;
    const percent = round1(percentOf(watts, budget));
    return { name: PHASE_NAMES[p]!, watts, percent, level: loadLevel(percent), amps: volts ? watts / volts : null };
  };
  return { phases: [cell(0), cell(1), cell(2)], heaviest: heaviestPhase(c.phaseWatts), budgetWatts: budget };
}

/** A phase's figures in words: `L1 12,272 W · 51.2 A · 91.5 %` (amps only with the circuit's rating). */
export function phaseText(p: PhaseCell): string {
  return `${p.name} ${int(p.watts)} W${p.amps === null ? "" : ` · ${amps(p.amps)} A`} · ${pct(p.percent)} %`;
}
