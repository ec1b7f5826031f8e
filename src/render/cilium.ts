/**
 * Cilium Helm values for HPC halls: native routing on the flat node subnet (no overlay,
 * no encapsulation overhead between GPU nodes).
 *
 * Assumes k3s runs with `flannel-backend: none` and `disable-network-policy` (Cilium is
 * the CNI and enforces NetworkPolicy) and keeps its kube-proxy: kube-proxy replacement
 * stays off, so Cilium reaches the API through the `kubernetes` Service like any pod and
 * `k8sServiceHost`/`k8sServicePort` are not needed.
 */
import type { FarmPlan } from "../plan/types.js";

/**
 * Values of the cilium chart, or null unless the plan chose Cilium.
 * - `ipam.mode: kubernetes`: pod CIDRs are the per-node ranges k3s carves from `cluster-cidr`.
 * - `autoDirectNodeRoutes`: every node is on one L2 subnet, so routes to other nodes' pod
 *   CIDRs point straight at the node IP.
 * - Two operator replicas with an HA control plane, one otherwise (a second replica on a
 *   single server would stay Pending on its anti-affinity).
 */
export function renderCiliumValues(plan: FarmPlan): Record<string, unknown> | null {
  if (plan.network.cni !== "cilium") return null;
  return {
    kubeProxyReplacement: false,
    routingMode: "native",
    ipv4NativeRoutingCIDR: plan.network.clusterCidr,
    autoDirectNodeRoutes: true,
    ipam: { mode: "kubernetes" },
    operator: { replicas: plan.kubernetes.servers.length > 1 ? 2 : 1 },
  };
}
