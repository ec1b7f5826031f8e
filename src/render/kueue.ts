/**
 * Kueue objects: a ResourceFlavor per pool, a ClusterQueue per power tier in one cohort,
 * a LocalQueue per tenant namespace and ClusterQueue, and workload priority classes.
 *
 * Written in `kueue.x-k8s.io/v1beta2`, the version Kueue v0.19 stores.
 */
import type { FarmPlan, PlannedPool } from "../plan/types.js";
import { LABELS } from "../plan/types.js";
import { compareStrings, objectMeta, tolerationFor, type K8sObject } from "./objects.js";

/** Kueue API version of every object rendered here. */
export const KUEUE_API_VERSION = "kueue.x-k8s.io/v1beta2";

/** The resource every ClusterQueue sets quota for. */
export const GPU_RESOURCE = "nvidia.com/gpu";

/**
 * Workload priority classes (`kueue.x-k8s.io/priority-class` label on a job). Higher
 * values preempt lower ones inside a ClusterQueue and reclaim borrowed quota in the cohort.
 */
export const WORKLOAD_PRIORITY_CLASSES = [
  { name: "firm-high", value: 1000, description: "Work that must keep running: submit it to the firm queue." },
  {
    name: "interruptible-medium",
    value: 500,
    description: "Work that tolerates a utility interruption with notice (checkpointed training).",
  },
  {
    name: "curtailable-low",
    value: 100,
    description: "Work that may be held and drained at any time (curtailment windows, demand response).",
  },
] as const;

/**
 * GPUs a pool advertises to Kubernetes: with time-slicing the device plugin advertises
 * `gpus × replicas` `nvidia.com/gpu`, and a pod asks for one slice, so the quota must count
 * slices or Kueue would admit only a `1/replicas` share of the pool.
 */
export function advertisedGpus(pool: PlannedPool): number {
  return pool.gpus * Math.max(1, pool.timeSlicingReplicas);
}

/**
 * Tenant namespaces to create: every tenant except the ones Kubernetes always has.
 */
function tenantNamespaces(plan: FarmPlan): string[] {
  const builtIn = new Set(["default", "kube-system", "kube-public", "kube-node-lease"]);
  return [...plan.queues.tenants].filter((t) => !builtIn.has(t)).sort(compareStrings);
}

/**
 * All Kueue objects of the plan, in apply order: tenant Namespaces, WorkloadPriorityClasses,
 * ResourceFlavors, ClusterQueues, LocalQueues.
 *
 * - A flavor selects its pool's nodes by `mine2hpc.io/pool`; on non-firm tiers it lists the
 *   pool's taints as `nodeTaints` and as `tolerations`, so Kueue injects the toleration
 *   into pods it admits there (the taint keeps everything else off those nodes).
 * - ClusterQueues share one cohort (idle firm GPUs can be borrowed by the other tiers and
 *   back), accept every namespace (`namespaceSelector: {}`), and cover only
 *   `nvidia.com/gpu`: the plan knows GPUs, not CPU or memory. Kueue's manager config must
 *   therefore exclude `cpu`, `memory`, `ephemeral-storage` and `rdma/` (`resources.excludeResourcePrefixes`).
 * - `stopPolicy` is left unset so the curtailment jobs own it (a field Pulumi never set is
 *   not reverted by the next `pulumi up`).
 */
export function renderKueueObjects(plan: FarmPlan): K8sObject[] {
  const poolsByName = new Map(plan.pools.map((p) => [p.name, p]));
  const out: K8sObject[] = [];

  for (const ns of tenantNamespaces(plan)) {
    out.push({ apiVersion: "v1", kind: "Namespace", metadata: objectMeta(ns) });
  }

  for (const pc of WORKLOAD_PRIORITY_CLASSES) {
    out.push({
      apiVersion: KUEUE_API_VERSION,
      kind: "WorkloadPriorityClass",
      metadata: objectMeta(pc.name),
      value: pc.value,
      description: pc.description,
    });
  }

  for (const pool of [...plan.pools].sort((a, b) => compareStrings(a.flavor, b.flavor))) {
    const spec: Record<string, unknown> = { nodeLabels: { [LABELS.pool]: pool.name } };
    if (pool.taints.length > 0) {
      spec.nodeTaints = pool.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect }));
      spec.tolerations = pool.taints.map(tolerationFor);
    }
    out.push({
      apiVersion: KUEUE_API_VERSION,
      kind: "ResourceFlavor",
      metadata: objectMeta(pool.flavor, { labels: { [LABELS.pool]: pool.name, [LABELS.powerTier]: pool.tier } }),
      spec,
    });
  }

  const queues = [...plan.queues.clusterQueues].sort((a, b) => compareStrings(a.name, b.name));
  for (const cq of queues) {
    if (cq.flavors.length === 0) continue;
    const flavors = cq.flavors.map((f) => {
      const pool = poolsByName.get(f.pool);
      if (pool === undefined) {
        throw new Error(`ClusterQueue ${cq.name} refers to pool ${f.pool}, which the plan does not have`);
      }
      return { name: f.flavor, resources: [{ name: GPU_RESOURCE, nominalQuota: advertisedGpus(pool) }] };
    });
    out.push({
      apiVersion: KUEUE_API_VERSION,
      kind: "ClusterQueue",
      metadata: objectMeta(cq.name, { labels: { [LABELS.powerTier]: cq.tier } }),
      spec: {
        cohortName: plan.queues.cohort,
        namespaceSelector: {},
        queueingStrategy: "BestEffortFIFO",
        preemption: { reclaimWithinCohort: "Any", withinClusterQueue: "LowerPriority" },
        resourceGroups: [{ coveredResources: [GPU_RESOURCE], flavors }],
      },
    });
  }

  for (const tenant of [...plan.queues.tenants].sort(compareStrings)) {
    for (const cq of queues) {
      if (cq.flavors.length === 0) continue;
      out.push({
        apiVersion: KUEUE_API_VERSION,
        kind: "LocalQueue",
        metadata: objectMeta(cq.name, { namespace: tenant, labels: { [LABELS.powerTier]: cq.tier } }),
        spec: { clusterQueue: cq.name },
      });
    }
  }
  return out;
}
