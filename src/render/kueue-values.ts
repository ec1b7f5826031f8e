/**
 * Helm values of the kueue chart: the controller manager's Configuration.
 *
 * The chart takes the whole manager config as one YAML string,
 * `managerConfig.controllerManagerConfigYaml`, and puts it in the manager's ConfigMap. Setting
 * it replaces the chart's default text entirely, so the defaults that matter are carried over
 * here (health and metrics ports, webhook port, leader election, per-kind concurrency, client
 * rate limits, the job integrations) next to the one change mine2hpc needs:
 * `resources.excludeResourcePrefixes`.
 *
 * Why the exclusion: mine2hpc's ClusterQueues cover only `nvidia.com/gpu` (the plan knows
 * GPUs, not CPU or memory). Kueue refuses to admit a workload that requests a resource its
 * ClusterQueue does not cover, and every pod requests cpu and memory; excluding those
 * prefixes makes Kueue account GPUs only and leaves cpu/memory to the kube-scheduler.
 */
import { stringify } from "yaml";
import type { FarmPlan } from "../plan/types.js";

/** API version of the Kueue manager Configuration (Kueue v0.19 reads `config.kueue.x-k8s.io/v1beta2`). */
export const KUEUE_CONFIG_API_VERSION = "config.kueue.x-k8s.io/v1beta2";

/**
 * Resource-name prefixes Kueue ignores in quota accounting: everything a pod requests
 * besides the GPUs the ClusterQueues cover.
 */
export const KUEUE_EXCLUDED_RESOURCE_PREFIXES = ["cpu", "memory", "ephemeral-storage"] as const;

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
 * The Kueue manager Configuration as a plain object. The plan does not change it today (the
 * argument keeps the renderer signature of every other chart and leaves room for per-site
 * settings such as fair sharing); the result is the same for every plan.
 */
export function renderKueueManagerConfig(_plan: FarmPlan): Record<string, unknown> {
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
