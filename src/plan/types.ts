/**
 * FarmPlan: every decision about a site, as plain data.
 *
 * `planFarm(site)` produces it; `render/` turns it into text, `components/` into Pulumi
 * resources, `cli/` into reports. Nothing downstream decides anything the plan does not
 * already say. It is JSON-serializable and deterministic: the same site gives a
 * byte-identical `JSON.stringify(plan)` (arrays are in a defined order, no Maps, no
 * dates, numbers rounded where they are shown).
 */
import type { MachineState, PowerTier } from "../site/schema.js";
import type { PhaseName } from "./phases.js";

export type { PhaseName } from "./phases.js";
export type { MachineState } from "../site/schema.js";

/** Label and annotation prefix of everything mine2hpc writes into the cluster. */
export const LABEL_PREFIX = "mine2hpc.io";

/** The node labels the plan sets, by key. */
export const LABELS = {
  pool: `${LABEL_PREFIX}/pool`,
  powerTier: `${LABEL_PREFIX}/power-tier`,
  feed: `${LABEL_PREFIX}/feed`,
  circuit: `${LABEL_PREFIX}/circuit`,
  rack: `${LABEL_PREFIX}/rack`,
  gpuPowerCap: `${LABEL_PREFIX}/gpu-power-cap`,
  /**
   * Set by curtailment jobs during a window (and removed at its end); the power agent
   * applies it instead of the planned cap while present. A separate key, so a
   * `pulumi up` during a window (which manages only the planned labels) does not undo it.
   */
  gpuPowerCapOverride: `${LABEL_PREFIX}/gpu-power-cap-override`,
  gpuModel: `${LABEL_PREFIX}/gpu-model`,
  workload: `${LABEL_PREFIX}/workload`,
  /**
   * Read by the GPU operator's device plugin to pick its per-node sharing config. Set on
   * nodes of pools with `timeSlicingReplicas > 1`; the value is the pool name, which is
   * also the key of that pool's entry in the device-plugin ConfigMap.
   */
  devicePluginConfig: "nvidia.com/device-plugin.config",
} as const;

