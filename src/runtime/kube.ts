/**
 * A small Kubernetes API client for the programs that run on the site (power agent,
 * curtailment jobs): GET, PATCH (merge, JSON patch, strategic merge), POST and WATCH over
 * `node:http(s)`, nothing else. Not `@kubernetes/client-node`: the runtime is bundled into one
 * file shipped in a ConfigMap (1 MiB limit), and these few calls do not need a generated client.
 *
 * Wire formats, from the Kubernetes API reference (kubernetes.io/docs/reference/using-api/api-concepts/):
 * - watch: `GET …?watch=1&resourceVersion=RV&allowWatchBookmarks=true&timeoutSeconds=N` answers a
 *   stream of newline-delimited JSON `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{…}}`;
 *   an `ERROR` whose object is a Status with `code: 410` (or an HTTP 410 answer) means the
 *   resourceVersion is too old ("Efficient detection of changes" / "410 Gone responses"): list again.
 * - PATCH content types (kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/):
 *   `application/merge-patch+json` (RFC 7386), `application/json-patch+json` (RFC 6902, with `test`
 *   operations that make the whole patch fail when the object changed), and
 *   `application/strategic-merge-patch+json` (lists merged by their patchMergeKey, e.g. node conditions by `type`).
 * - in-cluster credentials (kubernetes.io/docs/tasks/run-application/access-api-from-pod/):
 *   `KUBERNETES_SERVICE_HOST`/`_PORT`, the token and CA under
 *   /var/run/secrets/kubernetes.io/serviceaccount/. The token is a projected, rotated token
 *   (kubelet refreshes the file), so it is read again for every request.
 *
 * Every request has a deadline; a watch stream has an idle deadline; nothing here retries on its
 * own except {@link watchCollection}, whose reconnects back off up to a cap.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";

/** Where the pod's service account credentials are mounted. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Milliseconds one API request may take unless the caller says otherwise. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** How to reach the API. Holds file paths, never a token. */
export interface KubeConnection {
  /** Base URL of the API server, e.g. `https://10.43.0.1:443` or `http://127.0.0.1:8080` (tests). */
  server: string;
  /** Bearer token file, read on every request (projected tokens rotate). Absent: no Authorization header. */
  tokenFile?: string;
  /** PEM CA bundle that signs the server's certificate (https only). Absent: the system's CAs. */
  caFile?: string;
  /** Deadline of one request, in ms. @default DEFAULT_REQUEST_TIMEOUT_MS */
  timeoutMs?: number;
}

/** The connection of a pod, from its environment and service account mount. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (host === undefined || host === "") {
    throw new KubeApiError(0, "not running in a pod: KUBERNETES_SERVICE_HOST is not set; pass --kube-api URL (and --token-file/--ca-file)");
  }
  // An IPv6 service host needs brackets in a URL.
  const h = host.includes(":") ? `[${host}]` : host;
  return { server: `https://${h}:${port}`, tokenFile: `${dir}/token`, caFile: `${dir}/ca.crt` };
}

/**
 * A failed API call. `status` is the HTTP status, or 0 when no answer came (refused,
 * reset, timed out): callers tell "the API is unreachable" from "the API said no" by it.
 */
export class KubeApiError extends Error {
  readonly status: number;
  /** The Status object's `reason` (e.g. `NotFound`, `Conflict`, `Invalid`), when the API sent one. */
  readonly reason: string | undefined;
  constructor(status: number, message: string, reason?: string) {
    super(message);
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
  }
}

/** Kinds of PATCH, by the content type the API server dispatches on. */
export type PatchKind = "merge" | "json" | "strategic";

const PATCH_CONTENT_TYPES: Record<PatchKind, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

