/**
 * HTTP Digest access authentication with MD5 (RFC 7616 §3.4, compatible with RFC 2617),
 * the scheme stock Antminer web interfaces (lighttpd, realm "antMiner Configuration")
 * require on `/cgi-bin/*.cgi` (pyasic pyasic/web/antminer.py: `httpx.DigestAuth(username, pwd)`).
 *
 *   HA1 = MD5(username ":" realm ":" password)
 *   HA2 = MD5(method ":" request-uri)
 *   response = MD5(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)     (qop=auth)
 *   response = MD5(HA1 ":" nonce ":" HA2)                               (no qop: RFC 2069)
 */
import { createHash, randomBytes } from "node:crypto";

/** Parameters of a `WWW-Authenticate: Digest …` challenge. */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  qop?: string;
  opaque?: string;
  algorithm?: string;
}

/** Parses a `WWW-Authenticate` header value; undefined when it is not a Digest challenge. */
export function parseDigestChallenge(header: string | undefined): DigestChallenge | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  // RFC 7616 §3.3: auth-param = token "=" ( token / quoted-string ), comma separated.
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m[1]!); p !== null; p = re.exec(m[1]!)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
  }
  if (params.realm === undefined || params.nonce === undefined) return undefined;
  return {
    realm: params.realm,
    nonce: params.nonce,
    ...(params.qop !== undefined ? { qop: params.qop } : {}),
    ...(params.opaque !== undefined ? { opaque: params.opaque } : {}),
    ...(params.algorithm !== undefined ? { algorithm: params.algorithm } : {}),
  };
}

const md5 = (s: string): string => createHash("md5").update(s, "utf8").digest("hex");

/**
 * The `Authorization` header answering `challenge` for `method uri`. `cnonce` and `nc` are
 * parameters so tests can check a known vector (RFC 2617 §3.5's example).
 */
export function digestAuthorization(
  challenge: DigestChallenge,
  o: { username: string; password: string; method: string; uri: string; cnonce?: string; nc?: number },
): string {
  if (challenge.algorithm !== undefined && challenge.algorithm.toUpperCase() !== "MD5") {
    throw new Error(`digest algorithm ${challenge.algorithm} is not supported (only MD5, which Antminer firmware uses)`);
  }
  const ha1 = md5(`${o.username}:${challenge.realm}:${o.password}`);
  const ha2 = md5(`${o.method}:${o.uri}`);
  const quoted = (s: string) => `"${s.replace(/["\\]/g, "\\$&")}"`;
  const parts = [`username=${quoted(o.username)}`, `realm=${quoted(challenge.realm)}`, `nonce=${quoted(challenge.nonce)}`, `uri=${quoted(o.uri)}`];
  const qops = (challenge.qop ?? "").split(",").map((q) => q.trim());
  if (qops.includes("auth")) {
    const nc = (o.nc ?? 1).toString(16).padStart(8, "0");
    const cnonce = o.cnonce ?? randomBytes(8).toString("hex");
    parts.push(`qop=auth`, `nc=${nc}`, `cnonce=${quoted(cnonce)}`, `response=${quoted(md5(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:auth:${ha2}`))}`);
  } else {
    parts.push(`response=${quoted(md5(`${ha1}:${challenge.nonce}:${ha2}`))}`);
  }
  if (challenge.opaque !== undefined) parts.push(`opaque=${quoted(challenge.opaque)}`);
  if (challenge.algorithm !== undefined) parts.push(`algorithm=${challenge.algorithm}`);
  return `Digest ${parts.join(", ")}`;
}

/**
 * Server side, for simulators: whether `header` is a correct answer to a challenge with
 * `realm`/`nonce` for `method` and the password of its username.
 */
export function verifyDigest(header: string | undefined, o: { realm: string; nonce: string; method: string; password: (user: string) => string | undefined }): boolean {
  if (header === undefined || !/^\s*Digest\s/i.test(header)) return false;
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(header); p !== null; p = re.exec(header)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
  const pw = params.username === undefined ? undefined : o.password(params.username);
  if (pw === undefined || params.nonce !== o.nonce || params.realm !== o.realm || params.uri === undefined) return false;
  const ha1 = md5(`${params.username}:${o.realm}:${pw}`);
  const ha2 = md5(`${o.method}:${params.uri}`);
  const expected = params.qop === "auth" ? md5(`${ha1}:${o.nonce}:${params.nc}:${params.cnonce}:auth:${ha2}`) : md5(`${ha1}:${o.nonce}:${ha2}`);
  return params.response === expected;
}
