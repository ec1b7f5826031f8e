/**
 * This repository's Pulumi program (Pulumi.yaml `main`): the mine2hpc program, `run()` in
 * `program.ts`, with its outputs as the stack's. A site repository's `index.ts` (from
 * `mine2hpc new`) is the same two statements with `from "mine2hpc"`. Kept small so tests can
 * `await import()` it after `pulumi.runtime.setMocks`.
 */
import { run } from "./program.js";

export const { apiEndpoint, kubeconfig, pools, circuitLoads } = run();
