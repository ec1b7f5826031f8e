/**
 * Structured logs of the runtime programs: one JSON object per line
 * (`{"time":"…","level":"info","msg":"…",…fields}`), so `kubectl logs` reads and log shippers parse
 * them without a pattern. Never pass a token, password or kubeconfig as a field.
 */
import type { Writable } from "node:stream";

/** Log levels, in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** A logger bound to a stream and base fields (e.g. the node name). */
export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A {@link Logger} writing JSON lines to `out`; `now` is injectable for tests. */
export function jsonLogger(out: Pick<Writable, "write">, base: Record<string, unknown> = {}, now: () => Date = () => new Date()): Logger {
  const log = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    out.write(`${JSON.stringify({ time: now().toISOString(), level, msg, ...base, ...fields })}\n`);
  };
  return {
    log,
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
  };
}
