/**
 * The site model: one YAML file a person edits (plus an optional inventory file).
 *
 * This zod schema is the single source of truth for the shape of a site. It is also
 * emitted as `schema/site.schema.json` (see `emit-schema.ts`) so editors validate site
 * files; a test fails when the committed JSON Schema is out of date.
 *
 * Shape checks live here; cross-field checks (duplicate IPs, unknown circuits, CIDR
 * overlaps, catalog lookups) live in `validate.ts`, which reports every problem with
 * its file and line.
 */
import { z } from "zod";

/** Kubernetes-style DNS-1123 label: what k3s accepts as a node name and we accept as ids. */
const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
    message: "must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit",
  });

const ipv4 = z.ipv4({ message: "must be an IPv4 address such as 10.20.0.11" });
const cidrV4 = z.cidrv4({ message: "must be an IPv4 CIDR such as 10.42.0.0/16" });

export const PowerTier = z.enum(["firm", "interruptible", "curtailable"]).describe(
  "firm: contracted, not interrupted; interruptible: the utility may interrupt with notice; curtailable: the site sheds load on demand (demand response, 4CP windows).",
);
export type PowerTier = z.infer<typeof PowerTier>;

export const CurtailmentWindow = z
  .object({
    name: dnsLabel.describe("Window name, used in CronJob names (e.g. 4cp-afternoon)."),
    schedule: z
      .string()
      .regex(/^\S+\s+\S+\s+\S+\s+\S+\s+\S+$/, { message: "must be a 5-field cron expression such as '0 15 * 6-9 1-5'" })
      .describe("Start of the window as a 5-field cron expression, in the site's timezone."),
    durationMinutes: z.number().int().positive().max(24 * 60).describe("How long the window lasts, in minutes."),
  })
  .strict();
export type CurtailmentWindow = z.infer<typeof CurtailmentWindow>;

export const Curtailment = z
  .object({
    responseTimeSeconds: z
      .number()
      .int()
      .positive()
      .describe("How fast the feed's program requires load to be shed once called, in seconds (e.g. 600 for a 10-minute ERS product)."),
    windows: z.array(CurtailmentWindow).default([]).describe("Scheduled windows (e.g. ERCOT 4CP afternoons June–September)."),
    asicWebhookUrl: z
      .url({ protocol: /^https?$/, message: "must be an http(s) URL such as https://fleet.example/api/curtail" })
      .optional()
      .describe(
        "Your fleet tool's endpoint that powers ASIC miners off and on: the curtailment jobs POST {feed, action: asics-off|asics-on, hosts} to it. Kubernetes cannot power miners itself; without it the asics-off stage only lists them. Put no credentials in the URL (site files are not secret).",
      ),
  })
  .strict();
export type Curtailment = z.infer<typeof Curtailment>;

export const Feed = z
  .object({
    name: dnsLabel.describe("Feed name, e.g. utility-a."),
    tier: PowerTier,
    capacityKw: z.number().positive().describe("Facility power the feed may deliver, in kW (IT load × PUE must fit)."),
    curtailment: Curtailment.optional().describe("Curtailment program of a non-firm feed."),
  })
  .strict();
export type Feed = z.infer<typeof Feed>;

export const Circuit = z
  .object({
    id: dnsLabel.describe("Circuit or PDU id, e.g. pdu-a1."),
    feed: dnsLabel.describe("Name of the feed that powers this circuit."),
    volts: z.number().positive().describe("Voltage across the load: single-phase = line-to-neutral (120, 230 V) or line-to-line for a two-pole branch (208, 240 V); three-phase = line-to-line (208, 400, 415, 480 V)."),
    amps: z.number().positive().describe("Breaker rating in amperes."),
    phases: z
      .union([z.literal(1), z.literal(3)])
      .describe(
        "1 for single-phase, 3 for three-phase (usable power × √3). A three-phase circuit is taken as a wye PDU with line-to-neutral outlets: each phase carries at most V / √3 × A × derating, and machines' PSU cords (powerCords) are spread over the phases.",
      ),
    derating: z
      .number()
      .gt(0)
      .max(1)
      .default(0.8)
      .describe("Fraction of the breaker rating usable for continuous load (NEC 80 % rule by default)."),
  })
  .strict();
export type Circuit = z.infer<typeof Circuit>;

export const MachineRole = z.enum(["control-plane", "gpu", "cpu", "asic"]);
export type MachineRole = z.infer<typeof MachineRole>;

export const PcieLink = z.enum(["x1", "x4", "x8", "x16"]).describe("PCIe link width of the GPUs: x1 for mining riser rigs, x16 for servers.");
export type PcieLink = z.infer<typeof PcieLink>;

