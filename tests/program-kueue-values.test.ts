/**
 * Kueue chart values (src/render/kueue-values.ts) and their use by KubePlatform: the manager
 * Configuration must make Kueue account GPUs only, since the ClusterQueues cover nothing else.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { samplePlan, samplePlanHa } from "./helpers/sample-plan.js";
import {
  KUEUE_CONFIG_API_VERSION,
  KUEUE_EXCLUDED_RESOURCE_PREFIXES,
  renderKueueManagerConfig,
  renderKueueValues,
} from "../src/render/kueue-values.js";
import { GPU_RESOURCE, renderKueueObjects } from "../src/render/kueue.js";

describe("renderKueueValues", () => {
  it("sets only managerConfig.controllerManagerConfigYaml, as YAML of the manager Configuration", () => {
    const values = renderKueueValues(samplePlan());
    expect(Object.keys(values)).toEqual(["managerConfig"]);
    expect(Object.keys(values.managerConfig)).toEqual(["controllerManagerConfigYaml"]);
    expect(parse(values.managerConfig.controllerManagerConfigYaml)).toEqual({
      apiVersion: "config.kueue.x-k8s.io/v1beta2",
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
      integrations: {
        frameworks: [
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
        ],
      },
      resources: { excludeResourcePrefixes: ["cpu", "memory", "ephemeral-storage"] },
    });
  });

  it("excludes exactly what the ClusterQueues do not cover", () => {
    const config = parse(renderKueueValues(samplePlanHa()).managerConfig.controllerManagerConfigYaml) as {
      apiVersion: string;
      resources: { excludeResourcePrefixes: string[] };
    };
    expect(config.apiVersion).toBe(KUEUE_CONFIG_API_VERSION);
    expect(config.resources.excludeResourcePrefixes).toEqual([...KUEUE_EXCLUDED_RESOURCE_PREFIXES]);
    const covered = renderKueueObjects(samplePlanHa())
      .filter((o) => o.kind === "ClusterQueue")
      .flatMap((o) => (o as unknown as { spec: { resourceGroups: { coveredResources: string[] }[] } }).spec.resourceGroups.flatMap((g) => g.coveredResources));
    expect(new Set(covered)).toEqual(new Set([GPU_RESOURCE]));
    // No excluded prefix may swallow the GPU resource itself.
    for (const prefix of config.resources.excludeResourcePrefixes) expect(GPU_RESOURCE.startsWith(prefix)).toBe(false);
  });

  it("is deterministic: the same plan gives the same bytes", () => {
    expect(renderKueueValues(samplePlan()).managerConfig.controllerManagerConfigYaml).toBe(
      renderKueueValues(samplePlan()).managerConfig.controllerManagerConfigYaml,
    );
    expect(renderKueueManagerConfig(samplePlan())).toEqual(renderKueueManagerConfig(samplePlanHa()));
  });
});
