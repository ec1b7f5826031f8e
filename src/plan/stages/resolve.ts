/**
 * Stage 1 of `planFarm`: resolve each machine against the hardware catalog, its circuit and
 * its feed. Everything later stages need to know about a machine (its GPU spec, draw at
 * minimum caps, PSU cords) is decided here, once.
 */
import type { AsicSpec, GpuSpec } from "../../site/catalog.js";
import { withMaxWatts } from "../../site/catalog.js";
import type { Problem } from "../../site/problems.js";
import { SiteError } from "../../site/problems.js";
import type { PowerTier, SiteSpec } from "../../site/schema.js";
import { cmpStr } from "../allocate.js";
import { defaultPowerCords } from "../phases.js";
import { DEFAULT_CPU_NODE_BASE_WATTS } from "../power.js";
import type { RetiredMachine } from "../types.js";

/** Where the planner looks up GPU and ASIC models; tests pass a fixed catalog so expected values do not move with catalog updates. */
export interface PlanCatalog {
  findGpu(name: string): GpuSpec | undefined;
  findAsic(name: string): AsicSpec | undefined;
}

/** A machine in the cluster or the power plan (not retired), with its hardware and wiring resolved. */
export interface ResolvedMachine {
  /** Index into `site.machines`: the key later stages use for per-machine figures. */
  index: number;
  hostname: string;
  /** Index into `site.power.circuits`. */
  circuit: number;
  /** Index into `site.power.feeds` (the circuit's feed). */
  feed: number;
  tier: PowerTier;
  role: "control-plane" | "gpu" | "cpu" | "asic";
  gpu?: GpuSpec;
  gpuCount: number;
  asic?: AsicSpec;
  /** DC draw besides the GPUs, in W (0 for ASICs, whose draw is all in `minWallWatts`). */
  baseWatts: number;
  psuEfficiency: number;
  /** Wall W at minimum GPU caps (fixed for ASIC and CPU nodes). */
  minWallWatts: number;
  /** PSU cords the draw is split over (site `powerCords` or {@link defaultPowerCords}). */
  cords: number;
}

/** The machines of a site, resolved: those that stay in the plan, and those listed for removal. */
export interface Resolution {
  /** Active, cordoned and offline machines, in site order. */
  machines: ResolvedMachine[];
  /** Retired machines, by hostname: they leave the cluster and the power plan. */
  retired: RetiredMachine[];
}

/**
 * Resolves every machine of a validated site.
 *
 * @throws SiteError listing every machine whose circuit, feed or model does not resolve
 *   (the validator catches these first; the planner re-checks so it never plans a guess).
 */
export function resolveMachines(site: SiteSpec, catalog: PlanCatalog): Resolution {
  const feedIdx = new Map(site.power.feeds.map((f, i) => [f.name, i]));
  const circuitIdx = new Map(site.power.circuits.map((c, i) => [c.id, i]));
  const problems: Problem[] = [];
  const machines: ResolvedMachine[] = [];
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
      machines.push({ ...base, role: "asic", asic, gpuCount: 0, baseWatts: 0, minWallWatts: asic.watts });
    } else if (m.role === "gpu") {
      const gpuCount = m.gpuCount ?? 0;
      if (!gpuSpec || gpuCount < 1) {
        problems.push({ message: `GPU machine ${m.hostname} needs a catalog gpuModel and gpuCount ≥ 1`, fix: "set gpuModel to a model from the hardware catalog and gpuCount to the number of GPUs", path: ["machines", index, gpuSpec ? "gpuCount" : "gpuModel"] });
        return;
      }
      // The machine's boards may accept a different max than the model's (gpuMaxWatts): it becomes
      // this machine's max cap. Validation keeps it within [TDP, boardMaxWatts]; re-checked here.
      const maxWatts = m.gpuMaxWatts;
      if (maxWatts !== undefined && (maxWatts < gpuSpec.tdpWatts || maxWatts > (gpuSpec.boardMaxWatts ?? gpuSpec.maxWatts))) {
        problems.push({ message: `GPU machine ${m.hostname} has gpuMaxWatts ${maxWatts} W outside its model's ${gpuSpec.tdpWatts}–${gpuSpec.boardMaxWatts ?? gpuSpec.maxWatts} W`, fix: "set gpuMaxWatts to the Max Power Limit nvidia-smi -q -d POWER reports, or remove it", path: ["machines", index, "gpuMaxWatts"] });
        return;
      }
      const gpu = maxWatts === undefined ? gpuSpec : withMaxWatts(gpuSpec, maxWatts);
      const baseWatts = m.baseWatts ?? gpu.hostBaseWatts;
      machines.push({ ...base, role: "gpu", gpu, gpuCount, baseWatts, minWallWatts: (baseWatts + gpuCount * gpu.minWatts) / psuEfficiency });
    } else {
      const baseWatts = m.baseWatts ?? DEFAULT_CPU_NODE_BASE_WATTS;
      machines.push({ ...base, role: m.role, gpuCount: 0, baseWatts, minWallWatts: baseWatts / psuEfficiency });
    }
  });
  if (problems.length > 0) throw new SiteError(problems);
  return { machines, retired: retired.sort((a, b) => cmpStr(a.hostname, b.hostname)) };
}

/** Looks each model name up once per plan: sites repeat a handful of names across thousands of machines. */
export function memoCatalog(catalog: PlanCatalog): PlanCatalog {
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
