/**
 * Why power is stranded: for every feed and circuit that leaves usable watts unused, the
 * limits that stop its machines from drawing more, with the figures, derived from the plan.
 *
 * How the planner leaves power unused (src/plan/exact.ts, `handOutLeftover`): after the
 * optimal caps are rounded down to whole watts, it raises caps one watt at a time while
 * the next watt fits its circuit, every phase its cords load, and its feed; every catalog
 * curve rises up to the GPU's max power limit (src/site/catalog.ts), so a GPU below that
 * limit stops only where one more watt of cap does not fit. One more watt of cap costs
 * `gpu.count / psuEfficiency` wall watts (`nodeWallWatts`, src/plan/power.ts), shared over
 * the phases by its cords. Hence for each GPU node of the plan, exactly one of:
 * - it is at its max power limit (`gpu.capWatts === gpu.maxWatts`), or
 * - one more watt buys no throughput (the catalog curve is flat above its cap: the planner
 *   leaves such watts unused on purpose), or
 * - some limit it loads has less room than that next watt: its feed (IT watts: capacity /
 *   PUE − IT load), a phase its cords sit on (phase budget − phase load, the watt times the
 *   node's share of cords on it), or its single-phase circuit (usable − load).
 * The plan shows loads and budgets rounded to whole watts, so "less room" is tested with
 * {@link ROUNDING_WATTS} of slack: a limit named here has at most that much more room than
 * the exact one the planner hit, and the planner's own limit is always among those named.
 *
 * Machines that are not GPU nodes (ASIC miners, CPU and control-plane nodes) draw a fixed
 * load: the plan never caps them, so watts they leave on a circuit stay unused.
 */
import { cmpStr } from "../plan/allocate.js";
import { PHASE_NAMES } from "../plan/phases.js";
import { formatWatts } from "../plan/power.js";
import type { GpuSpec } from "../site/catalog.js";
import { findGpu, relativeThroughput, withMaxWatts } from "../site/catalog.js";
import { kw, plural } from "./format.js";
import type { CircuitLoad, FarmPlan, FeedLoad, PhaseName, PlannedNode } from "../plan/types.js";

/**
 * Slack for "less room than the next watt", in W: the plan rounds each load and budget to
 * whole watts (±0.5 W each), so a room computed from two of them is within 1 W of the exact one.
 */
export const ROUNDING_WATTS = 1;

/** A GPU node that could draw more (below its max power limit) but stops at a limit. */
export interface BlockedNode {
  hostname: string;
  /** Wall watts one more watt of GPU cap costs: GPU count / PSU efficiency. */
  stepWatts: number;
}

/** One reason a circuit's usable watts stay unused. */
export type StrandedCause =
  /** The circuit carries no machine. */
  | { kind: "empty" }
  /** Only fixed load (ASIC miners, CPU and control-plane nodes): nothing on it is capped. */
  | { kind: "fixed-load"; asicWatts: number; otherWatts: number; asics: number; others: number }
  /** These GPU nodes are at their max power limit. */
  | { kind: "gpus-at-max"; hostnames: string[]; gpus: number }
  /** Above these nodes' caps the catalog's throughput curve is flat: more watts buy nothing. */
  | { kind: "no-gain"; hostnames: string[] }
  /** The feed has less IT room than the next watt of these nodes. */
  | { kind: "feed-full"; feed: string; itRoomWatts: number; nodes: BlockedNode[] }
  /** A phase has less room than these nodes' next watt on it (they have a cord on it). */
  | { kind: "phase-binds"; phase: PhaseName; loadWatts: number; budgetWatts: number; nodes: BlockedNode[] }
  /** The single-phase circuit has less room than these nodes' next watt. */
  | { kind: "circuit-full"; roomWatts: number; nodes: BlockedNode[] }
  /** A node below its max that no limit in the plan's figures explains (a plan not made by planFarm). */
  | { kind: "unexplained"; nodes: BlockedNode[] };

/** Why one circuit leaves power unused. */
export interface CircuitStranded {
  circuit: string;
  feed: string;
  /** Usable minus load, W (the plan's `strandedWatts`). */
  strandedWatts: number;
  /** Unused watts per phase (budget − load), W; null on single-phase circuits. */
  phaseRoomWatts: [number, number, number] | null;
  causes: StrandedCause[];
}