/** One event of a watch stream. */
export interface WatchEvent<T = KubeObject> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/** The parts of any Kubernetes object this client looks at. */
export interface KubeObject {
  metadata?: { name?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** Options of one request. */
export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  /** Overrides the connection's deadline, in ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A small API client; see the module comment. */
export class KubeClient {
  readonly conn: KubeConnection;
  private readonly ca: Buffer | undefined;
  private readonly agent: http.Agent;

  constructor(conn: KubeConnection) {
    this.conn = conn;
    const url = new URL(conn.server);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new KubeApiError(0, `API URL ${conn.server} is neither http:// nor https://`);
    }
    // The CA is fixed for the pod's life (only the token rotates): read it once.
    this.ca = conn.caFile !== undefined && url.protocol === "https:" ? readFileSync(conn.caFile) : undefined;
    this.agent = url.protocol === "https:" ? new https.Agent({ keepAlive: true, ca: this.ca }) : new http.Agent({ keepAlive: true });
  }

  /** GET a path (e.g. `/api/v1/nodes/n1`), parsed JSON. */
  get<T = KubeObject>(path: string, opts: Omit<RequestOptions, "body"> = {}): Promise<T> {
    return this.request<T>("GET", path, opts);
  }

  /** PATCH a path with a body of the given kind. */
  patch<T = KubeObject>(path: string, body: unknown, kind: PatchKind, opts: Omit<RequestOptions, "body" | "contentType"> = {}): Promise<T> {
    return this.request<T>("PATCH", path, { ...opts, body, contentType: PATCH_CONTENT_TYPES[kind] });
  }

  /** POST a JSON body to a path. */
  post<T = KubeObject>(path: string, body: unknown, opts: Omit<RequestOptions, "body"> = {}): Promise<T> {
    return this.request<T>("POST", path, { ...opts, body });
  }

  /** Releases kept-alive connections (tests and short-lived commands). */
  close(): void {
    this.agent.destroy();
  }

  /** One request with a deadline; resolves with the parsed JSON body of a 2xx answer. */
  request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.conn.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      let req: http.ClientRequest;
      try {
        req = this.open(method, path, opts, timeoutMs);
      } catch (err) {
        reject(err);
        return;
      }
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => reject(networkError(method, path, err)));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) {
            reject(statusError(method, path, status, text));
            return;
          }
          try {
            resolve((text === "" ? {} : JSON.parse(text)) as T);
          } catch {
            reject(new KubeApiError(status, `${method} ${path}: the API answered ${status} with a body that is not JSON`));
          }
        });
      });
      req.on("error", (err) => reject(networkError(method, path, err)));
      req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
    });
  }

  /**
   * One watch stream: calls `onEvent` for each event until the server ends the stream
   * (`timeoutSeconds`), the stream is idle for longer than `idleMs`, or `signal` aborts.
   * Resolves when the stream ended cleanly; rejects with a {@link KubeApiError} otherwise
   * (status 410 when the API said the resourceVersion is gone).
   */
  watchStream(path: string, query: Record<string, string>, onEvent: (e: WatchEvent) => void, opts: { idleMs: number; signal?: AbortSignal }): Promise<void> {
    const qs = new URLSearchParams({ ...query, watch: "1" }).toString();
    const full = `${path}?${qs}`;
    return new Promise<void>((resolve, reject) => {
      let req: http.ClientRequest;
      try {
        // The deadline of a watch is its idle time: it is meant to stay open.
        req = this.open("GET", full, { signal: opts.signal }, opts.idleMs);
      } catch (err) {
        reject(err);
        return;
      }
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(err);
      };
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => fail(statusError("GET", full, status, Buffer.concat(chunks).toString("utf8"))));
          res.on("error", (err) => fail(networkError("GET", full, err)));
          return;
        }
        let buffered = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line === "") continue;
            let event: WatchEvent;
            try {
              event = JSON.parse(line) as WatchEvent;
            } catch {
              fail(new KubeApiError(status, `GET ${path} (watch): a stream line is not JSON`));
              return;
            }
            if (event.type === "ERROR") {
              const st = event.object as { code?: number; message?: string; reason?: string };
              fail(new KubeApiError(st.code ?? 500, `GET ${path} (watch): ${st.message ?? "error event"}`, st.reason));
              return;
            }
            try {
              onEvent(event);
            } catch (err) {
              fail(err as Error);
              return;
            }
          }
        });
        res.on("end", () => {
          if (settled) return;
          settled = true;
          resolve();
        });
        res.on("error", (err) => fail(networkError("GET", full, err)));
      });
      req.on("error", (err) => fail(networkError("GET", full, err)));
      req.end();
    });
  }

  private open(method: string, path: string, opts: RequestOptions, timeoutMs: number): http.ClientRequest {
    const url = new URL(path, this.conn.server);
    const headers: Record<string, string> = { Accept: "application/json", "User-Agent": "mine2hpc-runtime" };
    if (this.conn.tokenFile !== undefined) {
      // Re-read each time: the kubelet rotates projected service account tokens in place.
      let token: string;
      try {
        token = readFileSync(this.conn.tokenFile, "utf8").trim();
      } catch (err) {
        throw new KubeApiError(0, `cannot read the token file ${this.conn.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      headers.Authorization = `Bearer ${token}`;
    }
    if (opts.body !== undefined) headers["Content-Type"] = opts.contentType ?? "application/json";
    const mod = url.protocol === "https:" ? https : http;
    const req = mod.request(url, { method, headers, agent: this.agent, signal: opts.signal, timeout: timeoutMs });
    // `timeout` only emits an event: turn it into a failure the caller sees.
    req.on("timeout", () => req.destroy(new TimeoutError(`no answer within ${timeoutMs} ms`)));
    return req;
  }
}

class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TimeoutError";
  }
}

function networkError(method: string, path: string, err: Error): KubeApiError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = err.name === "TimeoutError" ? err.message : err.name === "AbortError" ? "aborted" : (code ?? err.message);
  return new KubeApiError(0, `${method} ${path}: no answer from the API (${why})`);
}

function statusError(method: string, path: string, status: number, text: string): KubeApiError {
  let message = text.trim().slice(0, 300);
  let reason: string | undefined;
  try {
    const st = JSON.parse(text) as { message?: string; reason?: string };
    if (typeof st.message === "string") message = st.message;
    if (typeof st.reason === "string") reason = st.reason;
  } catch {
    // Not a Status object: keep the text.
  }
  return new KubeApiError(status, `${method} ${path}: the API answered ${status}${message !== "" ? `: ${message}` : ""}`, reason);
}

/** Backoff of watch reconnects. */
export interface Backoff {
  /** First delay after a failure, in ms. */
  initialMs: number;
  /** Largest delay, in ms. */
  maxMs: number;
}

/** Options of {@link watchCollection}. */
export interface WatchCollectionOptions<T extends KubeObject> {
  /** Collection path, e.g. `/api/v1/nodes`. */
  path: string;
  /** e.g. `metadata.name=gpu-01`: the agent watches only its own Node. */
  fieldSelector?: string;
  /** Called with every list (the start and each relist after 410 Gone). */
  onList(items: T[]): void;
  /** Called for ADDED, MODIFIED and DELETED events (bookmarks only move the resourceVersion). */
  onEvent(type: "ADDED" | "MODIFIED" | "DELETED", object: T): void;
  /** Called after each failed list or stream, with the delay before the next try. */
  onError?(err: KubeApiError, delayMs: number): void;
  /** Seconds the server keeps one stream open before ending it (then the watch resumes from the last resourceVersion). @default 300 */
  timeoutSeconds?: number;
  backoff?: Backoff;
  signal: AbortSignal;
}

/**
 * List then watch a collection until `signal` aborts: resumes from the last resourceVersion
 * after a stream ends, relists after 410 Gone, and backs off (doubling, capped, with jitter
 * so thousands of agents do not reconnect in step after an API restart) after failures.
 */
export async function watchCollection<T extends KubeObject>(client: KubeClient, opts: WatchCollectionOptions<T>): Promise<void> {
  const backoff = opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
  const timeoutSeconds = opts.timeoutSeconds ?? 300;
  const query: Record<string, string> = opts.fieldSelector !== undefined ? { fieldSelector: opts.fieldSelector } : {};
  let resourceVersion: string | undefined;
  let failures = 0;
  while (!opts.signal.aborted) {
    try {
      if (resourceVersion === undefined) {
        const qs = new URLSearchParams(query).toString();
        const list = await client.get<{ metadata?: { resourceVersion?: string }; items?: T[] }>(qs === "" ? opts.path : `${opts.path}?${qs}`, { signal: opts.signal });
        resourceVersion = list.metadata?.resourceVersion ?? "";
        opts.onList(list.items ?? []);
      }
      await client.watchStream(
        opts.path,
        { ...query, resourceVersion: resourceVersion, allowWatchBookmarks: "true", timeoutSeconds: String(timeoutSeconds) },
        (e) => {
          const rv = e.object.metadata?.resourceVersion;
          if (rv !== undefined) resourceVersion = rv;
          if (e.type !== "BOOKMARK" && e.type !== "ERROR") opts.onEvent(e.type, e.object as T);
        },
        // The server ends the stream after timeoutSeconds; silence well past that is a dead connection.
        { idleMs: (timeoutSeconds + 30) * 1000, signal: opts.signal },
      );
      failures = 0;
    } catch (err) {
      if (opts.signal.aborted) return;
      const e = err instanceof KubeApiError ? err : new KubeApiError(0, (err as Error).message);
      // 410 Gone: the resourceVersion was compacted away; list again (at once, it is not a failure of the API).
      if (e.status === 410) {
        resourceVersion = undefined;
        continue;
      }
      failures++;
      const cap = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(failures - 1, 20));
      const delay = Math.round(cap / 2 + Math.random() * (cap / 2));
      opts.onError?.(e, delay);
      await sleep(delay, opts.signal);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