/** A Kubernetes taint. */
export interface Taint {
  key: string;
  value: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/**
 * The taint every GPU node registers with (k3s `node-taint`, i.e. kubelet
 * `--register-with-taints`, `key:effect` with an empty value) and keeps until the power agent
 * has read back every GPU's limit at its target: nothing that consumes GPUs is scheduled on a
 * node whose caps are not in force. The agent removes it on confirmation and puts it back when
 * it cannot correct a drift or the driver is not ready. Node agents (power agent, GPU operator
 * operands) tolerate it.
 */
export const POWER_UNVERIFIED_TAINT = { key: `${LABEL_PREFIX}/power-unverified`, value: "", effect: "NoSchedule" } as const satisfies Taint;

/** GPU settings of one node, all GPUs of a node share one cap. */
export interface NodeGpu {
  /** Catalog key, e.g. `h100-sxm`. */
  model: string;
  count: number;
  /** Power limit the power agent applies to every GPU of the node, in W (integer). */
  capWatts: number;
  /** Lowest limit the GPU accepts (`nvidia-smi -q -d POWER`: Min Power Limit), in W. */
  minWatts: number;
  /** Highest limit the GPU accepts (Max Power Limit), in W: the machine's `gpuMaxWatts` when set, else the catalog's. */
  maxWatts: number;
  /** Present (true) when `maxWatts` is the machine's own `gpuMaxWatts`, not the catalog model's. */
  maxFromMachine?: true;
  /** Board power at stock settings, in W. */
  tdpWatts: number;
  /** Whether the node is the consumer (GeForce) class, outside NVIDIA's datacenter support matrix. */
  consumer: boolean;
}

/** One Kubernetes node (every machine but ASIC miners). */
export interface PlannedNode {
  hostname: string;
  ip: string;
  mac?: string;
  rack: string;
  circuit: string;
  feed: string;
  tier: PowerTier;
  /** Role in the site file. */
  machineRole: "control-plane" | "gpu" | "cpu";
  /** k3s role: `server` for control-plane machines, `agent` for the rest. */
  k3sRole: "server" | "agent";
  /** True on the first server only: it runs `cluster-init` and the others join it. */
  clusterInit: boolean;
  sshUser: string;
  /**
   * Lifecycle state: `active`, `cordoned` (unschedulable and drained, stays installed) or
   * `offline` (nothing reaches it; its power is still planned). Retired machines are in
   * {@link FarmPlan.retired}, not here.
   */
  state: Exclude<MachineState, "retired">;
  /** Install generation (site `generation`, default 0): a bump re-runs the host's bootstrap. */
  generation: number;
  /** Pinned SSH host key `<type> <base64>`; absent when the site has none (a warning). */
  sshHostKey?: string;
  /**
   * Partition (Pulumi stack) holding this machine, on a partitioned site (site `partitions` or
   * `machines[].partition`); agents only: servers are always in the cluster stack.
   */
  partition?: string;
  /** Pool name (GPU nodes only). */
  pool?: string;
  gpu?: NodeGpu;
  /** Labels to set at registration and keep by the bootstrap's label step (render/scripts.ts). Sorted by key. */
  labels: Record<string, string>;
  taints: Taint[];
  /** DC draw of everything but the GPUs, in W. */
  baseWatts: number;
  psuEfficiency: number;
  /** Wall draw at the planned caps: (base + Σ GPU caps) / PSU efficiency, in W. */
  drawWatts: number;
  /** GPU throughput at the planned cap, in dense FP16 TFLOPS. 0 for non-GPU nodes. */
  throughputTflops: number;
  /**
   * Phase of each PSU cord (cord 1 first; one entry per cord, site `powerCords` or the
   * planner's default), for nodes on three-phase circuits: the outlet an operator plugs it
   * into, as the phase budgets were checked. Absent on single-phase circuits.
   */
  phases?: PhaseName[];
}

/** One ASIC miner: power load only, never touched by Kubernetes. */
export interface PlannedAsic {
  hostname: string;
  ip: string;
  rack: string;
  circuit: string;
  feed: string;
  model: string;
  /** Wall draw, in W. */
  drawWatts: number;
  /** Phase of each cord, for miners on three-phase circuits (see {@link PlannedNode.phases}). */
  phases?: PhaseName[];
  /** `active`, `cordoned` (treated as active: a miner has no scheduler) or `offline` (not commanded). */
  state: Exclude<MachineState, "retired">;
  /**
   * How the curtailment reaches the miner: the firmware's API at host:port, or `webhook`
   * (the feed's `asicWebhookUrl`, host and port empty); null when nothing automates it.
   */
  minerApi: MinerApi | null;
  /** The miner's id in the fleet tool (site `fleetId`, e.g. Foreman's miner id): the webhook body names it. */
  fleetId?: string;
}

/** Drivers of ASIC miners' APIs (see `src/runtime/miners/`). */
export type MinerDriver = "luxos" | "braiins" | "antminer" | "whatsminer" | "webhook";

/** The API endpoint of one ASIC miner. Never holds credentials. */
export interface MinerApi {
  driver: MinerDriver;
  /** IP or DNS name of the API; empty for `webhook`. */
  host: string;
  /** TCP port; 0 for `webhook`. */
  port: number;
}

/** A machine leaving the cluster (site `state: retired`): drained and uninstalled, or removed from the server side. */
export interface RetiredMachine {
  hostname: string;
  ip: string;
  sshUser: string;
  /** `asic` miners are only dropped from the plan; nodes are removed from the cluster. */
  k3sRole: "server" | "agent" | "asic";
  sshHostKey?: string;
  /** Partition whose stack removes it (retired agents of a partitioned site). */
  partition?: string;
}

/** A GPU node pool: nodes of one GPU class, interconnect and power tier. */
export interface PlannedPool {
  /** Stable name: `<gpu-model>-<interconnect>-<tier>`; adding machines never renames it. */
  name: string;
  gpuModel: string;
  /** `x1-riser` rigs are single-GPU inference only; `pcie` and `sxm` servers can train. */
  interconnect: "x1-riser" | "pcie" | "sxm";
  tier: PowerTier;
  workload: "inference" | "training";
  /** Hostnames, sorted. */
  nodes: string[];
  /** Feeds the pool's nodes are on, sorted. */
  feeds: string[];
  gpus: number;
  /** Lowest and highest node cap in the pool, in W. */
  capWatts: { min: number; max: number };
  /** Time-slicing replicas per GPU (1 = no sharing); >1 only for inference pools. */
  timeSlicingReplicas: number;
  /** Kueue ResourceFlavor name. */
  flavor: string;
  /** Kueue ClusterQueue the flavor belongs to (one per tier). */
  clusterQueue: string;
  /** Labels every node of the pool has (selector for flavor, device-plugin config). */
  nodeLabels: Record<string, string>;
  taints: Taint[];
  throughputTflops: number;
}

/** Load of one circuit against its budget. */
export interface CircuitLoad {
  id: string;
  feed: string;
  /** V × A × (√3 if three-phase) × derating, in W. */
  usableWatts: number;
  /** Wall draw of its machines at planned caps, in W. */
  loadWatts: number;
  /** Of which ASIC miners, in W. */
  asicWatts: number;
  /** loadWatts / usableWatts × 100, rounded to 0.1. */
  loadPercent: number;
  /** usableWatts − loadWatts, in W. */
  strandedWatts: number;
  /** Hostnames on this circuit, sorted. */
  machines: string[];
  /**
   * Load of L1, L2, L3 at planned caps (from the nodes' `phases`), rounded W; null for
   * single-phase circuits. Each stays within {@link CircuitLoad.phaseBudgetWatts}.
   */
  phaseWatts: [number, number, number] | null;
  /** What one phase may carry: V / √3 × A × derating (wye PDU, line-to-neutral outlets), rounded W; null for single-phase. */
  phaseBudgetWatts: number | null;
}

/** Load of one feed against its capacity. */
export interface FeedLoad {
  name: string;
  tier: PowerTier;
  capacityWatts: number;
  /** IT load (Σ circuit loads), in W. */
  itWatts: number;
  /** IT load × PUE, in W. */
  facilityWatts: number;
  loadPercent: number;
  strandedWatts: number;
  circuits: string[];
}

/** One stage of shedding load on a non-firm feed. */
export interface CurtailmentStage {
  /** 1-based order of execution. */
  order: number;
  action: "asics-off" | "gpu-caps-to-min" | "drain-queue";
  /** Facility power this stage sheds (IT × PUE), in W. */
  shedWatts: number;
  /** Facility power shed by this and the earlier stages, in W. */
  cumulativeShedWatts: number;
  /** Time for this stage to take effect after the previous one, in s. */
  durationSeconds: number;
  /** Seconds from the call until this stage has taken effect. */
  completeAfterSeconds: number;
  /** Whether `completeAfterSeconds` is within the feed's required response time. */
  meetsResponseTime: boolean;
  /** What the stage acts on: ASIC hostnames, or pool names. Sorted. */
  targets: string[];
}

/** Curtailment plan of one non-firm feed. */
export interface FeedCurtailment {
  feed: string;
  tier: PowerTier;
  responseTimeSeconds: number | null;
  windows: { name: string; schedule: string; durationMinutes: number }[];
  /** URL the curtailment jobs POST `{feed, action, hosts}` to so the fleet tool powers ASIC miners off and on; null = not automated. */
  asicWebhook: string | null;
  /** Pools with nodes on this feed, and the Kueue ClusterQueue to hold during a window. */
  pools: string[];
  clusterQueues: string[];
  stages: CurtailmentStage[];
  /** Facility load that remains after all stages (control plane, CPU nodes, idle GPUs), in W. */
  residualWatts: number;
}

/** Kueue layout: one cohort, a ClusterQueue per tier, a ResourceFlavor per pool. */
export interface QueuePlan {
  cohort: string;
  /** Namespaces that get a LocalQueue per ClusterQueue (site `kubernetes.tenantNamespaces`), sorted. */
  tenants: string[];
  clusterQueues: { name: string; tier: PowerTier; flavors: { flavor: string; pool: string; gpus: number }[] }[];
}

export interface FarmPlan {
  /** Plan format version. */
  version: 1;
  site: { name: string; timezone: string; gridRegion: string; pue: number };
  network: {
    nodeSubnet: string;
    clusterCidr: string;
    serviceCidr: string;
    /** MetalLB pool as MetalLB writes it: CIDR or `first-last`. */
    loadBalancerPool: string | null;
    cni: "flannel" | "cilium";
    fabric: "none" | "infiniband" | "roce";
  };
  kubernetes: {
    distribution: "k3s";
    version: string;
    /** Address clients use for the API. */
    apiEndpoint: string;
    /** Control-plane hostnames; the first runs `cluster-init`. */
    servers: string[];
    /** How a version change rolls: servers one at a time, agents in batches of `agentBatch`. */
    rollout: {
      /** As written in the site (`10%` or a count). */
      maxUnavailable: string;
      /** Agents upgraded at once: the count, or the percentage of the agents rounded down, at least 1. */
      agentBatch: number;
    };
    /** Deadline for k3s to start on a host, in s. */
    startTimeoutSeconds: number;
  };
  /** Air-gap mirror of the site (site `mirror`); null when hosts and the cluster use the internet. */
  mirror: { artifacts: string | null; registry: string | null; charts: string | null } | null;
  gpuOperator: { chartVersion: string; driverMode: "container" | "host"; timeSlicingReplicas: number };
  /** Kubernetes nodes, servers first, then by hostname. */
  nodes: PlannedNode[];
  /** ASIC miners, by hostname. */
  asics: PlannedAsic[];
  /** Machines with `state: retired`, by hostname: not planned as load, removed from the cluster. */
  retired: RetiredMachine[];
  /** Pools, by name. */
  pools: PlannedPool[];
  queues: QueuePlan;
  /** Circuits, in site order. */
  circuits: CircuitLoad[];
  /** Feeds, in site order. */
  feeds: FeedLoad[];
  /** One entry per non-firm feed, in site order. */
  curtailment: FeedCurtailment[];
  totals: {
    machines: number;
    nodes: number;
    gpus: number;
    asics: number;
    itWatts: number;
    facilityWatts: number;
    strandedWatts: number;
    throughputTflops: number;
  };
  /** Things a person should know that are not errors, sorted. */
  warnings: string[];
  /**
   * Partitioned stacks (absent: one stack holds the site): what decided the partitions and
   * their names, sorted. Each agent's partition is on its node ({@link PlannedNode.partition}).
   */
  partitions?: { by: "machine" | "feed" | "circuit" | "rack"; names: string[] };
}