/** Why one feed leaves power unused. */
export interface FeedStranded {
  feed: string;
  /** Capacity minus facility load, W (the plan's `strandedWatts`). */
  strandedWatts: number;
  /** The feed's capacity, facility W. */
  capacityWatts: number;
  /** Σ usable watts of its circuits, W. */
  usableWatts: number;
  /**
   * Facility watts the feed could deliver beyond what its circuits can carry at all:
   * capacity − Σ usable × PUE (0 when the circuits could use the whole feed).
   */
  beyondCircuitsWatts: number;
  /** Facility watts left unused on its circuits: Σ circuit stranded × PUE. */
  onCircuitsWatts: number;
  /** IT watts the feed could still carry: capacity / PUE − IT load. */
  itRoomWatts: number;
  /** Whether some GPU node on the feed stops because the feed has no room for its next watt. */
  full: boolean;
  /** Circuits of the feed with unused power, by the kinds of their causes. */
  circuits: CircuitStranded[];
}

/** Every feed and circuit with unused power, in plan order, with its causes. */
export interface StrandedExplanation {
  feeds: FeedStranded[];
  circuits: CircuitStranded[];
}

/** Where the explanation looks up GPU curves: the planner's catalog (tests pass theirs). */
export interface StrandedOptions {
  /** @default the built-in hardware catalog's `findGpu` (the report passes the site's: `siteFacts`) */
  findGpu?: (model: string) => GpuSpec | undefined;
}

/** Wall watts one more watt of cap costs on a GPU node. */
function stepOf(n: PlannedNode): number {
  return n.gpu!.count / n.psuEfficiency;
}

/** Share of the node's draw on each phase: cords on it / cords (the planner's `phaseShare`). */
function shareOf(n: PlannedNode): [number, number, number] | null {
  if (!n.phases || n.phases.length === 0) return null;
  const share: [number, number, number] = [0, 0, 0];
  for (const p of n.phases) share[PHASE_NAMES.indexOf(p)]! += 1 / n.phases.length;
  return share;
}

function feedItRoom(f: FeedLoad, pue: number): number {
  return f.capacityWatts / pue - f.itWatts;
}

/**
 * Whether one more watt of cap buys throughput on this node (`handOutLeftover`'s gain > 0); true
 * when the model is unknown. The curve is the one the planner used: the model's, cut or extended
 * at the node's max (a machine's `gpuMaxWatts`, as `resolve` does), else a board allowed past the
 * model's max reads as flat there.
 */
function gains(n: PlannedNode, gpuOf: (model: string) => GpuSpec | undefined): boolean {
  const model = gpuOf(n.gpu!.model);
  if (!model) return true;
  const spec = n.gpu!.maxFromMachine ? withMaxWatts(model, n.gpu!.maxWatts) : model;
  return relativeThroughput(spec, n.gpu!.capWatts + 1) > relativeThroughput(spec, n.gpu!.capWatts);
}

