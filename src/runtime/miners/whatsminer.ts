/**
 * Whatsminer (btminer) API v2 driver: `power_off` / `power_on` through the encrypted
 * "writable" API with its token scheme, status through `summary`.
 *
 * Wire format (MicroBT "Whatsminer API v2.0.x"; implemented in pyasic pyasic/rpc/btminer.py):
 * - `{"cmd":"get_token"}` → `{"STATUS":"S","When":…,"Code":134,"Msg":{"time":"1136","salt":"BQ5hoXV9","newsalt":"9tfYlMf9"},"Description":""}`.
 * - key  = md5crypt(password, salt)'s hash part (`_crypt(pwd, "$1$" + salt + "$").split("$")[3]`),
 *   sign = md5crypt(key + time, newsalt)'s hash part (btminer.py `get_token`).
 * - AES key = SHA-256(key) (32 raw bytes), AES-256-ECB; the command JSON plus `"token": sign`
 *   is NUL-padded to a multiple of 16, encrypted, base64'd, and sent as
 *   `{"enc":1,"data":"<base64>"}` (btminer.py `create_privileged_cmd`, `_add_to_16`).
 * - The reply is `{"enc":"<base64>"}`, decrypted the same way and NUL-stripped
 *   (btminer.py `parse_btminer_priviledge_data`): `{"STATUS":"S","When":…,"Code":131,"Msg":"API command OK","Description":""}`.
 *   A bad token is answered in clear: `{"STATUS":"E","Code":135,"Msg":"check token err"}`.
 * - `power_off` takes `"respbefore":"true"` (answer before powering off; btminer.py
 *   `power_off(respbefore=True)`); `power_on` takes nothing.
 * - read-back: `{"command":"summary"}` → `SUMMARY[0]["MHS 5s"]` (MH/s; `"MHS 1m"` when absent)
 *   and `SUMMARY[0]["Power"]` (W) (pyasic pyasic/miners/backends/btminer.py `_get_hashrate`
 *   reads `MHS 1m`, `_get_wattage` reads `Power`; an M30S+ summary carries `"MHS 5s"`,
 *   `"MHS 1m"`, `"MHS 5m"`, `"Power"` side by side). The 5-second average, because a
 *   1-minute average still reads most of the hashrate for up to a minute after `power_off`,
 *   i.e. past the default per-miner deadline (60 s): a miner that did power off would be
 *   reported as still hashing.
 */
import { createCipheriv, createDecipheriv, createHash } from "node:crypto";
import { cgminerCommand, expectOk, num, parseReply, runAction, runStatus, section, type ApiReply } from "./cgminer.js";
import { md5crypt } from "./md5crypt.js";
import { RefusedError, TransportError, tcpExchange, type Limits } from "./net.js";
import type { CallOptions, MinerCredential, MinerDriver, MinerTarget, Reading } from "./types.js";

/** The token pieces a writable command needs. Secret: never logged. */
export interface WhatsminerToken {
  /** md5crypt(password, salt) hash part; its SHA-256 is the AES key. */
  key: string;
  /** md5crypt(key + time, newsalt) hash part; the command's `token`. */
  sign: string;
}

/** The hash part (after the third `$`) of an md5crypt string. */
const hashPart = (crypted: string): string => crypted.split("$")[3] ?? "";

/** Derives the token from `get_token`'s `Msg` and the password (btminer.py `get_token`). */
export function whatsminerToken(password: string, msg: { time: string; salt: string; newsalt: string }): WhatsminerToken {
  const key = hashPart(md5crypt(password, msg.salt));
  const sign = hashPart(md5crypt(key + msg.time, msg.newsalt));
  return { key, sign };
}

const aesKey = (key: string): Buffer => createHash("sha256").update(key).digest();

