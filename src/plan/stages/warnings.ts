/**
 * Stage 7 of `planFarm`: what a person should look at before the first `pulumi up`: nearly
 * full circuits, control-plane risks, manual curtailment steps, low caps, late stages, and a
 * cluster past upstream Kubernetes' scalability limits (./scale.ts).
 * Every warning is a sentence with the figures and the fix; the list is sorted.
 */
import { hasRiserClassLink, pcieLinkGBps } from "../../site/catalog.js";
import type { SiteSpec } from "../../site/schema.js";
import { cmpStr } from "../allocate.js";
import { PHASE_NAMES, heaviestPhase } from "../phases.js";
import { round1 } from "../power.js";
import type { CircuitLoad, FeedCurtailment, PlannedAsic, PlannedNode, PlannedPool } from "../types.js";
import type { Budgets } from "./budgets.js";
import type { PowerAllocation } from "./caps.js";
import type { ResolvedMachine } from "./resolve.js";
import { scaleWarnings } from "./scale.js";

/** A circuit loaded above this share of its usable watts gets a warning: PSU efficiency or base draw a few % off would trip it. */
export const CIRCUIT_WARN_FRACTION = 0.95;
/** At most this many circuits are named in the nearly-full warning. */
export const CIRCUIT_WARN_LIST = 10;

/** A pool whose lowest cap is below this share of TDP gets a warning: the site is short of power for it. */
export const LOW_CAP_WARN_FRACTION = 0.8;

/** What the warnings are drawn from: the outputs of the earlier stages. */
export interface WarningInputs {
  machines: readonly ResolvedMachine[];
  budgets: Budgets;
  power: PowerAllocation;
  circuits: readonly CircuitLoad[];
  nodes: readonly PlannedNode[];
  servers: readonly PlannedNode[];
  asics: readonly PlannedAsic[];
  pools: readonly PlannedPool[];
  curtailment: readonly FeedCurtailment[];
}

/** The plan's warnings, sorted. */
export function planWarnings(site: SiteSpec, inp: WarningInputs): string[] {
  const { machines, budgets, power, circuits, nodes, servers, asics, pools, curtailment } = inp;
  const gpuNodes = machines.filter((r) => r.role === "gpu");
  const warnings: string[] = [];
  // One warning for the nearly full circuits whose load the caps cannot lower: circuits
  // with a GPU above its minimum cap are filled to their (already derated) budget by
  // design, so only fixed loads (ASICs, CPU nodes, GPUs at minimum) near the limit are news.
  // A three-phase circuit counts as full when its heaviest phase is, even if its total is not.
  const adjustable = circuits.map(() => false);
  for (const r of gpuNodes) if (power.capOf.get(r.index)! > r.gpu!.minWatts) adjustable[r.circuit] = true;
  const heavyPhase = (ci: number): { name: string; percent: number } | null => {
    const a = power.phaseLoads[ci];
    const perPhase = budgets.phaseBudgetWatts[ci];
    if (!a || perPhase === null || perPhase === undefined) return null;
    const p = heaviestPhase(a.phaseWatts);
    return a.phaseWatts[p]! > perPhase * CIRCUIT_WARN_FRACTION ? { name: PHASE_NAMES[p]!, percent: round1((a.phaseWatts[p]! / perPhase) * 100) } : null;
  };
  const full = circuits
    .map((c, ci) => ({ c, phase: heavyPhase(ci), totalFull: power.circuitLoadWatts[ci]! > budgets.usableWatts[ci]! * CIRCUIT_WARN_FRACTION }))
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
  // Boards whose own link is riser-class (NVIDIA CMP) land in inference pools whatever slot they
  // sit in; say why, since the site file may say x16.
  for (const p of pools) {
    const gpu = gpuNodes.find((r) => r.gpu!.key === p.gpuModel)!.gpu!;
    if (!hasRiserClassLink(gpu)) continue;
    const link = gpu.pcieLinkLimit!;
    warnings.push(
      `pool ${p.name}: ${gpu.name} boards run their PCIe link at Gen ${link.generation} x${link.lanes} (${round1(pcieLinkGBps(link))} GB/s) whatever the slot, so the pool is planned for single-GPU inference like x1 risers; check the model's compute limits in the catalog before scheduling work on it`,
    );
  }
  // A built-in model whose minimum power limit is inferred, not sourced: the plan may cap below
  // what the driver accepts. The power agent then holds the GPU at the driver's minimum and
  // reports CapBelowMinimum (runtime/power-agent/agent.ts), so the circuit carries more than the
  // plan says; the operator's fix is the measured figure in the site catalog (which never
  // carries the flag).
  const derivedMin = new Map<string, ResolvedMachine[]>();
  for (const r of gpuNodes) if (r.gpu!.minWattsSource === "derived") derivedMin.set(r.gpu!.key, [...(derivedMin.get(r.gpu!.key) ?? []), r]);
  for (const [key, rs] of [...derivedMin].sort((a, b) => cmpStr(a[0], b[0]))) {
    const gpu = rs[0]!.gpu!;
    const hosts = rs.map((r) => r.hostname);
    const shown = hosts.slice(0, 3).join(", ") + (hosts.length > 3 ? ` and ${hosts.length - 3} more` : "");
    const lowest = Math.min(...rs.map((r) => power.capOf.get(r.index)!));
    warnings.push(
      `GPU model ${gpu.name} (${key}) on ${hosts.length} machine${hosts.length === 1 ? "" : "s"} (${shown}): its ${gpu.minWatts} W minimum power limit in the built-in catalog is derived, not published or measured, and the plan caps it as low as ${lowest} W; if the driver's real minimum is higher, the power agent holds the GPU at that minimum and reports CapBelowMinimum (the node stays tainted) wherever the plan goes below it. Run nvidia-smi -q -d POWER on one of them and set minWatts to its Min Power Limit in the site file's catalog.gpus (an entry with key: ${key})`,
    );
  }
  const consumerPools = pools.filter((p) => gpuNodes.find((r) => r.gpu!.key === p.gpuModel)!.gpu!.consumer).map((p) => p.name);
  if (consumerPools.length > 0 && site.gpuOperator.driverMode === "container") {
    warnings.push(`GeForce cards are outside the GPU operator's support matrix; set gpuOperator.driverMode: host (pools: ${consumerPools.join(", ")})`);
  }
  const machinesOnFeed = site.power.feeds.map(() => 0);
  for (const r of machines) machinesOnFeed[r.feed]!++;
  site.power.feeds.forEach((f, fi) => {
    if (f.tier !== "firm" && f.curtailment && machinesOnFeed[fi] === 0) {
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
  // One cluster past upstream Kubernetes' tested limits (nodes, pods per node, total pods and containers).
  warnings.push(...scaleWarnings(site, nodes, pools));
  return warnings.sort(cmpStr);
}
