/**
 * Miner simulators on 127.0.0.1 speaking the real wire formats the drivers speak (each
 * format is cited in its driver under src/runtime/miners/): LuxOS and Whatsminer on a
 * cgminer-style TCP port, Antminer on a cgminer TCP port plus a digest-protected CGI web
 * port, Braiins OS as a gRPC (HTTP/2 cleartext) server.
 *
 * Faults, one per simulator:
 * - `wrong-password`: the simulator's password differs from the one the test gives the
 *   driver (LuxOS has none: its `logon` is refused, as when another tool holds the session);
 * - `timeout`: accepts connections and never answers;
 * - `keeps-hashing`: acknowledges curtail/sleep/pause/power_off but goes on hashing;
 * - `disconnect`: sends half of every reply, then drops the connection.
 *
 * Every simulator counts the requests it handled per command, so tests assert exactly
 * what the driver sent. Used by tests/miners-*.test.ts and bench/miners.ts.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { md5crypt } from "../../src/runtime/miners/md5crypt.js";
import { verifyDigest } from "../../src/runtime/miners/digest.js";

/** A fault mode (see the file comment). */
export type Fault = "none" | "wrong-password" | "timeout" | "keeps-hashing" | "disconnect";

/** Options of every simulator. */
export interface SimOptions {
  fault?: Fault;
  /** Delay before each reply, in ms. @default 0 */
  latencyMs?: number;
  /** The API user and password the simulator accepts. @default root / sim-password */
  user?: string;
  password?: string;
  /** Hashrate while hashing, in GH/s. @default 100000 */
  hashrateGhs?: number;
  /** Power while hashing, in W. @default 3250 */
  watts?: number;
  /** Power while sleeping, in W (control board, fans). @default 12 */
  sleepWatts?: number;
}

/** A running simulator. */
export interface SimMiner {
  readonly kind: "luxos" | "antminer" | "whatsminer" | "braiins";
  /** API port (cgminer TCP, or gRPC for Braiins). */
  readonly port: number;
  /** Antminer only: the CGI web port. */
  readonly webPort?: number;
  /** Whether the miner is in sleep/paused/powered-off state (what a curtail sets). */
  sleeping: boolean;
  /** Requests handled, by command name (`summary`, `curtail`, `set_miner_conf`, `Login`, …). */
  readonly requests: Record<string, number>;
  close(): Promise<void>;
}

/** The password tests give drivers; simulators with the `wrong-password` fault expect another. */
export const SIM_PASSWORD = "sim-password";
export const SIM_USER = "root";

interface Common {
  fault: Fault;
  latencyMs: number;
  user: string;
  password: string;
  hashrateGhs: number;
  watts: number;
  sleepWatts: number;
}

function common(o: SimOptions): Common {
  const fault = o.fault ?? "none";
  return {
    fault,
    latencyMs: o.latencyMs ?? 0,
    user: o.user ?? SIM_USER,
    password: o.password ?? (fault === "wrong-password" ? "not-the-sim-password" : SIM_PASSWORD),
    hashrateGhs: o.hashrateGhs ?? 100_000,
    watts: o.watts ?? 3250,
    sleepWatts: o.sleepWatts ?? 12,
  };
}

const when = () => Math.floor(Date.now() / 1000);
const later = (ms: number, fn: () => void) => (ms > 0 ? setTimeout(fn, ms) : setImmediate(fn));

/** What the simulator's state machine does with one request. */
type Handler = (req: Record<string, unknown>) => string;

/**
 * A cgminer-style TCP server: reads one JSON request, answers after the latency with the
 * handler's reply and a NUL byte, closes (cgminer API-README; api.c sends the NUL).
 */
function tcpServer(c: Common, sockets: Set<net.Socket>, handler: Handler): net.Server {
  return net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buf = "";
    let answered = false;
    socket.on("data", (chunk) => {
      if (answered) return;
      buf += chunk.toString("utf8");
      let req: Record<string, unknown>;
      try {
        req = JSON.parse(buf) as Record<string, unknown>;
      } catch {
        if (buf.length > 65536) socket.destroy();
        return; // not complete yet
      }
      answered = true;
      if (c.fault === "timeout") return; // accept, never answer
      later(c.latencyMs, () => {
        if (socket.destroyed) return;
        const reply = Buffer.from(handler(req) + "\0", "utf8");
        if (c.fault === "disconnect") {
          socket.write(reply.subarray(0, Math.floor(reply.length / 2)), () => socket.destroy());
          return;
        }
        socket.end(reply);
      });
    });
  });
}

