/**
 * Reading files a person (or a pull request) names, and quoting what was read, without
 * leaking it.
 *
 * Site and inventory files are named by other files (the site's `inventory:` field, the
 * stack's `mine2hpc:inventory`) that a pull request can change, and CI prints every message
 * into a log others read. So:
 * - a file is read only when it is a regular file of bounded size (never a pipe or device,
 *   which could block or never end), and only as UTF-8 text: a UTF-16 file, a binary file
 *   (`/proc/self/environ` is NUL-separated) or invalid UTF-8 is named as such, never shown;
 * - a private key (PEM or PuTTY) is recognised before it is parsed, so no parser error and no
 *   "expected a mapping, got '…'" can quote it;
 * - a value quoted in a message is a short excerpt with control characters replaced, and a
 *   value that looks like a credential is never quoted at all ({@link excerpt});
 * - a path read from a file must stay inside the folder it is relative to ({@link confinedPath}).
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import path from "node:path";

/** Largest input file read (site YAML, inventory CSV, fleet exports): 64 MiB, far above a 100k-machine inventory. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** Longest excerpt of user text a message quotes, in characters. */
export const EXCERPT_MAX = 60;

/** A file read as text, or why it was not (what and how to fix, never its content). */
export type InputText = { ok: true; text: string } | { ok: false; code: string; message: string; fix: string };

/**
 * Reads `file` as UTF-8 text for `what` ("site file", "inventory file", ...), as shown in
 * messages by `shown`. Never throws for a bad file; never puts any of the file's bytes in
 * the returned message.
 */
export function readInputText(file: string, what: string, shownAs: string = file, maxBytes: number = MAX_INPUT_BYTES): InputText {
  const shown = shortPath(shownAs);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer (it is refused below).
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    const message =
      code === "ENOENT"
        ? `${what} ${shown} does not exist`
        : code === "EACCES" || code === "EPERM"
          ? `${what} ${shown} cannot be read (permission denied)`
          : code === "EISDIR"
            ? `${what} ${shown} is a folder, not a file`
            : `${what} ${shown} cannot be read (${code})`;
    return { ok: false, code, message, fix: "check the path" };
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) return { ok: false, code: "EISDIR", message: `${what} ${shown} is a folder, not a file`, fix: "name the file inside it" };
    if (!stat.isFile()) {
      return { ok: false, code: "ENOTFILE", message: `${what} ${shown} is not a regular file (a device, pipe or socket)`, fix: "name a text file; mine2hpc reads only regular files" };
    }
    // Read in chunks up to maxBytes + 1: /proc files report size 0, so stat cannot bound the read.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) {
        return { ok: false, code: "ETOOBIG", message: `${what} ${shown} is larger than ${Math.round(maxBytes / (1024 * 1024))} MiB`, fix: "split it, or check that the path names the intended file" };
      }
    }
    return decodeText(Buffer.concat(chunks, total), what, shown);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    return { ok: false, code, message: `${what} ${shown} cannot be read (${code})`, fix: "check the path" };
  } finally {
    closeSync(fd);
  }
}

/**
 * A file path for a message: unprintable characters replaced and, past 100 characters, its
 * end kept (the file name is the part a person needs).
 */
export function shortPath(file: string): string {
  const clean = printable(file);
  return clean.length > 100 ? `…${clean.slice(-99)}` : clean;
}

/**
 * Turns bytes into text when they are UTF-8 text, else says what they are. Exported for the
 * tests and for callers that already hold bytes.
 */