export const MachineState = z
  .enum(["active", "cordoned", "offline", "retired"])
  .describe(
    "active: in service (default). cordoned: installed but unschedulable and drained. offline: not reachable now: no SSH is attempted and nothing of it changes, yet its power is still planned because it can come back on. retired: removed from the cluster (drained and uninstalled when reachable, else removed from the server side) and no longer planned as load.",
  );
export type MachineState = z.infer<typeof MachineState>;

/** Firmware (and so the API driver) of an ASIC miner. */
export const MinerFirmware = z
  .enum(["luxos", "braiins", "antminer", "whatsminer", "webhook"])
  .describe(
    "ASIC firmware whose API curtails the miner: luxos (LuxOS, TCP 4028), braiins (Braiins OS public API, gRPC 50051), antminer (Bitmain stock: web CGI on 80, cgminer API on 4028), whatsminer (API v2, TCP 4028), webhook (the feed's asicWebhookUrl: your fleet tool acts).",
  );
export type MinerFirmware = z.infer<typeof MinerFirmware>;

/** Public SSH host key as ssh-keyscan prints it, without the host column: `<type> <base64>`. */
const sshHostKey = z
  .string()
  .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}$/, {
    message: "must be a public host key '<type> <base64>' such as 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA…' (run 'mine2hpc hosts keyscan --write' to fill it)",
  });

export const Machine = z
  .object({
    hostname: dnsLabel.describe("Stable machine name; becomes the Kubernetes node name."),
    ip: ipv4.describe("Node IP inside network.nodeSubnet."),
    mac: z
      .string()
      .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, { message: "must be a MAC address such as 3c:ec:ef:01:02:03" })
      .optional()
      .describe("MAC address of the node's primary interface."),
    rack: z.string().min(1).describe("Rack, row or container the machine stands in."),
    circuit: dnsLabel.describe("Id of the circuit/PDU that powers the machine."),
    role: MachineRole,
    gpuModel: z.string().optional().describe("GPU model from the hardware catalog (gpu role only), e.g. rtx-3090, h100-sxm."),
    gpuCount: z.number().int().min(0).max(16).optional().describe("Number of GPUs in the machine (gpu role only)."),
    pcieLink: PcieLink.optional(),
    gpuMaxWatts: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        "Highest power limit this machine's GPU boards accept, in W (nvidia-smi -q -d POWER: Max Power Limit), where they differ from the catalog's maxWatts: partner boards of one model differ (RTX 4090: 450 W on some, 600 W on others). The planner never caps the machine's GPUs above it. At least the model's TDP, at most its boardMaxWatts. @default the catalog model's maxWatts",
      ),
    asicModel: z.string().optional().describe("ASIC miner model from the hardware catalog (asic role only), e.g. s21."),
    psuEfficiency: z
      .number()
      .gt(0.5)
      .max(1)
      .optional()
      .describe("Power-supply efficiency at typical load (wall W = DC W / efficiency). @default site defaults.psuEfficiency"),
    baseWatts: z
      .number()
      .min(0)
      .optional()
      .describe("DC draw of everything but the GPUs (CPU, board, fans, NICs), in W. @default by role and GPU class"),
    sshUser: z.string().min(1).optional().describe("SSH user for host bootstrap. @default site defaults.sshUser"),
    powerCords: z
      .number()
      .int()
      .min(1)
      .max(8)
      .optional()
      .describe(
        "PSU cords the machine spreads its load over, one PDU outlet each (redundant PSUs share load evenly). On a three-phase circuit each cord sits on one phase: the planner assumes a wye PDU with line-to-neutral outlets, so every phase may carry V / √3 × A × derating, and spreads cords over L1/L2/L3. @default 1 for ASIC miners and x1 riser rigs, 2 for other servers, 6 for SXM (HGX) systems",
      ),
    state: MachineState.optional().describe("Lifecycle state of the machine. @default active"),
    generation: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("Install generation: bump it after re-imaging the machine so its bootstrap runs again. @default 0"),
    sshHostKey: sshHostKey
      .optional()
      .describe("Pinned SSH host key '<type> <base64>' (ssh-keyscan); pulumi up refuses a host whose key differs. Filled by 'mine2hpc hosts keyscan --write'."),
    minerApi: z
      .string()
      .optional()
      .describe(
        "ASIC miners only: the miner's API as a URL, luxos://10.2.0.15:4028, braiins://host[:50051], antminer://host[:80], whatsminer://host[:4028]. No credentials in it: they come from a Pulumi secret. @default firmware (or defaults.minerFirmware) at the machine's IP and the firmware's port",
      ),
    firmware: MinerFirmware.optional().describe("ASIC miners only: firmware, which picks the curtailment driver. @default defaults.minerFirmware"),
    partition: dnsLabel
      .optional()
      .describe(
        "gpu and cpu machines only: the partition (its own Pulumi stack) that holds this machine's bootstrap and node patch. Overrides the site's partitions rule for this machine. Servers always stay in the cluster stack. @default from partitions.by, or none (one stack for the site)",
      ),
    row: z
      .string()
      .min(1)
      .max(63)
      .optional()
      .describe("Row the machine stands in, kept beside rack as the fleet tool records it (Foreman site map: the row inside the rack). Used by circuit rules and shown in reports; racks stay separate."),
    fleetId: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9._:-]+$/, { message: "must be the fleet tool's id of the machine: letters, digits, '.', '_', ':' or '-'" })
      .optional()
      .describe(
        "The machine's id in the fleet tool it was imported from (Foreman miner id, Hive OS worker id), so a curtailment driver that acts through the fleet tool's API can name the machine. Written by 'mine2hpc import'.",
      ),
  })
  .strict();