function listen(server: net.Server | http.Server | http2.Http2Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
}

function closeServer(server: net.Server | http.Server | http2.Http2Server, sockets: Set<{ destroy(): void }>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

function count(requests: Record<string, number>, name: string) {
  requests[name] = (requests[name] ?? 0) + 1;
}

/** A cgminer STATUS section (API-README). */
function status(code: number, msg: string, st: "S" | "E" = "S", description = "sim"): Record<string, unknown>[] {
  return [{ STATUS: st, When: when(), Code: code, Msg: msg, Description: description }];
}

/** LuxOS simulator: session/logon/logoff/curtail/summary/power (docs.luxor.tech/firmware/api). */
export async function startLuxosSim(o: SimOptions = {}): Promise<SimMiner> {
  const c = common(o);
  const requests: Record<string, number> = {};
  const sockets = new Set<net.Socket>();
  let session = "";
  const sim: SimMiner = { kind: "luxos", port: 0, sleeping: false, requests, close: () => closeServer(server, sockets) };
  const desc = "LUXminer 2024.2.19.131822-sim";
  const server = tcpServer(c, sockets, (req) => {
    const cmd = String(req.command ?? "");
    const params = String(req.parameter ?? "").split(",");
    count(requests, cmd);
    switch (cmd) {
      case "session":
        return JSON.stringify({ SESSION: [{ SessionID: session }], STATUS: status(319, "Session information", "S", desc), id: 1 });
      case "logon":
        if (c.fault === "wrong-password" || session !== "") return JSON.stringify({ STATUS: status(317, "Another session is active", "E", desc), id: 1 });
        session = randomBytes(6).toString("base64url").slice(0, 8);
        return JSON.stringify({ SESSION: [{ SessionID: session }], STATUS: status(316, "Session created", "S", desc), id: 1 });
      case "logoff":
        if (params[0] !== session || session === "") return JSON.stringify({ STATUS: status(318, "Invalid session", "E", desc), id: 1 });
        session = "";
        return JSON.stringify({ STATUS: status(320, "Session closed", "S", desc), id: 1 });
      case "curtail": {
        if (params[0] !== session || session === "") return JSON.stringify({ STATUS: status(318, "Invalid session", "E", desc), id: 1 });
        const action = params[1];
        if (action !== "sleep" && action !== "wakeup") return JSON.stringify({ STATUS: status(336, "Invalid curtail action", "E", desc), id: 1 });
        if (c.fault !== "keeps-hashing") sim.sleeping = action === "sleep";
        return JSON.stringify({ CURTAIL: [{ Action: action === "sleep" ? "sleep mode" : "wake up" }], STATUS: status(335, "Curtailment command sent", "S", desc), id: 1 });
      }
      case "summary":
        return JSON.stringify({ STATUS: status(11, "Summary", "S", desc), SUMMARY: [{ Elapsed: 1000, "GHS 5s": sim.sleeping ? 0 : c.hashrateGhs, "GHS av": c.hashrateGhs }], id: 1 });
      case "power":
        return JSON.stringify({ POWER: [{ PSU: true, Watts: sim.sleeping ? c.sleepWatts : c.watts }], STATUS: status(339, "Power", "S", desc), id: 1 });
      default:
        return JSON.stringify({ STATUS: status(14, "Invalid command", "E", desc), id: 1 });
    }
  });
  (sim as { port: number }).port = await listen(server);
  return sim;
}

/** Antminer simulator: bmminer `summary` on TCP, `get_miner_conf`/`set_miner_conf` CGI with digest auth on HTTP. */
export async function startAntminerSim(o: SimOptions = {}): Promise<SimMiner> {
  const c = common(o);
  const requests: Record<string, number> = {};
  const sockets = new Set<net.Socket>();
  const webSockets = new Set<net.Socket>();
  const realm = "antMiner Configuration";
  const nonce = randomBytes(16).toString("hex");
  const conf: Record<string, unknown> = {
    pools: [
      { url: "stratum+tcp://pool.example:3333", user: "worker.1", pass: "x" },
      { url: "", user: "", pass: "" },
      { url: "", user: "", pass: "" },
    ],
    "api-listen": true,
    "api-network": true,
    "api-groups": "A:stats:pools:devs:summary:version",
    "api-allow": "A:0/0,W:*",
    "bitmain-fan-ctrl": false,
    "bitmain-fan-pwm": "100",
    "bitmain-use-vil": true,
    "bitmain-freq": "675",
    "bitmain-voltage": "1400",
    "bitmain-ccdelay": "0",
    "bitmain-pwth": "0",
    "bitmain-work-mode": "0",
    "bitmain-freq-level": "100",
  };
  const sim: SimMiner = {
    kind: "antminer",
    port: 0,
    sleeping: false,
    requests,
    close: async () => {
      await closeServer(server, sockets);
      await closeServer(web, webSockets);
    },
  };
  const server = tcpServer(c, sockets, (req) => {
    const cmd = String(req.command ?? "");
    count(requests, cmd);
    if (cmd === "summary") {
      const ghs = sim.sleeping ? 0 : c.hashrateGhs;
      return JSON.stringify({ STATUS: status(11, "Summary", "S", "bmminer 1.0.0"), SUMMARY: [{ Elapsed: 1000, "GHS 5s": ghs.toFixed(2), "GHS av": c.hashrateGhs }], id: 1 });
    }
    return JSON.stringify({ STATUS: status(14, "Invalid command", "E", "bmminer 1.0.0"), id: 1 });
  });
  const web = http.createServer((req, res) => {
    const name = /^\/cgi-bin\/([a-z_]+)\.cgi$/.exec(req.url ?? "")?.[1];
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      if (c.fault === "timeout") return;
      later(c.latencyMs, () => {
        const ok = verifyDigest(req.headers.authorization, { realm, nonce, method: req.method ?? "", password: (u) => (u === c.user ? c.password : undefined) });
        if (!ok) {
          res.writeHead(401, { "www-authenticate": `Digest realm="${realm}", nonce="${nonce}", qop="auth"`, "content-type": "text/html" });
          res.end("<html>401 Unauthorized</html>");
          return;
        }
        count(requests, name ?? "unknown");
        let reply: string;
        if (name === "get_miner_conf" && req.method === "GET") {
          reply = JSON.stringify({ ...conf, "bitmain-work-mode": sim.sleeping ? "1" : "0" });
        } else if (name === "set_miner_conf" && req.method === "POST") {
          const parsed = JSON.parse(body) as Record<string, unknown>;
          const mode = Number(parsed["miner-mode"]);
          if (!Array.isArray(parsed.pools) || ![0, 1, 3].includes(mode)) {
            reply = JSON.stringify({ stats: "error", code: "M001", msg: "Invalid config" });
          } else {
            if (c.fault !== "keeps-hashing") sim.sleeping = mode === 1;
            reply = JSON.stringify({ stats: "success", code: "M000", msg: "OK!" });
          }
        } else {
          res.writeHead(404);
          res.end();
          return;
        }
        if (c.fault === "disconnect") {
          res.writeHead(200, { "content-type": "application/json", "content-length": String(reply.length) });
          res.write(reply.slice(0, Math.floor(reply.length / 2)), () => req.socket.destroy());
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(reply);
      });
    });
  });
  web.on("connection", (s: net.Socket) => {
    webSockets.add(s);
    s.on("close", () => webSockets.delete(s));
  });
  (sim as { port: number }).port = await listen(server);
  (sim as { webPort?: number }).webPort = await listen(web);
  return sim;
}

