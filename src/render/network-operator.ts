/**
 * NVIDIA network operator values and NicClusterPolicy for RDMA fabrics (InfiniBand, RoCE).
 */
import type { FarmPlan } from "../plan/types.js";
import { NETWORK_OPERATOR_IMAGES } from "./versions.js";
import { NVIDIA_GPU_TOLERATION, POWER_TIER_TOLERATION, objectMeta, type K8sObject } from "./objects.js";

/** The operator reconciles only a NicClusterPolicy with this name. */
export const NIC_CLUSTER_POLICY_NAME = "nic-cluster-policy";

/** Resource that pods request for RDMA (`rdma/<name>: 1`), by fabric. */
export const RDMA_RESOURCE_NAMES = { infiniband: "rdma_shared_device_ib", roce: "rdma_shared_device_roce" } as const;

/**
 * Values of the network-operator chart and its NicClusterPolicy, or null without a fabric.
 *
 * - `nfd.enabled: false`: the GPU operator already runs node-feature-discovery (whose
 *   worker whitelists network PCI classes, so Mellanox NICs get `pci-15b3` labels); two
 *   NFD deployments would fight over the same labels. Its NodeFeatureRules are still deployed.
 * - The policy installs the DOCA driver and the RDMA shared device plugin, selecting
 *   Mellanox (vendor 15b3) ports by link type, and tolerates the power-tier taint so every
 *   tier gets RDMA.
 */
export function renderNetworkOperator(
  plan: FarmPlan,
): { values: Record<string, unknown>; nicClusterPolicy: K8sObject } | null {
  const fabric = plan.network.fabric;
  if (fabric === "none") return null;
  const resourceName = RDMA_RESOURCE_NAMES[fabric];
  const devicePluginConfig = JSON.stringify(
    {
      configList: [
        {
          resourceName,
          rdmaHcaMax: 63,
          selectors: { vendors: ["15b3"], linkTypes: [fabric === "infiniband" ? "infiniband" : "ether"] },
        },
      ],
    },
    null,
    2,
  );
  const values: Record<string, unknown> = {
    nfd: { enabled: false, deployNodeFeatureRules: true },
    upgradeCRDs: true,
  };
  const nicClusterPolicy: K8sObject = {
    apiVersion: "mellanox.com/v1alpha1",
    kind: "NicClusterPolicy",
    metadata: objectMeta(NIC_CLUSTER_POLICY_NAME),
    spec: {
      ofedDriver: {
        ...NETWORK_OPERATOR_IMAGES.docaDriver,
        startupProbe: { initialDelaySeconds: 10, periodSeconds: 20 },
        livenessProbe: { initialDelaySeconds: 30, periodSeconds: 30 },
        readinessProbe: { initialDelaySeconds: 10, periodSeconds: 30 },
        upgradePolicy: {
          autoUpgrade: true,
          maxParallelUpgrades: 1,
          drain: { enable: true, force: true, timeoutSeconds: 300, deleteEmptyDir: true },
        },
      },
      rdmaSharedDevicePlugin: { ...NETWORK_OPERATOR_IMAGES.rdmaSharedDevicePlugin, config: devicePluginConfig },
      tolerations: [{ ...NVIDIA_GPU_TOLERATION }, { ...POWER_TIER_TOLERATION }],
    },
  };
  return { values, nicClusterPolicy };
}
