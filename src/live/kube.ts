/**
 * Talking to a running cluster with `@kubernetes/client-node`: finding a kubeconfig, and
 * turning every way a call can fail (no kubeconfig, unreachable API, bad credentials, RBAC,
 * missing objects) into a {@link LiveError} whose message says what to do.
 *
 * Nothing here prints or returns a kubeconfig's contents: messages name the file and the
 * server URL (without any user:password part), never tokens, keys or certificates.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  ApiException,
  BatchV1Api,
  KubeConfig,
  Observable,
  type ConfigurationOptions,
  type RequestContext,
  type ResponseContext,
  type V1CronJob,
  type V1Job,
} from "@kubernetes/client-node";

/** How a person gets the site's kubeconfig; part of every "no kubeconfig" and "unreachable" message. */
export const KUBECONFIG_HINT = "get the site's admin kubeconfig with 'pulumi stack output --show-secrets kubeconfig > kubeconfig' and pass --kubeconfig kubeconfig";

/** Where in-cluster credentials live (a pod's service account); client-node falls back to them. */
const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * Seconds one API call may take. Curtailment has minutes to take effect: a hung connection
 * must fail fast and say so, not wait for undici's 300 s header timeout.
 */
export const API_TIMEOUT_SECONDS = 20;

/** A failure a person can fix; the message holds what went wrong and a `fix:` line. */
export class LiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LiveError";
  }
}

/** Options of {@link loadKubeConfig}. */
export interface KubeConfigOptions {
  /** Path from --kubeconfig, resolved against `cwd`; absent: KUBECONFIG, then ~/.kube/config, then in-cluster. */
  file?: string;
  /** Context from --context; absent: the kubeconfig's current-context. */
  context?: string;
  cwd: string;
  /** Environment to read KUBECONFIG and HOME from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A loaded kubeconfig and what to call it in messages. */
export interface LoadedKubeConfig {
  kc: KubeConfig;
  /** The API server URL without credentials, for messages. */
  server: string;
  /** Where the kubeconfig came from, for messages: a path, `KUBECONFIG=…` or `in-cluster`. */
  origin: string;
}

/** The server URL as it may be shown: no `user:password@`. */
export function displayServer(server: string): string {
  try {
    const u = new URL(server);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "(unparsable server URL)";
  }
}

/**
 * Loads the kubeconfig the flags and environment name. Unlike `KubeConfig.loadFromDefault`
 * alone, having none is an error: client-node would otherwise quietly talk to
 * http://localhost:8080, which is never the site's cluster.
 */
export function loadKubeConfig(opts: KubeConfigOptions): LoadedKubeConfig {
  const env = opts.env ?? process.env;
  const kc = new KubeConfig();
  let origin: string;
  if (opts.file !== undefined) {
    const file = path.resolve(opts.cwd, opts.file);
    if (!existsSync(file)) {
      throw new LiveError(`kubeconfig ${opts.file} does not exist.\n  fix: ${KUBECONFIG_HINT}.`);
    }
    loadOrExplain(() => kc.loadFromFile(file), opts.file);
    origin = opts.file;
  } else {
    const fromEnv = (env.KUBECONFIG ?? "").split(path.delimiter).filter((f) => f !== "");
    const home = env.HOME ?? os.homedir();
    const homeConfig = path.join(home, ".kube", "config");
    if (fromEnv.length > 0) {
      const missing = fromEnv.filter((f) => !existsSync(f));
      if (missing.length === fromEnv.length) {
        throw new LiveError(`KUBECONFIG names ${fromEnv.join(", ")}, and none of it exists.\n  fix: ${KUBECONFIG_HINT}.`);
      }
      origin = `KUBECONFIG=${fromEnv.join(path.delimiter)}`;
    } else if (existsSync(homeConfig)) {
      origin = "~/.kube/config";
    } else if (existsSync(SERVICE_ACCOUNT_TOKEN)) {
      origin = "in-cluster service account";
    } else {
      throw new LiveError(`no kubeconfig: --kubeconfig not given, KUBECONFIG not set, and ~/.kube/config does not exist.\n  fix: ${KUBECONFIG_HINT}.`);
    }
    loadOrExplain(() => kc.loadFromDefault(), origin);
  }
  if (opts.context !== undefined) {
    if (kc.getContextObject(opts.context) === null) {
      const names = kc.getContexts().map((c) => c.name).sort();
      throw new LiveError(
        `context '${opts.context}' is not in ${origin}.\n  fix: pass one of its contexts (${names.length > 0 ? names.join(", ") : "it has none"}), or leave --context out to use its current-context.`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null) {
    throw new LiveError(`${origin} has no current context with a cluster.\n  fix: pass --context NAME, or ${KUBECONFIG_HINT}.`);
  }
  return { kc, server: displayServer(cluster.server), origin };
}

/** Parse errors of a kubeconfig may quote its text (keys, tokens): report the file only. */
function loadOrExplain(load: () => void, what: string): void {
  try {
    load();
  } catch {
    throw new LiveError(`${what} is not a readable kubeconfig (YAML with clusters, contexts and users).\n  fix: ${KUBECONFIG_HINT}.`);
  }
}

/**
 * The API's own words about a refused call: the `message` of the Status object it returned
 * (e.g. `jobs.batch is forbidden: User "ops" cannot create resource "jobs" …`).
 */
function statusMessage(err: ApiException<unknown>): string | undefined {
  const body = err.body;
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() === "" ? undefined : body.trim().slice(0, 500);
    }
  }
  if (parsed !== null && typeof parsed === "object" && typeof (parsed as { message?: unknown }).message === "string") {
    return (parsed as { message: string }).message;
  }
  return undefined;
}

/** What a failed call was trying to do, for messages. */
export interface CallDescription {
  /** e.g. `read CronJob curtail-x-start in namespace mine2hpc-system`. */
  action: string;
  /** The fix when the object is not there (404). */
  notFoundFix: string;
}

/** Turns a client-node failure into a {@link LiveError} (anything unrecognised is rethrown as-is). */
export function explainApiError(err: unknown, call: CallDescription, live: Pick<LoadedKubeConfig, "server" | "origin">): never {
  if (err instanceof ApiException) {
    const said = statusMessage(err);
    const quoted = said !== undefined ? `: ${said}` : "";
    switch (err.code) {
      case 404:
        throw new LiveError(`could not ${call.action}: not found on ${live.server}${quoted}.\n  fix: ${call.notFoundFix}`);
      case 403:
        throw new LiveError(
          `the cluster refused to ${call.action} (403 Forbidden)${quoted}.\n  fix: use a kubeconfig whose user may get cronjobs and create jobs in that namespace (the site's admin kubeconfig: ${KUBECONFIG_HINT}).`,
        );
      case 401:
        throw new LiveError(`the API at ${live.server} rejected the credentials of ${live.origin} (401 Unauthorized).\n  fix: the token or client certificate is expired or from another cluster; ${KUBECONFIG_HINT}.`);
      case 409:
        throw new LiveError(`could not ${call.action} (409 Conflict)${quoted}.\n  fix: a Job of that name exists already (started within the same second); wait a second and run the command again, or follow the existing one.`);
      default:
        throw new LiveError(`could not ${call.action}: the API at ${live.server} answered ${err.code}${quoted}.\n  fix: check the cluster's health ('kubectl get --raw /readyz'), then run the command again.`);
    }
  }
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") {
    throw new LiveError(`no answer from the API at ${live.server} within ${API_TIMEOUT_SECONDS} s while trying to ${call.action}.\n  fix: check that the cluster is up and reachable from here (VPN, firewall), or ${KUBECONFIG_HINT}.`);
  }
  if (e instanceof TypeError && e.message === "fetch failed") {
    const why = e.cause?.code ?? e.cause?.message ?? "connection failed";
    throw new LiveError(`cannot reach the Kubernetes API at ${live.server} (${why}) from ${live.origin}.\n  fix: check that the cluster is up and reachable from here (VPN, firewall), or ${KUBECONFIG_HINT}.`);
  }
  if (e instanceof Error && /HTTP protocol is not allowed/.test(e.message)) {
    throw new LiveError(`${live.origin} points at a plain-http server (${live.server}) without insecure-skip-tls-verify.\n  fix: use the https URL of the API (port 6443 on k3s); ${KUBECONFIG_HINT}.`);
  }
  throw err;
}

