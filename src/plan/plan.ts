/**
 * `planFarm(site)`: every decision about a site, made once, as plain data.
 *
 * Order of work: resolve each machine against the catalog and its circuit and feed;
 * check that every circuit, every phase of a three-phase circuit, and every feed carries
 * its load with GPUs at their minimum caps (else one SiteError listing every overloaded
 * circuit, phase and feed); wire the cords of three-phase circuits and choose the caps,
 * optimal for that wiring under every circuit, phase and feed budget (`exact.ts`, see
 * `allocateWithPhases`); then derive nodes, pools, queues, loads, curtailment and warnings.
 *
 * Three-phase circuits are taken as wye PDUs with line-to-neutral outlets: each PSU cord
 * loads one phase, and each phase may carry V / √3 × A × derating (`phases.ts`).
 */
import type { AsicSpec, GpuSpec } from "../site/catalog.js";
import { findAsic, findGpu } from "../site/catalog.js";
import type { Problem } from "../site/problems.js";
import { SiteError } from "../site/problems.js";
import type { Machine, MinerFirmware, PowerTier, SiteSpec } from "../site/schema.js";
import { allocateCaps, cmpStr, nodeThroughputTflops } from "./allocate.js";
import type { AllocCircuit, AllocFeed, AllocNode } from "./allocate.js";
import { curtailmentStages } from "./curtail.js";
import { allocateExact } from "./exact.js";
import { PHASE_NAMES, assignPhases, defaultPowerCords, heaviestPhase, loadPhases, phaseShare } from "./phases.js";
import type { PhaseAssignment } from "./phases.js";
import {
  DEFAULT_CPU_NODE_BASE_WATTS,
  WATTS_EPSILON,
  circuitFormula,
  circuitUsableWatts,
  formatWatts,
  phaseFormula,
  phaseUsableWatts,
  round1,
  roundWatts,
} from "./power.js";
import type {
  CircuitLoad,
  FarmPlan,
  FeedCurtailment,
  FeedLoad,
  MinerApi,
  MinerDriver,
  PlannedAsic,
  PlannedNode,
  PlannedPool,
  QueuePlan,
  RetiredMachine,
  Taint,
} from "./types.js";
import { LABELS } from "./types.js";

/** Where the planner looks up GPU and ASIC models; tests pass a fixed catalog so expected values do not move with catalog updates. */
export interface PlanCatalog {
  findGpu(name: string): GpuSpec | undefined;
  findAsic(name: string): AsicSpec | undefined;
}

export interface PlanOptions {
  /** @default the built-in hardware catalog (`src/site/catalog.ts`) */
  catalog?: PlanCatalog;
}

/** Tier order used for ClusterQueues (most reliable first). */
export const TIER_ORDER: readonly PowerTier[] = ["firm", "interruptible", "curtailable"];

/** A circuit loaded above this share of its usable watts gets a warning: PSU efficiency or base draw a few % off would trip it. */
export const CIRCUIT_WARN_FRACTION = 0.95;
/** At most this many circuits are named in the nearly-full warning. */
export const CIRCUIT_WARN_LIST = 10;

/** A pool whose lowest cap is below this share of TDP gets a warning: the site is short of power for it. */
export const LOW_CAP_WARN_FRACTION = 0.8;

/** Interconnect class of a GPU node: PCIe x1 risers cannot move training data fast enough, SXM boards have NVLink. */
export function interconnectOf(pcieLink: string | undefined, gpu: Pick<GpuSpec, "formFactor">): PlannedPool["interconnect"] {
  if (pcieLink === "x1") return "x1-riser";
  return gpu.formFactor === "sxm" ? "sxm" : "pcie";
}

/** Stable pool name: `<gpu-model>-<interconnect>-<tier>`; depends only on the node itself, so adding machines never renames a pool. */
export function poolName(gpuModel: string, interconnect: PlannedPool["interconnect"], tier: PowerTier): string {
  // `h100-sxm` on an SXM board is `h100-sxm-firm`, not `h100-sxm-sxm-firm`.
  const base = gpuModel.endsWith(`-${interconnect}`) ? gpuModel : `${gpuModel}-${interconnect}`;
  return `${base}-${tier}`;
}

/** The taint every non-control-plane node on a non-firm feed carries: only workloads that tolerate losing power land there. */
export function tierTaint(tier: PowerTier): Taint {
  return { key: LABELS.powerTier, value: tier, effect: "NoSchedule" };
}

/**
 * A Kubernetes label value from free text (racks are free text in the site file):
 * characters outside `[A-Za-z0-9._-]` become `-`, ends are trimmed to alphanumerics,
 * at most 63 characters.
 */
export function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]/g, "-")
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

interface Resolved {
  index: number;
  hostname: string;
  circuit: number;
  feed: number;
  tier: PowerTier;
  role: "control-plane" | "gpu" | "cpu" | "asic";
  gpu?: GpuSpec;
  gpuCount: number;
  asic?: AsicSpec;
  baseWatts: number;
  psuEfficiency: number;
  /** Wall W at minimum GPU caps (fixed for ASIC and CPU nodes). */
  minWallWatts: number;
  /** PSU cords the draw is split over (site `powerCords` or {@link defaultPowerCords}). */
  cords: number;
}

/**
 * Plans a validated site. Pure and deterministic: the same site gives a byte-identical
 * `JSON.stringify` of the plan.
 *
 * @throws SiteError when some circuit or feed cannot carry its machines even with every
 *   GPU at its minimum power limit (one problem per circuit and feed), or when a reference
 *   the validator should have caught does not resolve.
 */