export type Machine = z.infer<typeof Machine>;

/** A catalog key: what machines name and pool names start with, so short enough for a 63-character label. */
const catalogKey = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/, {
  message: "must be a lowercase catalog key of letters, digits and '-', at most 40 characters, such as rtx-3080-ti",
});

/** A GPU model of the site's own catalog: the fields of a built-in entry (src/site/catalog.ts GpuSpec). */
export const CatalogGpu = z
  .object({
    key: catalogKey.describe("Key machines name in gpuModel, e.g. rtx-3080-ti. A built-in model's key replaces that model."),
    name: z.string().min(1).max(100).describe("Marketing name as nvidia-smi prints it, e.g. NVIDIA GeForce RTX 3080 Ti (also found by gpuModel)."),
    consumer: z.boolean().default(false).describe("GeForce card: outside NVIDIA's datacenter support matrix (driver on the host)."),
    formFactor: z.enum(["pcie", "sxm"]).default("pcie").describe("pcie: a card; sxm: a module on an HGX baseboard with NVLink."),
    memoryGiB: z.number().positive().describe("GPU memory, in GiB."),
    tdpWatts: z.number().int().positive().describe("Stock board power (TGP/TDP; nvidia-smi Default Power Limit), in W."),
    minWatts: z.number().int().positive().describe("Lowest settable power limit (nvidia-smi Min Power Limit), in W."),
    maxWatts: z.number().int().positive().describe("Highest settable power limit the planner uses (nvidia-smi Max Power Limit), in W."),
    boardMaxWatts: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("Highest Max Power Limit any board of the model accepts, in W: how far a machine's gpuMaxWatts may go. @default maxWatts"),
    idleWatts: z.number().positive().optional().describe("Draw idle with the driver loaded, in W. @default 10 % of TDP"),
    fp16Tflops: z.number().positive().describe("Dense FP16 tensor throughput with FP32 accumulate at stock power, in TFLOPS (no sparsity)."),
    curve: z
      .array(z.tuple([z.number().positive(), z.number().positive()]))
      .min(2)
      .optional()
      .describe(
        "Throughput relative to stock as [capWatts, relative] points, caps ascending from minWatts to maxWatts, 1.0 at tdpWatts, rising and concave (slopes never increase). @default the catalog's shared model (about 90 % at 70 % of TDP)",
      ),
    hostBaseWatts: z
      .number()
      .min(0)
      .optional()
      .describe("DC draw of the rest of a typical host of this GPU, in W (machines without baseWatts). @default 120 for consumer cards, 600 for other PCIe cards; required for sxm"),
    aliases: z.array(z.string().min(1).max(100)).default([]).describe("Other spellings machines and inventories may use."),
    pcieLinkLimit: z
      .object({
        generation: z.number().int().min(1).max(6).describe("PCIe generation the board is limited to."),
        lanes: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8), z.literal(16)]).describe("Lanes the board is limited to."),
      })
      .strict()
      .optional()
      .describe("The board's own PCIe link where it is narrower than its slot (NVIDIA CMP cards: Gen 1 x4): at 2 GB/s or less (Gen 3 x2) planned like an x1 riser, inference only."),
  })
  .strict();
export type CatalogGpu = z.infer<typeof CatalogGpu>;

