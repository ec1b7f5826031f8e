/**
 * Cluster-side renderers: exact values for the sample plans, golden YAML files
 * (UPDATE_GOLDEN=1 rewrites them).
 */
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { stringify } from "yaml";
import type { FarmPlan } from "../src/plan/types.js";
import { SiteError } from "../src/site/problems.js";
import {
  renderCiliumValues,
  renderCurtailment,
  renderDevicePluginConfig,
  renderGpuOperatorValues,
  renderKueueObjects,
  renderMetalLbObjects,
  renderNetworkOperator,
  renderPowerAgent,
  windowSchedules,
  type K8sObject,
} from "../src/render/index.js";
import { samplePlan, samplePlanHa } from "./helpers/sample-plan.js";
import { RUNTIME_BUNDLE } from "../src/render/runtime-bundle.js";
import { capFromLabels } from "../src/runtime/power-agent/agent.js";
import { expectGolden } from "./helpers/golden.js";
import { renderClusterObjects } from "./helpers/render-all.js";
import { OVERRIDE_LABEL } from "../src/runtime/curtail/controller.js";
import { IMAGES } from "../src/render/versions.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const goldenDir = path.join(here, "golden", "cluster");

function find(objects: K8sObject[], kind: string, name: string): any {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (o === undefined) throw new Error(`no ${kind}/${name} in ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")}`);
  return o;
}

describe("GPU operator values", () => {
  it("sets the k3s containerd paths, driver mode and time-slicing config", () => {
    const v = renderGpuOperatorValues(samplePlan()) as any;
    expect(v.driver).toEqual({ enabled: true });
    // k3s rewrites config.toml at every start and reads the template beside it (config-v3 for
    // containerd 2): the toolkit writes there, starting from k3s's rendered config, over k3s's socket.
    expect(v.toolkit.env).toEqual([
      { name: "CONTAINERD_CONFIG", value: "/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl" },
      { name: "RUNTIME_CONFIG_SOURCE", value: "file=/var/lib/rancher/k3s/agent/etc/containerd/config.toml" },
      { name: "CONTAINERD_SOCKET", value: "/run/k3s/containerd/containerd.sock" },
      { name: "CONTAINERD_RUNTIME_CLASS", value: "nvidia" },
    ]);
    // The driver and toolkit must run on a node still tainted power-unverified (the agent needs them to lift it).
    expect(v.daemonsets.tolerations).toContainEqual({ key: "mine2hpc.io/power-unverified", operator: "Exists", effect: "NoSchedule" });
    expect(v.devicePlugin).toEqual({ enabled: true, config: { create: false, name: "mine2hpc-device-plugin", default: "default" } });
    expect(v.dcgmExporter).toEqual({ enabled: true, serviceMonitor: { enabled: false } });
    expect(v.daemonsets.tolerations).toContainEqual({ key: "mine2hpc.io/power-tier", operator: "Exists", effect: "NoSchedule" });
    expect(v["node-feature-discovery"].worker.tolerations).toHaveLength(3);
  });

  it("turns the driver container off in host mode and enables GPUDirect RDMA only with the operator's driver", () => {
    const ha = renderGpuOperatorValues(samplePlanHa()) as any;
    expect(ha.driver).toEqual({ enabled: false });
    expect(ha.devicePlugin).toEqual({ enabled: true });
    const plan = samplePlanHa();
    plan.gpuOperator.driverMode = "container";
    expect((renderGpuOperatorValues(plan) as any).driver).toEqual({ enabled: true, rdma: { enabled: true, useHostMofed: false } });
  });

  it("renders one device-plugin entry per time-sliced pool plus a no-sharing default", () => {
    const plan = samplePlan();
    const cm = renderDevicePluginConfig(plan) as any;
    const sliced = plan.pools.filter((p) => p.timeSlicingReplicas > 1).map((p) => p.name);
    expect(sliced).toHaveLength(1);
    expect(Object.keys(cm.data)).toEqual(["default", sliced[0]]);
    expect(cm.metadata.namespace).toBe("gpu-operator");
    expect(cm.data.default).toBe("version: v1\nflags:\n  migStrategy: none");
    expect(cm.data[sliced[0]!]).toContain("replicas: 4");
    expect(renderDevicePluginConfig(samplePlanHa())).toBeNull();
  });
});

