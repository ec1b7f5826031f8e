/**
 * What the report shows besides the plan: the circuits' breaker ratings (for amps and the
 * budget formula), each machine's PSU cord count (for the wiring sheet) and the page's
 * provenance (stack, commit, generation time).
 *
 * Kept to these few facts on purpose: the report never sees the whole site or stack, so
 * nothing else from them (webhook URLs, SSH settings, stack secrets) can reach the page.
 */
import { siteCatalog, type GpuSpec } from "../site/catalog.js";
import type { Circuit, SiteSpec } from "../site/schema.js";
import { defaultPowerCords } from "../plan/phases.js";

/** A circuit's rating as the site gives it. */
export type CircuitRating = Pick<Circuit, "volts" | "amps" | "phases" | "derating">;

/** Where the page came from, for its footer. */
export interface ReportProvenance {
  /** Stack name (`--stack`), or null when the site was given as a file (`--site`). */
  stack: string | null;
  /** Commit of the site's repository (`git rev-parse HEAD`), or why there is none, e.g. `not a git repository`. */
  commit: string;
  /** Generation time, ISO 8601 UTC (`SOURCE_DATE_EPOCH` when set, for reproducible output). */
  generatedAt: string;
}

/** Facts from the site and the run that the plan does not carry. Every field is optional. */
export interface ReportContext {
  /** Ratings by circuit id: amps per phase, and the budget formula in the wiring sheet. */
  ratings?: ReadonlyMap<string, CircuitRating>;
  /** PSU cords per hostname: the site's `powerCords`, or the planner's default. */
  cords?: ReadonlyMap<string, number>;
  /** GPU models as the planner found them: the site's catalog, then the built-in one. @default the built-in catalog */
  findGpu?: (model: string) => GpuSpec | undefined;
  provenance?: ReportProvenance;
}

/**
 * The site facts of a {@link ReportContext}: circuit ratings, and each machine's PSU cords
 * as the planner counts them (`powerCords`, else `defaultPowerCords` with the catalog's form
 * factor), so the wiring sheet shows the cords the phase budgets were checked with.
 */
export function siteFacts(site: SiteSpec): Pick<ReportContext, "ratings" | "cords" | "findGpu"> {
  const catalog = siteCatalog(site);
  const ratings = new Map<string, CircuitRating>();
  for (const c of site.power.circuits) ratings.set(c.id, { volts: c.volts, amps: c.amps, phases: c.phases, derating: c.derating });
  const cords = new Map<string, number>();
  for (const m of site.machines) {
    const formFactor = m.role === "gpu" && m.gpuModel !== undefined ? catalog.findGpu(m.gpuModel)?.formFactor : undefined;
    cords.set(m.hostname, m.powerCords ?? defaultPowerCords(m.role, m.pcieLink, formFactor));
  }
  return { ratings, cords, findGpu: catalog.findGpu };
}

/**
 * Line-to-neutral volts of a circuit's outlets: V / √3 on a three-phase (wye) circuit, whose
 * `volts` are line-to-line, and V on a single-phase one. The same voltage the planner's
 * per-phase budget uses (`phaseUsableWatts`, src/plan/power.ts: V / √3 × A × derating), so
 * watts / this = amps at unity power factor, as the budgets count them.
 */
export function outletVolts(rating: CircuitRating): number {
  return rating.phases === 3 ? rating.volts / Math.sqrt(3) : rating.volts;
}

/** Amps a phase (or a single-phase circuit) may carry continuously: A × derating. */
export function usableAmps(rating: CircuitRating): number {
  return rating.amps * rating.derating;
}
