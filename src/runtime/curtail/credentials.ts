/**
 * Miner API credentials: one file, from the `mine2hpc-miner-credentials` Secret in the
 * cluster (JSON, key {@link CREDENTIALS_KEY}) or `--credentials FILE` /
 * `MINE2HPC_MINER_CREDENTIALS` (the file's text, YAML or JSON) on an operator's machine:
 *
 * ```yaml
 * default: { user: root, password: "…" }          # any miner
 * byDriver: { whatsminer: { user: admin, password: "…" } }
 * byHost: { asic-0042: { user: root, password: "…" } }   # by the site's hostname
 * ```
 *
 * The most specific entry wins: byHost, then byDriver, then default. Error messages name
 * the file and the key, never a value.
 */
import type { DriverName, MinerCredential } from "../miners/types.js";
import { DRIVER_NAMES } from "../miners/types.js";

/** Parsed credentials. */
export interface MinerCredentials {
  default?: MinerCredential;
  byDriver: Partial<Record<DriverName, MinerCredential>>;
  byHost: Record<string, MinerCredential>;
}

/** Key of the file in the Secret, and the file name the jobs mount (JSON: the runtime bundle carries no YAML parser). */
export const CREDENTIALS_KEY = "credentials.json";

/** No credentials at all (LuxOS and webhooks need none). */
export const NO_CREDENTIALS: MinerCredentials = { byDriver: {}, byHost: {} };

/** The credential for one miner, most specific first. */
export function credentialFor(c: MinerCredentials, hostname: string, driver: DriverName): MinerCredential | undefined {
  return c.byHost[hostname] ?? c.byDriver[driver] ?? c.default;
}

function credential(v: unknown, path: string, problems: string[]): MinerCredential | undefined {
  const o = v as Record<string, unknown> | null;
  if (o === null || typeof o !== "object" || Array.isArray(o)) {
    problems.push(`${path}: expected { user, password }`);
    return undefined;
  }
  for (const k of Object.keys(o)) if (k !== "user" && k !== "password") problems.push(`${path}.${k}: unknown key (only user and password)`);
  if (typeof o.user !== "string" || o.user === "") problems.push(`${path}.user: expected a non-empty string`);
  if (typeof o.password !== "string") problems.push(`${path}.password: expected a string`);
  return typeof o.user === "string" && typeof o.password === "string" ? { user: o.user, password: o.password } : undefined;
}

/** Turns text into a value; throws with the line of the error (never an excerpt: it would show a value). */
export type TextParser = (text: string) => unknown;

/** JSON, the Secret's format: a syntax error reports its position only. */
export const parseJsonText: TextParser = (text) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error("not valid JSON");
  }
};

/**
 * Parses the credentials text with `parse` (JSON by default; the CLI passes a YAML parser);
 * all problems together, each with where and how to fix, and never a value from the file.
 */
export function parseCredentials(text: string, where: string, parse: TextParser = parseJsonText): MinerCredentials {
  let v: unknown;
  try {
    v = parse(text);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}.\n  fix: write it as { default: { user, password }, byDriver: { DRIVER: {…} }, byHost: { HOSTNAME: {…} } }.`);
  }
  const problems: string[] = [];
  const out: MinerCredentials = { byDriver: {}, byHost: {} };
  const o = v as Record<string, unknown> | null;
  if (o === null || typeof o !== "object" || Array.isArray(o)) problems.push("top level: expected a mapping with default, byDriver and/or byHost");
  else {
    for (const k of Object.keys(o)) if (!["default", "byDriver", "byHost"].includes(k)) problems.push(`${k}: unknown key (default, byDriver, byHost)`);
    if (o.default !== undefined) {
      const c = credential(o.default, "default", problems);
      if (c) out.default = c;
    }
    if (o.byDriver !== undefined) {
      const d = o.byDriver as Record<string, unknown>;
      if (d === null || typeof d !== "object") problems.push("byDriver: expected a mapping of driver → { user, password }");
      else
        for (const [k, val] of Object.entries(d)) {
          if (!(DRIVER_NAMES as readonly string[]).includes(k)) problems.push(`byDriver.${k}: unknown driver (${DRIVER_NAMES.join(", ")})`);
          const c = credential(val, `byDriver.${k}`, problems);
          if (c) out.byDriver[k as DriverName] = c;
        }
    }
    if (o.byHost !== undefined) {
      const h = o.byHost as Record<string, unknown>;
      if (h === null || typeof h !== "object") problems.push("byHost: expected a mapping of hostname → { user, password }");
      else
        for (const [k, val] of Object.entries(h)) {
          const c = credential(val, `byHost.${k}`, problems);
          if (c) out.byHost[k] = c;
        }
    }
  }
  if (problems.length > 0) throw new Error(`${where}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return out;
}