export function decodeText(bytes: Uint8Array, what: string, shown: string): InputText {
  const fail = (code: string, message: string, fix: string): InputText => ({ ok: false, code, message: `${what} ${shown} ${message}`, fix });
  const saveAsUtf8 = "save it as UTF-8 (in a spreadsheet: 'CSV UTF-8'; in an editor: encoding UTF-8)";
  const b = bytes;
  // Byte-order marks (Unicode 15, 23.8 "Specials", table 23-5); UTF-32 LE starts like UTF-16 LE, so test it first.
  if (b[0] === 0xff && b[1] === 0xfe && b[2] === 0x00 && b[3] === 0x00) return fail("UTF32", "is UTF-32 text (byte-order mark FF FE 00 00), not UTF-8", saveAsUtf8);
  if (b[0] === 0x00 && b[1] === 0x00 && b[2] === 0xfe && b[3] === 0xff) return fail("UTF32", "is UTF-32 text (byte-order mark 00 00 FE FF), not UTF-8", saveAsUtf8);
  if (b[0] === 0xff && b[1] === 0xfe) return fail("UTF16", "is UTF-16 text (byte-order mark FF FE, little-endian), not UTF-8", saveAsUtf8);
  if (b[0] === 0xfe && b[1] === 0xff) return fail("UTF16", "is UTF-16 text (byte-order mark FE FF, big-endian), not UTF-8", saveAsUtf8);
  const nul = b.indexOf(0);
  if (nul >= 0) {
    // UTF-16 without a mark: ASCII text has a NUL in every other byte.
    let even = 0;
    let odd = 0;
    const n = Math.min(b.length, 4096);
    for (let i = 0; i < n; i++) if (b[i] === 0) (i % 2 === 0 ? even++ : odd++);
    if (Math.max(even, odd) >= n / 4 && Math.min(even, odd) <= n / 64) {
      return fail("UTF16", "looks like UTF-16 text without a byte-order mark (every other byte is 0), not UTF-8", saveAsUtf8);
    }
    return fail("BINARY", `is binary, not text (a NUL byte at line ${lineAt(b, nul)}); nothing of it is shown`, "check the path: it must name a text file");
  }
  const bad = firstInvalidUtf8(b);
  if (bad >= 0) {
    return fail("NOT_UTF8", `is not UTF-8 text (byte 0x${b[bad]!.toString(16).toUpperCase().padStart(2, "0")} at line ${lineAt(b, bad)} is not valid UTF-8, e.g. Latin-1 or Windows-1252)`, saveAsUtf8);
  }
  const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8");
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  if (PRIVATE_KEY.test(body)) {
    return fail(
      "PRIVATE_KEY",
      `is a private key, not ${/^[aeiou]/.test(what) ? "an" : "a"} ${what}; nothing of it is shown`,
      `check the path (it must name the ${what}); an SSH key belongs in the stack's secrets: pulumi config set --secret mine2hpc:sshPrivateKey < KEYFILE`,
    );
  }
  return { ok: true, text: body };
}

/** PEM private keys (RFC 7468 labels: PRIVATE KEY, RSA/EC/DSA/OPENSSH/ENCRYPTED PRIVATE KEY) and PuTTY key files. */
const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|^PuTTY-User-Key-File-\d+:/m;

function lineAt(b: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (b[i] === 0x0a) line++;
  return line;
}

/** Offset of the first byte that breaks UTF-8 (RFC 3629 section 4: no overlongs, no surrogates, ≤ U+10FFFF), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let len: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k < len; k++) {
      const d = b[i + k];
      if (d === undefined) return i;
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return i;
    }
    i += len;
  }
  return -1;
}

// ---- excerpts ---------------------------------------------------------------------------

/**
 * Words and shapes of credentials: a value matching one is never quoted. Deliberately broad
 * (a hidden harmless value costs a person a look at the file; a shown token costs a rotation).
 */
