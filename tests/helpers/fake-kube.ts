/**
 * A fake Kubernetes API server on 127.0.0.1 for the runtime's tests: nodes (GET, list with a
 * `metadata.name` field selector, WATCH, PATCH as JSON patch / merge patch / strategic merge,
 * PATCH nodes/status), events (POST), and a record of every request with its monotonic time
 * (`process.hrtime`, the same clock child processes use on Linux) so tests can order API requests
 * against what a fake nvidia-smi logged.
 *
 * Wire behaviour follows the API (kubernetes.io/docs/reference/using-api/api-concepts/): lists
 * carry `metadata.resourceVersion`; a watch answers newline-delimited `{"type","object"}` events
 * after the given resourceVersion, `BOOKMARK`s when asked, ends after `timeoutSeconds`, and sends
 * an `ERROR` event with a 410 Status when the resourceVersion is too old; a JSON patch whose
 * `test` fails is refused with 422 (k8s.io/apiserver handlers/patch.go applyJSPatch) and changes
 * nothing. Strategic merge is implemented for what the runtime sends: node `status.conditions`
 * merged by `type` (their patchMergeKey), everything else merged like a merge patch.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request the fake received. */
export interface RecordedRequest {
  seq: number;
  /** process.hrtime.bigint() at arrival, in ns. */
  at: bigint;
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
  /** HTTP status answered (0 while a watch is open or when the fake was down). */
  status: number;
}

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Watcher {
  res: http.ServerResponse;
  fieldName: string | undefined;
  bookmarks: boolean;
  timer: NodeJS.Timeout;
}

/** The fake API server; see the module comment. */
export class FakeKube {
  readonly requests: RecordedRequest[] = [];
  readonly events: Json[] = [];
  private readonly nodes = new Map<string, Json>();
  private rv = 100;
  private oldestWatchableRv = 0;
  private readonly watchers = new Set<Watcher>();
  private server: http.Server | null = null;
  private port = 0;
  /** While true every connection is reset at once: the API is unreachable. */
  down = false;
  /** Statuses to answer to the next requests matching (method, path prefix), once each. */
  private readonly failures: Array<{ method: string; pathPrefix: string; status: number }> = [];

  /** Starts listening on 127.0.0.1 (an ephemeral port, or the one it had before a restart). */
  async start(): Promise<string> {
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) this.endWatch(w);
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  /** Makes the API unreachable (connections reset, open watches cut) or reachable again. */
  setDown(down: boolean): void {
    this.down = down;
    if (down) for (const w of this.watchers) w.res.destroy();
  }

  /** Answers `status` to the next request of `method` whose path starts with `pathPrefix`. */
  failNext(method: string, pathPrefix: string, status: number): void {
    this.failures.push({ method, pathPrefix, status });
  }

  /** Adds or replaces a node (as a kubelet registration would), notifying watchers. */
  putNode(node: Json): Json {
    const name = node.metadata.name as string;
    const existed = this.nodes.has(name);
    const stored = structuredClone(node);
    stored.metadata.uid ??= `uid-${name}`;
    stored.metadata.resourceVersion = String(++this.rv);
    this.nodes.set(name, stored);
    this.notify(existed ? "MODIFIED" : "ADDED", stored);
    return stored;
  }

  node(name: string): Json {
    return structuredClone(this.nodes.get(name));
  }

  /** Sets (value) or removes (null) labels of a node, as `kubectl label` would; not recorded as a request. */
  label(name: string, labels: Record<string, string | null>): void {
    const node = structuredClone(this.nodes.get(name));
    node.metadata.labels ??= {};
    for (const [k, v] of Object.entries(labels)) {
      if (v === null) delete node.metadata.labels[k];
      else node.metadata.labels[k] = v;
    }
    this.putNode(node);
  }

  /** Forgets history: watches from any resourceVersion before now get 410 Gone. */
  compact(): void {
    this.oldestWatchableRv = this.rv;
  }