function explainCircuit(
  c: CircuitLoad,
  nodes: readonly PlannedNode[],
  asicCount: number,
  feed: FeedLoad | undefined,
  pue: number,
  gpuOf: (model: string) => GpuSpec | undefined,
): CircuitStranded {
  const phaseRoom =
    c.phaseWatts && c.phaseBudgetWatts !== null
      ? (c.phaseWatts.map((w) => c.phaseBudgetWatts! - w) as [number, number, number])
      : null;
  const out: CircuitStranded = { circuit: c.id, feed: c.feed, strandedWatts: c.strandedWatts, phaseRoomWatts: phaseRoom, causes: [] };
  if (c.machines.length === 0) {
    out.causes.push({ kind: "empty" });
    return out;
  }
  const gpuNodes = nodes.filter((n) => n.gpu);
  if (gpuNodes.length === 0) {
    out.causes.push({ kind: "fixed-load", asicWatts: c.asicWatts, otherWatts: c.loadWatts - c.asicWatts, asics: asicCount, others: nodes.length });
    return out;
  }
  const atMax = gpuNodes.filter((n) => n.gpu!.capWatts >= n.gpu!.maxWatts);
  const itRoom = feed ? feedItRoom(feed, pue) : Number.POSITIVE_INFINITY;
  const feedBlocked: BlockedNode[] = [];
  const phaseBlocked: BlockedNode[][] = [[], [], []];
  const circuitBlocked: BlockedNode[] = [];
  const unexplained: BlockedNode[] = [];
  const noGain: string[] = [];
  for (const n of gpuNodes) {
    if (n.gpu!.capWatts >= n.gpu!.maxWatts) continue;
    if (!gains(n, gpuOf)) {
      noGain.push(n.hostname);
      continue;
    }
    const b: BlockedNode = { hostname: n.hostname, stepWatts: stepOf(n) };
    let blocked = false;
    if (itRoom < b.stepWatts + ROUNDING_WATTS) {
      feedBlocked.push(b);
      blocked = true;
    }
    const share = shareOf(n);
    if (phaseRoom && share) {
      for (let p = 0; p < 3; p++) {
        if (share[p]! > 0 && phaseRoom[p]! < b.stepWatts * share[p]! + ROUNDING_WATTS) {
          phaseBlocked[p]!.push(b);
          blocked = true;
        }
      }
    } else if (c.usableWatts - c.loadWatts < b.stepWatts + ROUNDING_WATTS) {
      circuitBlocked.push(b);
      blocked = true;
    }
    if (!blocked) unexplained.push(b);
  }
  if (atMax.length > 0) out.causes.push({ kind: "gpus-at-max", hostnames: atMax.map((n) => n.hostname), gpus: atMax.reduce((s, n) => s + n.gpu!.count, 0) });
  if (noGain.length > 0) out.causes.push({ kind: "no-gain", hostnames: noGain });
  if (feedBlocked.length > 0 && feed) out.causes.push({ kind: "feed-full", feed: feed.name, itRoomWatts: itRoom, nodes: feedBlocked });
  phaseBlocked.forEach((blocked, p) => {
    if (blocked.length > 0) out.causes.push({ kind: "phase-binds", phase: PHASE_NAMES[p]!, loadWatts: c.phaseWatts![p]!, budgetWatts: c.phaseBudgetWatts!, nodes: blocked });
  });
  if (circuitBlocked.length > 0) out.causes.push({ kind: "circuit-full", roomWatts: c.usableWatts - c.loadWatts, nodes: circuitBlocked });
  if (unexplained.length > 0) out.causes.push({ kind: "unexplained", nodes: unexplained });
  return out;
}

/**
 * Explains every feed and circuit of the plan whose stranded watts are above zero. Pure;
 * circuits in plan (site) order, hostnames sorted.
 */
export function explainStranded(plan: FarmPlan, options: StrandedOptions = {}): StrandedExplanation {
  const gpuOf = options.findGpu ?? findGpu;
  const nodesOn = new Map<string, PlannedNode[]>();
  for (const n of plan.nodes) {
    const list = nodesOn.get(n.circuit);
    if (list) list.push(n);
    else nodesOn.set(n.circuit, [n]);
  }
  for (const list of nodesOn.values()) list.sort((a, b) => cmpStr(a.hostname, b.hostname));
  const asicsOn = new Map<string, number>();
  for (const a of plan.asics) asicsOn.set(a.circuit, (asicsOn.get(a.circuit) ?? 0) + 1);
  const feedByName = new Map(plan.feeds.map((f) => [f.name, f]));
  const gpuOnFeed = new Map<string, PlannedNode[]>();
  for (const n of plan.nodes) {
    if (!n.gpu) continue;
    const list = gpuOnFeed.get(n.feed);
    if (list) list.push(n);
    else gpuOnFeed.set(n.feed, [n]);
  }
  const pue = plan.site.pue;

  const circuits = plan.circuits
    .filter((c) => c.strandedWatts > 0)
    .map((c) => explainCircuit(c, nodesOn.get(c.id) ?? [], asicsOn.get(c.id) ?? 0, feedByName.get(c.feed), pue, gpuOf));
  const feeds = plan.feeds
    .filter((f) => f.strandedWatts > 0)
    .map((f): FeedStranded => {
      const own = plan.circuits.filter((c) => c.feed === f.name);
      const usable = own.reduce((s, c) => s + c.usableWatts, 0);
      const stranded = own.reduce((s, c) => s + c.strandedWatts, 0);
      const explained = circuits.filter((c) => c.feed === f.name);
      return {
        feed: f.name,
        strandedWatts: f.strandedWatts,
        capacityWatts: f.capacityWatts,
        usableWatts: usable,
        beyondCircuitsWatts: Math.max(0, f.capacityWatts - usable * pue),
        onCircuitsWatts: stranded * pue,
        itRoomWatts: feedItRoom(f, pue),
        full: (gpuOnFeed.get(f.name) ?? []).some((n) => n.gpu!.capWatts < n.gpu!.maxWatts && gains(n, gpuOf) && feedItRoom(f, pue) < stepOf(n) + ROUNDING_WATTS),
        circuits: explained,
      };
    });
  return { feeds, circuits };
}

