/**
 * Stage 4 of `planFarm` (with `pools.ts`): the Kubernetes nodes and the ASIC miners, as
 * `pulumi up` and the runtime see them: addresses, roles, labels, taints, caps and draws.
 */
import { SiteError } from "../../site/problems.js";
import type { Machine, MinerFirmware, SiteSpec } from "../../site/schema.js";
import { cmpStr, nodeThroughputTflops } from "../allocate.js";
import { PHASE_NAMES } from "../phases.js";
import { round1, roundWatts } from "../power.js";
import type { MinerApi, MinerDriver, PlannedAsic, PlannedNode } from "../types.js";
import { LABELS } from "../types.js";
import type { Budgets } from "./budgets.js";
import type { PowerAllocation } from "./caps.js";
import type { PoolGroups } from "./pools.js";
import { sortKeys, tierTaint } from "./pools.js";
import type { ResolvedMachine } from "./resolve.js";

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

/** Kubernetes nodes (servers first, then agents, each by hostname) and ASIC miners (by hostname). */
export interface NodesAndMiners {
  nodes: PlannedNode[];
  asics: PlannedAsic[];
  /** The control-plane nodes, by hostname; the first has `clusterInit`. */
  servers: PlannedNode[];
}

/**
 * The planned nodes and miners of the resolved machines at the allocated caps.
 *
 * @throws SiteError when the site has no control-plane machine.
 */
export function plannedNodes(site: SiteSpec, machines: readonly ResolvedMachine[], budgets: Budgets, power: PowerAllocation, pools: PoolGroups): NodesAndMiners {
  const { capOf, wallOf, phaseLoads } = power;
  /** Phase of each cord of a machine on a three-phase circuit, as the final loads put them. */
  const phaseNamesOf = (r: ResolvedMachine): PlannedNode["phases"] => {
    const a = phaseLoads[r.circuit];
    return a ? a.cordPhases[budgets.positionOnCircuit.get(r.index)!]!.map((p) => PHASE_NAMES[p]!) : undefined;
  };
  const nodes: PlannedNode[] = [];
  const asics: PlannedAsic[] = [];
  for (const r of machines) {
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
        drawWatts: roundWatts(wallOf.get(r.index)!),
        ...(cordPhases ? { phases: cordPhases } : {}),
        state: m.state === "offline" ? "offline" : m.state === "cordoned" ? "cordoned" : "active",
        minerApi: resolveMinerApi(m, site.defaults.minerFirmware, feed.curtailment?.asicWebhookUrl !== undefined),
        ...(m.fleetId !== undefined ? { fleetId: m.fleetId } : {}),
      });
      continue;
    }
    const labels: Record<string, string> = {
      [LABELS.powerTier]: r.tier,
      [LABELS.feed]: feed.name,
      [LABELS.circuit]: circuit.id,
      [LABELS.rack]: labelValue(m.rack),
    };
    const pool = pools.poolOf.get(r.index);
    const cap = capOf.get(r.index);
    if (pool && cap !== undefined) {
      Object.assign(labels, pool.labels);
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
              ...(m.gpuMaxWatts !== undefined ? { maxFromMachine: true as const } : {}),
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
      drawWatts: roundWatts(wallOf.get(r.index)!),
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
  return { nodes, asics, servers };
}