/** `{"enc":1,"data":…}` for `command` (btminer.py `create_privileged_cmd`). */
export function encryptCommand(token: WhatsminerToken, command: Record<string, string>): string {
  let json = JSON.stringify({ ...command, token: token.sign });
  while (Buffer.byteLength(json) % 16 !== 0) json += "\0";
  const cipher = createCipheriv("aes-256-ecb", aesKey(token.key), null);
  cipher.setAutoPadding(false);
  const data = Buffer.concat([cipher.update(Buffer.from(json, "utf8")), cipher.final()]).toString("base64");
  return JSON.stringify({ enc: 1, data });
}

/** Decrypts an `enc` payload (btminer.py `parse_btminer_priviledge_data`). */
export function decryptPayload(key: string, enc: string): string {
  const decipher = createDecipheriv("aes-256-ecb", aesKey(key), null);
  decipher.setAutoPadding(false);
  const raw = Buffer.concat([decipher.update(Buffer.from(enc, "base64")), decipher.final()]);
  return raw.toString("utf8").replace(/\0+$/, "");
}

async function getToken(m: MinerTarget, c: MinerCredential, l: Limits): Promise<WhatsminerToken> {
  const reply = expectOk(parseReply(await tcpExchange(m.host, m.port, JSON.stringify({ cmd: "get_token" }), l), "get_token"), "get_token");
  const msg = reply.Msg as Record<string, unknown> | undefined;
  if (!msg || typeof msg.time !== "string" || typeof msg.salt !== "string" || typeof msg.newsalt !== "string") {
    throw new TransportError("get_token: reply has no time/salt/newsalt");
  }
  return whatsminerToken(c.password, { time: msg.time, salt: msg.salt, newsalt: msg.newsalt });
}

/** One writable command: token, encrypted request, decrypted and checked reply. */
async function writable(m: MinerTarget, c: MinerCredential | undefined, command: Record<string, string>, l: Limits): Promise<ApiReply> {
  if (c === undefined) throw new RefusedError("no credential for the Whatsminer API; add one (byHost, byDriver.whatsminer or default) to the credentials file");
  const token = await getToken(m, c, l);
  const outer = parseReply(await tcpExchange(m.host, m.port, encryptCommand(token, command), l), command.cmd!);
  let reply: ApiReply = outer;
  if (typeof outer.enc === "string") {
    let text: string;
    try {
      text = decryptPayload(token.key, outer.enc);
    } catch {
      throw new RefusedError(`${command.cmd}: reply cannot be decrypted with this password's key`);
    }
    reply = parseReply(Buffer.from(text), command.cmd!);
  }
  const checked = (() => {
    try {
      return expectOk(reply, command.cmd!);
    } catch (e) {
      if (e instanceof RefusedError && /token/i.test(e.message)) throw new RefusedError(`${e.message}; check the Whatsminer admin password`);
      throw e;
    }
  })();
  return checked;
}

/** Hashrate (GH/s) and power (W) of a `summary` reply; see the module comment for the fields. */
export function summaryReading(reply: ApiReply): Reading {
  const s = section(reply, "SUMMARY");
  const mhs = num(s, "MHS 5s") ?? num(s, "MHS 1m");
  return { hashrateGhs: mhs === null ? null : mhs / 1000, powerWatts: num(s, "Power"), sleeping: null };
}

async function read(m: MinerTarget, l: Limits): Promise<Reading> {
  return summaryReading(await cgminerCommand(m.host, m.port, "summary", undefined, l));
}

/** The Whatsminer API v2 driver. */
export const whatsminerDriver: MinerDriver = {
  name: "whatsminer",
  curtail: (m, c, o: CallOptions) =>
    runAction(m, "curtail", o, { act: async (l) => void (await writable(m, c, { cmd: "power_off", respbefore: "true" }, l)), read: (l) => read(m, l) }),
  resume: (m, c, o: CallOptions) => runAction(m, "resume", o, { act: async (l) => void (await writable(m, c, { cmd: "power_on" }, l)), read: (l) => read(m, l) }),
  status: (m, _c, o: CallOptions) => runStatus(m, o, (l) => read(m, l)),
};
