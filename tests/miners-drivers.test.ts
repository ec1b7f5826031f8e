/**
 * Miner drivers against simulators speaking the real wire formats on 127.0.0.1, one
 * fault at a time: exact outcomes, reasons, read-backs, attempts and requests sent.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DRIVERS, type CallOptions, type DriverName, type MinerCredential, type MinerTarget } from "../src/runtime/miners/index.js";
import { md5crypt } from "../src/runtime/miners/md5crypt.js";
import { digestAuthorization, parseDigestChallenge } from "../src/runtime/miners/digest.js";
import { decryptPayload, encryptCommand, whatsminerToken } from "../src/runtime/miners/whatsminer.js";
import { decodeMessage, doubleField, encodeStrings, stringField, subMessage, varintField } from "../src/runtime/miners/grpc.js";
import { postWebhook } from "../src/runtime/miners/webhook.js";
import {
  SIM_PASSWORD,
  SIM_USER,
  startAntminerSim,
  startBraiinsSim,
  startLuxosSim,
  startWebhookSim,
  startWhatsminerSim,
  type Fault,
  type SimMiner,
  simPorts,
} from "./helpers/miner-sims.js";

const CRED: MinerCredential = { user: SIM_USER, password: SIM_PASSWORD };
const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

const STARTERS = { luxos: startLuxosSim, antminer: startAntminerSim, whatsminer: startWhatsminerSim, braiins: startBraiinsSim } as const;
type FirmwareDriver = keyof typeof STARTERS;

async function sim(driver: FirmwareDriver, fault: Fault = "none"): Promise<{ s: SimMiner; target: MinerTarget }> {
  const s = await STARTERS[driver]({ fault });
  running.push(s);
  const target: MinerTarget = {
    hostname: `asic-${driver}`,
    driver,
    host: "127.0.0.1",
    ...simPorts(s),
    feed: "ercot-flex",
    plannedWatts: 3250,
  };
  return { s, target };
}

/** Short limits: every fault resolves in well under a second. */
const opts = (ms = 1500): CallOptions => ({ deadline: Date.now() + ms, connectTimeoutMs: 200, requestTimeoutMs: 250, pollIntervalMs: 50, retries: 2 });
/** Generous limits for the paths that must succeed at the first attempt, even on a loaded machine. */
const okOpts = (): CallOptions => ({ deadline: Date.now() + 20_000, connectTimeoutMs: 5000, requestTimeoutMs: 5000, pollIntervalMs: 50, retries: 2 });

/** What each firmware reports when hashing and when asleep. */
const READ: Record<FirmwareDriver, { awake: [number, number | null, boolean | null]; asleep: [number, number | null, boolean | null] }> = {
  luxos: { awake: [100000, 3250, null], asleep: [0, 12, null] },
  antminer: { awake: [100000, null, false], asleep: [0, null, true] },
  whatsminer: { awake: [100000, 3250, null], asleep: [0, 12, null] },
  braiins: { awake: [100000, 3250, false], asleep: [0, 12, true] },
};

/** Requests one successful curtail sends (first read-back confirms: the simulators act at once). */
const CURTAIL_REQUESTS: Record<FirmwareDriver, Record<string, number>> = {
  luxos: { session: 1, logon: 1, curtail: 1, logoff: 1, summary: 1, power: 1 },
  antminer: { get_miner_conf: 2, set_miner_conf: 1, summary: 1 },
  whatsminer: { get_token: 1, power_off: 1, summary: 1 },
  braiins: { Login: 2, PauseMining: 1, GetMinerStats: 1, GetMinerStatus: 1 },
};

