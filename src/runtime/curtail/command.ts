/**
 * `runtime.mjs curtail start|end --feed F`: what the curtailment CronJobs/Jobs run in the
 * cluster (src/render/curtailment.ts). Reads the feed's targets from the mounted ConfigMap,
 * the miner credentials from the mounted Secret (optional: LuxOS and webhooks need none),
 * runs {@link runCurtailment} with the pod's service account, logs JSON lines, posts the
 * summary Event on its own Pod, and returns the exit code (1 = stage target missed, so the
 * Job's backoff retries; every step is idempotent).
 */
import { readFile } from "node:fs/promises";
import { NO_CREDENTIALS, parseCredentials, CREDENTIALS_KEY, type MinerCredentials } from "./credentials.js";
import { runCurtailment, type CurtailmentReport, type KubeLike, type LogLike } from "./controller.js";
import { DEFAULT_CONCURRENCY, DEFAULT_MINER_TIMEOUT_SECONDS } from "./miners.js";
import { parseFeedTargets } from "./targets.js";

/** Where the jobs mount the targets ConfigMap (`<feed>.targets.json` keys). */
export const TARGETS_DIR = "/etc/mine2hpc/curtailment";
/** Where the jobs mount the `mine2hpc-miner-credentials` Secret. */
export const CREDENTIALS_DIR = "/etc/mine2hpc/miner-credentials";
/** Component name on Events and logs. */
export const CURTAIL_COMPONENT = "mine2hpc-curtail";

/** Key of a feed's targets in the ConfigMap. */
export const targetsKey = (feed: string) => `${feed}.targets.json`;

/** Flags of the command (strings, as node:util parseArgs gives them). */
export interface CurtailFlags {
  feed?: string;
  targets?: string;
  credentials?: string;
  concurrency?: string;
  timeout?: string;
  "gpu-timeout"?: string;
}

/** A flag problem: exit code 2. */
export class CurtailUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CurtailUsageError";
  }
}

function int(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CurtailUsageError(`--${flag} must be a whole number ≥ 1, got '${v}'`);
  return n;
}

/** Reads the credentials file; absent = none (a site with LuxOS or webhook miners only). */
export async function readCredentials(file: string): Promise<MinerCredentials> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return NO_CREDENTIALS;
    throw e;
  }
  return parseCredentials(text, file);
}

/** Runs one phase; see the module comment. */
export async function runCurtailCommand(
  phase: string | undefined,
  flags: CurtailFlags,
  deps: { kube: KubeLike | null; log: LogLike; env: NodeJS.ProcessEnv },
): Promise<{ code: number; report?: CurtailmentReport }> {
  if (phase !== "start" && phase !== "end") throw new CurtailUsageError(`expected 'curtail start' or 'curtail end', got '${phase ?? ""}'`);
  if (!flags.feed) throw new CurtailUsageError("--feed is required (the non-firm feed to curtail)");
  const targetsFile = flags.targets ?? `${TARGETS_DIR}/${targetsKey(flags.feed)}`;
  const credsFile = flags.credentials ?? `${CREDENTIALS_DIR}/${CREDENTIALS_KEY}`;
  let text: string;
  try {
    text = await readFile(targetsFile, "utf8");
  } catch (e) {
    deps.log.error("cannot read the feed's targets", { file: targetsFile, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
    return { code: 1 };
  }
  const targets = parseFeedTargets(text, targetsFile);
  if (targets.feed !== flags.feed) throw new CurtailUsageError(`${targetsFile} is feed ${targets.feed}, not ${flags.feed}`);
  const credentials = await readCredentials(credsFile);
  const env = deps.env;
  const report = await runCurtailment({
    phase,
    targets,
    credentials,
    kube: deps.kube,
    log: deps.log,
    miners: {
      concurrency: int(flags.concurrency, "concurrency", DEFAULT_CONCURRENCY),
      timeoutSeconds: int(flags.timeout, "timeout", DEFAULT_MINER_TIMEOUT_SECONDS),
    },
    gpuTimeoutSeconds: int(flags["gpu-timeout"], "gpu-timeout", 90),
    // The operator's ConfigMap (may carry a token) wins over the site file's URL.
    ...(env.ASIC_WEBHOOK_URL ? { webhookUrl: env.ASIC_WEBHOOK_URL } : {}),
    ...(env.POD_NAME && env.POD_NAMESPACE
      ? {
          event: {
            namespace: env.POD_NAMESPACE,
            involved: { apiVersion: "v1", kind: "Pod", name: env.POD_NAME, namespace: env.POD_NAMESPACE, ...(env.POD_UID ? { uid: env.POD_UID } : {}) },
            component: CURTAIL_COMPONENT,
          },
        }
      : {}),
  });
  deps.log.info(report.ok ? "curtailment confirmed" : "curtailment short of its target", {
    feed: report.feed,
    phase: report.phase,
    plannedWatts: report.plannedWatts,
    confirmedWatts: report.confirmedWatts,
    stages: report.stages.map((s) => s.summary),
  });
  return { code: report.exitCode, report };
}