describe("networking", () => {
  it("renders Cilium native routing only when chosen", () => {
    expect(renderCiliumValues(samplePlan())).toBeNull();
    const ha = samplePlanHa();
    expect(renderCiliumValues(ha)).toEqual({
      kubeProxyReplacement: false,
      routingMode: "native",
      ipv4NativeRoutingCIDR: ha.network.clusterCidr,
      autoDirectNodeRoutes: true,
      ipam: { mode: "kubernetes" },
      operator: { replicas: ha.kubernetes.servers.length > 1 ? 2 : 1 },
    });
  });

  it("renders MetalLB objects only with a pool", () => {
    expect(renderMetalLbObjects(samplePlan())).toEqual([]);
    const objs = renderMetalLbObjects(samplePlanHa());
    expect(objs.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      "IPAddressPool/metallb-system/mine2hpc-services",
      "L2Advertisement/metallb-system/mine2hpc-services",
    ]);
    expect((objs[0] as any).spec.addresses).toEqual(["10.30.3.200-10.30.3.250"]);
    expect((objs[1] as any).spec.ipAddressPools).toEqual(["mine2hpc-services"]);
  });

  it("renders the network operator for InfiniBand", () => {
    expect(renderNetworkOperator(samplePlan())).toBeNull();
    const r = renderNetworkOperator(samplePlanHa())!;
    expect(r.values).toEqual({ nfd: { enabled: false, deployNodeFeatureRules: true }, upgradeCRDs: true });
    expect(r.nicClusterPolicy.metadata.name).toBe("nic-cluster-policy");
    const config = JSON.parse((r.nicClusterPolicy as any).spec.rdmaSharedDevicePlugin.config);
    expect(config.configList[0]).toEqual({
      resourceName: "rdma_shared_device_ib",
      rdmaHcaMax: 63,
      selectors: { vendors: ["15b3"], linkTypes: ["infiniband"] },
    });
  });
});

describe("Kueue objects", () => {
  it("renders flavors, one queue per tier in one cohort with advertised GPU quota, and local queues", () => {
    const plan = samplePlan();
    const objs = renderKueueObjects(plan);
    const kinds = objs.map((o) => o.kind);
    expect(kinds.filter((k) => k === "ResourceFlavor")).toHaveLength(plan.pools.length);
    expect(kinds.filter((k) => k === "ClusterQueue")).toHaveLength(plan.queues.clusterQueues.length);
    expect(kinds.filter((k) => k === "LocalQueue")).toHaveLength(plan.queues.tenants.length * plan.queues.clusterQueues.length);
    expect(kinds.filter((k) => k === "WorkloadPriorityClass")).toHaveLength(3);
    for (const o of objs) if (o.kind !== "Namespace") expect(o.apiVersion).toBe("kueue.x-k8s.io/v1beta2");

    for (const pool of plan.pools) {
      const rf = find(objs, "ResourceFlavor", pool.flavor);
      expect(rf.spec.nodeLabels).toEqual({ "mine2hpc.io/pool": pool.name });
      if (pool.tier === "firm") {
        expect(rf.spec.tolerations).toBeUndefined();
      } else {
        expect(rf.spec.nodeTaints).toEqual([{ key: "mine2hpc.io/power-tier", value: pool.tier, effect: "NoSchedule" }]);
        expect(rf.spec.tolerations).toEqual([{ key: "mine2hpc.io/power-tier", operator: "Equal", value: pool.tier, effect: "NoSchedule" }]);
      }
    }
    for (const cq of plan.queues.clusterQueues) {
      const obj = find(objs, "ClusterQueue", cq.name);
      expect(obj.spec.cohortName).toBe(plan.queues.cohort);
      expect(obj.spec.namespaceSelector).toEqual({});
      expect(obj.spec.stopPolicy).toBeUndefined();
      expect(obj.spec.resourceGroups).toEqual([
        {
          coveredResources: ["nvidia.com/gpu"],
          flavors: cq.flavors.map((f) => {
            const pool = plan.pools.find((p) => p.name === f.pool)!;
            return { name: f.flavor, resources: [{ name: "nvidia.com/gpu", nominalQuota: pool.gpus * pool.timeSlicingReplicas }] };
          }),
        },
      ]);
    }
    // The time-sliced rig pool advertises 4 slices per GPU.
    const rigPool = plan.pools.find((p) => p.timeSlicingReplicas === 4)!;
    const rigQueue = find(objs, "ClusterQueue", rigPool.clusterQueue);
    expect(rigQueue.spec.resourceGroups[0].flavors[0].resources[0].nominalQuota).toBe(rigPool.gpus * 4);
  });

  it("creates namespaces for tenants that do not exist by default", () => {
    const objs = renderKueueObjects(samplePlanHa());
    expect(objs.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name)).toEqual(["inference", "research"]);
    expect(renderKueueObjects(samplePlan()).filter((o) => o.kind === "Namespace")).toEqual([]);
  });
});