describe.each(Object.keys(STARTERS) as FirmwareDriver[])("%s driver", (driver) => {
  const d = DRIVERS[driver as DriverName];
  const reading = (r: { hashrateGhs: number | null; powerWatts: number | null; sleeping: boolean | null }) => [r.hashrateGhs, r.powerWatts, r.sleeping];

  it("curtails, confirmed by the read-back, then resumes", async () => {
    const { s, target } = await sim(driver);
    const r = await d.curtail(target, CRED, okOpts());
    expect({ ...r, elapsedMs: 0 }).toEqual({
      hostname: `asic-${driver}`,
      driver,
      outcome: "confirmed",
      reason: "",
      hashrateGhs: READ[driver].asleep[0],
      powerWatts: READ[driver].asleep[1],
      sleeping: READ[driver].asleep[2],
      attempts: 1,
      elapsedMs: 0,
    });
    expect(s.sleeping).toBe(true);
    expect(s.requests).toEqual(CURTAIL_REQUESTS[driver]);
    const back = await d.resume(target, CRED, okOpts());
    expect(back.outcome).toBe("confirmed");
    expect(reading(back)).toEqual(READ[driver].awake);
    expect(s.sleeping).toBe(false);
  });

  it("status reads hashrate and power", async () => {
    const { target } = await sim(driver);
    const r = await d.status(target, CRED, okOpts());
    expect([r.outcome, r.reason, ...reading(r), r.attempts]).toEqual(["confirmed", "", ...READ[driver].awake, 1]);
  });

  it("a miner that acknowledges but keeps hashing is not confirmed", async () => {
    const { s, target } = await sim(driver, "keeps-hashing");
    const r = await d.curtail(target, CRED, opts(600));
    expect(r.outcome).toBe("failed");
    const awake = READ[driver].awake;
    const words = [`${awake[0]} GH/s`, ...(awake[1] !== null ? [`${awake[1]} W`] : []), ...(awake[2] !== null ? ["sleeping"] : [])];
    // Antminer/Braiins report the mode they were told; the hashrate is what counts.
    const expected = words.join(", ").replace("sleeping", driver === "antminer" ? "not sleeping" : "not sleeping");
    expect(r.reason).toMatch(new RegExp(`^curtail acknowledged, but the miner still reads ${expected.replace(/\//g, "\\/")} after \\d+\\.\\d s$`));
    expect(reading(r)).toEqual(awake);
    expect(s.sleeping).toBe(false);
    expect(s.requests.summary ?? s.requests.GetMinerStats).toBeGreaterThan(1);
  });

  it("a miner that never answers is unreachable after 1 + 2 attempts", async () => {
    const { target } = await sim(driver, "timeout");
    const r = await d.curtail(target, CRED, opts(5000));
    expect(r.outcome).toBe("unreachable");
    expect(r.attempts).toBe(3);
    expect(r.reason).toMatch(/no (complete )?reply .*within 250 ms$/);
    expect(reading(r)).toEqual([null, null, null]);
  });

  it("a miner that disconnects mid-reply is unreachable after 1 + 2 attempts", async () => {
    const { s, target } = await sim(driver, "disconnect");
    const r = await d.curtail(target, CRED, opts(5000));
    expect(r.outcome).toBe("unreachable");
    expect(r.attempts).toBe(3);
    expect(s.sleeping).toBe(false);
    expect(r.reason).toMatch(driver === "braiins" ? /Login: (ERR_HTTP2_STREAM_ERROR|ERR_HTTP2_SESSION_ERROR|stream ended without a complete message|NGHTTP2|ECONNRESET)/ : /not complete JSON|cut off|ECONNRESET/);
  });

  it("a closed port is unreachable", async () => {
    const port = await freePort();
    const r = await d.curtail({ hostname: "gone", driver, host: "127.0.0.1", port, statusPort: port, feed: "f", plannedWatts: 1 }, CRED, opts(5000));
    expect(r.outcome).toBe("unreachable");
    expect(r.attempts).toBe(3);
    expect(r.reason).toMatch(/ECONNREFUSED/);
  });
});

describe("wrong password (refused, never retried)", () => {
  it.each([
    ["luxos", "logon refused by the miner: Another session is active (code 317)"],
    ["antminer", "/cgi-bin/get_miner_conf.cgi: login refused (HTTP 401); check the Antminer web user and password"],
    ["whatsminer", "power_off refused by the miner: check token err (code 135); check the Whatsminer admin password"],
    ["braiins", "/braiins.bos.v1.AuthenticationService/Login: gRPC status 16 (Invalid username or password)"],
  ] as [FirmwareDriver, string][])("%s", async (driver, reason) => {
    const { s, target } = await sim(driver, "wrong-password");
    const r = await DRIVERS[driver].curtail(target, CRED, okOpts());
    expect([r.outcome, r.reason, r.attempts]).toEqual(["failed", reason, 1]);
    expect(s.sleeping).toBe(false);
    // The password never appears in what a driver returns.
    expect(JSON.stringify(r)).not.toContain(SIM_PASSWORD);
  });

  it("a driver without a credential says where to add one", async () => {
    const { target } = await sim("antminer");
    const r = await DRIVERS.antminer.curtail(target, undefined, opts());
    expect([r.outcome, r.reason]).toEqual(["failed", "no credential for the Antminer web interface; add one (byHost, byDriver.antminer or default) to the credentials file"]);
  });
});