// ---- in words, for the report (raw text: the caller escapes it)

/** Whole watts with thousands separators (the plan's `formatWatts`). */
function w(watts: number): string {
  return formatWatts(watts);
}

/** `a, b, c and 2 more`: at most `shown` names. */
export function nameList(names: readonly string[], shown = 3): string {
  if (names.length <= shown) return names.join(", ");
  return `${names.slice(0, shown).join(", ")} and ${names.length - shown} more`;
}

/** The next watt of cap of the blocked nodes, in wall watts: one figure, or a range. */
function stepText(nodes: readonly BlockedNode[]): string {
  const steps = nodes.map((n) => n.stepWatts);
  const lo = Math.min(...steps);
  const hi = Math.max(...steps);
  const f = (x: number) => (Math.round(x * 10) / 10).toFixed(1);
  return lo === hi ? `${f(lo)} W` : `${f(lo)}–${f(hi)} W`;
}

/** One cause of a circuit's unused power, as a sentence fragment with its figures. */
export function describeCause(cause: StrandedCause, gpuNodes: number): string {
  switch (cause.kind) {
    case "empty":
      return "no machines on it";
    case "fixed-load": {
      const parts: string[] = [];
      if (cause.asics > 0) parts.push(`${plural(cause.asics, "ASIC miner")} at ${w(cause.asicWatts)} W`);
      if (cause.others > 0) parts.push(`${plural(cause.others, "CPU or control-plane node")} at ${w(cause.otherWatts)} W`);
      return `only fixed load, nothing on it is capped: ${parts.join(", ")}`;
    }
    case "gpus-at-max":
      return cause.hostnames.length === gpuNodes
        ? `every GPU at its max power limit (${plural(cause.gpus, "GPU")} on ${plural(cause.hostnames.length, "node")})`
        : `${plural(cause.hostnames.length, "GPU node")} at the max power limit (${nameList(cause.hostnames)})`;
    case "no-gain":
      return `more watts buy no throughput above the cap of ${plural(cause.hostnames.length, "GPU node")} (${nameList(cause.hostnames)}): the catalog's curve is flat there`;
    case "feed-full":
      return (
        `feed ${cause.feed} is full: ${w(Math.max(0, cause.itRoomWatts))} W of IT load left, less than the next watt of GPU cap needs ` +
        `(${stepText(cause.nodes)} at the wall) on ${plural(cause.nodes.length, "node")} (${nameList(cause.nodes.map((n) => n.hostname))})`
      );
    case "phase-binds":
      return (
        `phase ${cause.phase} binds: ${w(cause.loadWatts)} W of ${w(cause.budgetWatts)} W, no room for the next watt of GPU cap ` +
        `of the ${plural(cause.nodes.length, "node")} with a cord on it (${nameList(cause.nodes.map((n) => n.hostname))})`
      );
    case "circuit-full":
      return `the circuit is full: ${w(Math.max(0, cause.roomWatts))} W left, less than the next watt of GPU cap needs (${stepText(cause.nodes)} at the wall)`;
    case "unexplained":
      return (
        `${plural(cause.nodes.length, "GPU node")} below the max power limit with room on every limit in the plan's figures ` +
        `(${nameList(cause.nodes.map((n) => n.hostname))}): the plan is not the planner's output for this site`
      );
  }
}

