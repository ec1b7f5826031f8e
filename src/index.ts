/**
 * This repository's Pulumi program (Pulumi.yaml `main`): the mine2hpc program, `run()` in
 * `program.ts`, with its outputs as the stack's. A site repository's `index.ts` (from
 * `mine2hpc new`) is the same two statements with `from "mine2hpc"`. Kept small so tests can
 * `await import()` it after `pulumi.runtime.setMocks`.
 *
 * A default export: Pulumi makes each key of the exported object a stack output
 * (@pulumi/pulumi cmd/run/run.js: "If there is a default export, use that instead of the named
 * exports"), so a cluster stack and a partition stack export different outputs with no
 * undefined named export (which Pulumi warns about on every run).
 */
import { run } from "./program.js";

export default run();
