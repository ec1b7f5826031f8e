/**
 * Electrical arithmetic of a site: what a circuit can deliver, what a machine draws.
 *
 * Kept apart from the planner so `render/` and `cli/` show the same figures the
 * planner budgeted with (e.g. the `240 V × 30 A × 0.8` breakdown in a report).
 */
import type { Circuit } from "../site/schema.js";

/** DC draw assumed for a control-plane or CPU machine that gives no `baseWatts`, in W. */
export const DEFAULT_CPU_NODE_BASE_WATTS = 300;

/** Tolerance for comparing float sums of watts against budgets, in W (far below the 1 W rounding of caps). */
export const WATTS_EPSILON = 1e-6;

/**
 * Power a circuit may carry continuously: V × A × (√3 for three-phase) × derating, in W.
 *
 * For three-phase the nominal voltage is line-to-line (415 V in Europe, 208/480 V in the US),
 * hence the √3; derating is the continuous-load rule (80 % by default).
 */
export function circuitUsableWatts(circuit: Pick<Circuit, "volts" | "amps" | "phases" | "derating">): number {
  return circuit.volts * circuit.amps * (circuit.phases === 3 ? Math.sqrt(3) : 1) * circuit.derating;
}

/**
 * Power one phase of a three-phase circuit may carry continuously: V / √3 × A × derating, in W.
 *
 * Assumes a wye (star) PDU whose outlets sit line-to-neutral, which is how 415/240 V and
 * 400/230 V rack PDUs are built: each PSU cord loads exactly one phase, and each phase's
 * breaker pole trips on its own current, so a balanced total is not enough. Three times
 * this equals {@link circuitUsableWatts}. Single-phase circuits have no per-phase budget.
 */
export function phaseUsableWatts(circuit: Pick<Circuit, "volts" | "amps" | "phases" | "derating">): number | null {
  return circuit.phases === 3 ? (circuit.volts / Math.sqrt(3)) * circuit.amps * circuit.derating : null;
}

/** The per-phase budget as a person checks it, e.g. `415 V / √3 × 20 A × 0.8`. */
export function phaseFormula(circuit: Pick<Circuit, "volts" | "amps" | "derating">): string {
  return `${circuit.volts} V / √3 × ${circuit.amps} A × ${circuit.derating}`;
}

/** The circuit budget as a person checks it on the breaker panel, e.g. `240 V × 30 A × 0.8` or `415 V × 32 A × √3 × 0.8`. */
export function circuitFormula(circuit: Pick<Circuit, "volts" | "amps" | "phases" | "derating">): string {
  return `${circuit.volts} V × ${circuit.amps} A${circuit.phases === 3 ? " × √3" : ""} × ${circuit.derating}`;
}

/**
 * Wall draw of a node: (DC base + GPU count × per-GPU cap) / PSU efficiency, in W.
 *
 * The GPU cap is a board-power limit (DC side), so PSU losses come on top of it.
 */
export function nodeWallWatts(baseWatts: number, gpuCount: number, capWatts: number, psuEfficiency: number): number {
  return (baseWatts + gpuCount * capWatts) / psuEfficiency;
}

/** Rounds to an integer for display in the plan (watts). */
export function roundWatts(watts: number): number {
  return Math.round(watts);
}

/** Rounds to one decimal (percentages, TFLOPS); `+ 0` turns -0 into 0 so JSON stays stable. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10 + 0;
}

/** Formats watts with a thousands separator, independent of the host locale: `5830` → `5,830`. */
export function formatWatts(watts: number): string {
  const n = Math.round(watts);
  const sign = n < 0 ? "-" : "";
  return sign + String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
