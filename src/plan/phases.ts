/**
 * Phase balance of three-phase circuits.
 *
 * A three-phase circuit's usable power (V × A × √3 × derating) assumes its load is spread
 * evenly over L1, L2 and L3. It never is exactly: a machine plugs its PSU cords into
 * outlets, and on a wye PDU (line-to-neutral outlets, the usual 415/240 V or 400/230 V
 * rack PDU — the assumption this module makes) every outlet sits on one phase. Four
 * single-cord servers on one PDU put two servers on one phase: that phase carries half the
 * load against a third of the budget. Each phase's breaker pole trips on its own current,
 * so the planner keeps every phase within V / √3 × A × derating.
 *
 * The phase of each cord is decided here, from the loads, as an operator would wire it:
 * longest-processing-time-first (LPT) — cords by load, largest first, each onto the
 * least-loaded phase. A machine's cords go to different phases as far as its cord count
 * allows (at most ⌈cords / 3⌉ on one phase; so ≤ 3 cords land on distinct phases), since
 * redundant PSUs on one phase would all fail together and skew the balance.
 */
import type { PcieLink } from "../site/schema.js";
import { cmpStr } from "./allocate.js";

/** Phase names as printed on PDUs and in the plan. */
export const PHASE_NAMES = ["L1", "L2", "L3"] as const;

/** One phase of a three-phase circuit. */
export type PhaseName = (typeof PHASE_NAMES)[number];

/**
 * PSU cords a machine spreads its load over when the site does not say (`powerCords`).
 *
 * Why these numbers: an ASIC miner has one PSU with one cord; an x1 riser rig is built
 * around one ATX or server PSU; rack servers ship with a redundant 1+1 pair; an HGX (SXM)
 * system has six PSUs (typically 3+3 or 4+2), and redundant PSUs share the load evenly.
 *
 * @param role        machine role from the site file
 * @param pcieLink    PCIe link of its GPUs (`x1` marks a riser rig)
 * @param formFactor  GPU form factor from the catalog (`sxm` marks an HGX system)
 */
export function defaultPowerCords(role: "control-plane" | "gpu" | "cpu" | "asic", pcieLink: PcieLink | undefined, formFactor: "pcie" | "sxm" | undefined): number {
  if (role === "asic") return 1;
  if (role === "gpu" && pcieLink === "x1") return 1;
  if (role === "gpu" && formFactor === "sxm") return 6;
  return 2;
}

/** A machine on a three-phase circuit, as the phase assignment sees it. */
export interface PhaseMachine {
  /** Tie-breaker between cords of equal load: the hostname that sorts first goes first. */
  hostname: string;
  /** Wall draw of the whole machine, in W; each cord carries wallWatts / cords. */
  wallWatts: number;
  /** PSU cords, ≥ 1. */
  cords: number;
}

/** Where each cord of a circuit's machines goes, and the resulting load per phase. */
export interface PhaseAssignment {
  /** Load of L1, L2, L3, in W (unrounded). */
  phaseWatts: [number, number, number];
  /** Per machine (input order), per cord (cord index order): phase index 0..2. */
  cordPhases: number[][];
}

/**
 * Assigns every cord of one three-phase circuit's machines to a phase by LPT: cords in
 * descending load (ties: hostname, then cord index), each onto the least-loaded phase
 * that its machine may still use (ties: the lowest phase number). A machine uses each
 * phase for at most ⌈cords / 3⌉ of its cords, so up to three cords land on distinct
 * phases. Deterministic for a given input.
 */
export function assignPhases(machines: readonly PhaseMachine[]): PhaseAssignment {
  const cordMachine: number[] = [];
  const cordIndex: number[] = [];
  const cordWatts: number[] = [];
  machines.forEach((m, i) => {
    for (let k = 0; k < m.cords; k++) {
      cordMachine.push(i);
      cordIndex.push(k);
      cordWatts.push(m.wallWatts / m.cords);
    }
  });
  const order = cordMachine.map((_, j) => j);
  order.sort((a, b) => {
    const d = cordWatts[b]! - cordWatts[a]!;
    if (d !== 0) return d;
    const h = cmpStr(machines[cordMachine[a]!]!.hostname, machines[cordMachine[b]!]!.hostname);
    if (h !== 0) return h;
    // Equal hostnames are distinct machines only in malformed input; keep input order then.
    if (cordMachine[a] !== cordMachine[b]) return cordMachine[a]! - cordMachine[b]!;
    return cordIndex[a]! - cordIndex[b]!;
  });

  const phaseWatts: [number, number, number] = [0, 0, 0];
  const cordPhases = machines.map((m) => new Array<number>(m.cords).fill(0));
  const used = machines.map(() => [0, 0, 0]);
  for (const j of order) {
    const i = cordMachine[j]!;
    const limit = Math.ceil(machines[i]!.cords / 3);
    let best = -1;
    for (let p = 0; p < 3; p++) {
      if (used[i]![p]! >= limit) continue;
      if (best < 0 || phaseWatts[p]! < phaseWatts[best]!) best = p;
    }
    // ⌈cords / 3⌉ × 3 ≥ cords, so some phase is always still open.
    phaseWatts[best]! += cordWatts[j]!;
    used[i]![best]! += 1;
    cordPhases[i]![cordIndex[j]!] = best;
  }
  return { phaseWatts, cordPhases };
}

/** Index (0..2) of the most loaded phase; ties go to the lowest phase number. */
export function heaviestPhase(phaseWatts: readonly [number, number, number]): number {
  let best = 0;
  for (let p = 1; p < 3; p++) if (phaseWatts[p]! > phaseWatts[best]!) best = p;
  return best;
}

/**
 * Share of a machine's draw on L1, L2, L3 for the given cord phases (cords on the phase /
 * cords): a machine loads each cord equally.
 */
export function phaseShare(cordPhases: readonly number[]): [number, number, number] {
  const share: [number, number, number] = [0, 0, 0];
  for (const p of cordPhases) share[p]! += 1 / cordPhases.length;
  return share;
}

/**
 * {@link phaseShare}, one shared array per cord pattern: a site has thousands of machines and
 * a handful of patterns, and the allocators compare shares by identity first. Patterns of
 * more than 20 cords (beyond the exact integer range of the key) are computed each time.
 */
export function phaseShareMemo(): (cordPhases: readonly number[]) => readonly [number, number, number] {
  const memo = new Map<number, [number, number, number]>();
  return (cordPhases) => {
    if (cordPhases.length > 20) return phaseShare(cordPhases);
    // Base 4 with digits 1..3: distinct patterns (order included) get distinct keys.
    let key = 0;
    for (const p of cordPhases) key = key * 4 + p + 1;
    let share = memo.get(key);
    if (!share) memo.set(key, (share = phaseShare(cordPhases)));
    return share;
  };
}

/** Load of L1, L2, L3 for machines with the given wall draws and cord phases, in W (unrounded). */
export function loadPhases(wallWatts: readonly number[], cordPhases: readonly (readonly number[])[]): [number, number, number] {
  const phaseWatts: [number, number, number] = [0, 0, 0];
  wallWatts.forEach((w, i) => {
    const cords = cordPhases[i]!;
    for (const p of cords) phaseWatts[p]! += w / cords.length;
  });
  return phaseWatts;
}
