/**
 * KubePlatform: the cluster software every site gets — CNI (Cilium when chosen), the NVIDIA
 * GPU operator, MetalLB, the NVIDIA network operator (RDMA fabrics), Kueue and the k3s
 * system-upgrade-controller with its server and agent Plans — as pinned Helm releases and
 * objects rendered from the plan, plus the custom resources they need.
 */
import * as pulumi from "@pulumi/pulumi";
import type { SshAuth } from "./host-bootstrap.js";
import * as k8s from "@pulumi/kubernetes";
import type { FarmPlan } from "../plan/types.js";
import {
  CHARTS,
  mirroredChart,
  NAMESPACES,
  renderCiliumValues,
  renderDevicePluginConfig,
  renderGpuOperatorValues,
  renderMetalLbObjects,
  renderNetworkOperator,
} from "../render/index.js";
import { renderKueueValues } from "../render/kueue-values.js";
import { renderSystemUpgradeController, renderUpgradePlans, renderWebhookWaitScript } from "../render/upgrade.js";
import * as command from "@pulumi/command";
import { commandTimeouts, SERVER_SIDE_DEADLINE_SECONDS, sshConnection } from "./host-bootstrap.js";
import { createObject, createObjects } from "./k8s-objects.js";
import { remoteScriptCommand } from "./remote-script.js";
import type { K8sObject } from "../render/objects.js";

type K8sObjectList = readonly K8sObject[];