  /** Requests other than the fake's own bookkeeping, optionally filtered. */
  requestsMatching(method: string, pathPrefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    const rec: RecordedRequest = {
      seq: this.requests.length + 1,
      at: process.hrtime.bigint(),
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers["content-type"],
      authorization: req.headers.authorization,
      body: undefined,
      status: 0,
    };
    this.requests.push(rec);
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      if (text !== "") {
        try {
          rec.body = JSON.parse(text);
        } catch {
          return this.send(res, rec, 400, status(400, "BadRequest", "body is not JSON"));
        }
      }
      const fail = this.failures.findIndex((f) => f.method === rec.method && rec.path.startsWith(f.pathPrefix));
      if (fail >= 0) {
        const f = this.failures.splice(fail, 1)[0]!;
        return this.send(res, rec, f.status, status(f.status, "InternalError", "injected failure"));
      }
      this.route(rec, res);
    });
  }

  private route(rec: RecordedRequest, res: http.ServerResponse): void {
    const m = /^\/api\/v1\/nodes(?:\/([^/]+)(\/status)?)?$/.exec(rec.path);
    if (rec.method === "POST") {
      const ev = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(rec.path);
      if (!ev) return this.send(res, rec, 404, status(404, "NotFound", `no route ${rec.path}`));
      const body = structuredClone(rec.body) as Json;
      body.metadata ??= {};
      body.metadata.namespace = ev[1];
      body.metadata.name ??= `${body.metadata.generateName ?? "event-"}${this.events.length + 1}`;
      this.events.push(body);
      return this.send(res, rec, 201, body);
    }
    if (!m) return this.send(res, rec, 404, status(404, "NotFound", `no route ${rec.path}`));
    const [, name, statusSub] = m;
    if (rec.method === "GET" && name === undefined) {
      const selector = rec.query.fieldSelector;
      const fieldName = selector?.startsWith("metadata.name=") ? selector.slice("metadata.name=".length) : undefined;
      if (rec.query.watch === "1" || rec.query.watch === "true") return this.watch(rec, res, fieldName);
      const items = [...this.nodes.values()].filter((n) => fieldName === undefined || n.metadata.name === fieldName);
      return this.send(res, rec, 200, { apiVersion: "v1", kind: "NodeList", metadata: { resourceVersion: String(this.rv) }, items });
    }
    const node = name === undefined ? undefined : this.nodes.get(decodeURIComponent(name));
    if (node === undefined) return this.send(res, rec, 404, status(404, "NotFound", `nodes "${name}" not found`));
    if (rec.method === "GET") return this.send(res, rec, 200, node);
    if (rec.method !== "PATCH") return this.send(res, rec, 405, status(405, "MethodNotAllowed", rec.method));
    let next: Json;
    try {
      next = this.applyPatch(node, rec.contentType ?? "", rec.body, statusSub !== undefined);
    } catch (err) {
      return this.send(res, rec, 422, status(422, "Invalid", (err as Error).message));
    }
    return this.send(res, rec, 200, this.putNode(next));
  }

  private applyPatch(node: Json, contentType: string, patch: Json, statusOnly: boolean): Json {
    const ct = contentType.split(";")[0]!.trim();
    let next: Json;
    if (ct === "application/json-patch+json") next = jsonPatch(node, patch);
    else if (ct === "application/merge-patch+json") next = mergePatch(node, patch, false);
    else if (ct === "application/strategic-merge-patch+json") next = mergePatch(node, patch, true);
    else throw new Error(`unsupported patch content type ${contentType}`);
    // The status subresource changes status only; the main resource ignores status.
    if (statusOnly) return { ...node, status: next.status };
    return { ...next, status: node.status };
  }

  private watch(rec: RecordedRequest, res: http.ServerResponse, fieldName: string | undefined): void {
    const from = Number(rec.query.resourceVersion ?? "0");
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    rec.status = 200;
    if (rec.query.resourceVersion !== undefined && rec.query.resourceVersion !== "" && from < this.oldestWatchableRv) {
      // "410 Gone": the event history before oldestWatchableRv is compacted.
      res.write(JSON.stringify({ type: "ERROR", object: status(410, "Expired", `too old resource version: ${from} (${this.oldestWatchableRv})`) }) + "\n");
      res.end();
      return;
    }
    const seconds = Number(rec.query.timeoutSeconds ?? "1800");
    const w: Watcher = { res, fieldName, bookmarks: rec.query.allowWatchBookmarks === "true", timer: setTimeout(() => this.endWatch(w), seconds * 1000) };
    this.watchers.add(w);
    res.on("close", () => {
      clearTimeout(w.timer);
      this.watchers.delete(w);
    });
    // Changes after `from` that happened before the watch opened.
    for (const n of this.nodes.values()) {
      if (Number(n.metadata.resourceVersion) > from && (fieldName === undefined || n.metadata.name === fieldName)) {
        res.write(JSON.stringify({ type: "MODIFIED", object: n }) + "\n");
      }
    }
  }

  /** Sends a BOOKMARK to every watch that asked for them. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (w.bookmarks) w.res.write(JSON.stringify({ type: "BOOKMARK", object: { kind: "Node", apiVersion: "v1", metadata: { resourceVersion: String(this.rv) } } }) + "\n");
    }
  }

  private endWatch(w: Watcher): void {
    clearTimeout(w.timer);
    this.watchers.delete(w);
    w.res.end();
  }

  private notify(type: string, node: Json): void {
    for (const w of this.watchers) {
      if (w.fieldName === undefined || w.fieldName === node.metadata.name) w.res.write(JSON.stringify({ type, object: node }) + "\n");
    }
  }

  private send(res: http.ServerResponse, rec: RecordedRequest, code: number, body: Json): void {
    rec.status = code;
    res.writeHead(code, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  }
}

function status(code: number, reason: string, message: string): Json {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

/** RFC 6901 pointer → parent container and key. */
function locate(doc: Json, pointer: string): { parent: Json; key: string } {
  const parts = pointer.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  const key = parts.pop();
  if (key === undefined) throw new Error(`empty JSON pointer`);
  let parent = doc;
  for (const p of parts) {
    if (parent === null || typeof parent !== "object" || !(p in parent)) throw new Error(`path ${pointer} does not exist`);
    parent = parent[p];
  }
  return { parent, key };
}