const SECRET_SHAPES: readonly RegExp[] = [
  /-----BEGIN|PRIVATE KEY|PuTTY-User-Key/i,
  /passw|passphrase|secret|token|api[-_ ]?key|credential|bearer|authorization|private|session|cookie|signature/i,
  // A URL with user info (scheme://user:password@host).
  /\/\/[^/\s@]*@/,
  // k3s join tokens: K10<hash>::<user>:<password>.
  /K10[0-9a-f]{16,}::/i,
  // key=value or key: value where the key names a credential, in any spelling (ACCESS_KEY_ID=).
  /(pw|pwd|pass|key|auth|otp)(_?id)?\s*[:=]/i,
  // An environment assignment (env files, /proc/*/environ): NAME=value.
  /(^|\s)[A-Z][A-Z0-9_]*=\S/,
  // AWS access key ids.
  /\b(AKIA|ASIA)[0-9A-Z]{16}\b/,
  // Long unbroken base64 / hex runs (keys, tokens, hashes; hex MD5 is 32).
  /[A-Za-z0-9+/]{32,}/,
  // JSON Web Tokens.
  /\beyJ[A-Za-z0-9_-]{8,}\./,
];

/** True when `text` looks like (or contains) a credential; such text is never quoted. */
export function looksSecret(text: string): boolean {
  // Also with unprintable characters taken out: 'pass\u0000word=…' must not slip through.
  const joined = text.replace(UNPRINTABLE, "");
  if (SECRET_SHAPES.some((re) => re.test(text) || re.test(joined))) return true;
  // base64url tokens: a long run of mixed case and digits ('-' and '_' alone make a long name, not a token).
  return (joined.match(/[A-Za-z0-9_-]{40,}/g) ?? []).some((run) => /[a-z]/.test(run) && /[A-Z]/.test(run) && /\d/.test(run));
}

/**
 * Control characters (C0, DEL, C1), zero-width and bidirectional controls (which can make a
 * terminal or a CI log show other text than was read), line and paragraph separators.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** `text` with every unprintable character replaced by `?`. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, "?");
}

/**
 * A short, safe quotation of user text for a message: unprintable characters replaced, at
 * most {@link EXCERPT_MAX} characters, and a placeholder instead of anything that looks
 * like a credential. Not quoted; callers add quotes.
 */
export function excerpt(text: string, max: number = EXCERPT_MAX): string {
  if (looksSecret(text)) return "(not shown: looks like a secret)";
  const clean = printable(text);
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** `'<excerpt>'`, or the placeholder unquoted when the text is hidden. */
export function quoted(text: string, max: number = EXCERPT_MAX): string {
  const e = excerpt(text, max);
  return e.startsWith("(not shown") ? e : `'${e}'`;
}

/**
 * A parser's message fit to print: its first line, unprintable characters replaced, at most
 * 100 characters. Parsers quote the source in some messages (the \`yaml\` package's
 * \`Unresolved tag: !…\` and \`Block scalar header includes extra characters: …\`); a message
 * that looks like it quotes a credential is replaced by the parser's error code.
 */
export function parserMessage(message: string, code: string): string {
  const line = (message.split("\n")[0] ?? "").trim();
  if (looksSecret(line)) return `${code} (the message quotes the file and is not shown)`;
  const clean = printable(line);
  return clean.length > 100 ? `${clean.slice(0, 99)}…` : clean;
}

// ---- paths ------------------------------------------------------------------------------

/**
 * Resolves `relPath` against `root` and checks that the result, after following symbolic
 * links, stays inside `root`. Returns the resolved path, or `undefined` when it leaves the
 * folder (`../secrets.csv`, `/proc/self/environ`, a link to `/etc`). A path that does not
 * exist is judged by its text (the read reports it missing).
 */
export function confinedPath(root: string, relPath: string): string | undefined {
  const resolved = path.resolve(root, relPath);
  const realRoot = realOr(root);
  const real = realOr(resolved);
  const rel = path.relative(realRoot, real);
  if (rel === "" || rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return undefined;
  // Keep a relative root relative: messages show paths as the person wrote them.
  return path.isAbsolute(relPath) ? resolved : path.join(root, relPath);
}

function realOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    // The file may not exist yet: resolve its nearest existing parent, keep the rest as written.
    const parent = path.dirname(p);
    return parent === p ? p : path.join(realOr(parent), path.basename(p));
  }
}