/** An ASIC miner model of the site's own catalog (src/site/catalog.ts AsicSpec). */
export const CatalogAsic = z
  .object({
    key: catalogKey.describe("Key machines name in asicModel, e.g. s21-pro. A built-in model's key replaces that model."),
    name: z.string().min(1).max(100).describe("Marketing name, e.g. Antminer S21 Pro."),
    watts: z.number().positive().describe("Wall power at stock settings, in W."),
    hashrateThs: z.number().positive().describe("Hash rate at stock settings, in TH/s."),
    aliases: z.array(z.string().min(1).max(100)).default([]).describe("Other spellings machines and inventories may use."),
  })
  .strict();
export type CatalogAsic = z.infer<typeof CatalogAsic>;

export const SiteCatalog = z
  .object({
    gpus: z.array(CatalogGpu).default([]).describe("GPU models this site adds, or built-in ones it replaces (same key)."),
    asics: z.array(CatalogAsic).default([]).describe("ASIC miner models this site adds, or built-in ones it replaces (same key)."),
  })
  .strict()
  .describe("Hardware the built-in catalog lacks, or whose figures differ on this site's boards. Machines name these models first, then the built-in ones.");
export type SiteCatalog = z.infer<typeof SiteCatalog>;

export const Network = z
  .object({
    nodeSubnet: cidrV4.describe("Subnet that every machine IP must be in."),
    clusterCidr: cidrV4.default("10.42.0.0/16").describe("Pod CIDR. Cannot change after the first pulumi up."),
    serviceCidr: cidrV4.default("10.43.0.0/16").describe("Service CIDR. Cannot change after the first pulumi up."),
    loadBalancerPool: z
      .string()
      .regex(/^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|\d{1,3}(\.\d{1,3}){3}-\d{1,3}(\.\d{1,3}){3})$/, {
        message: "must be a CIDR (10.20.3.0/28) or a range (10.20.3.200-10.20.3.250)",
      })
      .optional()
      .describe("MetalLB address pool for LoadBalancer services: a CIDR or a first-last range."),
    cni: z.enum(["flannel", "cilium"]).default("flannel"),
    fabric: z.enum(["none", "infiniband", "roce"]).default("none").describe("RDMA fabric for the NVIDIA network operator."),
  })
  .strict();
export type Network = z.infer<typeof Network>;

export const Kubernetes = z
  .object({
    distribution: z.literal("k3s").default("k3s"),
    version: z
      .string()
      .regex(/^v\d+\.\d+\.\d+\+k3s\d+$/, { message: "must be a k3s release such as v1.33.5+k3s1" })
      .default("v1.33.5+k3s1")
      .describe("k3s release (INSTALL_K3S_VERSION)."),
    apiEndpoint: z
      .string()
      .optional()
      .describe("Address clients use for the API (a VIP or DNS name). @default the first control-plane IP"),
    tenantNamespaces: z
      .array(dnsLabel)
      .default(["default"])
      .describe("Namespaces whose workloads submit to the Kueue queues: each gets a LocalQueue per power tier."),
    rollout: z
      .object({
        maxUnavailable: z
          .union([
            z.number().int().min(1),
            z.string().regex(/^([1-9]\d?|100)%$/, { message: "must be a whole number of machines (e.g. 5) or a percentage 1%–100% (e.g. '10%')" }),
          ])
          .default("10%")
          .describe("Agents upgraded at once during a k3s version change (servers always go one at a time): a count, or a percentage of the agents rounded down, at least 1."),
      })
      .strict()
      .default({ maxUnavailable: "10%" })
      .describe("How a k3s version change rolls over the site."),
    startTimeoutSeconds: z
      .number()
      .int()
      .min(30)
      .max(3600)
      .default(300)
      .describe("Deadline for k3s to start on a host (and for a server's node to register), in s; past it the bootstrap fails with the journal's tail."),
  })
  .strict();
export type Kubernetes = z.infer<typeof Kubernetes>;

export const GpuOperator = z
  .object({
    chartVersion: z.string().default("v26.7.0").describe("Pinned gpu-operator Helm chart version."),
    driverMode: z
      .enum(["container", "host"])
      .default("container")
      .describe("container: the operator installs the driver; host: the driver is preinstalled on the host (GeForce cards)."),
    timeSlicingReplicas: z
      .number()
      .int()
      .min(1)
      .max(48)
      .default(1)
      .describe("Time-slicing replicas per GPU for inference pools (1 = no sharing)."),
  })
  .strict();
export type GpuOperator = z.infer<typeof GpuOperator>;

