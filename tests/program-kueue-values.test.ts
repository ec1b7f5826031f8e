/**
 * Kueue chart values (src/render/kueue-values.ts) and their use by KubePlatform: the manager
 * Configuration must make Kueue account GPUs only, since the ClusterQueues cover nothing else.
 */
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { samplePlan, samplePlanHa } from "./helpers/sample-plan.js";
import {
  KUEUE_CONFIG_API_VERSION,
  KUEUE_EXCLUDED_RESOURCE_PREFIXES,
  renderKueueManagerConfig,
  renderKueueValues,
} from "../src/render/kueue-values.js";
import { GPU_RESOURCE, renderKueueObjects } from "../src/render/kueue.js";
import { RDMA_RESOURCE_NAMES } from "../src/render/network-operator.js";
import { NAMESPACES } from "../src/render/versions.js";
import { Site } from "../src/site/schema.js";
import { RESERVED_NAMESPACES, validateSite } from "../src/site/validate.js";

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
      managedJobsNamespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["default"] }] },
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
      resources: { excludeResourcePrefixes: ["cpu", "memory", "ephemeral-storage", "rdma/"] },
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
    // Only the managed namespaces follow the plan (its tenants).
    const { managedJobsNamespaceSelector: _a, ...rest } = renderKueueManagerConfig(samplePlan());
    const { managedJobsNamespaceSelector: _b, ...restHa } = renderKueueManagerConfig(samplePlanHa());
    expect(rest).toEqual(restHa);
  });

  it("excludes the RDMA resources of both fabrics, so RDMA jobs on fabric sites can be admitted", () => {
    const { excludeResourcePrefixes } = (renderKueueManagerConfig(samplePlan()) as { resources: { excludeResourcePrefixes: string[] } }).resources;
    // Kueue drops a request whose name has one of the prefixes (strings.HasPrefix, pkg/workload/workload.go).
    for (const device of Object.values(RDMA_RESOURCE_NAMES)) {
      expect(excludeResourcePrefixes.some((p) => `rdma/${device}`.startsWith(p))).toBe(true);
    }
  });
});

/**
 * The kueue v0.19.2 chart (charts/kueue/templates/webhook/manifests.yaml, tag v0.19.2) renders,
 * for every job webhook of the Mutating and the Validating configuration:
 *
 *     failurePolicy: Fail            # pod/deployment/statefulset: Fail when in integrations.frameworks
 *     namespaceSelector:
 *       {{- if (hasKey $managerConfig "managedJobsNamespaceSelector") }}
 *         {{- toYaml $managerConfig.managedJobsNamespaceSelector | nindent 6 }}
 *       {{- else }}
 *       matchExpressions: [{ key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, <release ns>] }]
 *
 * (lines 40-52 mappwrapper, 158-170 mjob, 314-330 mpod, and the same block for each other job
 * kind). `chartWebhookNamespaceSelector` is that logic; `selects` is the API server's
 * namespaceSelector match on the Namespace's labels (only the name label is needed here).
 */
function chartWebhookNamespaceSelector(values: { managerConfig: { controllerManagerConfigYaml: string } }): LabelSelector {
  const managerConfig = parse(values.managerConfig.controllerManagerConfigYaml) as Record<string, unknown>;
  if ("managedJobsNamespaceSelector" in managerConfig) return managerConfig.managedJobsNamespaceSelector as LabelSelector;
  return { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", NAMESPACES.kueue] }] };
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

/** Label selector semantics (k8s.io/apimachinery pkg/labels): every requirement must hold. */
function selects(selector: LabelSelector, namespace: string): boolean {
  const labels: Record<string, string> = { "kubernetes.io/metadata.name": namespace };
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  return (
    byLabels &&
    (selector.matchExpressions ?? []).every((r) => {
      const has = r.key in labels;
      switch (r.operator) {
        case "In":
          return has && (r.values ?? []).includes(labels[r.key]!);
        case "NotIn":
          return !has || !(r.values ?? []).includes(labels[r.key]!);
        case "Exists":
          return has;
        case "DoesNotExist":
          return !has;
      }
    })
  );
}

describe("Kueue's webhooks are scoped to the tenant namespaces", () => {
  it("without the selector the chart's webhooks would intercept mine2hpc-system (the defect this fixes)", () => {
    const config = renderKueueManagerConfig(samplePlan());
    delete config.managedJobsNamespaceSelector;
    const unscoped = chartWebhookNamespaceSelector({ managerConfig: { controllerManagerConfigYaml: stringify(config) } });
    expect(selects(unscoped, NAMESPACES.mine2hpc)).toBe(true);
    expect(selects(unscoped, NAMESPACES.kueue)).toBe(false);
  });

  it.each([
    ["sample", samplePlan(), ["default"]],
    ["sample-ha", samplePlanHa(), ["inference", "research"]],
  ])("%s: intercepts exactly the tenants, never a system namespace", (_name, plan, tenants) => {
    const selector = chartWebhookNamespaceSelector(renderKueueValues(plan));
    expect(selector).toEqual({ matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: tenants }] });
    for (const t of tenants) expect(selects(selector, t)).toBe(true);
    for (const ns of [...Object.values(NAMESPACES), "kube-public", "kube-node-lease", "unlisted-team"]) {
      expect(selects(selector, ns)).toBe(false);
    }
  });

  it("without tenants, intercepts no namespace (In with no values is not a valid selector)", () => {
    const plan = samplePlan();
    const selector = chartWebhookNamespaceSelector(renderKueueValues({ ...plan, queues: { ...plan.queues, tenants: [] } }));
    expect(selector).toEqual({ matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "DoesNotExist" }] });
    for (const ns of ["default", ...Object.values(NAMESPACES)]) expect(selects(selector, ns)).toBe(false);
  });

  it("site validation rejects every system namespace as a tenant, at its line", () => {
    expect([...RESERVED_NAMESPACES]).toEqual(expect.arrayContaining([...new Set(Object.values(NAMESPACES))]));
    const spec = Site.parse({
      apiVersion: "mine2hpc.io/v1alpha1",
      kind: "Site",
      metadata: { name: "w", timezone: "America/Chicago", gridRegion: "ERCOT" },
      power: { pue: 1.1, feeds: [{ name: "grid", tier: "firm", capacityKw: 100 }], circuits: [{ id: "pdu-1", feed: "grid", volts: 240, amps: 30, phases: 1 }] },
      network: { nodeSubnet: "10.0.0.0/24" },
      kubernetes: { tenantNamespaces: ["research", "mine2hpc-system", "kueue-system"] },
      machines: [{ hostname: "cp-1", ip: "10.0.0.2", rack: "r1", circuit: "pdu-1", role: "control-plane" }],
    });
    expect(validateSite(spec)).toEqual([
      {
        message: "tenant namespace 'mine2hpc-system' is a system namespace; Kueue's admission webhooks would make its pods depend on Kueue being up",
        fix: "remove 'mine2hpc-system' from kubernetes.tenantNamespaces and submit work from a namespace of its own (e.g. 'research')",
        path: ["kubernetes", "tenantNamespaces", 1],
      },
      {
        message: "tenant namespace 'kueue-system' is a system namespace; Kueue's admission webhooks would make its pods depend on Kueue being up",
        fix: "remove 'kueue-system' from kubernetes.tenantNamespaces and submit work from a namespace of its own (e.g. 'research')",
        path: ["kubernetes", "tenantNamespaces", 2],
      },
    ]);
  });
});