/** Per-call options that abort the request after {@link API_TIMEOUT_SECONDS}. */
function timeoutOptions(): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(AbortSignal.timeout(API_TIMEOUT_SECONDS * 1000));
          return new Observable(Promise.resolve(ctx));
        },
        post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
      },
    ],
    // Keep client-node's own middleware (its User-Agent header).
    middlewareMergeStrategy: "append",
  };
}

/** The two calls `curtail` makes, with errors explained. */
export interface BatchClient {
  /** The CronJob as plain JSON (what `kubectl get -o json` shows). */
  readCronJob(name: string, namespace: string): Promise<Record<string, unknown>>;
  /** Creates the Job; returns it as the API stored it (plain JSON). */
  createJob(namespace: string, job: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** A {@link BatchClient} for the cluster of `live`. */
export function batchClient(live: LoadedKubeConfig): BatchClient {
  const api = live.kc.makeApiClient(BatchV1Api);
  // client-node returns model class instances (Dates, undefined fields); JSON round-trip gives what the API sent.
  const plain = (o: V1CronJob | V1Job) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
  return {
    async readCronJob(name, namespace) {
      try {
        return plain(await api.readNamespacedCronJob({ name, namespace }, timeoutOptions()));
      } catch (err) {
        explainApiError(
          err,
          {
            action: `read CronJob ${name} in namespace ${namespace}`,
            notFoundFix: `run 'pulumi up' for this site first (it creates the curtailment CronJobs), and check that --context / --kubeconfig point at this site's cluster.`,
          },
          live,
        );
      }
    },
    async createJob(namespace, job) {
      const name = (job.metadata as { name?: string } | undefined)?.name ?? "(unnamed)";
      try {
        return plain(await api.createNamespacedJob({ namespace, body: job as V1Job }, timeoutOptions()));
      } catch (err) {
        explainApiError(
          err,
          {
            action: `create Job ${name} in namespace ${namespace}`,
            notFoundFix: `namespace ${namespace} does not exist: run 'pulumi up' for this site first.`,
          },
          live,
        );
      }
    },
  };
}
