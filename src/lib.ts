/**
 * The `mine2hpc` package's library entry (`import … from "mine2hpc"`).
 *
 * - `run()`: the Pulumi program; a site repository's `index.ts` is
 *   `export const { apiEndpoint, kubeconfig, pools, circuitLoads } = run();`.
 * - `FarmCluster` and the other components, for a program that composes its own stack.
 * - `loadSite` / `loadAndValidate` and `planFarm`: the site model and the planner, pure data,
 *   for scripts and checks that need no Pulumi at all.
 * - The site and plan types (`SiteSpec`, `FarmPlan`, …).
 *
 * Subpaths keep the pure parts importable without loading Pulumi: `mine2hpc/site`,
 * `mine2hpc/plan`, `mine2hpc/render`.
 */
export { run, CONFIG_NAMESPACE, type FarmOutputs, type RunOptions } from "./program.js";
export * from "./components/index.js";
export { loadSite, loadAndValidate, type LoadedSite, type LoadOptions } from "./site/load.js";
export { loadStack, SecretValue, type StackConfig } from "./site/stack.js";
export { SiteError, formatProblem, type Problem, type SourceRef, type SitePath } from "./site/problems.js";
export type { SiteSpec } from "./site/schema.js";
export { planFarm, type PlanOptions } from "./plan/index.js";
export type * from "./plan/types.js";