/** Whatsminer API v2 simulator: get_token, encrypted power_off/power_on, summary. */
export async function startWhatsminerSim(o: SimOptions = {}): Promise<SimMiner> {
  const c = common(o);
  const requests: Record<string, number> = {};
  const sockets = new Set<net.Socket>();
  const sim: SimMiner = { kind: "whatsminer", port: 0, sleeping: false, requests, close: () => closeServer(server, sockets) };
  let token: { key: string; sign: string } | undefined;
  const plain = (st: "S" | "E", code: number, msg: unknown) => JSON.stringify({ STATUS: st, When: when(), Code: code, Msg: msg, Description: "" });
  const server = tcpServer(c, sockets, (req) => {
    if (req.cmd === "get_token") {
      count(requests, "get_token");
      const time = String(when()).slice(-4);
      const salt = randomBytes(6).toString("base64url").slice(0, 8);
      const newsalt = randomBytes(6).toString("base64url").slice(0, 8);
      const key = md5crypt(c.password, salt).split("$")[3]!;
      token = { key, sign: md5crypt(key + time, newsalt).split("$")[3]! };
      return plain("S", 134, { time, salt, newsalt });
    }
    if (req.enc === 1 && typeof req.data === "string") {
      if (token === undefined) return plain("E", 135, "check token err");
      const aes = createHash("sha256").update(token.key).digest();
      let cmd: Record<string, unknown>;
      try {
        const d = createDecipheriv("aes-256-ecb", aes, null);
        d.setAutoPadding(false);
        cmd = JSON.parse(Buffer.concat([d.update(Buffer.from(req.data, "base64")), d.final()]).toString("utf8").replace(/\0+$/, "")) as Record<string, unknown>;
      } catch {
        count(requests, "bad-token");
        return plain("E", 135, "check token err");
      }
      if (cmd.token !== token.sign) {
        count(requests, "bad-token");
        return plain("E", 135, "check token err");
      }
      const name = String(cmd.cmd);
      count(requests, name);
      let inner: string;
      if (name === "power_off" && cmd.respbefore === "true") {
        if (c.fault !== "keeps-hashing") sim.sleeping = true;
        inner = plain("S", 131, "API command OK");
      } else if (name === "power_on") {
        sim.sleeping = false;
        inner = plain("S", 131, "API command OK");
      } else inner = plain("E", 132, "API command ERROR");
      let padded = inner;
      while (Buffer.byteLength(padded) % 16 !== 0) padded += "\0";
      const e = createCipheriv("aes-256-ecb", aes, null);
      e.setAutoPadding(false);
      return JSON.stringify({ enc: Buffer.concat([e.update(Buffer.from(padded)), e.final()]).toString("base64") });
    }
    const cmd = String(req.command ?? req.cmd ?? "");
    count(requests, cmd);
    if (cmd === "summary") {
      return JSON.stringify({
        STATUS: [{ STATUS: "S", Msg: "Summary" }],
        SUMMARY: [{ Elapsed: 1000, "MHS av": c.hashrateGhs * 1000, "MHS 1m": sim.sleeping ? 0 : c.hashrateGhs * 1000, Power: sim.sleeping ? c.sleepWatts : c.watts, "Power Limit": 3600 }],
        id: 1,
      });
    }
    return plain("E", 14, "invalid cmd");
  });
  (sim as { port: number }).port = await listen(server);
  return sim;
}

