/**
 * Hand-built FarmPlans for renderer and component tests.
 *
 * Two sites in the shape `planFarm` produces (src/plan/types.ts):
 * - `samplePlan()`: one k3s server, flannel, the GPU operator installs the driver, no MetalLB.
 *   Two 6×RTX 3090 riser rigs on a curtailable feed, one 8×H100 SXM server on firm power,
 *   two ASIC miners sharing the rigs' circuit.
 * - `samplePlanHa()`: three k3s servers (embedded etcd), Cilium, a MetalLB pool, an InfiniBand
 *   fabric, the driver preinstalled on the hosts; three rigs and two H100 servers.
 *
 * Per-node figures are written out by hand; circuit, feed and pool sums are computed from
 * them below so the fixture stays self-consistent when a test edits a node. Each call returns
 * a fresh object, so a test may mutate its copy freely.
 */
import type {
  CircuitLoad,
  FarmPlan,
  FeedCurtailment,
  FeedLoad,
  PlannedAsic,
  PlannedNode,
  PlannedPool,
  Taint,
} from "../../src/plan/types.js";
import { LABELS } from "../../src/plan/types.js";
import type { PowerTier } from "../../src/site/schema.js";

const RIG_POOL = "rtx-3090-x1-riser-curtailable";
const H100_POOL = "h100-sxm-sxm-firm";
const CURTAILABLE_TAINT: Taint = { key: LABELS.powerTier, value: "curtailable", effect: "NoSchedule" };
const CONTROL_PLANE_TAINT: Taint = { key: "node-role.kubernetes.io/control-plane", value: "", effect: "NoSchedule" };

interface CircuitSpec {
  id: string;
  feed: string;
  volts: number;
  amps: number;
  phases: 1 | 3;
}

interface FeedSpec {
  name: string;
  tier: PowerTier;
  capacityWatts: number;
}

/** Labels sorted by key, as the plan stores them. */
function sortedLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function placementLabels(n: { rack: string; circuit: string; feed: string; tier: PowerTier }): Record<string, string> {
  return {
    [LABELS.circuit]: n.circuit,
    [LABELS.feed]: n.feed,
    [LABELS.powerTier]: n.tier,
    [LABELS.rack]: n.rack,
  };
}

function server(hostname: string, ip: string, clusterInit: boolean): PlannedNode {
  const placement = { rack: "ctl-r1", circuit: "pdu-ctl", feed: "grid-firm", tier: "firm" as const };
  return {
    hostname,
    ip,
    ...placement,
    machineRole: "control-plane",
    k3sRole: "server",
    clusterInit,
    sshUser: "ubuntu",
    state: "active",
    generation: 0,
    labels: sortedLabels(placementLabels(placement)),
    taints: [{ ...CONTROL_PLANE_TAINT }],
    baseWatts: 250,
    psuEfficiency: 0.92,
    drawWatts: 272,
    throughputTflops: 0,
  };
}

function rig(hostname: string, ip: string, rack: string, timeSlicing: number): PlannedNode {
  const placement = { rack, circuit: "pdu-b1", feed: "grid-flex", tier: "curtailable" as const };
  const labels: Record<string, string> = {
    ...placementLabels(placement),
    [LABELS.pool]: RIG_POOL,
    [LABELS.gpuPowerCap]: "250",
    [LABELS.gpuModel]: "rtx-3090",
    [LABELS.workload]: "inference",
  };
  if (timeSlicing > 1) labels[LABELS.devicePluginConfig] = RIG_POOL;
  return {
    hostname,
    ip,
    ...placement,
    machineRole: "gpu",
    k3sRole: "agent",
    state: "active",
    generation: 0,
    clusterInit: false,
    sshUser: "miner",
    pool: RIG_POOL,
    gpu: { model: "rtx-3090", count: 6, capWatts: 250, minWatts: 100, maxWatts: 350, tdpWatts: 350, consumer: true },
    labels: sortedLabels(labels),
    taints: [{ ...CURTAILABLE_TAINT }],
    baseWatts: 150,
    psuEfficiency: 0.92,
    // (150 + 6 × 250) / 0.92
    drawWatts: 1793,
    throughputTflops: 384,
  };
}

