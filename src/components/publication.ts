/**
 * The agents' bootstrap files (render/agent-files.ts) travel to the first server as one archive
 * that Pulumi's state names but does not hold: a `FileAsset` is kept in the checkpoint as its
 * path and sha256 (pulumi sdk/go/common/resource/asset/asset.go: `Asset{Sig, Hash, Text, Path,
 * URI}`, and a file asset serializes only `hash` and `path`), whereas a command's input or STDIN
 * is kept in full twice (input and output). At 5,000 agents the files gzip to ~110 B per host:
 * ~300 B per machine in state if they went through a command, none this way.
 *
 * The archive is a POSIX ustar (IEEE Std 1003.1-2017, pax "ustar Interchange Format") written
 * here, byte for byte the same for the same files (mtime 0, uid/gid 0, mode 0644, names sorted),
 * gzip-compressed (RFC 1952; zlib at level 9 with no name and mtime 0). GNU tar reads it.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { PublishedFile } from "../render/agent-files.js";

const BLOCK = 512;

/** One ustar header block for a regular file. Names are at most 100 bytes (no prefix field used). */
function ustarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const nameBytes = Buffer.from(name, "utf8");
  if (nameBytes.length > 100 || name.includes("/") || name === "" || name.startsWith(".")) {
    throw new Error(`published file name '${name}' must be a plain name of at most 100 bytes`);
  }
  nameBytes.copy(h, 0);
  const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, "0") + "\0";
  h.write(octal(0o644, 8), 100, "ascii"); // mode
  h.write(octal(0, 8), 108, "ascii"); // uid
  h.write(octal(0, 8), 116, "ascii"); // gid
  h.write(octal(size, 12), 124, "ascii"); // size
  h.write(octal(0, 12), 136, "ascii"); // mtime
  h.write("        ", 148, "ascii"); // chksum: spaces while summing
  h.write("0", 156, "ascii"); // typeflag: regular file
  h.write("ustar\0", 257, "ascii"); // magic
  h.write("00", 263, "ascii"); // version
  h.write("root", 265, "ascii"); // uname
  h.write("root", 297, "ascii"); // gname
  let sum = 0;
  for (const b of h) sum += b;
  // chksum: six octal digits, NUL, space (the form GNU tar and the standard write).
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
  return h;
}

/** The files as an uncompressed ustar archive (two zero blocks at the end). */
export function ustarArchive(files: readonly PublishedFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const body = Buffer.from(f.text, "utf8");
    parts.push(ustarHeader(f.name, body.length), body);
    const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(2 * BLOCK, 0));
  return Buffer.concat(parts);
}

/** A written publication archive: where, and the sha256 of the tar inside (what the server checks). */
export interface PublicationArchive {
  /** Path of the `.tar.gz`, relative to the program's working directory when `dir` was relative. */
  path: string;
  /**
   * sha256 hex of the uncompressed tar: fixed by the files alone (gzip's bytes may differ between
   * zlib versions), so the path and the commands that name it do not change with the Node version.
   */
  sha256: string;
  /** Bytes of the `.tar.gz`. */
  bytes: number;
}

/** Where the program writes publication archives: `MINE2HPC_PUBLISH_DIR`, else `.mine2hpc/publish` (relative to the program's directory). */
export function publicationDir(): string {
  return process.env["MINE2HPC_PUBLISH_DIR"] ?? path.join(".mine2hpc", "publish");
}

/**
 * Writes the files as `<dir>/<sha256 of the tar>.tar.gz` (content-addressed: the same files give
 * the same path, so the asset's path only changes with the content) unless it exists already.
 */
export function writePublicationArchive(files: readonly PublishedFile[], dir: string = publicationDir()): PublicationArchive {
  const tar = ustarArchive(files);
  const sha256 = createHash("sha256").update(tar).digest("hex");
  const gz = gzipSync(tar, { level: 9 });
  const file = path.join(dir, `${sha256}.tar.gz`);
  // An existing file of this name holds these files (the name is their tar's sha256): kept as it is.
  if (!existsSync(file) || !gunzipSync(readFileSync(file)).equals(tar)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, gz);
  }
  return { path: file, sha256, bytes: gz.length };
}