// --- protobuf encoding for the Braiins simulator (protobuf.dev encoding guide) ---
function pbVarint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}
const pbLen = (field: number, bytes: Buffer) => Buffer.concat([pbVarint((field << 3) | 2), pbVarint(bytes.length), bytes]);
const pbUint = (field: number, n: number) => (n === 0 ? Buffer.alloc(0) : Buffer.concat([pbVarint(field << 3), pbVarint(n)]));
const pbDouble = (field: number, d: number) => {
  if (d === 0) return Buffer.alloc(0);
  const b = Buffer.alloc(8);
  b.writeDoubleLE(d, 0);
  return Buffer.concat([pbVarint((field << 3) | 1), b]);
};
/** Decodes string fields of a request (LoginRequest). */
function pbStrings(buf: Buffer): Record<number, string> {
  const out: Record<number, string> = {};
  let i = 0;
  while (i < buf.length) {
    const tag = buf[i++]!;
    let len = 0;
    let mul = 1;
    for (;;) {
      const b = buf[i++]!;
      len += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) break;
      mul *= 128;
    }
    out[tag >> 3] = buf.subarray(i, i + len).toString("utf8");
    i += len;
  }
  return out;
}

/** Braiins OS public API simulator (bos-plus-api protos): Login, PauseMining, ResumeMining, GetMinerStats, GetMinerStatus. */
export async function startBraiinsSim(o: SimOptions = {}): Promise<SimMiner> {
  const c = common(o);
  const requests: Record<string, number> = {};
  const sessions = new Set<http2.ServerHttp2Session>();
  const tokens = new Set<string>();
  const server = http2.createServer();
  const sim: SimMiner = { kind: "braiins", port: 0, sleeping: false, requests, close: () => closeServer(server, sessions) };
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    s.on("error", () => undefined);
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => undefined);
    const path = String(headers[":path"]);
    const method = path.split("/").pop() ?? "";
    let body = Buffer.alloc(0);
    stream.on("data", (d: Buffer) => (body = Buffer.concat([body, d])));
    stream.on("end", () => {
      if (c.fault === "timeout") return;
      later(c.latencyMs, () => {
        if (stream.destroyed) return;
        count(requests, method);
        const fail = (code: number, msg: string) => stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": String(code), "grpc-message": encodeURIComponent(msg) }, { endStream: true });
        const msg = body.length >= 5 ? body.subarray(5, 5 + body.readUInt32BE(1)) : Buffer.alloc(0);
        let reply: Buffer;
        if (path === "/braiins.bos.v1.AuthenticationService/Login") {
          const f = pbStrings(msg);
          if (f[1] !== c.user || f[2] !== c.password) return fail(16, "Invalid username or password");
          const token = randomBytes(8).toString("base64url").slice(0, 16);
          tokens.add(token);
          reply = Buffer.concat([pbLen(1, Buffer.from(token)), pbUint(2, 3600)]);
        } else {
          if (!tokens.has(String(headers.authorization ?? ""))) return fail(16, "Unauthenticated");
          if (path === "/braiins.bos.v1.ActionsService/PauseMining") {
            const already = sim.sleeping;
            if (c.fault !== "keeps-hashing") sim.sleeping = true;
            reply = pbUint(1, already ? 1 : 0);
          } else if (path === "/braiins.bos.v1.ActionsService/ResumeMining") {
            const already = !sim.sleeping;
            sim.sleeping = false;
            reply = pbUint(1, already ? 1 : 0);
          } else if (path === "/braiins.bos.v1.MinerService/GetMinerStats") {
            const ghs = sim.sleeping ? 0 : c.hashrateGhs;
            const watt = sim.sleeping ? c.sleepWatts : c.watts;
            const realHashrate = pbLen(1, pbDouble(1, ghs)); // RealHashrate.last_5s = GigaHashrate{1: double}
            const solver = pbLen(1, realHashrate); // WorkSolverStats.real_hashrate = 1
            const power = pbLen(1, pbUint(1, watt)); // MinerPowerStats.approximated_consumption = Power{1: uint64}
            reply = Buffer.concat([pbLen(2, solver), pbLen(3, power)]);
          } else if (path === "/braiins.bos.v1.MinerService/GetMinerStatus") {
            reply = pbUint(1, sim.sleeping ? 3 : 2);
          } else return fail(12, "Unimplemented");
        }
        const framed = Buffer.concat([Buffer.from([0]), Buffer.alloc(4), reply]);
        framed.writeUInt32BE(reply.length, 1);
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        if (c.fault === "disconnect") {
          stream.write(framed.subarray(0, Math.max(1, Math.floor(framed.length / 2))), () => stream.session?.destroy());
          return;
        }
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(framed);
      });
    });
  });
  (sim as { port: number }).port = await listen(server);
  return sim;
}

/** A simple webhook receiver: records each POST body, answers `status`. */
export async function startWebhookSim(statusCode = 204): Promise<{ url: string; bodies: unknown[]; close(): Promise<void> }> {
  const bodies: unknown[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      bodies.push(JSON.parse(body));
      res.writeHead(statusCode);
      res.end();
    });
  });
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/hooks/asic?token=secret-token`, bodies, close: () => closeServer(server, sockets) };
}

/**
 * Where a driver reaches `s`: its API port, and for an Antminer the web (CGI) port as
 * `port` (the plan's `antminer://host` port) with the bmminer API as `statusPort`.
 */
export function simPorts(s: SimMiner): { port: number; statusPort?: number } {
  return s.kind === "antminer" ? { port: s.webPort!, statusPort: s.port } : { port: s.port };
}
