/**
 * Flags and wiring of `runtime.mjs curtail start|end --feed F` (src/runtime/entry.ts): the
 * pod's service account for the API (src/runtime/kube.ts), JSON log lines on stdout
 * (src/runtime/log.ts), then {@link runCurtailCommand}.
 */
import type { Writable } from "node:stream";
import { KubeClient, inClusterConnection } from "../kube.js";
import { jsonLogger } from "../log.js";
import type { RuntimeOption } from "../power-agent/cli.js";
import { UsageError } from "../power-agent/cli.js";
import { CREDENTIALS_DIR, CURTAIL_COMPONENT, CurtailUsageError, TARGETS_DIR, runCurtailCommand, type CurtailFlags } from "./command.js";
import { CREDENTIALS_KEY } from "./credentials.js";
import { DEFAULT_CONCURRENCY, DEFAULT_MINER_TIMEOUT_SECONDS } from "./miners.js";

/** Flags of `curtail`. */
export const CURTAIL_OPTIONS: Record<string, RuntimeOption> = {
  feed: { type: "string", valueName: "NAME", description: "Non-firm feed to curtail or restore. Required." },
  targets: { type: "string", valueName: "FILE", description: `The feed's targets JSON. Default: ${TARGETS_DIR}/FEED.targets.json (the mounted ConfigMap).` },
  credentials: { type: "string", valueName: "FILE", description: `Miner credentials (JSON). Default: ${CREDENTIALS_DIR}/${CREDENTIALS_KEY} (the mounted Secret); absent = none.` },
  concurrency: { type: "string", valueName: "N", description: `Miners in flight at once. Default: ${DEFAULT_CONCURRENCY}.` },
  timeout: { type: "string", valueName: "S", description: `Seconds per miner, retries and read-backs included. Default: ${DEFAULT_MINER_TIMEOUT_SECONDS}.` },
  "gpu-timeout": { type: "string", valueName: "S", description: "Seconds to wait for the power agents' read-back of the minimum caps. Default: 90." },
};

/** Runs the command in a pod; returns the exit code (2: bad flags). */
export async function runCurtailRuntime(values: Record<string, unknown>, positionals: string[], io: { stdout: Pick<Writable, "write">; env?: NodeJS.ProcessEnv }): Promise<number> {
  const env = io.env ?? process.env;
  const log = jsonLogger(io.stdout, { component: CURTAIL_COMPONENT });
  const phase = positionals[0];
  if (positionals.length !== 1 || (phase !== "start" && phase !== "end")) {
    throw new UsageError(`expected 'curtail start' or 'curtail end' and flags, got 'curtail ${positionals.join(" ")}'.\n  fix: runtime.mjs curtail start --feed FEED`);
  }
  if (typeof values.feed !== "string" || values.feed === "") throw new UsageError("--feed is required.\n  fix: runtime.mjs curtail start --feed FEED (a non-firm feed of the site)");
  // Flags checked first: a bad invocation says so even outside a pod. Without API access the
  // miners are still curtailed (they need only the network); the other stages report "not run".
  let kube: KubeClient | null = null;
  try {
    kube = new KubeClient(inClusterConnection(env));
  } catch (e) {
    log.error("no Kubernetes API access: only the miner stage runs", { error: (e as Error).message });
  }
  try {
    const { code } = await runCurtailCommand(phase, values as CurtailFlags, { kube, log, env });
    return code;
  } catch (e) {
    if (e instanceof CurtailUsageError) throw new UsageError(e.message);
    throw e;
  } finally {
    kube?.close();
  }
}