describe("webhook driver", () => {
  it("POSTs {feed, action, hosts} once for a batch; confirmed by HTTP 2xx, which cannot read back", async () => {
    const hook = await startWebhookSim(204);
    running.push(hook);
    const miners = ["asic-1", "asic-2"].map((h) => ({ hostname: h, driver: "webhook" as const, host: "127.0.0.1", port: 0, url: hook.url, feed: "ercot-flex", plannedWatts: 3250 }));
    const rs = await postWebhook(hook.url, "ercot-flex", "asics-off", miners, okOpts());
    expect(hook.bodies).toEqual([{ feed: "ercot-flex", action: "asics-off", hosts: ["asic-1", "asic-2"] }]);
    expect(rs.map((r) => [r.hostname, r.outcome, r.reason, r.powerWatts])).toEqual([
      ["asic-1", "confirmed", "accepted by the fleet webhook; a webhook cannot read back hashrate or power (HTTP 204)", null],
      ["asic-2", "confirmed", "accepted by the fleet webhook; a webhook cannot read back hashrate or power (HTTP 204)", null],
    ]);
  });

  it("a 4xx is failed, and the URL's token is not in the reason", async () => {
    const hook = await startWebhookSim(403);
    running.push(hook);
    const [r] = await postWebhook(hook.url, "f", "asics-on", [{ hostname: "a", driver: "webhook", host: "127.0.0.1", port: 0, feed: "f", plannedWatts: 1 }], opts());
    expect([r!.outcome, r!.reason]).toEqual(["failed", `webhook ${hook.url.replace(/\?.*$/, "")}: HTTP 403`]);
    expect(r!.reason).not.toContain("secret-token");
  });
});

describe("protocol building blocks", () => {
  it("md5crypt matches glibc's published vector and OpenSSL", () => {
    // glibc crypt/md5c-test.c: crypt("Hello world!", "$1$saltstring") (salt cut to 8 characters).
    expect(md5crypt("Hello world!", "$1$saltstring")).toBe("$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1");
    // `openssl passwd -1 -salt abc ""` and a password longer than one MD5 block.
    expect(md5crypt("", "abc")).toBe("$1$abc$Or2rbeUYTvt12aiVzMuS/.");
    expect(md5crypt("a-very-long-password-longer-than-16-bytes", "$1$12345678$")).toBe("$1$12345678$HY8IaxO5VRfHIiwqjTY0m0");
  });

  it("digest auth reproduces RFC 2617 §3.5's example response", () => {
    const ch = parseDigestChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    expect(ch).toEqual({ realm: "testrealm@host.com", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", qop: "auth,auth-int", opaque: "5ccc069c403ebaf9f0171e9517f40e41" });
    const h = digestAuthorization(ch!, { username: "Mufasa", password: "Circle Of Life", method: "GET", uri: "/dir/index.html", cnonce: "0a4f113b", nc: 1 });
    expect(h).toBe(
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
  });

  it("whatsminer token and AES-256-ECB envelope round-trip", () => {
    const t = whatsminerToken("admin", { time: "1136", salt: "BQ5hoXV9", newsalt: "9tfYlMf9" });
    expect(t.key).toBe(md5crypt("admin", "BQ5hoXV9").split("$")[3]);
    expect(t.sign).toBe(md5crypt(`${t.key}1136`, "9tfYlMf9").split("$")[3]);
    const packet = JSON.parse(encryptCommand(t, { cmd: "power_off", respbefore: "true" })) as { enc: number; data: string };
    expect(packet.enc).toBe(1);
    expect(Buffer.from(packet.data, "base64").length % 16).toBe(0);
    expect(JSON.parse(decryptPayload(t.key, packet.data))).toEqual({ cmd: "power_off", respbefore: "true", token: t.sign });
  });

  it("protobuf: LoginRequest bytes and a nested GetMinerStatsResponse", () => {
    // LoginRequest{username="root"(1), password="pw"(2)}: 0a 04 'root' 12 02 'pw'.
    expect(encodeStrings([[1, "root"], [2, "pw"]]).toString("hex")).toBe("0a04726f6f74120270 77".replace(/ /g, ""));
    // GetMinerStatsResponse{miner_stats(2){real_hashrate(1){last_5s(1){gigahash_per_second(1)=1.5}}}, power_stats(3){approximated_consumption(1){watt(1)=300}}}
    const dbl = Buffer.alloc(8);
    dbl.writeDoubleLE(1.5);
    const giga = Buffer.concat([Buffer.from([0x09]), dbl]);
    const wrap = (tag: number, b: Buffer) => Buffer.concat([Buffer.from([tag, b.length]), b]);
    const msg = Buffer.concat([wrap(0x12, wrap(0x0a, wrap(0x0a, giga))), wrap(0x1a, wrap(0x0a, Buffer.from([0x08, 0xac, 0x02])))]);
    const m = decodeMessage(msg);
    expect(doubleField(subMessage(m, 2, 1, 1), 1)).toBe(1.5);
    expect(varintField(subMessage(m, 3, 1), 1)).toBe(300);
    expect(stringField(decodeMessage(encodeStrings([[1, "tok"]])), 1)).toBe("tok");
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
