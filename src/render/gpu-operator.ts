/**
 * GPU operator Helm values and the device-plugin sharing config, from the plan.
 *
 * Every key set here exists in the chart's values.yaml (a conformance test walks them).
 */
import { LABELS, POWER_UNVERIFIED_TAINT, type FarmPlan } from "../plan/types.js";
import { NAMESPACES } from "./versions.js";
import {
  NVIDIA_GPU_TOLERATION,
  POWER_TIER_TOLERATION,
  objectMeta,
  compareStrings,
  type K8sObject,
  type Toleration,
} from "./objects.js";

/**
 * Where the NVIDIA container toolkit meets k3s's containerd, for the versions pinned
 * (gpu-operator v26.7.0 with toolkit v1.20.0; k3s v1.33, which ships containerd 2.x since
 * v1.31.6/v1.32.2):
 *
 * - `socket`: k3s runs its own containerd at /run/k3s/containerd/containerd.sock; the operator
 *   mounts the socket's directory into the toolkit from `CONTAINERD_SOCKET`
 *   (gpu-operator controllers/object_controls.go `getRuntimeSocketFile`).
 * - `config`: k3s regenerates /var/lib/rancher/k3s/agent/etc/containerd/config.toml at every
 *   start; what it keeps is the template beside it, `config-v3.toml.tmpl` for containerd 2
 *   (docs.k3s.io/advanced, "Configuring containerd"). The toolkit writes its runtime entries
 *   there (`CONTAINERD_CONFIG`, mounted from the file's directory: `transformRuntimeConfigAndSocketMounts`).
 * - `source`: the toolkit starts from k3s's rendered config, read as a file
 *   (`RUNTIME_CONFIG_SOURCE=file=<host path>`, which the operator maps under /host), not from
 *   `containerd config dump` (there is no containerd binary on a k3s host's PATH).
 * - Even when the template is lost, k3s itself finds the toolkit's runtime binaries under
 *   /usr/local/nvidia/toolkit at start and adds the `nvidia` runtimes and RuntimeClasses
 *   (k3s pkg/agent/containerd/nvidia.go `findNvidiaContainerRuntimes`: "Path when installing
 *   via GPU Operator"; docs.k3s.io/advanced, "Alternative Container Runtime Support").
 * - `runtimeClass`: the RuntimeClass name k3s creates and the toolkit configures (`nvidia`).
 */
export const K3S_CONTAINERD = {
  config: "/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl",
  source: "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
  socket: "/run/k3s/containerd/containerd.sock",
  runtimeClass: "nvidia",
} as const;

/**
 * The NoSchedule taint a GPU node carries until the power agent has read its caps back
 * (plan `POWER_UNVERIFIED_TAINT`). The driver and toolkit must run under it: the agent needs
 * `nvidia-smi` to apply and verify the caps that lift it.
 */
export const POWER_UNVERIFIED_TOLERATION: Readonly<Toleration> = Object.freeze({
  key: POWER_UNVERIFIED_TAINT.key,
  operator: "Exists",
  effect: "NoSchedule",
});

/** Name of the device-plugin ConfigMap the operator's device plugin reads. */
export const DEVICE_PLUGIN_CONFIGMAP = "mine2hpc-device-plugin";

/** Key of the no-sharing entry used by nodes without a `nvidia.com/device-plugin.config` label. */
export const DEVICE_PLUGIN_DEFAULT_KEY = "default";

/** Whether any pool shares its GPUs by time-slicing (then the device plugin needs our config). */
export function hasTimeSlicing(plan: FarmPlan): boolean {
  return plan.pools.some((p) => p.timeSlicingReplicas > 1);
}

/**
 * Tolerations of the operator's node daemonsets: the chart default, the power-tier taint
 * (without it non-firm GPU nodes would never get a driver or advertise a GPU) and the
 * power-unverified taint (the driver and toolkit are what the power agent needs to lift it).
 * The chart has one list for every operand (values.yaml `daemonsets.tolerations`, used by
 * templates/clusterpolicy.yaml; no per-operand key exists in v26.7.0), so the device plugin and
 * validator tolerate it too: harmless, since the taint still keeps every workload pod off the node.
 */
function operandTolerations(): Toleration[] {
  return [{ ...NVIDIA_GPU_TOLERATION }, { ...POWER_TIER_TOLERATION }, { ...POWER_UNVERIFIED_TOLERATION }];
}