/** `a`, `a and b`, `a, b and c`. */
function andList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** The binding phases of a circuit as one fragment: `phases L1 and L2 bind: 3,830 W and 3,830 W of 3,834 W each; …`. */
function describePhases(binds: readonly Extract<StrandedCause, { kind: "phase-binds" }>[]): string {
  if (binds.length === 1) return describeCause(binds[0]!, 0);
  const hosts = [...new Set(binds.flatMap((b) => b.nodes.map((n) => n.hostname)))].sort(cmpStr);
  return (
    `phases ${andList(binds.map((b) => b.phase))} bind: ${andList(binds.map((b) => `${w(b.loadWatts)} W`))} of ${w(binds[0]!.budgetWatts)} W each, ` +
    `no room for the next watt of GPU cap of the ${plural(hosts.length, "node")} with a cord on them (${nameList(hosts)})`
  );
}

/** Why a circuit leaves power unused, in one sentence (raw text); `gpuNodes` is the number of GPU nodes on it. */
export function describeCircuit(c: CircuitStranded, gpuNodes: number): string {
  const binds = c.causes.filter((k): k is Extract<StrandedCause, { kind: "phase-binds" }> => k.kind === "phase-binds");
  const parts: string[] = [];
  for (const k of c.causes) {
    if (k.kind !== "phase-binds") parts.push(describeCause(k, gpuNodes));
    else if (k === binds[0]) parts.push(describePhases(binds));
  }
  // On a three-phase circuit the unused watts sit on the phases that do not bind: say
  // where, since that is where an electrician can move load.
  const binding = new Set(binds.map((b) => b.phase));
  if (c.phaseRoomWatts && binding.size > 0) {
    const free = PHASE_NAMES.filter((p, i) => !binding.has(p) && c.phaseRoomWatts![i]! > 0);
    if (free.length > 0) {
      const room = andList(free.map((p) => `${w(c.phaseRoomWatts![PHASE_NAMES.indexOf(p)]!)} W on ${p}`));
      parts.push(`${room} unused: every GPU node that could use it also loads ${[...binding].join(" or ")}`);
    }
  }
  return parts.join("; ");
}

const KIND_WORDS: Record<StrandedCause["kind"], string> = {
  empty: "with no machines",
  "fixed-load": "with only fixed load",
  "gpus-at-max": "with GPUs at their max power limit",
  "no-gain": "where more watts buy no throughput",
  "feed-full": "where the feed is full",
  "phase-binds": "where a phase binds",
  "circuit-full": "full to the watt",
  unexplained: "not explained by the plan's figures",
};

/** Why a feed leaves power unused, in one sentence (raw text). */
export function describeFeed(f: FeedStranded, pue: number): string {
  const parts: string[] = [];
  if (f.full) parts.push(`the feed is full: ${w(Math.max(0, f.itRoomWatts))} W of IT load left, less than the next watt of GPU cap needs`);
  if (f.beyondCircuitsWatts > 0) {
    parts.push(
      `${kw(f.beyondCircuitsWatts)} kW more than its circuits can carry (${w(f.usableWatts)} W usable × PUE ${pue} = ${kw(f.usableWatts * pue)} kW of ${kw(f.capacityWatts)} kW)`,
    );
  }
  if (f.onCircuitsWatts > 0 && f.circuits.length > 0) {
    const byKind = new Map<StrandedCause["kind"], string[]>();
    for (const c of f.circuits) {
      for (const k of new Set(c.causes.map((x) => x.kind))) {
        const ids = byKind.get(k);
        if (ids) ids.push(c.circuit);
        else byKind.set(k, [c.circuit]);
      }
    }
    const groups = [...byKind].map(([k, ids]) => `${plural(ids.length, "circuit")} ${KIND_WORDS[k]} (${nameList(ids)})`);
    // Circuits rated above the feed (Σ usable × PUE > capacity) leave more unused than the
    // feed has left: say that no circuit can draw the feed's rest, then what they leave in all.
    const unused = `${kw(f.onCircuitsWatts / pue)} kW of IT load (${kw(f.onCircuitsWatts)} kW facility)`;
    parts.push(
      f.onCircuitsWatts > f.strandedWatts
        ? `no circuit can draw more: ${groups.join(", ")}; together they leave ${unused} unused, more than the feed has left, since they are rated above it`
        : `its circuits leave ${unused} unused: ${groups.join(", ")}`,
    );
  }
  return parts.join("; ");
}