/** What the Kueue webhook check dry-runs: a flavor no one uses (never created). */
const KUEUE_WEBHOOK_PROBE: K8sObject = { apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ResourceFlavor", metadata: { name: "mine2hpc-webhook-probe" }, spec: {} };
import { controlServerOf, hostKeyOf, rolloutOf } from "./lifecycle.js";

/** A Helm chart source. */
export interface ChartRef {
  /** Chart name in the repository, e.g. `gpu-operator`. */
  chart: string;
  /** Repository URL, e.g. `https://helm.ngc.nvidia.com/nvidia`. */
  repo: string;
  /** Pinned chart version. */
  version: string;
}

/** The charts KubePlatform installs, by key of `CHARTS`. */
export type ChartKey = keyof typeof CHARTS;

/** Arguments of {@link KubePlatform}. */
export interface KubePlatformArgs {
  /** The plan: CNI, fabric, MetalLB pool, GPU-operator settings. */
  plan: FarmPlan;
  /** Provider of the site's cluster (from ClusterAccess). */
  provider: k8s.Provider;
  /**
   * Per-chart overrides of `CHARTS` (a mirror repository, a newer patch version).
   * @default the pinned `CHARTS`; the GPU operator's version is the plan's `gpuOperator.chartVersion`
   */
  charts?: Partial<Record<ChartKey, Partial<ChartRef>>>;
  /** Resources that must exist before any release is installed: the servers' bootstraps, never the agents'. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  /**
   * SSH key for the checks run on the first server (webhooks serving). Without it, custom
   * resources wait for their release only.
   */
  sshPrivateKey?: SshAuth;
}

/** Helm releases and their custom resources. */
export class KubePlatform extends pulumi.ComponentResource {
  /** Releases by chart key; only the charts the plan needs are present. */
  readonly releases: Readonly<Partial<Record<ChartKey, k8s.helm.v3.Release>>>;
  /** The chart each release uses (after overrides), by chart key, for outputs and preview. */
  readonly charts: Readonly<Partial<Record<ChartKey, ChartRef>>>;
  /** What custom resources of a chart wait for: its release, and the check that its webhooks serve. */
  readonly webhooksReady: Readonly<Partial<Record<"kueue" | "metallb", pulumi.Resource>>>;
  /** The system-upgrade-controller's server and agent Plans. */
  readonly upgradePlans: readonly pulumi.CustomResource[];

  constructor(name: string, args: KubePlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mine2hpc:index:KubePlatform", name, {}, opts);
    const built = createKubePlatform(name, this, args);
    this.releases = built.releases;
    this.charts = built.charts;
    this.webhooksReady = built.webhooksReady;
    this.upgradePlans = built.upgradePlans;
    this.registerOutputs({ charts: this.charts });
  }
}

/**
 * Helm release names, fixed per chart key: a chart override (mirror, fork) must not rename the
 * release, which Helm and Pulumi would treat as uninstall + install.
 */
export const RELEASE_NAMES: Readonly<Record<ChartKey, string>> = {
  gpuOperator: "gpu-operator",
  kueue: "kueue",
  metallb: "metallb",
  cilium: "cilium",
  networkOperator: "network-operator",
};

/** Namespaces the releases go into get the privileged Pod Security level: their agents run privileged on the host. */
const PRIVILEGED_NAMESPACE_LABELS = {
  "app.kubernetes.io/managed-by": "mine2hpc",
  "app.kubernetes.io/part-of": "mine2hpc",
  "pod-security.kubernetes.io/enforce": "privileged",
};

/**
 * The chart a release uses: override, then the site's chart mirror (`plan.mirror.charts`: same
 * name and version, so an air-gapped site never reaches the upstream repository), then plan
 * (GPU operator version), then the pinned default.
 */
export function resolveChart(key: ChartKey, plan: FarmPlan, overrides: KubePlatformArgs["charts"]): ChartRef {
  const pinned: ChartRef = { ...CHARTS[key] };
  if (key === "gpuOperator") pinned.version = plan.gpuOperator.chartVersion;
  return { ...mirroredChart(pinned, plan), ...(overrides?.[key] ?? {}) };
}

/**
 * How Helm is told where a chart is: an OCI registry is part of the chart reference
 * (`oci://registry/path/chart`), an HTTP repository goes in `repositoryOpts`.
 */
export function chartSource(chart: ChartRef): Pick<k8s.helm.v3.ReleaseArgs, "chart" | "repositoryOpts"> {
  if (chart.repo.startsWith("oci://")) return { chart: `${chart.repo.replace(/\/+$/, "")}/${chart.chart}` };
  return { chart: chart.chart, repositoryOpts: { repo: chart.repo } };
}

/** Builds the releases and custom resources under `parent`. */
export function createKubePlatform(name: string, parent: pulumi.Resource, args: KubePlatformArgs) {
  const { plan, provider } = args;
  const opts: pulumi.CustomResourceOptions = { parent, provider };
  const releases: Partial<Record<ChartKey, k8s.helm.v3.Release>> = {};
  const charts: Partial<Record<ChartKey, ChartRef>> = {};
  const hostsReady = args.dependsOn ?? [];
  const webhooksReady: Partial<Record<"kueue" | "metallb", pulumi.Resource>> = {};
  const control = controlServerOf(plan);

  /**
   * A check on the first server that `chart`'s admission webhooks accept `objects` (a server-side
   * dry run), after `after`: custom resources created right after their chart otherwise fail with
   * "failed calling webhook" while the webhook's endpoints and certificate settle.
   */
  const webhookGate = (chart: "kueue" | "metallb", objects: K8sObjectList, after: pulumi.Resource): pulumi.Resource => {
    if (args.sshPrivateKey === undefined || objects.length === 0) return after;
    const version = charts[chart]?.version ?? "unpinned";
    const script = remoteScriptCommand(renderWebhookWaitScript(plan, `${chart} ${version}`, objects), "mine2hpc-webhook-wait", {
      timeoutSeconds: SERVER_SIDE_DEADLINE_SECONDS,
    });
    return new command.remote.Command(
      `${name}-${chart}-webhooks-ready`,
      {
        connection: sshConnection({ ip: control.ip, sshUser: control.sshUser, sshHostKey: hostKeyOf(control) }, args.sshPrivateKey),
        // The chart version is part of the script: a new version runs the check again (its webhook restarts).
        create: script,
        update: script,
        logging: "stdoutAndStderr",
        addPreviousOutputInEnv: false,
      },
      { parent, dependsOn: [after], customTimeouts: commandTimeouts(SERVER_SIDE_DEADLINE_SECONDS) },
    );
  };

  const release = (
    key: ChartKey,
    namespace: string,
    values: pulumi.Input<Record<string, unknown>>,
    dependsOn: pulumi.Input<pulumi.Resource>[],
    extra: Partial<k8s.helm.v3.ReleaseArgs> = {},
  ): k8s.helm.v3.Release => {
    const chart = resolveChart(key, plan, args.charts);
    charts[key] = chart;
    const r = new k8s.helm.v3.Release(
      `${name}-${RELEASE_NAMES[key]}`,
      {
        name: RELEASE_NAMES[key],
        ...chartSource(chart),
        version: chart.version,
        namespace,
        values,
        ...extra,
      },
      // Charts install onto nodes that exist only after the hosts' bootstrap; plus the per-chart order below.
      pulumi.mergeOptions(opts, { dependsOn: [...hostsReady, ...dependsOn] }),
    );
    releases[key] = r;
    return r;
  };

  const namespace = (ns: string): pulumi.CustomResource =>
    createObject(name, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: PRIVILEGED_NAMESPACE_LABELS } }, opts);

  // 1. CNI. With flannel k3s runs it itself; Cilium replaces it and must be up before any pod networking.
  const cniReady: pulumi.Resource[] = [];
  const ciliumValues = renderCiliumValues(plan);
  if (plan.network.cni === "cilium" && ciliumValues !== null) {
    cniReady.push(release("cilium", NAMESPACES.cilium, ciliumValues, []));
  }

  // 2. GPU operator, with the device-plugin sharing config it reads at start.
  const gpuNs = namespace(NAMESPACES.gpuOperator);
  const gpuDeps: pulumi.Resource[] = [gpuNs, ...cniReady];
  const devicePluginConfig = renderDevicePluginConfig(plan);
  if (devicePluginConfig !== null) {
    // The device plugin reads this ConfigMap when it starts: create it before the operator deploys the plugin.
    gpuDeps.push(createObject(name, devicePluginConfig, pulumi.mergeOptions(opts, { dependsOn: [gpuNs] })));
  }
  // The operator's pods need a pod network (CNI first) and their namespace; the driver build can take many minutes.
  release("gpuOperator", NAMESPACES.gpuOperator, renderGpuOperatorValues(plan), gpuDeps, { timeout: 1800 });

  // 3. MetalLB and its pool: the chart installs the CRDs the IPAddressPool/L2Advertisement need.
  const metalLbObjects = renderMetalLbObjects(plan);
  if (metalLbObjects.length > 0) {
    const ns = namespace(NAMESPACES.metallb);
    const metallb = release("metallb", NAMESPACES.metallb, {}, [ns, ...cniReady]);
    // Custom resources need the chart's CRDs and its webhook serving.
    webhooksReady.metallb = webhookGate("metallb", metalLbObjects, metallb);
    createObjects(name, metalLbObjects, pulumi.mergeOptions(opts, { dependsOn: [metallb, webhooksReady.metallb] }));
  }

  // 4. NVIDIA network operator and the NicClusterPolicy, only on RDMA fabrics.
  const network = renderNetworkOperator(plan);
  if (network !== null) {
    const ns = namespace(NAMESPACES.networkOperator);
    const op = release("networkOperator", NAMESPACES.networkOperator, network.values, [ns, ...cniReady]);
    // NicClusterPolicy is a CRD the chart installs.
    createObject(name, network.nicClusterPolicy, pulumi.mergeOptions(opts, { dependsOn: [op] }));
  }

  // 5. Kueue, configured to account GPUs only: its queues and flavors are PowerPools' (they depend on this release).
  const kueueNs = namespace(NAMESPACES.kueue);
  const kueue = release("kueue", NAMESPACES.kueue, renderKueueValues(plan), [kueueNs, ...cniReady]);
  // PowerPools' flavors and queues wait for this. The dry run uses a fixed ResourceFlavor (Kueue
  // validates and defaults flavors in its webhook), so a change of pools does not re-run the check.
  webhooksReady.kueue = webhookGate("kueue", [KUEUE_WEBHOOK_PROBE], kueue);

  // 6. Rolling k3s upgrades: the system-upgrade-controller and its Plans for plan.kubernetes.version.
  const suc = createObjects(name, renderSystemUpgradeController(), opts);
  const sucDeployment = suc.find((r) => r instanceof k8s.apps.v1.Deployment);
  // The controller registers the Plan CRD when it starts (pkg/upgrade/controller.go registerCRD):
  // the Plans wait for its Deployment to be available (the provider retries "no matches for kind" meanwhile).
  const upgradePlans = renderUpgradePlans(plan, rolloutOf(plan).agentBatch).map((p) =>
    createObject(name, p, pulumi.mergeOptions(opts, { dependsOn: sucDeployment ? [sucDeployment] : suc })),
  );

  return { releases, charts, webhooksReady, upgradePlans };
}
