/**
 * Helm values of the kueue chart: the controller manager's Configuration.
 *
 * The chart takes the whole manager config as one YAML string,
 * `managerConfig.controllerManagerConfigYaml`, and puts it in the manager's ConfigMap. Setting
 * it replaces the chart's default text entirely, so the defaults that matter are carried over
 * here (health and metrics ports, webhook port, leader election, per-kind concurrency, client
 * rate limits, the job integrations) next to the two changes mine2hpc needs:
 *
 * - `resources.excludeResourcePrefixes`: mine2hpc's ClusterQueues cover only `nvidia.com/gpu`
 *   (the plan knows GPUs, not CPU, memory or NICs). Kueue refuses to admit a workload that
 *   requests a resource its ClusterQueue does not cover, and every pod requests cpu and
 *   memory, and RDMA pods on a fabric site request `rdma/<device>`; excluding those prefixes
 *   makes Kueue account GPUs only and leaves the rest to the kube-scheduler.
 * - `managedJobsNamespaceSelector`: the tenant namespaces only. The chart builds the
 *   `namespaceSelector` of every job webhook from this field (see
 *   {@link kueueManagedJobsNamespaceSelector}); without it each of them is `failurePolicy: Fail`
 *   over every namespace but kube-system and Kueue's own, so a Kueue that is down would refuse
 *   the curtailment Jobs and the power agent's pods in mine2hpc-system.
 */
import { stringify } from "yaml";
import type { FarmPlan } from "../plan/types.js";
import { compareStrings } from "./objects.js";

/** API version of the Kueue manager Configuration (Kueue v0.19 reads `config.kueue.x-k8s.io/v1beta2`). */
export const KUEUE_CONFIG_API_VERSION = "config.kueue.x-k8s.io/v1beta2";

/**
 * Resource-name prefixes Kueue ignores in quota accounting: everything a pod requests
 * besides the GPUs the ClusterQueues cover.
 */
export const KUEUE_EXCLUDED_RESOURCE_PREFIXES = ["cpu", "memory", "ephemeral-storage", "rdma/"] as const;
// Kueue drops a request when `strings.HasPrefix(resourceName, prefix)` (kubernetes-sigs/kueue
// v0.19.2 pkg/workload/workload.go, dropExcludedResources), so `rdma/` covers both
// `rdma/rdma_shared_device_ib` and `rdma/rdma_shared_device_roce` (render/network-operator.ts).

/**
 * The label the API server sets on every Namespace to its own name, and that no one can
 * change (https://kubernetes.io/docs/reference/labels-annotations-taints/#kubernetes-io-metadata-name):
 * selecting namespaces by name through it cannot be spoofed by a tenant relabelling its namespace.
 */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/**
 * `managedJobsNamespaceSelector` of the manager Configuration: exactly the plan's tenant
 * namespaces (the only ones with LocalQueues, so the only ones whose jobs Kueue can admit).
 *
 * In the kueue v0.19.2 chart (charts/kueue/templates/webhook/manifests.yaml, e.g. lines 42-52
 * for mappwrapper, 160-170 for mjob and 320-330 for mpod, and the same block in every job
 * webhook of both configurations) each job webhook's `namespaceSelector` is
 * `toYaml $managerConfig.managedJobsNamespaceSelector` when the key is present, else
 * `NotIn [kube-system, <release namespace>]`, always with `failurePolicy: Fail` (pod,
 * deployment and statefulset: Fail when listed in `integrations.frameworks`). Kueue itself
 * treats the selector as a strong exemption for pod-based integrations
 * (apis/config/v1beta2/configuration_types.go, ManagedJobsNamespaceSelector).
 *
 * Without tenants, a selector no namespace matches (every namespace has the name label),
 * since `In` with no values is not a valid label selector.
 */
export function kueueManagedJobsNamespaceSelector(plan: FarmPlan): { matchExpressions: Record<string, unknown>[] } {
  const tenants = [...new Set(plan.queues.tenants)].sort(compareStrings);
  if (tenants.length === 0) return { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: "DoesNotExist" }] };
  return { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: "In", values: tenants }] };
}

/**
 * Job integrations Kueue manages: the chart's default list, kept whole so that jobs of every
 * framework a tenant may install (Kubeflow, Ray, JobSet, LeaderWorkerSet) are queued. Kueue
 * only starts an integration once its CRD exists, so listing absent frameworks is harmless.
 */
export const KUEUE_INTEGRATION_FRAMEWORKS = [
  "batch/job",
  "kubeflow.org/mpijob",
  "ray.io/rayjob",
  "ray.io/raycluster",
  "jobset.x-k8s.io/jobset",
  "trainer.kubeflow.org/trainjob",
  "kubeflow.org/paddlejob",
  "kubeflow.org/pytorchjob",
  "kubeflow.org/tfjob",
  "kubeflow.org/xgboostjob",
  "kubeflow.org/jaxjob",
  "workload.codeflare.dev/appwrapper",
  "pod",
  "deployment",
  "statefulset",
  "leaderworkerset.x-k8s.io/leaderworkerset",
] as const;

/**
 * The Kueue manager Configuration as a plain object; only the managed namespaces depend on the
 * plan (its tenants).
 */
export function renderKueueManagerConfig(plan: FarmPlan): Record<string, unknown> {
  return {
    apiVersion: KUEUE_CONFIG_API_VERSION,
    kind: "Configuration",
    health: { healthProbeBindAddress: ":8081" },
    metrics: { bindAddress: ":8443" },
    webhook: { port: 9443 },
    leaderElection: { leaderElect: true, resourceName: "c1f6bfd2.kueue.x-k8s.io" },
    controller: {
      groupKindConcurrency: {
        "Job.batch": 5,
        Pod: 5,
        "Workload.kueue.x-k8s.io": 5,
        "LocalQueue.kueue.x-k8s.io": 1,
        "ClusterQueue.kueue.x-k8s.io": 1,
        "ResourceFlavor.kueue.x-k8s.io": 1,
      },
    },
    clientConnection: { qps: 50, burst: 100 },
    managedJobsNamespaceSelector: kueueManagedJobsNamespaceSelector(plan),
    integrations: { frameworks: [...KUEUE_INTEGRATION_FRAMEWORKS] },
    resources: { excludeResourcePrefixes: [...KUEUE_EXCLUDED_RESOURCE_PREFIXES] },
  };
}

/**
 * Helm values of the kueue chart: only `managerConfig.controllerManagerConfigYaml`, the
 * manager Configuration of {@link renderKueueManagerConfig} as YAML text (deterministic:
 * same plan, same bytes, so an unchanged site shows no diff on the release).
 */
export function renderKueueValues(plan: FarmPlan): { managerConfig: { controllerManagerConfigYaml: string } } {
  return { managerConfig: { controllerManagerConfigYaml: stringify(renderKueueManagerConfig(plan), { lineWidth: 0 }) } };
}