export function planFarm(site: SiteSpec, options: PlanOptions = {}): FarmPlan {
  const catalog = memoCatalog(options.catalog ?? { findGpu, findAsic });
  const pue = site.power.pue;
  const feedIdx = new Map(site.power.feeds.map((f, i) => [f.name, i]));
  const circuitIdx = new Map(site.power.circuits.map((c, i) => [c.id, i]));
  const problems: Problem[] = [];

  // ---- resolve machines
  const resolved: Resolved[] = [];
  const retired: RetiredMachine[] = [];
  site.machines.forEach((m, index) => {
    // Retired machines leave the cluster and the power plan; they are listed for removal only.
    if (m.state === "retired") {
      retired.push({
        hostname: m.hostname,
        ip: m.ip,
        sshUser: m.sshUser ?? site.defaults.sshUser,
        k3sRole: m.role === "asic" ? "asic" : m.role === "control-plane" ? "server" : "agent",
        ...(m.sshHostKey !== undefined ? { sshHostKey: m.sshHostKey } : {}),
      });
      return;
    }
    const ci = circuitIdx.get(m.circuit);
    const fi = ci === undefined ? undefined : feedIdx.get(site.power.circuits[ci]!.feed);
    if (ci === undefined || fi === undefined) {
      problems.push({
        message: `machine ${m.hostname} is on circuit ${m.circuit}, which is not in power.circuits or has no known feed`,
        fix: "set circuit to the id of a circuit in power.circuits whose feed is in power.feeds",
        path: ["machines", index, "circuit"],
      });
      return;
    }
    const psuEfficiency = m.psuEfficiency ?? site.defaults.psuEfficiency;
    const gpuSpec = m.role === "gpu" && m.gpuModel !== undefined ? catalog.findGpu(m.gpuModel) : undefined;
    const cords = m.powerCords ?? defaultPowerCords(m.role, m.pcieLink, gpuSpec?.formFactor);
    const base = { index, hostname: m.hostname, circuit: ci, feed: fi, tier: site.power.feeds[fi]!.tier, psuEfficiency, cords };
    if (m.role === "asic") {
      const asic = m.asicModel === undefined ? undefined : catalog.findAsic(m.asicModel);
      if (!asic) {
        problems.push({ message: `ASIC machine ${m.hostname} has unknown model ${m.asicModel ?? "(none)"}`, fix: "set asicModel to a model from the hardware catalog", path: ["machines", index, "asicModel"] });
        return;
      }
      resolved.push({ ...base, role: "asic", asic, gpuCount: 0, baseWatts: 0, minWallWatts: asic.watts });
    } else if (m.role === "gpu") {
      const gpu = gpuSpec;
      const gpuCount = m.gpuCount ?? 0;
      if (!gpu || gpuCount < 1) {
        problems.push({ message: `GPU machine ${m.hostname} needs a catalog gpuModel and gpuCount ≥ 1`, fix: "set gpuModel to a model from the hardware catalog and gpuCount to the number of GPUs", path: ["machines", index, gpu ? "gpuCount" : "gpuModel"] });
        return;
      }
      const baseWatts = m.baseWatts ?? gpu.hostBaseWatts;
      resolved.push({ ...base, role: "gpu", gpu, gpuCount, baseWatts, minWallWatts: (baseWatts + gpuCount * gpu.minWatts) / psuEfficiency });
    } else {
      const baseWatts = m.baseWatts ?? DEFAULT_CPU_NODE_BASE_WATTS;
      resolved.push({ ...base, role: m.role, gpuCount: 0, baseWatts, minWallWatts: baseWatts / psuEfficiency });
    }
  });
  if (problems.length > 0) throw new SiteError(problems);

  // ---- budgets and the minimum-cap check
  const usable = site.power.circuits.map((c) => circuitUsableWatts(c));
  const circuitMin = site.power.circuits.map(() => 0);
  const circuitHosts: string[][] = site.power.circuits.map(() => []);
  for (const r of resolved) {
    circuitMin[r.circuit]! += r.minWallWatts;
    circuitHosts[r.circuit]!.push(r.hostname);
  }
  for (const hosts of circuitHosts) hosts.sort(cmpStr);
  const feedMinIt = site.power.feeds.map(() => 0);
  const feedCircuits: string[][] = site.power.feeds.map(() => []);
  site.power.circuits.forEach((c, ci) => {
    const fi = feedIdx.get(c.feed);
    if (fi === undefined) {
      problems.push({ message: `circuit ${c.id} is on feed ${c.feed}, which is not in power.feeds`, fix: "set feed to the name of a feed in power.feeds", path: ["power", "circuits", ci, "feed"] });
      return;
    }
    feedMinIt[fi]! += circuitMin[ci]!;
    feedCircuits[fi]!.push(c.id);
  });
  const phaseBudget = site.power.circuits.map((c) => phaseUsableWatts(c));
  const onCircuit: Resolved[][] = site.power.circuits.map(() => []);
  for (const r of resolved) onCircuit[r.circuit]!.push(r);
  /** Phase assignment of a three-phase circuit's cords for the given machine draws (null for single-phase). */
  const phasesOf = (ci: number, wallOf: (r: Resolved) => number): PhaseAssignment | null =>
    phaseBudget[ci] === null ? null : assignPhases(onCircuit[ci]!.map((r) => ({ hostname: r.hostname, wallWatts: wallOf(r), cords: r.cords })));
  site.power.circuits.forEach((c, ci) => {
    const load = circuitMin[ci]!;
    const budget = usable[ci]!;
    if (load > budget + WATTS_EPSILON) {
      problems.push({
        message:
          `circuit ${c.id} needs ${formatWatts(load)} W at minimum GPU caps but can deliver ${formatWatts(budget)} W (${circuitFormula(c)}): ` +
          `${formatWatts(Math.max(1, load - budget))} W over; machines: ${circuitHosts[ci]!.join(", ")}`,
        fix: "move some of these machines to a circuit with headroom, remove GPUs from them, or raise the breaker rating (amps) if the wiring allows it",
        path: ["power", "circuits", ci],
      });
      return;
    }
    // The total fits; the cords still land on single phases, and each phase has its own budget.
    const atMin = phasesOf(ci, (r) => r.minWallWatts);
    const perPhase = phaseBudget[ci];
    if (atMin === null || perPhase === null || perPhase === undefined) return;
    const p = heaviestPhase(atMin.phaseWatts);
    const heavy = atMin.phaseWatts[p]!;
    if (heavy > perPhase + WATTS_EPSILON) {
      const hosts = onCircuit[ci]!.filter((_, i) => atMin.cordPhases[i]!.includes(p)).map((r) => r.hostname).sort(cmpStr);
      problems.push({
        message:
          `circuit ${c.id} needs ${formatWatts(heavy)} W on phase ${PHASE_NAMES[p]} at minimum GPU caps but one phase can deliver ${formatWatts(perPhase)} W (${phaseFormula(c)}): ` +
          `${formatWatts(Math.max(1, heavy - perPhase))} W over; phases L1/L2/L3 ${atMin.phaseWatts.map((w) => formatWatts(w)).join("/")} W with PSU cords spread largest first; ` +
          `machines on ${PHASE_NAMES[p]}: ${hosts.join(", ")}`,
        fix: "spread these machines over more circuits, put fewer machines on this PDU (a multiple of 3 PSU cords balances best), or use machines with more PSU cords (powerCords) so their load splits over the three phases",
        path: ["power", "circuits", ci],
      });
    }
  });
  site.power.feeds.forEach((f, fi) => {
    const facility = feedMinIt[fi]! * pue;
    const capacity = f.capacityKw * 1000;
    if (facility > capacity + WATTS_EPSILON) {
      problems.push({
        message:
          `feed ${f.name} needs ${formatWatts(facility)} W at minimum GPU caps (IT ${formatWatts(feedMinIt[fi]!)} W × PUE ${pue}) but its capacity is ${formatWatts(capacity)} W: ` +
          `${formatWatts(Math.max(1, facility - capacity))} W over; circuits: ${feedCircuits[fi]!.join(", ")}`,
        fix: "move machines to a circuit on another feed, remove GPUs or ASIC miners, or raise the feed's capacityKw if the utility contract allows it",
        path: ["power", "feeds", fi],
      });
    }
  });
  if (problems.length > 0) throw new SiteError(problems);

  // ---- caps
  const gpuNodes = resolved.filter((r) => r.role === "gpu");
  const allocCircuits: AllocCircuit[] = site.power.circuits.map((c, ci) => ({ feed: feedIdx.get(c.feed)!, usableWatts: usable[ci]!, minLoadWatts: circuitMin[ci]! }));
  const allocFeeds: AllocFeed[] = site.power.feeds.map((f, fi) => ({ itBudgetWatts: (f.capacityKw * 1000) / pue, minItWatts: feedMinIt[fi]! }));
  const allocNodes: AllocNode[] = gpuNodes.map((r) => ({ hostname: r.hostname, circuit: r.circuit, gpuCount: r.gpuCount, psuEfficiency: r.psuEfficiency, gpu: r.gpu! }));
  const { capOf, wall, circuitLoad, phaseLoads } = allocateWithPhases();
  const circuitAsic = site.power.circuits.map(() => 0);
  for (const r of resolved) if (r.role === "asic") circuitAsic[r.circuit]! += wall.get(r.index)!;

  /**
   * Caps such that every circuit, every phase and every feed stays within budget, at the
   * optimum (`exact.ts`): first the cords are wired, then the caps are chosen for that wiring.
   *
   * Wiring: the cords of each three-phase circuit go largest first onto the least-loaded
   * phase (`assignPhases`), for the draws the machines would have if only circuits and feeds
   * limited them (the laminar greedy of `allocateCaps`, a single pass) — the loads the caps
   * will be near, so the phases come out about even where it matters. If that wiring would
   * put a phase over its budget at minimum caps (possible in principle, since it balances
   * other loads), the circuit is wired for its minimum loads instead, which fit (checked
   * above). A wiring of sites without three-phase circuits is not needed, nor computed.
   */
  function allocateWithPhases(): {
    capOf: Map<number, number>;
    wall: Map<number, number>;
    circuitLoad: number[];
    phaseLoads: (PhaseAssignment | null)[];
  } {
    const threePhase = phaseBudget.some((b) => b !== null);
    let wiredAt: Map<number, number> | null = null;
    let relaxedExactCaps: number[] | undefined;
    if (threePhase) {
      const relaxed = allocateCaps({ nodes: allocNodes, circuits: allocCircuits, feeds: allocFeeds });
      relaxedExactCaps = relaxed.exactCapsWatts;
      wiredAt = new Map();
      gpuNodes.forEach((r, i) => wiredAt!.set(r.index, (r.baseWatts + r.gpuCount * relaxed.capsWatts[i]!) / r.psuEfficiency));
    }
    const drawAt = (r: Resolved): number => wiredAt?.get(r.index) ?? r.minWallWatts;
    const wiring: (number[][] | null)[] = site.power.circuits.map((_, ci) => {
      const perPhase = phaseBudget[ci];
      if (perPhase === null || perPhase === undefined) return null;
      const on = onCircuit[ci]!;
      const cordPhases = phasesOf(ci, drawAt)!.cordPhases;
      const atMin = loadPhases(on.map((r) => r.minWallWatts), cordPhases);
      return atMin.every((w) => w <= perPhase + WATTS_EPSILON) ? cordPhases : phasesOf(ci, (r) => r.minWallWatts)!.cordPhases;
    });
    const position = new Map<number, number>();
    for (const on of onCircuit) on.forEach((r, k) => position.set(r.index, k));
    const result = allocateExact({
      nodes: gpuNodes.map((r, i) => {
        const w = wiring[r.circuit];
        return { ...allocNodes[i]!, phaseShare: w ? phaseShare(w[position.get(r.index)!]!) : null };
      }),
      circuits: allocCircuits.map((c, ci) => {
        const w = wiring[ci];
        return {
          ...c,
          phaseBudgetWatts: w ? phaseBudget[ci]! : null,
          minPhaseWatts: w ? loadPhases(onCircuit[ci]!.map((r) => r.minWallWatts), w) : null,
        };
      }),
      feeds: allocFeeds,
      ...(relaxedExactCaps ? { relaxedExactCaps } : {}),
    });
    const caps = new Map<number, number>();
    gpuNodes.forEach((r, i) => caps.set(r.index, result.capsWatts[i]!));
    const draw = new Map<number, number>();
    const loads = site.power.circuits.map(() => 0);
    for (const r of resolved) {
      const w = r.role === "gpu" ? (r.baseWatts + r.gpuCount * caps.get(r.index)!) / r.psuEfficiency : r.minWallWatts;
      draw.set(r.index, w);
      loads[r.circuit]! += w;
    }
    const phases = wiring.map((w, ci): PhaseAssignment | null => (w ? { phaseWatts: loadPhases(onCircuit[ci]!.map((r) => draw.get(r.index)!), w), cordPhases: w } : null));
    return { capOf: caps, wall: draw, circuitLoad: loads, phaseLoads: phases };
  }
  const feedIt = site.power.feeds.map(() => 0);
  site.power.circuits.forEach((c, ci) => (feedIt[feedIdx.get(c.feed)!]! += circuitLoad[ci]!));

  // ---- pools
  interface PoolAcc {
    name: string;
    gpuModel: string;
    interconnect: PlannedPool["interconnect"];
    tier: PowerTier;
    nodes: Resolved[];
  }
  const poolAcc = new Map<string, PoolAcc>();
  const poolOfNode = new Map<number, PoolAcc>();
  for (const r of gpuNodes) {
    const m = site.machines[r.index]!;
    const interconnect = interconnectOf(m.pcieLink, r.gpu!);
    const name = poolName(r.gpu!.key, interconnect, r.tier);
    let acc = poolAcc.get(name);
    if (!acc) {
      acc = { name, gpuModel: r.gpu!.key, interconnect, tier: r.tier, nodes: [] };
      poolAcc.set(name, acc);
    }
    acc.nodes.push(r);
    poolOfNode.set(r.index, acc);
  }
  const replicasOf = (interconnect: PlannedPool["interconnect"]): number =>
    interconnect === "x1-riser" ? site.gpuOperator.timeSlicingReplicas : 1;
  const poolLabelCache = new Map<string, Record<string, string>>();
  const poolLabels = (p: PoolAcc): Record<string, string> => {
    const cached = poolLabelCache.get(p.name);
    if (cached) return cached;
    const labels: Record<string, string> = {
      [LABELS.pool]: p.name,
      [LABELS.powerTier]: p.tier,
      [LABELS.gpuModel]: p.gpuModel,
      [LABELS.workload]: p.interconnect === "x1-riser" ? "inference" : "training",
    };
    if (replicasOf(p.interconnect) > 1) labels[LABELS.devicePluginConfig] = p.name;
    const sorted = sortKeys(labels);
    poolLabelCache.set(p.name, sorted);
    return sorted;
  };

  // ---- nodes
  const positionOnCircuit = new Map<number, number>();
  for (const list of onCircuit) list.forEach((r, i) => positionOnCircuit.set(r.index, i));
  /** Phase of each cord of a machine on a three-phase circuit, as the final loads put them. */
  const phaseNamesOf = (r: Resolved): PlannedNode["phases"] => {
    const a = phaseLoads[r.circuit];
    return a ? a.cordPhases[positionOnCircuit.get(r.index)!]!.map((p) => PHASE_NAMES[p]!) : undefined;
  };
  const nodes: PlannedNode[] = [];
  const asics: PlannedAsic[] = [];
  for (const r of resolved) {
    const m = site.machines[r.index]!;
    const circuit = site.power.circuits[r.circuit]!;
    const feed = site.power.feeds[r.feed]!;
    if (r.role === "asic") {
      const cordPhases = phaseNamesOf(r);
      asics.push({
        hostname: r.hostname,
        ip: m.ip,
        rack: m.rack,
        circuit: circuit.id,
        feed: feed.name,
        model: r.asic!.key,
        drawWatts: roundWatts(wall.get(r.index)!),
        ...(cordPhases ? { phases: cordPhases } : {}),
        state: m.state === "offline" ? "offline" : m.state === "cordoned" ? "cordoned" : "active",
        minerApi: resolveMinerApi(m, site.defaults.minerFirmware, feed.curtailment?.asicWebhookUrl !== undefined),
      });
      continue;
    }
    const labels: Record<string, string> = {
      [LABELS.powerTier]: r.tier,
      [LABELS.feed]: feed.name,
      [LABELS.circuit]: circuit.id,
      [LABELS.rack]: labelValue(m.rack),
    };
    const pool = poolOfNode.get(r.index);
    const cap = capOf.get(r.index);
    if (pool && cap !== undefined) {
      Object.assign(labels, poolLabels(pool));
      labels[LABELS.gpuPowerCap] = String(cap);
    }
    const isServer = r.role === "control-plane";
    const planned: PlannedNode = {
      hostname: r.hostname,
      ip: m.ip,
      ...(m.mac !== undefined ? { mac: m.mac.toLowerCase() } : {}),
      rack: m.rack,
      circuit: circuit.id,
      feed: feed.name,
      tier: r.tier,
      machineRole: r.role,
      k3sRole: isServer ? "server" : "agent",
      clusterInit: false,
      sshUser: m.sshUser ?? site.defaults.sshUser,
      state: m.state === "offline" ? "offline" : m.state === "cordoned" ? "cordoned" : "active",
      generation: m.generation ?? 0,
      ...(m.sshHostKey !== undefined ? { sshHostKey: m.sshHostKey } : {}),
      ...(pool ? { pool: pool.name } : {}),
      ...(r.gpu && cap !== undefined
        ? {
            gpu: {
              model: r.gpu.key,
              count: r.gpuCount,
              capWatts: cap,
              minWatts: r.gpu.minWatts,
              maxWatts: r.gpu.maxWatts,
              tdpWatts: r.gpu.tdpWatts,
              consumer: r.gpu.consumer,
            },
          }
        : {}),
      labels: sortKeys(labels),
      // Control-plane nodes stay untainted: system pods and the API must schedule there.
      // CPU nodes on a non-firm feed are tainted like GPU nodes, since the feed can be cut.
      taints: !isServer && r.tier !== "firm" ? [tierTaint(r.tier)] : [],
      baseWatts: r.baseWatts,
      psuEfficiency: r.psuEfficiency,
      drawWatts: roundWatts(wall.get(r.index)!),
      throughputTflops: r.gpu && cap !== undefined ? round1(nodeThroughputTflops({ gpuCount: r.gpuCount, gpu: r.gpu }, cap)) : 0,
    };
    const cordPhases = phaseNamesOf(r);
    if (cordPhases) planned.phases = cordPhases;
    nodes.push(planned);
  }
  nodes.sort((a, b) => (a.k3sRole === b.k3sRole ? cmpStr(a.hostname, b.hostname) : a.k3sRole === "server" ? -1 : 1));
  asics.sort((a, b) => cmpStr(a.hostname, b.hostname));
  const servers = nodes.filter((n) => n.k3sRole === "server");
  if (servers.length === 0) {
    throw new SiteError([{ message: "the site has no control-plane machine", fix: "give one machine (or an odd number ≥ 3) role: control-plane", path: ["machines"] }]);
  }
  servers[0]!.clusterInit = true;

  // ---- pools (output)
  const pools: PlannedPool[] = [...poolAcc.values()]
    .sort((a, b) => cmpStr(a.name, b.name))
    .map((p) => {
      const caps = p.nodes.map((r) => capOf.get(r.index)!);
      let tflops = 0;
      for (const r of p.nodes) tflops += nodeThroughputTflops({ gpuCount: r.gpuCount, gpu: r.gpu! }, capOf.get(r.index)!);
      const replicas = replicasOf(p.interconnect);
      return {
        name: p.name,
        gpuModel: p.gpuModel,
        interconnect: p.interconnect,
        tier: p.tier,
        workload: p.interconnect === "x1-riser" ? "inference" : "training",
        nodes: p.nodes.map((r) => r.hostname).sort(cmpStr),
        feeds: [...new Set(p.nodes.map((r) => site.power.feeds[r.feed]!.name))].sort(cmpStr),
        gpus: p.nodes.reduce((s, r) => s + r.gpuCount, 0),
        capWatts: { min: caps.reduce((a, b) => Math.min(a, b)), max: caps.reduce((a, b) => Math.max(a, b)) },
        timeSlicingReplicas: replicas,
        flavor: p.name,
        clusterQueue: p.tier,
        nodeLabels: poolLabels(p),
        taints: p.tier !== "firm" ? [tierTaint(p.tier)] : [],
        throughputTflops: round1(tflops),
      };
    });

  const queues: QueuePlan = {
    cohort: site.metadata.name,
    tenants: [...new Set(site.kubernetes.tenantNamespaces ?? ["default"])].sort(cmpStr),
    clusterQueues: TIER_ORDER.filter((t) => pools.some((p) => p.tier === t)).map((tier) => ({
      name: tier,
      tier,
      flavors: pools.filter((p) => p.tier === tier).map((p) => ({ flavor: p.flavor, pool: p.name, gpus: p.gpus })),
    })),
  };

  // ---- loads
  const circuits: CircuitLoad[] = site.power.circuits.map((c, ci) => {
    const usableW = roundWatts(usable[ci]!);
    const loadW = roundWatts(circuitLoad[ci]!);
    return {
      id: c.id,
      feed: c.feed,
      usableWatts: usableW,
      loadWatts: loadW,
      asicWatts: roundWatts(circuitAsic[ci]!),
      loadPercent: round1((circuitLoad[ci]! / usable[ci]!) * 100),
      strandedWatts: Math.max(0, usableW - loadW),
      machines: circuitHosts[ci]!,
      phaseWatts: phaseLoads[ci] ? (phaseLoads[ci].phaseWatts.map((w) => roundWatts(w)) as [number, number, number]) : null,
      phaseBudgetWatts: phaseBudget[ci] === null || phaseBudget[ci] === undefined ? null : roundWatts(phaseBudget[ci]),
    };
  });
  const feeds: FeedLoad[] = site.power.feeds.map((f, fi) => {
    const capacity = f.capacityKw * 1000;
    const facility = feedIt[fi]! * pue;
    const capacityW = roundWatts(capacity);
    const facilityW = roundWatts(facility);
    return {
      name: f.name,
      tier: f.tier,
      capacityWatts: capacityW,
      itWatts: roundWatts(feedIt[fi]!),
      facilityWatts: facilityW,
      loadPercent: round1((facility / capacity) * 100),
      strandedWatts: Math.max(0, capacityW - facilityW),
      circuits: feedCircuits[fi]!,
    };
  });

  // ---- curtailment
  const byFeed: Resolved[][] = site.power.feeds.map(() => []);
  for (const r of resolved) byFeed[r.feed]!.push(r);
  const curtailment: FeedCurtailment[] = [];
  site.power.feeds.forEach((f, fi) => {
    if (f.tier === "firm") return;
    const onFeed = byFeed[fi]!;
    let asicW = 0;
    let capsW = 0;
    let drainW = 0;
    const asicHosts: string[] = [];
    const feedPools = new Set<string>();
    for (const r of onFeed) {
      if (r.role === "asic") {
        asicW += wall.get(r.index)!;
        asicHosts.push(r.hostname);
      } else if (r.role === "gpu") {
        const g = r.gpu!;
        capsW += (r.gpuCount * (capOf.get(r.index)! - g.minWatts)) / r.psuEfficiency;
        drainW += (r.gpuCount * Math.max(0, g.minWatts - g.idleWatts)) / r.psuEfficiency;
        feedPools.add(poolOfNode.get(r.index)!.name);
      }
    }
    const poolList = [...feedPools].sort(cmpStr);
    const apiOf = new Map(asics.map((a) => [a.hostname, a.minerApi]));
    const stages = curtailmentStages({
      responseTimeSeconds: f.curtailment?.responseTimeSeconds ?? null,
      asicFacilityWatts: asicW * pue,
      capsToMinFacilityWatts: capsW * pue,
      drainFacilityWatts: drainW * pue,
      asicHostnames: asicHosts.sort(cmpStr),
      // Webhook or manual miners: no read-back, so no measured time (src/plan/curtail.ts).
      unconfirmedAsics: asicHosts.filter((h) => (apiOf.get(h)?.driver ?? "webhook") === "webhook").length,
      pools: poolList,
    });
    curtailment.push({
      feed: f.name,
      tier: f.tier,
      responseTimeSeconds: f.curtailment?.responseTimeSeconds ?? null,
      windows: (f.curtailment?.windows ?? []).map((w) => ({ name: w.name, schedule: w.schedule, durationMinutes: w.durationMinutes })),
      asicWebhook: f.curtailment?.asicWebhookUrl ?? null,
      pools: poolList,
      clusterQueues: poolList.length > 0 ? [f.tier] : [],
      stages,
      residualWatts: Math.max(0, feeds[fi]!.facilityWatts - stages[stages.length - 1]!.cumulativeShedWatts),
    });
  });

  // ---- warnings
  const warnings: string[] = [];
  // One warning for the nearly full circuits whose load the caps cannot lower: circuits
  // with a GPU above its minimum cap are filled to their (already derated) budget by
  // design, so only fixed loads (ASICs, CPU nodes, GPUs at minimum) near the limit are news.
  // A three-phase circuit counts as full when its heaviest phase is, even if its total is not.
  const adjustable = circuits.map(() => false);
  for (const r of gpuNodes) if (capOf.get(r.index)! > r.gpu!.minWatts) adjustable[r.circuit] = true;
  const heavyPhase = (ci: number): { name: string; percent: number } | null => {
    const a = phaseLoads[ci];
    const perPhase = phaseBudget[ci];
    if (!a || perPhase === null || perPhase === undefined) return null;
    const p = heaviestPhase(a.phaseWatts);
    return a.phaseWatts[p]! > perPhase * CIRCUIT_WARN_FRACTION ? { name: PHASE_NAMES[p]!, percent: round1((a.phaseWatts[p]! / perPhase) * 100) } : null;
  };
  const full = circuits
    .map((c, ci) => ({ c, phase: heavyPhase(ci), totalFull: circuitLoad[ci]! > usable[ci]! * CIRCUIT_WARN_FRACTION }))
    .filter((f, ci) => !adjustable[ci] && (f.totalFull || f.phase !== null));
  if (full.length > 0) {
    const shown = full.slice(0, CIRCUIT_WARN_LIST).map(({ c, phase }) => `${c.id} (${c.loadPercent} %${phase ? `, ${phase.name} at ${phase.percent} %` : ""})`);
    const more = full.length > CIRCUIT_WARN_LIST ? ` and ${full.length - CIRCUIT_WARN_LIST} more` : "";
    warnings.push(
      `${full.length} circuit${full.length === 1 ? " is" : "s are"} loaded above ${CIRCUIT_WARN_FRACTION * 100} % of usable power with no GPU cap left to lower: ${shown.join(", ")}${more}; measure wall draw after the first run, since a PSU less efficient than assumed could push it past the derated limit`,
    );
  }
  // Embedded etcd needs a majority of servers: a circuit carrying half or more of them is a
  // single breaker away from losing the control plane.
  if (servers.length >= 3) {
    const byCircuit = new Map<string, string[]>();
    for (const s of servers) byCircuit.set(s.circuit, [...(byCircuit.get(s.circuit) ?? []), s.hostname]);
    for (const [circuit, hosts] of [...byCircuit].sort((a, b) => cmpStr(a[0], b[0]))) {
      if (hosts.length * 2 >= servers.length) {
        warnings.push(
          `control-plane nodes ${hosts.join(", ")} (${hosts.length} of ${servers.length}) share circuit ${circuit}: one breaker trip loses etcd quorum; put each server on its own circuit`,
        );
      }
    }
  }
  // Kubernetes cannot power off ASIC miners: without the fleet tool's webhook the first stage
  // is a list for a person, and its timing is that person's, not the plan's.
  const asicByHost = new Map(asics.map((a) => [a.hostname, a]));
  for (const c of curtailment) {
    const asicStage = c.stages.find((st) => st.action === "asics-off");
    const manual = (asicStage?.targets ?? []).filter((h) => asicByHost.get(h)?.minerApi === null);
    if (asicStage && manual.length > 0) {
      const shown = manual.slice(0, 3).join(", ") + (manual.length > 3 ? ` and ${manual.length - 3} more` : "");
      warnings.push(
        `feed ${c.feed}: stage asics-off is not automated for ${manual.length} of ${asicStage.targets.length} miner${asicStage.targets.length === 1 ? "" : "s"} (${shown}): set their firmware (or minerApi, or defaults.minerFirmware) so the curtailment job commands them through the firmware's API, or set power.feeds[].curtailment.asicWebhookUrl for your fleet tool; else someone must act on the job's list within ${asicStage.durationSeconds} s`,
      );
    }
  }
  for (const n of nodes) {
    if (n.k3sRole === "server" && n.state === "offline") {
      warnings.push(`control-plane node ${n.hostname} is offline: embedded etcd keeps quorum only while a majority of servers is up`);
    }
  }
  for (const p of pools) {
    const tdp = gpuNodes.find((r) => r.gpu!.key === p.gpuModel)!.gpu!.tdpWatts;
    if (p.capWatts.min < tdp * LOW_CAP_WARN_FRACTION) {
      warnings.push(
        `pool ${p.name}: GPUs capped as low as ${p.capWatts.min} W (${round1((p.capWatts.min / tdp) * 100)} % of the ${tdp} W TDP) to fit circuit and feed budgets; more circuit or feed capacity would raise its throughput`,
      );
    }
  }
  const consumerPools = pools.filter((p) => gpuNodes.find((r) => r.gpu!.key === p.gpuModel)!.gpu!.consumer).map((p) => p.name);
  if (consumerPools.length > 0 && site.gpuOperator.driverMode === "container") {
    warnings.push(`GeForce cards are outside the GPU operator's support matrix; set gpuOperator.driverMode: host (pools: ${consumerPools.join(", ")})`);
  }
  site.power.feeds.forEach((f, fi) => {
    if (f.tier !== "firm" && f.curtailment && byFeed[fi]!.length === 0) {
      warnings.push(`feed ${f.name} has a curtailment program but no machines; its windows shed nothing`);
    }
  });
  for (const c of curtailment) {
    const late = c.stages.find((s) => !s.meetsResponseTime);
    if (late) {
      warnings.push(
        `feed ${c.feed}: curtailment stage ${late.action} completes ${late.completeAfterSeconds} s after the call, later than the required response time of ${c.responseTimeSeconds} s`,
      );
    }
  }
  for (const s of servers) {
    if (s.tier !== "firm") {
      warnings.push(`control-plane node ${s.hostname} is on ${s.tier} feed ${s.feed}; the Kubernetes API goes down when that feed is cut, put servers on a firm feed`);
    }
  }
  warnings.sort(cmpStr);

  let totalTflops = 0;
  gpuNodes.forEach((r) => (totalTflops += nodeThroughputTflops({ gpuCount: r.gpuCount, gpu: r.gpu! }, capOf.get(r.index)!)));
  const totalIt = feedIt.reduce((s, x) => s + x, 0);

  return {
    version: 1,
    site: { name: site.metadata.name, timezone: site.metadata.timezone, gridRegion: site.metadata.gridRegion, pue },
    network: {
      nodeSubnet: site.network.nodeSubnet,
      clusterCidr: site.network.clusterCidr,
      serviceCidr: site.network.serviceCidr,
      loadBalancerPool: site.network.loadBalancerPool ?? null,
      cni: site.network.cni,
      fabric: site.network.fabric,
    },
    kubernetes: {
      distribution: "k3s",
      version: site.kubernetes.version,
      apiEndpoint: site.kubernetes.apiEndpoint ?? servers[0]!.ip,
      servers: servers.map((s) => s.hostname),
      rollout: {
        maxUnavailable: String(site.kubernetes.rollout.maxUnavailable),
        agentBatch: agentBatchSize(site.kubernetes.rollout.maxUnavailable, nodes.filter((n) => n.k3sRole === "agent").length),
      },
      startTimeoutSeconds: site.kubernetes.startTimeoutSeconds,
    },
    mirror:
      site.mirror === undefined
        ? null
        : { artifacts: trimSlash(site.mirror.artifacts), registry: trimSlash(site.mirror.registry), charts: trimSlash(site.mirror.charts) },
    gpuOperator: {
      chartVersion: site.gpuOperator.chartVersion,
      driverMode: site.gpuOperator.driverMode,
      timeSlicingReplicas: site.gpuOperator.timeSlicingReplicas,
    },
    nodes,
    asics,
    retired: retired.sort((a, b) => cmpStr(a.hostname, b.hostname)),
    pools,
    queues,
    circuits,
    feeds,
    curtailment,
    totals: {
      machines: site.machines.length,
      nodes: nodes.length,
      gpus: gpuNodes.reduce((s, r) => s + r.gpuCount, 0),
      asics: asics.length,
      itWatts: roundWatts(totalIt),
      facilityWatts: roundWatts(totalIt * pue),
      // Facility watts the feeds could still deliver (what the site pays for and does not use).
      strandedWatts: feeds.reduce((s, f) => s + f.strandedWatts, 0),
      throughputTflops: round1(totalTflops),
    },
    warnings,
  };
}