function h100(hostname: string, ip: string, rack: string): PlannedNode {
  const placement = { rack, circuit: "pdu-h1", feed: "grid-firm", tier: "firm" as const };
  return {
    hostname,
    ip,
    mac: `3c:ec:ef:10:20:${ip.split(".")[3]?.padStart(2, "0") ?? "00"}`,
    ...placement,
    machineRole: "gpu",
    k3sRole: "agent",
    state: "active",
    generation: 0,
    clusterInit: false,
    sshUser: "ubuntu",
    pool: H100_POOL,
    gpu: { model: "h100-sxm", count: 8, capWatts: 700, minWatts: 200, maxWatts: 700, tdpWatts: 700, consumer: false },
    labels: sortedLabels({
      ...placementLabels(placement),
      [LABELS.pool]: H100_POOL,
      [LABELS.gpuPowerCap]: "700",
      [LABELS.gpuModel]: "h100-sxm",
      [LABELS.workload]: "training",
    }),
    taints: [],
    baseWatts: 1800,
    psuEfficiency: 0.94,
    // (1800 + 8 × 700) / 0.94
    drawWatts: 7872,
    throughputTflops: 7915.2,
  };
}

function asic(hostname: string, ip: string): PlannedAsic {
  return { hostname, ip, rack: "hall-r3", circuit: "pdu-b1", feed: "grid-flex", model: "s21", drawWatts: 3500, state: "active", minerApi: null };
}

const CIRCUITS: CircuitSpec[] = [
  { id: "pdu-ctl", feed: "grid-firm", volts: 208, amps: 20, phases: 1 },
  { id: "pdu-b1", feed: "grid-flex", volts: 415, amps: 63, phases: 3 },
  { id: "pdu-h1", feed: "grid-firm", volts: 415, amps: 63, phases: 3 },
];

const FEEDS: FeedSpec[] = [
  { name: "grid-firm", tier: "firm", capacityWatts: 60_000 },
  { name: "grid-flex", tier: "curtailable", capacityWatts: 40_000 },
];

