/**
 * Just enough gRPC for the Braiins OS public API, without code generation: unary (and
 * first-message-of-a-stream) calls over cleartext HTTP/2 with node:http2, and a protobuf
 * encoder/decoder for the few small messages the driver uses (their shapes are cited in
 * ./braiins.ts).
 *
 * gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md): request `POST /<package>.<Service>/<Method>`
 * with `content-type: application/grpc` and `te: trailers`; each message is a
 * Length-Prefixed-Message: 1 byte compressed flag (0), 4 bytes big-endian length, the
 * protobuf bytes; the status is the `grpc-status` trailer (or header, in a Trailers-Only
 * response), with `grpc-message` percent-encoded.
 * Protobuf wire format (protobuf.dev/programming-guides/encoding): tag = field << 3 | wire
 * type; 0 varint, 1 64-bit (double: little-endian IEEE 754), 2 length-delimited (strings,
 * embedded messages), 5 32-bit.
 */
import http2 from "node:http2";
import { RefusedError, TransportError, type Limits } from "./net.js";

/** Encodes a varint. */
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** A protobuf message of string fields only (e.g. LoginRequest{1: username, 2: password}). */
export function encodeStrings(fields: [number, string][]): Buffer {
  return Buffer.concat(
    fields.flatMap(([field, value]) => {
      const bytes = Buffer.from(value, "utf8");
      return [varint((field << 3) | 2), varint(bytes.length), bytes];
    }),
  );
}

/** One decoded field: a number (varint, fixed32), a double-capable 8-byte buffer, or bytes. */
export type ProtoValue = { wire: 0; value: number } | { wire: 1; bytes: Buffer } | { wire: 2; bytes: Buffer } | { wire: 5; bytes: Buffer };