/** Looks each model name up once per plan: sites repeat a handful of names across thousands of machines. */
function memoCatalog(catalog: PlanCatalog): PlanCatalog {
  const gpus = new Map<string, GpuSpec | undefined>();
  const asics = new Map<string, AsicSpec | undefined>();
  return {
    findGpu: (name) => {
      if (!gpus.has(name)) gpus.set(name, catalog.findGpu(name));
      return gpus.get(name);
    },
    findAsic: (name) => {
      if (!asics.has(name)) asics.set(name, catalog.findAsic(name));
      return asics.get(name);
    },
  };
}

/** A copy of `obj` with keys in code-unit order, so labels serialize identically everywhere. */
function sortKeys(obj: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(obj).sort(cmpStr)) out[k] = obj[k]!;
  return out;
}


/** Default API port of each miner firmware (see the drivers in src/runtime/miners/). */
export const MINER_API_PORTS: Readonly<Record<Exclude<MinerDriver, "webhook">, number>> = {
  // LuxOS API: JSON over TCP 4028 (docs.luxor.tech, LuxOS API).
  luxos: 4028,
  // Braiins OS public API: gRPC on 50051 (braiins/bos-plus-api README).
  braiins: 50051,
  // Bitmain stock firmware: web CGI on 80 for sleep; cgminer API on 4028 for status.
  antminer: 80,
  // Whatsminer API v2: TCP 4028.
  whatsminer: 4028,
};

