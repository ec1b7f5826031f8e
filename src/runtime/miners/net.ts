/**
 * The two transports the drivers share, each with a connect timeout and a total timeout
 * (never the OS's minutes-long defaults: a dead miner must cost seconds, not a curtailment):
 *
 * - {@link tcpExchange}: one request, one reply, connection closed — how every cgminer-style
 *   API on TCP 4028 works (cgminer API-README: "The RPC API request can be either simple
 *   text or JSON"; the reply is sent and the socket closed; cgminer's api.c sends the
 *   terminating NUL with the reply, which LuxOS and bmminer keep).
 * - {@link httpRequest}: plain HTTP/1.1 (Antminer CGI, webhooks).
 *
 * Errors are split in two: {@link TransportError} (no usable answer: refused, timed out,
 * reset, cut off — worth a retry, and "unreachable" in the end) and {@link RefusedError}
 * (the miner answered and said no — wrong password, rejected command: never retried).
 */
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { CallOptions } from "./types.js";

/** No usable answer from the miner; retried, and reported as `unreachable`. */
export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TransportError";
  }
}

/** The miner answered and refused (auth, command error); not retried, reported as `failed`. */
export class RefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RefusedError";
  }
}

/** Resolved per-call limits. */
export interface Limits {
  deadline: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  pollIntervalMs: number;
  retries: number;
}

/** Defaults of {@link CallOptions}, resolved. */
export function limits(o: CallOptions): Limits {
  return {
    deadline: o.deadline,
    connectTimeoutMs: o.connectTimeoutMs ?? 3000,
    requestTimeoutMs: o.requestTimeoutMs ?? 5000,
    pollIntervalMs: o.pollIntervalMs ?? 1000,
    retries: o.retries ?? 2,
  };
}

/** Milliseconds a request may still take: its own limit, cut at the call's deadline. */
function budget(l: Limits, own: number): number {
  return Math.max(1, Math.min(own, l.deadline - Date.now()));
}

/** Largest reply accepted (a cgminer `stats` reply is a few KB; anything this big is not a miner). */
const MAX_REPLY_BYTES = 1 << 20;

/**
 * Sends `payload` to host:port and returns everything the peer sends until it closes the
 * connection or sends a NUL byte (cgminer-style replies end with one). Times out on
 * connect ({@link Limits.connectTimeoutMs}) and on the whole exchange
 * ({@link Limits.requestTimeoutMs}, cut at the deadline).
 */
export function tcpExchange(host: string, port: number, payload: string | Buffer, l: Limits): Promise<Buffer> {
  const total = budget(l, l.requestTimeoutMs);
  const connectMs = Math.min(l.connectTimeoutMs, total);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let connected = false;
    const socket = net.connect({ host, port });
    const finish = (err: Error | null, data?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      socket.destroy();
      if (err) reject(err);
      else resolve(data!);
    };
    const connectTimer = setTimeout(() => finish(new TransportError(`no TCP connection to ${host}:${port} within ${connectMs} ms`)), connectMs);
    const totalTimer = setTimeout(
      () => finish(new TransportError(connected ? `no complete reply from ${host}:${port} within ${total} ms` : `no TCP connection to ${host}:${port} within ${total} ms`)),
      total,
    );
    socket.on("connect", () => {
      connected = true;
      clearTimeout(connectTimer);
      socket.write(payload);
    });
    socket.on("data", (chunk: Buffer) => {
      const nul = chunk.indexOf(0);
      const part = nul >= 0 ? chunk.subarray(0, nul) : chunk;
      chunks.push(part);
      size += part.length;
      if (size > MAX_REPLY_BYTES) return finish(new TransportError(`reply from ${host}:${port} exceeds ${MAX_REPLY_BYTES} bytes`));
      if (nul >= 0) finish(null, Buffer.concat(chunks));
    });
    socket.on("end", () => finish(null, Buffer.concat(chunks)));
    socket.on("error", (e: NodeJS.ErrnoException) => finish(new TransportError(`${connected ? "connection" : "connect"} to ${host}:${port} failed: ${e.code ?? e.message}`)));
  });
}

/** An HTTP response, body read in full. */
export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP(S) request with a connect and a total timeout; any status is returned, transport failures throw {@link TransportError}. */
export function httpRequest(
  url: URL,
  o: { method: "GET" | "POST"; headers?: Record<string, string>; body?: string },
  l: Limits,
): Promise<HttpResponse> {
  const total = budget(l, l.requestTimeoutMs);
  const connectMs = Math.min(l.connectTimeoutMs, total);
  const where = `${url.protocol}//${url.host}${url.pathname}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    let connected = false;
    const mod = url.protocol === "https:" ? https : http;
    const req = mod.request(url, {
      method: o.method,
      headers: { ...(o.headers ?? {}), ...(o.body !== undefined ? { "content-length": String(Buffer.byteLength(o.body)) } : {}) },
      // One connection per request: no keep-alive pool holding sockets to thousands of miners.
      agent: false,
    });
    const finish = (err: Error | null, res?: HttpResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      req.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const connectTimer = setTimeout(() => finish(new TransportError(`no connection to ${where} within ${connectMs} ms`)), connectMs);
    const totalTimer = setTimeout(() => finish(new TransportError(`no complete reply from ${where} within ${total} ms`)), total);
    req.on("socket", (s: net.Socket) => {
      const onConnect = () => {
        connected = true;
        clearTimeout(connectTimer);
      };
      if (s.connecting) s.once(url.protocol === "https:" ? "secureConnect" : "connect", onConnect);
      else onConnect();
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_REPLY_BYTES) return finish(new TransportError(`reply from ${where} exceeds ${MAX_REPLY_BYTES} bytes`));
        chunks.push(c);
      });
      res.on("end", () => finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("aborted", () => finish(new TransportError(`reply from ${where} cut off`)));
      res.on("error", (e: NodeJS.ErrnoException) => finish(new TransportError(`reply from ${where} failed: ${e.code ?? e.message}`)));
    });
    req.on("error", (e: NodeJS.ErrnoException) => finish(new TransportError(`${connected ? "request" : "connect"} to ${where} failed: ${e.code ?? e.message}`)));
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

/** Resolves after `ms`, or at once when the deadline is nearer. */
export function pause(ms: number, deadline: number): Promise<void> {
  const wait = Math.max(0, Math.min(ms, deadline - Date.now()));
  return new Promise((r) => setTimeout(r, wait));
}

/**
 * Runs `fn` up to 1 + `retries` times while it throws {@link TransportError} and the
 * deadline has not passed; a {@link RefusedError} or any other error ends at once.
 * Returns the value and the number of attempts; throws the last error.
 */
export async function withRetries<T>(fn: () => Promise<T>, l: Limits): Promise<{ value: T; attempts: number }> {
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      return { value: await fn(), attempts };
    } catch (e) {
      const err = e as Error & { attempts?: number };
      err.attempts = attempts;
      if (!(e instanceof TransportError) || attempts > l.retries || Date.now() >= l.deadline) throw err;
      // Short backoff: the miner may be mid-restart of its API; bounded by the deadline.
      await pause(200 * attempts, l.deadline);
    }
  }
}