/** Decodes a message into its fields (last value of a repeated field wins; enough for these messages). */
export function decodeMessage(buf: Buffer): Map<number, ProtoValue> {
  const fields = new Map<number, ProtoValue>();
  let i = 0;
  const readVarint = (): number => {
    let result = 0;
    let mul = 1;
    for (let n = 0; n < 10; n++) {
      if (i >= buf.length) throw new TransportError("protobuf: truncated varint");
      const b = buf[i++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new TransportError("protobuf: varint too long");
  };
  while (i < buf.length) {
    const tag = readVarint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) fields.set(field, { wire: 0, value: readVarint() });
    else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      if (i + len > buf.length) throw new TransportError("protobuf: truncated fixed field");
      fields.set(field, { wire, bytes: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 2) {
      const len = readVarint();
      if (i + len > buf.length) throw new TransportError("protobuf: truncated length-delimited field");
      fields.set(field, { wire: 2, bytes: buf.subarray(i, i + len) });
      i += len;
    } else throw new TransportError(`protobuf: unsupported wire type ${wire}`);
  }
  return fields;
}

/** Follows a path of embedded-message fields; undefined when any is absent. */
export function subMessage(m: Map<number, ProtoValue> | undefined, ...path: number[]): Map<number, ProtoValue> | undefined {
  let cur = m;
  for (const f of path) {
    const v = cur?.get(f);
    if (!v || v.wire !== 2) return undefined;
    cur = decodeMessage(v.bytes);
  }
  return cur;
}

/** A `double` field; null when absent (proto3 omits zero values: callers decide what absent means). */
export function doubleField(m: Map<number, ProtoValue> | undefined, field: number): number | null {
  const v = m?.get(field);
  return v && v.wire === 1 ? v.bytes.readDoubleLE(0) : null;
}

/** A varint field (uint32/uint64/bool/enum); null when absent. */
export function varintField(m: Map<number, ProtoValue> | undefined, field: number): number | null {
  const v = m?.get(field);
  return v && v.wire === 0 ? v.value : null;
}

/** A string field; null when absent. */
export function stringField(m: Map<number, ProtoValue> | undefined, field: number): string | null {
  const v = m?.get(field);
  return v && v.wire === 2 ? v.bytes.toString("utf8") : null;
}

/** Wraps a message in the gRPC Length-Prefixed-Message frame. */
export function frame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(0, 0);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** gRPC status codes the driver tells apart (grpc/grpc doc/statuscodes.md). */
export const GRPC_STATUS = { OK: 0, UNAVAILABLE: 14, UNAUTHENTICATED: 16, PERMISSION_DENIED: 7, DEADLINE_EXCEEDED: 4 } as const;

/** One connection to a gRPC server; calls share it; `close()` always. */
export class GrpcConnection {
  private readonly session: http2.ClientHttp2Session;
  private readonly ready: Promise<void>;

  constructor(
    readonly authority: string,
    private readonly l: Limits,
  ) {
    this.session = http2.connect(`http://${authority}`);
    // Errors surface through the calls; an unhandled 'error' event would crash the process.
    this.session.on("error", () => undefined);
    this.ready = new Promise((resolve, reject) => {
      const ms = Math.max(1, Math.min(l.connectTimeoutMs, l.deadline - Date.now()));
      const timer = setTimeout(() => reject(new TransportError(`no HTTP/2 connection to ${authority} within ${ms} ms`)), ms);
      this.session.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      this.session.once("error", (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new TransportError(`connect to ${authority} failed: ${e.code ?? e.message}`));
      });
    });
  }

  /**
   * Calls `path` with `request`; resolves with the first response message (unary calls
   * have one; for a server stream the rest is not waited for). Non-OK statuses throw.
   */
  async call(path: string, request: Buffer, headers: Record<string, string> = {}): Promise<Buffer> {
    await this.ready;
    const total = Math.max(1, Math.min(this.l.requestTimeoutMs, this.l.deadline - Date.now()));
    return new Promise((resolve, reject) => {
      let settled = false;
      const stream = this.session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        // grpc-timeout (PROTOCOL-HTTP2.md "Timeout"): the server may stop early too.
        "grpc-timeout": `${total}m`,
        ...headers,
      });
      const finish = (err: Error | null, msg?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        if (err) reject(err);
        else resolve(msg!);
      };
      const timer = setTimeout(() => finish(new TransportError(`${path}: no reply within ${total} ms`)), total);
      let buf = Buffer.alloc(0);
      let status: number | null = null;
      let message = "";
      const statusFrom = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined) {
          status = Number(h["grpc-status"]);
          message = decodeURIComponent(String(h["grpc-message"] ?? ""));
        }
      };
      const checkStatus = (): Error | null => {
        if (status === null || status === GRPC_STATUS.OK) return null;
        const text = `${path}: gRPC status ${status}${message ? ` (${message})` : ""}`;
        return status === GRPC_STATUS.UNAVAILABLE || status === GRPC_STATUS.DEADLINE_EXCEEDED ? new TransportError(text) : new RefusedError(text);
      };
      stream.on("response", (h) => {
        statusFrom(h);
        const err = checkStatus();
        if (err) finish(err);
        else if (h[":status"] !== 200) finish(new TransportError(`${path}: HTTP ${String(h[":status"])}`));
      });
      stream.on("data", (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 5) {
          const len = buf.readUInt32BE(1);
          if (buf.readUInt8(0) !== 0) return finish(new TransportError(`${path}: compressed message not supported`));
          if (buf.length >= 5 + len) finish(null, buf.subarray(5, 5 + len));
        }
      });
      stream.on("trailers", (h) => {
        statusFrom(h);
        const err = checkStatus();
        if (err) finish(err);
      });
      stream.on("end", () => {
        const err = checkStatus();
        finish(err ?? new TransportError(`${path}: stream ended without a complete message`));
      });
      stream.on("error", (e: NodeJS.ErrnoException) => finish(new TransportError(`${path}: ${e.code ?? e.message}`)));
      stream.end(frame(request));
    });
  }

  /** Closes the connection (outstanding calls fail). */
  close(): void {
    this.session.destroy();
  }
}

/** Opens a connection, runs `fn`, always closes. */
export async function withGrpc<T>(authority: string, l: Limits, fn: (c: GrpcConnection) => Promise<T>): Promise<T> {
  const c = new GrpcConnection(authority, l);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}