export const Defaults = z
  .object({
    sshUser: z.string().min(1).default("ubuntu"),
    psuEfficiency: z.number().gt(0.5).max(1).default(0.92),
    minerFirmware: MinerFirmware.optional().describe("Firmware of ASIC miners that set neither minerApi nor firmware. @default none: such miners are not automated (or the feed's webhook when it has one)"),
  })
  .strict();

/** An http(s) URL without credentials, query or fragment. */
const mirrorUrl = (what: string, protocols: RegExp, example: string) =>
  z.url({ protocol: protocols, message: `must be ${what} such as ${example}` });

export const Mirror = z
  .object({
    artifacts: mirrorUrl("an http(s) URL", /^https?$/, "https://mirror.site.local/k3s")
      .optional()
      .describe(
        "Base URL of the k3s artifacts, laid out like the k3s GitHub releases: <artifacts>/install.sh, <artifacts>/<version>/k3s, k3s-airgap-images-amd64.tar.zst and sha256sum-amd64.txt. Hosts download nothing from the internet.",
      ),
    registry: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d{1,5})?(\/[a-z0-9._/-]+)?$/, { message: "must be a registry host[:port][/path] such as mirror.site.local:5000" })
      .optional()
      .describe("Container registry that mirrors docker.io, nvcr.io, registry.k8s.io, quay.io and ghcr.io (written to every host's /etc/rancher/k3s/registries.yaml)."),
    charts: mirrorUrl("an http(s) Helm repository or an oci:// registry", /^(https?|oci)$/, "https://mirror.site.local/charts or oci://mirror.site.local:5000/charts")
      .optional()
      .describe("Helm charts mirror: every chart is taken from here (same chart names and versions)."),
  })
  .strict()
  .describe("Air-gapped site: where hosts and the cluster take every artifact, image and chart. 'mine2hpc mirror list' prints what to mirror.");
export type Mirror = z.infer<typeof Mirror>;

/** How a site splits its Kubernetes agents into partitions, one Pulumi stack each. */
export const Partitions = z
  .object({
    by: z
      .enum(["machine", "feed", "circuit", "rack"])
      .describe(
        "What decides a machine's partition: machine (each gpu/cpu machine's own partition field), or the machine's feed, circuit or rack (a machine's partition field still overrides it).",
      ),
    groups: z
      .record(dnsLabel, z.array(z.string().min(1)).min(1))
      .optional()
      .describe(
        "Partition name → the feeds, circuits or racks (as 'by' says) it holds, e.g. {hall-a: [feed-a, feed-b]}. Every value a gpu/cpu machine has must be listed once. @default each feed, circuit or rack is its own partition (and must then be a DNS label)",
      ),
  })
  .strict()
  .describe(
    "Partitioned stacks: the cluster stack holds the servers and everything cluster-wide; one stack per partition holds that partition's gpu/cpu machines. The plan is still computed for the whole site. @default none: one stack holds the site",
  );
export type Partitions = z.infer<typeof Partitions>;

export const Site = z
  .object({
    $schema: z.string().optional(),
    apiVersion: z.literal("mine2hpc.io/v1alpha1"),
    kind: z.literal("Site"),
    metadata: z
      .object({
        name: dnsLabel.describe("Site name; prefixes resource names."),
        timezone: z.string().min(1).describe("IANA timezone of the site, used by curtailment CronJobs (e.g. America/Chicago)."),
        gridRegion: z.string().min(1).describe("Grid operator or region, e.g. ERCOT, PJM, NordPool."),
      })
      .strict(),
    power: z
      .object({
        pue: z.number().min(1).max(3).describe("Power usage effectiveness: facility kW / IT kW."),
        feeds: z.array(Feed).min(1),
        circuits: z.array(Circuit).min(1),
      })
      .strict(),
    network: Network,
    kubernetes: Kubernetes.default({
      distribution: "k3s",
      version: "v1.33.5+k3s1",
      tenantNamespaces: ["default"],
      rollout: { maxUnavailable: "10%" },
      startTimeoutSeconds: 300,
    }),
    gpuOperator: GpuOperator.default({ chartVersion: "v26.7.0", driverMode: "container", timeSlicingReplicas: 1 }),
    defaults: Defaults.default({ sshUser: "ubuntu", psuEfficiency: 0.92 }),
    mirror: Mirror.optional(),
    catalog: SiteCatalog.optional(),
    inventory: z.string().optional().describe("Path of a CSV inventory, relative to this file; its rows are appended to machines."),
    partitions: Partitions.optional(),
    machines: z.array(Machine).default([]),
  })
  .strict();

/** A site as written (before defaults). */
export type SiteInput = z.input<typeof Site>;
/** A parsed site with defaults applied. */
export type SiteSpec = z.infer<typeof Site>;