describe("power agent", () => {
  it("runs the bundled agent on capped nodes of every tier, mounting the driver root per driver mode", () => {
    const objs = renderPowerAgent(samplePlan());
    expect(objs.map((o) => o.kind)).toEqual(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet"]);
    expect(find(objs, "ClusterRole", "mine2hpc-power-agent").rules).toEqual([
      { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch", "patch"] },
      { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create"] },
    ]);
    const cm = find(objs, "ConfigMap", "mine2hpc-power-agent");
    expect(cm.data["runtime.mjs"]).toBe(RUNTIME_BUNDLE.text);
    const ds = find(objs, "DaemonSet", "mine2hpc-power-agent");
    expect(ds.metadata.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
    expect(ds.spec.template.metadata.annotations).toEqual({ "mine2hpc.io/runtime-sha256": RUNTIME_BUNDLE.sha256 });
    const pod = ds.spec.template.spec;
    expect(pod.priorityClassName).toBe("system-node-critical");
    expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: "mine2hpc.io/gpu-power-cap", operator: "Exists" }] },
    ]);
    expect(pod.tolerations).toEqual([
      { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" },
      { key: "mine2hpc.io/power-tier", operator: "Exists" },
      { key: "mine2hpc.io/power-unverified", operator: "Exists", effect: "NoSchedule" },
    ]);
    const c = pod.containers[0];
    expect(c.image).toBe("docker.io/library/node:24.19.0-bookworm-slim");
    expect([...c.command, ...c.args]).toEqual([
      "node",
      "/opt/mine2hpc/runtime.mjs",
      "power-agent",
      "--node",
      "$(NODE_NAME)",
      "--nvidia-smi",
      "chroot /run/nvidia/driver nvidia-smi",
      "--interval",
      "30",
      "--metrics-port",
      "9402",
      "--safe-cap-file",
      "/etc/mine2hpc/gpu-power-cap",
    ]);
    expect(c.env).toEqual([{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "metrics" });
    expect(c.securityContext).toEqual({ privileged: true });
    expect(pod.volumes).toEqual([
      { name: "runtime", configMap: { name: "mine2hpc-power-agent", defaultMode: 0o444 } },
      { name: "safe-cap", hostPath: { path: "/etc/mine2hpc", type: "DirectoryOrCreate" } },
      { name: "driver-root", hostPath: { path: "/run/nvidia/driver", type: "DirectoryOrCreate" } },
    ]);

    const host = find(renderPowerAgent(samplePlanHa()), "DaemonSet", "mine2hpc-power-agent").spec.template.spec;
    expect(host.containers[0].args.slice(2, 4)).toEqual(["--nvidia-smi", "chroot /host nvidia-smi"]);
    expect(host.volumes[2]).toEqual({ name: "driver-root", hostPath: { path: "/", type: "DirectoryOrCreate" } });
  });
});

describe("curtailment", () => {
  it("computes window end schedules and rejects what it cannot compute", () => {
    expect(windowSchedules("f", { name: "w", schedule: "0 15 * 6-9 1-5", durationMinutes: 120 })).toEqual({ start: "0 15 * 6-9 1-5", end: ["0 17 * 6-9 1-5"] });
    expect(windowSchedules("f", { name: "w", schedule: "30 16 * 6-9 1-5", durationMinutes: 45 }).end).toEqual(["15 17 * 6-9 1-5"]);
    expect(windowSchedules("f", { name: "w", schedule: "0 23 * * *", durationMinutes: 90 }).end).toEqual(["30 0 * * *"]);
    // Over midnight the end days are the start days plus one (tests/cron-windows.test.ts simulates them).
    expect(windowSchedules("f", { name: "w", schedule: "0 23 * * 1-5", durationMinutes: 90 }).end).toEqual(["30 0 * * 2-6"]);
    expect(windowSchedules("f", { name: "w", schedule: "0 22 * 6-9 *", durationMinutes: 240 }).end).toEqual(["0 2 1 7-10 *", "0 2 2-31 6-9 *"]);
    expect(() => windowSchedules("f", { name: "w", schedule: "*/15 15 * * *", durationMinutes: 30 })).toThrow(SiteError);
    expect(() => windowSchedules("f", { name: "w", schedule: "0 23 * 6-9 1-5", durationMinutes: 90 })).toThrow(/after midnight/);
  });

  it("renders least-privilege RBAC, targets and start/end CronJobs per window", () => {
    const plan = samplePlan();
    plan.curtailment[0]!.windows.push({ name: "ers-evening", schedule: "30 19 * * *", durationMinutes: 60 });
    const objs = renderCurtailment(plan);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "ServiceAccount/mine2hpc-curtailment",
      "ClusterRole/mine2hpc-curtailment",
      "ClusterRoleBinding/mine2hpc-curtailment",
      "Role/mine2hpc-curtailment",
      "RoleBinding/mine2hpc-curtailment",
      "ConfigMap/mine2hpc-curtailment",
      "CronJob/curtail-grid-flex-manual-start",
      "CronJob/curtail-grid-flex-manual-end",
      "CronJob/curtail-grid-flex-4cp-afternoon-start",
      "CronJob/curtail-grid-flex-4cp-afternoon-end",
      "CronJob/curtail-grid-flex-ers-evening-start",
      "CronJob/curtail-grid-flex-ers-evening-end",
    ]);
    const rigNodes = plan.nodes.filter((n) => n.feed === "grid-flex" && n.gpu).map((n) => n.hostname).sort();
    expect(find(objs, "ClusterRole", "mine2hpc-curtailment").rules).toEqual([
      { apiGroups: [""], resources: ["nodes"], resourceNames: rigNodes, verbs: ["get", "patch"] },
      { apiGroups: ["kueue.x-k8s.io"], resources: ["clusterqueues"], resourceNames: ["curtailable-gpus"], verbs: ["get", "patch"] },
    ]);
    const data = find(objs, "ConfigMap", "mine2hpc-curtailment").data;
    expect(Object.keys(data)).toEqual(["grid-flex.targets.json"]);
    const targets = JSON.parse(data["grid-flex.targets.json"]);
    expect(targets.stages.map((st: { action: string }) => st.action)).toEqual(["asics-off", "gpu-caps-to-min", "drain-queue"]);
    expect(targets.miners.map((m: { hostname: string }) => m.hostname)).toEqual(plan.asics.filter((a) => a.feed === "grid-flex").map((a) => a.hostname).sort());
    const rigs = plan.nodes.filter((n) => n.feed === "grid-flex" && n.gpu).sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
    expect(targets.gpuNodes.map((n: { hostname: string; minWatts: number }) => [n.hostname, n.minWatts])).toEqual(rigs.map((n) => [n.hostname, n.gpu!.minWatts]));
    expect(targets.clusterQueues).toEqual(["curtailable-gpus"]);
    // Addresses and watts only: no credential field anywhere in the targets.
    expect(data["grid-flex.targets.json"]).not.toMatch(/password|token|secret/i);

    const start = find(objs, "CronJob", "curtail-grid-flex-4cp-afternoon-start").spec;
    expect(start.schedule).toBe("0 15 * 6-9 1-5");
    expect(start.timeZone).toBe(plan.site.timezone);
    expect(start.concurrencyPolicy).toBe("Forbid");
    expect(start.startingDeadlineSeconds).toBe(3600);
    expect(start.jobTemplate.spec.backoffLimit).toBe(3);
    const container = start.jobTemplate.spec.template.spec.containers[0];
    expect([container.image, container.command, container.args]).toEqual([IMAGES.runtime, ["node", "/opt/mine2hpc/runtime.mjs", "curtail"], ["start", "--feed", "grid-flex"]]);
    expect(container.volumeMounts).toEqual([
      { name: "runtime", mountPath: "/opt/mine2hpc", readOnly: true },
      { name: "targets", mountPath: "/etc/mine2hpc/curtailment", readOnly: true },
      { name: "credentials", mountPath: "/etc/mine2hpc/miner-credentials", readOnly: true },
    ]);
    expect(start.jobTemplate.spec.template.spec.volumes).toEqual([
      { name: "runtime", configMap: { name: "mine2hpc-power-agent", defaultMode: 0o444 } },
      { name: "targets", configMap: { name: "mine2hpc-curtailment" } },
      { name: "credentials", secret: { secretName: "mine2hpc-miner-credentials", optional: true, defaultMode: 0o440 } },
    ]);
    const end = find(objs, "CronJob", "curtail-grid-flex-ers-evening-end").spec;
    expect(end.schedule).toBe("30 20 * * *");
    expect(end.jobTemplate.spec.template.spec.containers[0].args).toEqual(["end", "--feed", "grid-flex"]);
  });

  it("renders a suspended manual start and end CronJob per feed, before its window CronJobs", () => {
    const plan = samplePlan();
    const objs = renderCurtailment(plan);
    const cronJobs = objs.filter((o) => o.kind === "CronJob");
    expect(cronJobs.map((o) => o.metadata.name)).toEqual([
      "curtail-grid-flex-manual-start",
      "curtail-grid-flex-manual-end",
      "curtail-grid-flex-4cp-afternoon-start",
      "curtail-grid-flex-4cp-afternoon-end",
    ]);
    for (const phase of ["start", "end"] as const) {
      const manual = find(objs, "CronJob", `curtail-grid-flex-manual-${phase}`);
      expect(manual.metadata).toEqual({
        name: `curtail-grid-flex-manual-${phase}`,
        namespace: "mine2hpc-system",
        labels: {
          "app.kubernetes.io/component": "curtailment",
          "app.kubernetes.io/managed-by": "mine2hpc",
          "app.kubernetes.io/name": "mine2hpc-curtailment",
          "app.kubernetes.io/part-of": "mine2hpc",
          "mine2hpc.io/feed": "grid-flex",
        },
        annotations: { "mine2hpc.io/phase": phase, "mine2hpc.io/window": "manual" },
      });
      const { jobTemplate, ...rest } = manual.spec;
      expect(rest).toEqual({
        schedule: "0 0 1 1 *",
        suspend: true,
        timeZone: plan.site.timezone,
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
      });
      // The very job a scheduled window runs: only schedule, suspend and the deadline differ.
      const windowJob = find(objs, "CronJob", `curtail-grid-flex-4cp-afternoon-${phase}`);
      expect(jobTemplate).toEqual(windowJob.spec.jobTemplate);
      expect(jobTemplate.spec.template.spec.containers[0].args).toEqual([phase, "--feed", "grid-flex"]);
      expect(windowJob.spec.suspend).toBeUndefined();
      expect(windowJob.metadata.annotations).toEqual({ "mine2hpc.io/phase": phase, "mine2hpc.io/window": "4cp-afternoon" });
    }
    expect(objs.filter((o) => o.kind === "CronJob" && o.metadata.labels?.["mine2hpc.io/feed"] === "grid-firm")).toEqual([]);
  });

  it("renders RBAC, targets and only the manual CronJobs for a feed without windows", () => {
    const plan = samplePlan();
    plan.curtailment[0]!.windows = [];
    const objs = renderCurtailment(plan);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "ServiceAccount/mine2hpc-curtailment",
      "ClusterRole/mine2hpc-curtailment",
      "ClusterRoleBinding/mine2hpc-curtailment",
      "Role/mine2hpc-curtailment",
      "RoleBinding/mine2hpc-curtailment",
      "ConfigMap/mine2hpc-curtailment",
      "CronJob/curtail-grid-flex-manual-start",
      "CronJob/curtail-grid-flex-manual-end",
    ]);
    // Same RBAC and targets as with windows: the manual run sheds the same load.
    const withWindows = renderCurtailment(samplePlan());
    expect(find(objs, "ClusterRole", "mine2hpc-curtailment").rules).toEqual(find(withWindows, "ClusterRole", "mine2hpc-curtailment").rules);
    expect(find(objs, "ConfigMap", "mine2hpc-curtailment").data).toEqual(find(withWindows, "ConfigMap", "mine2hpc-curtailment").data);
    expect(find(objs, "CronJob", "curtail-grid-flex-manual-start")).toEqual(find(withWindows, "CronJob", "curtail-grid-flex-manual-start"));
  });

  it("renders nothing when no non-firm feed has a window or anything to shed", () => {
    const plan = samplePlan();
    plan.curtailment[0]!.windows = [];
    for (const s of plan.curtailment[0]!.stages) s.targets = [];
    expect(renderCurtailment(plan)).toEqual([]);
  });
});

