/**
 * md5crypt, the `$1$` password hash of FreeBSD (Poul-Henning Kamp, 1994) that glibc
 * `crypt(3)`, `openssl passwd -1` and passlib's `md5_crypt` implement. Whatsminer's API v2
 * derives its token from it (pyasic pyasic/rpc/btminer.py `_crypt` → passlib
 * `md5_crypt.hash(word, salt=…)`); node:crypto has MD5 but not this construction.
 *
 * Algorithm (FreeBSD lib/libcrypt/crypt-md5.c): salt ≤ 8 characters; an "alternate" digest
 * MD5(pw + salt + pw); the initial digest over pw + "$1$" + salt + alternate bytes + a
 * bit-driven mix of NUL and pw[0]; 1000 rounds mixing pw, salt and the previous digest;
 * the 16 bytes written in a custom base-64 in a fixed byte order.
 */
import { createHash } from "node:crypto";

const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const MAGIC = "$1$";

const md5 = (...parts: Buffer[]): Buffer => {
  const h = createHash("md5");
  for (const p of parts) h.update(p);
  return h.digest();
};

function to64(v: number, n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) {
    out += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return out;
}

/**
 * `$1$<salt>$<hash>` for `password` and `salt` (a leading `$1$` and anything from the next
 * `$` on are ignored; at most 8 characters are used, as crypt-md5.c does).
 */
export function md5crypt(password: string, salt: string): string {
  let s = salt.startsWith(MAGIC) ? salt.slice(MAGIC.length) : salt;
  const dollar = s.indexOf("$");
  if (dollar >= 0) s = s.slice(0, dollar);
  s = s.slice(0, 8);
  const pw = Buffer.from(password, "utf8");
  const sb = Buffer.from(s, "utf8");
  const alt = md5(pw, sb, pw);
  const ctx: Buffer[] = [pw, Buffer.from(MAGIC), sb];
  for (let pl = pw.length; pl > 0; pl -= 16) ctx.push(alt.subarray(0, Math.min(16, pl)));
  // "Then something really weird…" (crypt-md5.c): one byte per bit of the length.
  for (let i = pw.length; i > 0; i >>>= 1) ctx.push(i & 1 ? Buffer.from([0]) : pw.subarray(0, 1));
  let final = md5(...ctx);
  for (let i = 0; i < 1000; i++) {
    const parts: Buffer[] = [i & 1 ? pw : final];
    if (i % 3) parts.push(sb);
    if (i % 7) parts.push(pw);
    parts.push(i & 1 ? final : pw);
    final = md5(...parts);
  }
  const f = final;
  const b = (i: number) => f[i]!;
  const hash =
    to64((b(0) << 16) | (b(6) << 8) | b(12), 4) +
    to64((b(1) << 16) | (b(7) << 8) | b(13), 4) +
    to64((b(2) << 16) | (b(8) << 8) | b(14), 4) +
    to64((b(3) << 16) | (b(9) << 8) | b(15), 4) +
    to64((b(4) << 16) | (b(10) << 8) | b(5), 4) +
    to64(b(11), 2);
  return `${MAGIC}${s}$${hash}`;
}