/** RFC 6902 (add, remove, replace, test): all or nothing. */
function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new Error("a JSON patch is an array of operations");
  const out = structuredClone(doc);
  for (const op of ops) {
    const { parent, key } = locate(out, op.path);
    const isArray = Array.isArray(parent);
    switch (op.op) {
      case "test":
        if (!(key in parent) || JSON.stringify(canonical(parent[key])) !== JSON.stringify(canonical(op.value))) {
          throw new Error(`the server rejected our request due to an error in our request: testing value ${op.path} failed`);
        }
        break;
      case "add":
        if (isArray) parent.splice(key === "-" ? parent.length : Number(key), 0, op.value);
        else parent[key] = op.value;
        break;
      case "replace":
        if (!(key in parent)) throw new Error(`replace: ${op.path} does not exist`);
        parent[key] = op.value;
        break;
      case "remove":
        if (!(key in parent)) throw new Error(`remove: ${op.path} does not exist`);
        if (isArray) parent.splice(Number(key), 1);
        else delete parent[key];
        break;
      default:
        throw new Error(`unsupported op ${op.op}`);
    }
  }
  return out;
}

function canonical(v: Json): Json {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}

/** RFC 7386 merge patch; with `strategic`, `conditions` lists merge by `type`. */
function mergePatch(target: Json, patch: Json, strategic: boolean, key = ""): Json {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) {
    if (strategic && key === "conditions" && Array.isArray(patch) && Array.isArray(target)) {
      const out = structuredClone(target);
      for (const c of patch) {
        const i = out.findIndex((o: Json) => o.type === c.type);
        if (i >= 0) out[i] = { ...out[i], ...c };
        else out.push(c);
      }
      return out;
    }
    return structuredClone(patch);
  }
  const out = target !== null && typeof target === "object" && !Array.isArray(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v, strategic, k);
  }
  return out;
}

/** A GPU node as k3s registers it for mine2hpc: cap label and the power-unverified taint. */
export function gpuNode(name: string, labels: Record<string, string>, taints: Json[] = [{ key: "mine2hpc.io/power-unverified", effect: "NoSchedule" }]): Json {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } },
    spec: { taints },
    status: { conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }] },
  };
}
