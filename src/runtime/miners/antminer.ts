/**
 * Antminer stock firmware driver: status through the bmminer (cgminer) API on TCP 4028,
 * sleep and wake through the web interface's CGI with HTTP digest auth.
 *
 * Sources:
 * - Read-back: `{"command":"summary"}` on 4028 → `SUMMARY[0]["GHS 5s"]` (cgminer API-README
 *   `summary`; pyasic pyasic/miners/backends/bmminer.py reads the same field). Stock
 *   firmware reports no power over this API, so power stays null.
 * - Configuration: `GET /cgi-bin/get_miner_conf.cgi` → JSON with `pools` ([{url,user,pass}]),
 *   `bitmain-fan-ctrl`, `bitmain-fan-pwm`, `freq-level`, `bitmain-work-mode` ("0" normal,
 *   "1" sleep, "3" low power: pyasic pyasic/config/mining/__init__.py `MiningModeConfig.from_am_modern`).
 * - Sleep/wake: `POST /cgi-bin/set_miner_conf.cgi` with the whole configuration as JSON and
 *   `"miner-mode": 1` (sleep) or `0` (normal) (pyasic `MiningModeSleep.as_am_modern` /
 *   `MiningModeNormal.as_am_modern`; `MinerConfig.as_am_modern` sends fan, `freq-level`,
 *   `miner-mode` and pools together; pyasic/miners/backends/antminer.py `stop_mining` reads
 *   the configuration first and sends it back with only the mode changed). Reply
 *   `{"stats":"success","code":"M000","msg":"OK!"}`.
 * - Auth: HTTP digest (see ./digest.ts), user `root` by default.
 *
 * Ports: the target's `port` is the web interface (the plan's `antminer://host` → 80);
 * status comes from `statusPort` (4028).
 */
import { cgminerCommand, num, runAction, runStatus, section } from "./cgminer.js";
import { digestAuthorization, parseDigestChallenge } from "./digest.js";
import { RefusedError, TransportError, httpRequest, type HttpResponse, type Limits } from "./net.js";
import { ANTMINER_STATUS_PORT, type CallOptions, type MinerCredential, type MinerDriver, type MinerTarget, type Reading } from "./types.js";

/** One CGI call with digest auth: unauthenticated first, then answering the challenge. */
async function cgi(m: MinerTarget, c: MinerCredential | undefined, name: string, body: unknown, l: Limits): Promise<unknown> {
  if (c === undefined) throw new RefusedError("no credential for the Antminer web interface; add one (byHost, byDriver.antminer or default) to the credentials file");
  const uri = `/cgi-bin/${name}.cgi`;
  const url = new URL(`http://${m.host.includes(":") ? `[${m.host}]` : m.host}:${m.port}${uri}`);
  const method = body === undefined ? "GET" : "POST";
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const send = (authorization?: string): Promise<HttpResponse> =>
    httpRequest(
      url,
      {
        method,
        headers: { ...(payload !== undefined ? { "content-type": "application/json" } : {}), ...(authorization ? { authorization } : {}) },
        ...(payload !== undefined ? { body: payload } : {}),
      },
      l,
    );
  let res = await send();
  if (res.status === 401) {
    const challenge = parseDigestChallenge(res.headers["www-authenticate"] as string | undefined);
    if (challenge === undefined) throw new RefusedError(`${uri}: HTTP 401 without a Digest challenge`);
    res = await send(digestAuthorization(challenge, { username: c.user, password: c.password, method, uri }));
    if (res.status === 401) throw new RefusedError(`${uri}: login refused (HTTP 401); check the Antminer web user and password`);
  }
  if (res.status >= 500) throw new TransportError(`${uri}: HTTP ${res.status}`);
  if (res.status !== 200) throw new RefusedError(`${uri}: HTTP ${res.status}`);
  try {
    return JSON.parse(res.body) as unknown;
  } catch {
    throw new TransportError(`${uri}: reply is not complete JSON (cut off?)`);
  }
}

/** The fields `set_miner_conf.cgi` takes, copied from `get_miner_conf.cgi`, with the mode set. */
export function minerConfBody(conf: Record<string, unknown>, mode: 0 | 1): Record<string, unknown> {
  const pools = Array.isArray(conf.pools) ? (conf.pools as Record<string, unknown>[]).map((p) => ({ url: p.url ?? "", user: p.user ?? "", pass: p.pass ?? "" })) : [];
  return {
    "bitmain-fan-ctrl": conf["bitmain-fan-ctrl"] ?? false,
    "bitmain-fan-pwm": conf["bitmain-fan-pwm"] ?? "100",
    "freq-level": conf["freq-level"] ?? "100",
    "miner-mode": mode,
    pools,
  };
}

async function setMode(m: MinerTarget, c: MinerCredential | undefined, mode: 0 | 1, l: Limits): Promise<void> {
  const conf = await cgi(m, c, "get_miner_conf", undefined, l);
  if (conf === null || typeof conf !== "object") throw new TransportError("get_miner_conf.cgi: reply is not a JSON object");
  const reply = (await cgi(m, c, "set_miner_conf", minerConfBody(conf as Record<string, unknown>, mode), l)) as Record<string, unknown> | null;
  if (reply?.stats !== "success") throw new RefusedError(`set_miner_conf.cgi refused: ${String(reply?.msg ?? JSON.stringify(reply))}${reply?.code ? ` (code ${String(reply.code)})` : ""}`);
}

async function read(m: MinerTarget, c: MinerCredential | undefined, l: Limits): Promise<Reading> {
  const summary = section(await cgminerCommand(m.host, m.statusPort ?? ANTMINER_STATUS_PORT, "summary", undefined, l), "SUMMARY");
  let sleeping: boolean | null = null;
  if (c !== undefined) {
    const conf = (await cgi(m, c, "get_miner_conf", undefined, l)) as Record<string, unknown> | null;
    const mode = num(conf ?? undefined, "bitmain-work-mode");
    sleeping = mode === null ? null : mode === 1;
  }
  return { hashrateGhs: num(summary, "GHS 5s"), powerWatts: null, sleeping };
}

/** The Antminer stock-firmware driver. */
export const antminerDriver: MinerDriver = {
  name: "antminer",
  curtail: (m, c, o: CallOptions) => runAction(m, "curtail", o, { act: (l) => setMode(m, c, 1, l), read: (l) => read(m, c, l) }),
  resume: (m, c, o: CallOptions) => runAction(m, "resume", o, { act: (l) => setMode(m, c, 0, l), read: (l) => read(m, c, l) }),
  status: (m, c, o: CallOptions) => runStatus(m, o, (l) => read(m, c, l)),
};
