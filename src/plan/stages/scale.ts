/**
 * Part of stage 7 of `planFarm`: warnings when one cluster would go past the limits upstream
 * Kubernetes is tested for ("Considerations for large clusters",
 * https://kubernetes.io/docs/setup/best-practices/cluster-large/: no more than 110 pods per
 * node, 5,000 nodes, 150,000 total pods and 300,000 total containers), each with how to split.
 *
 * Pods are counted at the most the plan lets the cluster schedule: on a GPU node one pod per
 * GPU slot (GPUs × the pool's time-slicing replicas: each replica is one `nvidia.com/gpu` a pod
 * can request) plus the DaemonSet pods every node of its kind runs; a node never runs more
 * than the kubelet's `max-pods` (110 by default, k3s included). Containers are at least one per
 * pod. A site under these limits may still want several Pulumi stacks (partitions) for the
 * time of an `up`; partitions split the state, not the cluster, so they do not lift these limits.
 */
import type { SiteSpec } from "../../site/schema.js";
import type { PlannedNode, PlannedPool } from "../types.js";

/** Upstream Kubernetes' tested limits (kubernetes.io/docs/setup/best-practices/cluster-large/). */
export const KUBERNETES_LIMITS = { nodes: 5_000, podsPerNode: 110, totalPods: 150_000, totalContainers: 300_000 } as const;

/** The kubelet's default `--max-pods` (kubelet configuration `maxPods`, also k3s's default). */
export const KUBELET_DEFAULT_MAX_PODS = 110;

/**
 * DaemonSet pods on every GPU node: the GPU operator's operands (container toolkit, device
 * plugin, GPU feature discovery, DCGM exporter, operator validator), its node-feature-discovery
 * worker and mine2hpc's power agent; plus the driver DaemonSet when the operator installs the
 * driver (`driverMode: container`).
 */
export function gpuNodeDaemonPods(site: SiteSpec): number {
  return 7 + (site.gpuOperator.driverMode === "container" ? 1 : 0) + (site.network.loadBalancerPool ? 1 : 0);
}

/** DaemonSet pods on a node without GPUs: the node-feature-discovery worker (and MetalLB's speaker). */
export function otherNodeDaemonPods(site: SiteSpec): number {
  return 1 + (site.network.loadBalancerPool ? 1 : 0);
}

const fmt = (n: number): string => n.toLocaleString("en-US");

/** The scalability warnings of a plan's nodes and pools (not sorted; planWarnings sorts). */
export function scaleWarnings(site: SiteSpec, nodes: readonly PlannedNode[], pools: readonly PlannedPool[]): string[] {
  const warnings: string[] = [];
  const L = KUBERNETES_LIMITS;
  const splitSites = "split the machines into several sites, one cluster each (e.g. by hall or feed, each its own repository from mine2hpc new); partitioned stacks split the Pulumi state, not the cluster, and do not lift this limit";
  if (nodes.length > L.nodes) {
    warnings.push(
      `one cluster of ${fmt(nodes.length)} nodes is over the ${fmt(L.nodes)} nodes per cluster upstream Kubernetes is tested for (kubernetes.io/docs/setup/best-practices/cluster-large): ${splitSites}`,
    );
  }
  const replicasOf = new Map(pools.map((p) => [p.name, p.timeSlicingReplicas]));
  const gpuDaemons = gpuNodeDaemonPods(site);
  let pods = 0;
  for (const p of pools) {
    const members = nodes.filter((n) => n.pool === p.name && n.gpu !== undefined);
    const most = Math.max(0, ...members.map((n) => n.gpu!.count * p.timeSlicingReplicas + gpuDaemons));
    if (most > L.podsPerNode) {
      const n = members.find((m) => m.gpu!.count * p.timeSlicingReplicas + gpuDaemons === most)!;
      warnings.push(
        `pool ${p.name}: up to ${most} pods per node (${n.gpu!.count} GPUs × ${p.timeSlicingReplicas} time-slicing replicas + ${gpuDaemons} DaemonSet pods) is over the ${L.podsPerNode} pods per node upstream Kubernetes is tested for, and the kubelet's default max-pods (${KUBELET_DEFAULT_MAX_PODS}) leaves the rest unscheduled: lower the pool's timeSlicingReplicas to ${Math.max(1, Math.floor((L.podsPerNode - gpuDaemons) / n.gpu!.count))} or less`,
      );
    }
  }
  for (const n of nodes) {
    const perNode = n.gpu !== undefined ? n.gpu.count * (replicasOf.get(n.pool ?? "") ?? 1) + gpuDaemons : otherNodeDaemonPods(site);
    pods += Math.min(perNode, KUBELET_DEFAULT_MAX_PODS);
  }
  if (pods > L.totalPods) {
    warnings.push(
      `the cluster can hold up to ${fmt(pods)} pods (one per GPU slot, GPUs × time-slicing replicas, plus the DaemonSets on every node), over the ${fmt(L.totalPods)} total pods upstream Kubernetes is tested for: lower timeSlicingReplicas, or ${splitSites}`,
    );
  }
  // At least one container per pod: this limit is reached only with the pod one, unless pods run sidecars.
  if (pods > L.totalContainers) {
    warnings.push(
      `the cluster can hold at least ${fmt(pods)} containers (one per pod), over the ${fmt(L.totalContainers)} total containers upstream Kubernetes is tested for: ${splitSites}`,
    );
  }
  return warnings;
}