/**
 * Helm values of the gpu-operator chart.
 *
 * - `driver.enabled` is false in `host` driver mode (GeForce mining cards run the host's
 *   driver; the operator's driver container targets datacenter GPUs).
 * - `toolkit.env` points the container toolkit at k3s's containerd socket and template ({@link K3S_CONTAINERD}).
 * - `devicePlugin.config` names {@link DEVICE_PLUGIN_CONFIGMAP} when a pool is time-sliced;
 *   `create: false` because mine2hpc renders that ConfigMap itself ({@link renderDevicePluginConfig}).
 * - DCGM exporter on, its ServiceMonitor off: mine2hpc does not install the Prometheus
 *   operator, and a ServiceMonitor without its CRD cannot be created.
 * - NFD workers tolerate the power-tier taint too: GPU nodes are found by NFD labels.
 * - With an RDMA fabric and the operator's driver, GPUDirect RDMA (`nvidia-peermem`) is
 *   enabled against the DOCA driver the network operator installs (not a host MOFED).
 */
export function renderGpuOperatorValues(plan: FarmPlan): Record<string, unknown> {
  const containerDriver = plan.gpuOperator.driverMode === "container";
  const driver: Record<string, unknown> = { enabled: containerDriver };
  if (containerDriver && plan.network.fabric !== "none") {
    driver.rdma = { enabled: true, useHostMofed: false };
  }
  const values: Record<string, unknown> = {
    daemonsets: { tolerations: operandTolerations() },
    driver,
    toolkit: {
      enabled: true,
      env: [
        { name: "CONTAINERD_CONFIG", value: K3S_CONTAINERD.config },
        { name: "RUNTIME_CONFIG_SOURCE", value: `file=${K3S_CONTAINERD.source}` },
        { name: "CONTAINERD_SOCKET", value: K3S_CONTAINERD.socket },
        { name: "CONTAINERD_RUNTIME_CLASS", value: K3S_CONTAINERD.runtimeClass },
      ],
    },
    devicePlugin: hasTimeSlicing(plan)
      ? { enabled: true, config: { create: false, name: DEVICE_PLUGIN_CONFIGMAP, default: DEVICE_PLUGIN_DEFAULT_KEY } }
      : { enabled: true },
    dcgmExporter: { enabled: true, serviceMonitor: { enabled: false } },
    "node-feature-discovery": {
      worker: {
        tolerations: [
          { key: "node-role.kubernetes.io/control-plane", operator: "Equal", value: "", effect: "NoSchedule" },
          { ...NVIDIA_GPU_TOLERATION },
          { ...POWER_TIER_TOLERATION },
        ],
      },
    },
  };
  return values;
}

/** One device-plugin config entry (the YAML text the plugin parses). */
function sharingConfig(replicas: number): string {
  const lines = ["version: v1", "flags:", "  migStrategy: none"];
  if (replicas > 1) {
    lines.push(
      "sharing:",
      "  timeSlicing:",
      "    resources:",
      "    - name: nvidia.com/gpu",
      `      replicas: ${replicas}`,
    );
  }
  return lines.join("\n");
}

/**
 * The device plugin's ConfigMap: a `default` entry without sharing, plus one entry per
 * time-sliced pool keyed by pool name — the value of the pool's
 * `nvidia.com/device-plugin.config` node label, which selects the entry per node.
 * Null when no pool is time-sliced (the plugin then runs with its built-in defaults).
 */
export function renderDevicePluginConfig(plan: FarmPlan): K8sObject | null {
  if (!hasTimeSlicing(plan)) return null;
  const data: Record<string, string> = { [DEVICE_PLUGIN_DEFAULT_KEY]: sharingConfig(1) };
  const pools = plan.pools.filter((p) => p.timeSlicingReplicas > 1).sort((a, b) => compareStrings(a.name, b.name));
  for (const pool of pools) {
    if (pool.name === DEVICE_PLUGIN_DEFAULT_KEY) {
      throw new Error(`pool name "${pool.name}" collides with the device-plugin default entry; rename the pool`);
    }
    const selected = pool.nodeLabels[LABELS.devicePluginConfig];
    if (selected !== undefined && selected !== pool.name) {
      throw new Error(
        `pool ${pool.name} labels its nodes ${LABELS.devicePluginConfig}=${selected}, expected ${pool.name}: the plan and the device-plugin config disagree`,
      );
    }
    data[pool.name] = sharingConfig(pool.timeSlicingReplicas);
  }
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: objectMeta(DEVICE_PLUGIN_CONFIGMAP, { namespace: NAMESPACES.gpuOperator }),
    data,
  };
}