describe("every object", () => {
  it("carries the mine2hpc labels and is deterministic", () => {
    for (const plan of [samplePlan(), samplePlanHa()]) {
      const objs = [
        ...renderKueueObjects(plan),
        ...renderMetalLbObjects(plan),
        ...renderPowerAgent(plan),
        ...renderCurtailment(plan),
        ...[renderDevicePluginConfig(plan), renderNetworkOperator(plan)?.nicClusterPolicy].filter((o): o is K8sObject => !!o),
      ];
      for (const o of objs) {
        expect(o.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("mine2hpc");
        expect(o.metadata.labels?.["app.kubernetes.io/part-of"]).toBe("mine2hpc");
      }
      expect(JSON.stringify(renderClusterObjects(plan))).toBe(JSON.stringify(renderClusterObjects(structuredClone(plan))));
    }
  });
});

describe("golden files", () => {
  for (const [label, make] of [["sample", samplePlan], ["sample-ha", samplePlanHa]] as const) {
    for (const [name, value] of Object.entries(renderClusterObjects(make()))) {
      it(`${label}/${name}.yaml`, () => {
        const docs = Array.isArray(value) ? value : [value];
        expectGolden(`cluster/${label}/${name}.yaml`, docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n"));
      });
    }
  }
});

describe("cap override during curtailment", () => {
  it("applies the override label while present, else the planned cap", () => {
    expect(capFromLabels({ "mine2hpc.io/gpu-power-cap": "250" })).toEqual({ watts: 250, source: "label" });
    expect(capFromLabels({ "mine2hpc.io/gpu-power-cap": "250", "mine2hpc.io/gpu-power-cap-override": "100" })).toEqual({ watts: 100, source: "override-label" });
    expect(capFromLabels({ "mine2hpc.io/rack": "r1" })).toBeNull();
  });

  it("curtailment lowers and restores only the override label (tests/miners-controller.test.ts runs it)", () => {
    expect(OVERRIDE_LABEL).toBe("mine2hpc.io/gpu-power-cap-override");
  });
});

describe("ASIC webhook from the site", () => {
  it("ships the feed's webhook URL to the curtailment jobs in the targets, null when none is set", () => {
    const plan = samplePlan();
    const targets = (p: FarmPlan) => JSON.parse((renderCurtailment(p).find((o) => o.kind === "ConfigMap") as unknown as { data: Record<string, string> }).data["grid-flex.targets.json"]!);
    expect(targets(plan).webhookUrl).toBeNull();
    plan.curtailment[0]!.asicWebhook = "https://fleet.example.internal/api/curtail";
    expect(targets(plan).webhookUrl).toBe("https://fleet.example.internal/api/curtail");
  });
});
