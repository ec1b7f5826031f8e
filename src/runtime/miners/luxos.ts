/**
 * LuxOS (LUXminer) driver: JSON over TCP 4028, cgminer-style, with LuxOS's session for
 * commands that change the miner.
 *
 * Wire format, from Luxor's API docs (docs.luxor.tech/firmware/api/…):
 * - `session` (luxminer/session): `{"command":"session"}` →
 *   `{"SESSION":[{"SessionID":""}],"STATUS":[{"Code":319,"Msg":"Session information","STATUS":"S",…}],"id":1}`
 *   ("ID of the active session, or "" if there is no active session").
 * - `logon` (luxminer/logon): `{"command":"logon"}` →
 *   `{"SESSION":[{"SessionID":"yJN2nlj1"}],"STATUS":[{"Code":316,"Msg":"Session created","STATUS":"S",…}],"id":1}`.
 *   "At max, only one session can exist at any given time" and "Sessions expire automatically
 *   after one minute" (api/sessions), so an active session is reused, as pyasic does
 *   (pyasic/rpc/luxminer.py `auth`: `session` first, then `logon`).
 * - `curtail` (luxminer/curtail): `{"command":"curtail","parameter":"<session_id>,sleep"}` →
 *   `{"CURTAIL":[{"Action":"sleep mode"}],"STATUS":[{"Code":335,"Msg":"Curtailment command sent","STATUS":"S",…}],"id":1}`;
 *   `…,wakeup` → `"Action":"wake up"`. "sleep: Puts the miner in sleep mode, turning off the
 *   hashboards and the power supply"; the state persists across a restart.
 * - `logoff` (api/sessions "Discarding a session"): `{"command":"logoff","parameter":"<session_id>"}`.
 * - read-back: `summary` → `SUMMARY[0]["GHS 5s"]` (cgminer summary; pyasic
 *   pyasic/miners/backends/luxminer.py `_get_hashrate`), `power` → `POWER[0]["Watts"]`
 *   (pyasic luxminer.py `_get_wattage`).
 *
 * LuxOS sessions are "not a security feature" (api/sessions): the driver needs no credential.
 */
import { cgminerCommand, num, runAction, runStatus, section } from "./cgminer.js";
import { RefusedError, type Limits } from "./net.js";
import type { CallOptions, MinerDriver, MinerResult, MinerTarget, Reading } from "./types.js";

/** The active session's id, or a new one. */
async function sessionId(m: MinerTarget, l: Limits): Promise<string> {
  const active = section(await cgminerCommand(m.host, m.port, "session", undefined, l), "SESSION")?.SessionID;
  if (typeof active === "string" && active !== "") return active;
  const created = section(await cgminerCommand(m.host, m.port, "logon", undefined, l), "SESSION")?.SessionID;
  if (typeof created !== "string" || created === "") throw new RefusedError("logon returned no SessionID (another tool may hold the miner's only session)");
  return created;
}

/** `curtail` sleep or wakeup under a session, then drop the session so the next tool can act. */
async function curtailCommand(m: MinerTarget, action: "sleep" | "wakeup", l: Limits): Promise<void> {
  const sid = await sessionId(m, l);
  await cgminerCommand(m.host, m.port, "curtail", `${sid},${action}`, l);
  // Best effort: the session also expires by itself after a minute.
  await cgminerCommand(m.host, m.port, "logoff", sid, l).catch(() => undefined);
}

/** Hashrate from `summary`, power from `power`. */
async function read(m: MinerTarget, l: Limits): Promise<Reading> {
  const summary = section(await cgminerCommand(m.host, m.port, "summary", undefined, l), "SUMMARY");
  const power = section(await cgminerCommand(m.host, m.port, "power", undefined, l), "POWER");
  return { hashrateGhs: num(summary, "GHS 5s"), powerWatts: num(power, "Watts"), sleeping: null };
}

/** The LuxOS driver. */
export const luxosDriver: MinerDriver = {
  name: "luxos",
  curtail(m: MinerTarget, _c, o: CallOptions): Promise<MinerResult> {
    return runAction(m, "curtail", o, { act: (l) => curtailCommand(m, "sleep", l), read: (l) => read(m, l) });
  },
  resume(m: MinerTarget, _c, o: CallOptions): Promise<MinerResult> {
    return runAction(m, "resume", o, { act: (l) => curtailCommand(m, "wakeup", l), read: (l) => read(m, l) });
  },
  status(m: MinerTarget, _c, o: CallOptions): Promise<MinerResult> {
    return runStatus(m, o, (l) => read(m, l));
  },
};