function byName<T>(key: (t: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

function pool(name: string, nodes: PlannedNode[], timeSlicing: number): PlannedPool {
  const members = nodes.filter((n) => n.pool === name).sort(byName((n) => n.hostname));
  const first = members[0];
  if (first?.gpu === undefined) throw new Error(`fixture: pool ${name} has no GPU nodes`);
  const rigPool = name === RIG_POOL;
  const caps = members.map((n) => n.gpu?.capWatts ?? 0);
  const nodeLabels: Record<string, string> = {
    [LABELS.pool]: name,
    [LABELS.powerTier]: first.tier,
    [LABELS.gpuModel]: first.gpu.model,
    [LABELS.workload]: rigPool ? "inference" : "training",
  };
  if (rigPool && timeSlicing > 1) nodeLabels[LABELS.devicePluginConfig] = name;
  return {
    name,
    gpuModel: first.gpu.model,
    interconnect: rigPool ? "x1-riser" : "sxm",
    tier: first.tier,
    workload: rigPool ? "inference" : "training",
    nodes: members.map((n) => n.hostname),
    feeds: [...new Set(members.map((n) => n.feed))].sort(),
    gpus: members.reduce((s, n) => s + (n.gpu?.count ?? 0), 0),
    capWatts: { min: Math.min(...caps), max: Math.max(...caps) },
    timeSlicingReplicas: rigPool ? timeSlicing : 1,
    flavor: name,
    clusterQueue: `${first.tier}-gpus`,
    nodeLabels: sortedLabels(nodeLabels),
    taints: first.taints.map((t) => ({ ...t })),
    throughputTflops: Math.round(members.reduce((s, n) => s + n.throughputTflops, 0) * 10) / 10,
  };
}

function circuitLoads(nodes: PlannedNode[], asics: PlannedAsic[]): CircuitLoad[] {
  return CIRCUITS.map((c) => {
    const usableWatts = Math.round(c.volts * c.amps * (c.phases === 3 ? Math.sqrt(3) : 1) * 0.8);
    const onCircuit = [...nodes, ...asics].filter((m) => m.circuit === c.id);
    const asicWatts = asics.filter((a) => a.circuit === c.id).reduce((s, a) => s + a.drawWatts, 0);
    const loadWatts = onCircuit.reduce((s, m) => s + m.drawWatts, 0);
    return {
      id: c.id,
      feed: c.feed,
      usableWatts,
      loadWatts,
      asicWatts,
      loadPercent: Math.round((loadWatts / usableWatts) * 1000) / 10,
      strandedWatts: usableWatts - loadWatts,
      machines: onCircuit.map((m) => m.hostname).sort(),
      // The hand-built sample assigns no cords to phases; planFarm fills these for three-phase circuits.
      phaseWatts: null,
      phaseBudgetWatts: null,
    };
  });
}

function feedLoads(circuits: CircuitLoad[], pue: number): FeedLoad[] {
  return FEEDS.map((f) => {
    const mine = circuits.filter((c) => c.feed === f.name);
    const itWatts = mine.reduce((s, c) => s + c.loadWatts, 0);
    const facilityWatts = Math.round(itWatts * pue);
    return {
      name: f.name,
      tier: f.tier,
      capacityWatts: f.capacityWatts,
      itWatts,
      facilityWatts,
      loadPercent: Math.round((facilityWatts / f.capacityWatts) * 1000) / 10,
      strandedWatts: f.capacityWatts - facilityWatts,
      circuits: mine.map((c) => c.id),
    };
  });
}

function curtailment(nodes: PlannedNode[], asics: PlannedAsic[], feeds: FeedLoad[], pue: number): FeedCurtailment[] {
  const flex = feeds.find((f) => f.name === "grid-flex");
  if (flex === undefined) throw new Error("fixture: grid-flex feed missing");
  const rigs = nodes.filter((n) => n.pool === RIG_POOL);
  const asicShed = Math.round(asics.reduce((s, a) => s + a.drawWatts, 0) * pue);
  // Caps 250 W → 100 W on 6 GPUs per rig, at the rig's PSU efficiency.
  const capShed = Math.round(rigs.reduce((s, n) => s + ((250 - 100) * 6) / n.psuEfficiency, 0) * pue);
  const drainShed = Math.round(rigs.reduce((s, n) => s + (100 * 6) / n.psuEfficiency, 0) * pue);
  return [
    {
      feed: "grid-flex",
      tier: "curtailable",
      responseTimeSeconds: 600,
      asicWebhook: null,
      windows: [{ name: "4cp-afternoon", schedule: "0 15 * 6-9 1-5", durationMinutes: 120 }],
      pools: [RIG_POOL],
      clusterQueues: ["curtailable-gpus"],
      stages: [
        { order: 1, action: "asics-off", shedWatts: asicShed, cumulativeShedWatts: asicShed, durationSeconds: 30, completeAfterSeconds: 30, meetsResponseTime: true, targets: asics.map((a) => a.hostname).sort() },
        { order: 2, action: "gpu-caps-to-min", shedWatts: capShed, cumulativeShedWatts: asicShed + capShed, durationSeconds: 90, completeAfterSeconds: 120, meetsResponseTime: true, targets: [RIG_POOL] },
        { order: 3, action: "drain-queue", shedWatts: drainShed, cumulativeShedWatts: asicShed + capShed + drainShed, durationSeconds: 300, completeAfterSeconds: 420, meetsResponseTime: true, targets: [RIG_POOL] },
      ],
      residualWatts: Math.max(0, flex.facilityWatts - asicShed - capShed - drainShed),
    },
  ];
}

interface Shape {
  name: string;
  servers: PlannedNode[];
  agents: PlannedNode[];
  asics: PlannedAsic[];
  network: FarmPlan["network"];
  apiEndpoint: string;
  driverMode: "container" | "host";
  timeSlicing: number;
  tenants: string[];
}

function build(shape: Shape): FarmPlan {
  const pue = 1.15;
  const nodes = [...shape.servers, ...[...shape.agents].sort(byName((n) => n.hostname))];
  const asics = [...shape.asics].sort(byName((a) => a.hostname));
  const pools = [pool(H100_POOL, nodes, shape.timeSlicing), pool(RIG_POOL, nodes, shape.timeSlicing)].sort(byName((p) => p.name));
  const circuits = circuitLoads(nodes, asics);
  const feeds = feedLoads(circuits, pue);
  const itWatts = feeds.reduce((s, f) => s + f.itWatts, 0);
  const tiers: PowerTier[] = ["firm", "curtailable"];
  return {
    version: 1,
    site: { name: shape.name, timezone: "America/Chicago", gridRegion: "ERCOT", pue },
    network: shape.network,
    kubernetes: {
      distribution: "k3s",
      version: "v1.33.5+k3s1",
      apiEndpoint: shape.apiEndpoint,
      servers: shape.servers.map((s) => s.hostname),
      rollout: { maxUnavailable: "10%", agentBatch: Math.max(1, Math.floor(shape.agents.length / 10)) },
      startTimeoutSeconds: 300,
    },
    mirror: null,
    gpuOperator: { chartVersion: "v26.7.0", driverMode: shape.driverMode, timeSlicingReplicas: shape.timeSlicing },
    nodes,
    asics,
    retired: [],
    pools,
    queues: {
      cohort: "mine2hpc",
      tenants: [...shape.tenants].sort(),
      clusterQueues: tiers.map((tier) => ({
        name: `${tier}-gpus`,
        tier,
        flavors: pools.filter((p) => p.tier === tier).map((p) => ({ flavor: p.flavor, pool: p.name, gpus: p.gpus })),
      })),
    },
    circuits,
    feeds,
    curtailment: curtailment(nodes, asics, feeds, pue),
    totals: {
      machines: nodes.length + asics.length,
      nodes: nodes.length,
      gpus: pools.reduce((s, p) => s + p.gpus, 0),
      asics: asics.length,
      itWatts,
      facilityWatts: feeds.reduce((s, f) => s + f.facilityWatts, 0),
      strandedWatts: feeds.reduce((s, f) => s + f.strandedWatts, 0),
      throughputTflops: Math.round(nodes.reduce((s, n) => s + n.throughputTflops, 0) * 10) / 10,
    },
    warnings: [
      "rtx-3090 is a consumer (GeForce) GPU outside NVIDIA's datacenter support matrix: pool rtx-3090-x1-riser-curtailable",
    ],
  };
}

/**
 * Single-server site: `cp-01` runs `cluster-init`; flannel; the GPU operator installs the
 * driver (so GPU nodes blacklist nouveau); time-sliced inference rigs; no MetalLB pool.
 */
export function samplePlan(): FarmPlan {
  return build({
    name: "permian-hall-1",
    servers: [server("cp-01", "10.20.0.10", true)],
    agents: [
      rig("rig-a01", "10.20.1.11", "hall-r3", 4),
      rig("rig-a02", "10.20.1.12", "hall-r3", 4),
      h100("h100-01", "10.20.2.21", "dc-r1"),
    ],
    asics: [asic("s21-001", "10.20.4.101"), asic("s21-002", "10.20.4.102")],
    network: {
      nodeSubnet: "10.20.0.0/16",
      clusterCidr: "10.42.0.0/16",
      serviceCidr: "10.43.0.0/16",
      loadBalancerPool: null,
      cni: "flannel",
      fabric: "none",
    },
    apiEndpoint: "10.20.0.10",
    driverMode: "container",
    timeSlicing: 4,
    tenants: ["default"],
  });
}

/**
 * HA site: three servers with embedded etcd behind a DNS name, Cilium, MetalLB, InfiniBand,
 * drivers preinstalled on the hosts (`driverMode: host`), no time-slicing.
 */
export function samplePlanHa(): FarmPlan {
  return build({
    name: "permian-hall-2",
    servers: [server("cp-01", "10.30.0.11", true), server("cp-02", "10.30.0.12", false), server("cp-03", "10.30.0.13", false)],
    agents: [
      rig("rig-b01", "10.30.1.11", "hall-r5", 1),
      rig("rig-b02", "10.30.1.12", "hall-r5", 1),
      rig("rig-b03", "10.30.1.13", "hall-r6", 1),
      h100("h100-01", "10.30.2.21", "dc-r1"),
      h100("h100-02", "10.30.2.22", "dc-r1"),
    ],
    asics: [asic("s21-001", "10.30.4.101")],
    network: {
      nodeSubnet: "10.30.0.0/16",
      clusterCidr: "10.52.0.0/16",
      serviceCidr: "10.53.0.0/16",
      loadBalancerPool: "10.30.3.200-10.30.3.250",
      cni: "cilium",
      fabric: "infiniband",
    },
    apiEndpoint: "api.hall2.example.net",
    driverMode: "host",
    timeSlicing: 1,
    tenants: ["research", "inference"],
  });
}