/**
 * The API a miner is curtailed through: its `minerApi` URL, else its firmware (or the site's
 * default firmware) at its IP and the firmware's port, else the feed's webhook, else null.
 * The URL was validated (scheme, no credentials) by `validateSite`.
 */
export function resolveMinerApi(m: Machine, defaultFirmware: MinerFirmware | undefined, feedHasWebhook: boolean): MinerApi | null {
  if (m.minerApi !== undefined) {
    const url = new URL(m.minerApi);
    const driver = url.protocol.slice(0, -1) as Exclude<MinerDriver, "webhook">;
    const port = url.port === "" ? MINER_API_PORTS[driver] : Number(url.port);
    return { driver, host: url.hostname, port };
  }
  const firmware = m.firmware ?? defaultFirmware;
  if (firmware === undefined) return feedHasWebhook ? { driver: "webhook", host: "", port: 0 } : null;
  if (firmware === "webhook") return feedHasWebhook ? { driver: "webhook", host: "", port: 0 } : null;
  return { driver: firmware, host: m.ip, port: MINER_API_PORTS[firmware] };
}

/** Agents upgraded at once: a count as is, a percentage of `agents` rounded down; at least 1. */
export function agentBatchSize(maxUnavailable: number | string, agents: number): number {
  const n = typeof maxUnavailable === "number" ? maxUnavailable : Math.floor((agents * Number(maxUnavailable.slice(0, -1))) / 100);
  return Math.max(1, n);
}

function trimSlash(url: string | undefined): string | null {
  return url === undefined ? null : url.replace(/\/+$/, "");
}

/**
 * The validation warning for machines pulumi up would reach over SSH without a pinned host
 * key (`validate` prints it; `validate --strict` turns each into an error with file:line).
 * Kept out of `plan.warnings`, which are about power and capacity.
 */
export function unpinnedHostKeyWarning(plan: FarmPlan): string | null {
  const unpinned = plan.nodes.filter((n) => n.state !== "offline" && n.sshHostKey === undefined).map((n) => n.hostname);
  if (unpinned.length === 0) return null;
  const shown = unpinned.slice(0, 3).join(", ") + (unpinned.length > 3 ? ` and ${unpinned.length - 3} more` : "");
  return `${unpinned.length} machine${unpinned.length === 1 ? " has" : "s have"} no pinned SSH host key (${shown}): run 'mine2hpc hosts keyscan --write' and review the keys; 'mine2hpc validate --strict' makes this an error`;
}
