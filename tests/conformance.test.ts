/**
 * Conformance of the cluster-side renderers against upstream schemas in ../shared/fixtures:
 * CRD openAPIV3Schema (Kueue, MetalLB, NicClusterPolicy), chart values.yaml key paths
 * (GPU operator, network operator), the device-plugin sharing examples, and core objects
 * with kubernetes-models. Skips with a message when the fixtures folder is absent.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { Namespace, ServiceAccount, ConfigMap } from "kubernetes-models/v1";
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { CronJob } from "kubernetes-models/batch/v1";
import type { FarmPlan } from "../src/plan/types.js";
import {
  renderCurtailment,
  renderDevicePluginConfig,
  renderGpuOperatorValues,
  renderKueueObjects,
  renderMetalLbObjects,
  renderNetworkOperator,
  renderPowerAgent,
  type K8sObject,
} from "../src/render/index.js";
import { samplePlan, samplePlanHa } from "./helpers/sample-plan.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = path.resolve(repoRoot, "../shared/fixtures");
const haveFixtures = existsSync(fixtures);
if (!haveFixtures) console.warn(`conformance: ${fixtures} is absent; CRD and chart checks are skipped (they run in CI)`);

const plans: [string, () => FarmPlan][] = [
  ["sample", samplePlan],
  ["sample-ha", samplePlanHa],
];

/** Drops `x-kubernetes-*` keywords (ajv does not know them; they are not structural). */
function stripK8sKeywords(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stripK8sKeywords);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) if (!k.startsWith("x-kubernetes-")) out[k] = stripK8sKeywords(v);
  return out;
}

/**
 * CRD patterns are Go (RE2) regexps: translate the `(?i)` flag group some use (always at the start)
 * into a JavaScript flag.
 */
function goRegExp(pattern: string, flags?: string): RegExp {
  const insensitive = pattern.includes("(?i)");
  return new RegExp(pattern.replaceAll("(?i)", ""), `${flags ?? "u"}${insensitive ? "i" : ""}`);
}
goRegExp.code = "new RegExp";

/** kind → { apiVersion group/version → validate } from every CRD file in the fixture folders. */
function loadCrdValidators(): Map<string, (o: unknown) => string[]> {
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false, code: { regExp: goRegExp } });
  const map = new Map<string, (o: unknown) => string[]>();
  for (const dir of ["kueue-v0.19.2", "metallb-v0.16.1", "network-operator-v26.4.1"]) {
    for (const file of readdirSync(path.join(fixtures, dir)).filter((f) => f.endsWith(".yaml") && f !== "values.yaml")) {
      const crd = parse(readFileSync(path.join(fixtures, dir, file), "utf8"));
      if (crd?.kind !== "CustomResourceDefinition") continue;
      for (const v of crd.spec.versions) {
        if (!v.served) continue;
        const validate = ajv.compile(stripK8sKeywords(v.schema.openAPIV3Schema) as object);
        map.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}/${v.storage ? "storage" : "served"}`, (o) =>
          validate(o) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`),
        );
      }
    }
  }
  return map;
}

function customResources(plan: FarmPlan): K8sObject[] {
  const nic = renderNetworkOperator(plan)?.nicClusterPolicy;
  return [...renderKueueObjects(plan), ...renderMetalLbObjects(plan), ...(nic ? [nic] : [])].filter((o) => o.apiVersion !== "v1");
}

describe.skipIf(!haveFixtures)("custom resources validate against the upstream CRDs", () => {
  const validators = haveFixtures ? loadCrdValidators() : new Map();
  for (const [label, make] of plans) {
    it(`${label}: every Kueue, MetalLB and NicClusterPolicy object, in the storage version`, () => {
      const objs = customResources(make());
      const kinds = new Set(objs.map((o) => o.kind));
      expect(kinds.has("ClusterQueue") && kinds.has("ResourceFlavor") && kinds.has("LocalQueue") && kinds.has("WorkloadPriorityClass")).toBe(true);
      for (const o of objs) {
        const validate = validators.get(`${o.apiVersion}/${o.kind}/storage`);
        if (validate === undefined) throw new Error(`${o.apiVersion} ${o.kind} is not the storage version of any fixture CRD`);
        expect(validate(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
      }
    });
  }

  it("sample-ha covers MetalLB and NicClusterPolicy", () => {
    expect(customResources(samplePlanHa()).map((o) => o.kind).filter((k) => !k.startsWith("Workload") && !["ClusterQueue", "ResourceFlavor", "LocalQueue"].includes(k))).toEqual([
      "IPAddressPool",
      "L2Advertisement",
      "NicClusterPolicy",
    ]);
  });

  it("ClusterQueue flavors list one quota per covered resource (the CRD's CEL rule)", () => {
    for (const [, make] of plans) {
      for (const cq of renderKueueObjects(make()).filter((o) => o.kind === "ClusterQueue") as any[]) {
        for (const rg of cq.spec.resourceGroups) for (const f of rg.flavors) expect(f.resources.length).toBe(rg.coveredResources.length);
      }
    }
  });

  it("a typo is caught", () => {
    const rf = { apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ResourceFlavor", metadata: { name: "x" }, spec: { nodeTaints: [{ key: "k" }] } };
    expect(validators.get("kueue.x-k8s.io/v1beta2/ResourceFlavor/storage")!(rf)).toEqual(["/spec/nodeTaints/0 must have required property 'effect'"]);
  });
});

/** Every leaf path of a values object (arrays are leaves: charts take them whole). */
function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== "object" || Array.isArray(value) || Object.keys(value).length === 0) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

function missingPaths(values: Record<string, unknown>, chartValues: unknown): string[] {
  const missing: string[] = [];
  for (const p of leafPaths(values)) {
    let node: unknown = chartValues;
    for (const key of p) {
      if (node === null || typeof node !== "object" || !(key in node)) {
        missing.push(p.join("."));
        break;
      }
      node = (node as Record<string, unknown>)[key];
    }
  }
  return missing;
}

describe.skipIf(!haveFixtures)("Helm values keys exist in the charts' values.yaml", () => {
  const gpuChart = haveFixtures ? parse(readFileSync(path.join(fixtures, "gpu-operator-v26.7.0/values.yaml"), "utf8")) : {};
  const netChart = haveFixtures ? parse(readFileSync(path.join(fixtures, "network-operator-v26.4.1/values.yaml"), "utf8")) : {};
  for (const [label, make] of plans) {
    it(`${label}: gpu-operator values`, () => {
      const values = renderGpuOperatorValues(make());
      expect(leafPaths(values).length).toBeGreaterThanOrEqual(8);
      expect(missingPaths(values, gpuChart)).toEqual([]);
    });
  }
  it("network-operator values", () => {
    expect(missingPaths(renderNetworkOperator(samplePlanHa())!.values, netChart)).toEqual([]);
  });
  it("a typo such as driver.enable is caught", () => {
    expect(missingPaths({ driver: { enable: false } }, gpuChart)).toEqual(["driver.enable"]);
  });
});

describe.skipIf(!haveFixtures)("device-plugin config has the documented shape", () => {
  it("each entry matches the upstream time-slicing example's structure", () => {
    const example = parse(readFileSync(path.join(fixtures, "k8s-device-plugin/time-slicing-config-all.yaml"), "utf8"));
    const upstream = parse(example.data.any);
    const cm = renderDevicePluginConfig(samplePlan()) as any;
    expect(upstream).toEqual({ version: "v1", flags: { migStrategy: "none" }, sharing: { timeSlicing: { resources: [{ name: "nvidia.com/gpu", replicas: 4 }] } } });
    const sliced = samplePlan().pools.find((p) => p.timeSlicingReplicas > 1)!;
    expect(parse(cm.data[sliced.name])).toEqual(upstream);
    expect(parse(cm.data.default)).toEqual({ version: "v1", flags: { migStrategy: "none" } });
  });
});

describe("core objects validate with kubernetes-models", () => {
  const models: Record<string, new (o: any) => { validate(): void }> = {
    Namespace,
    ServiceAccount,
    ConfigMap,
    ClusterRole,
    Role,
    RoleBinding,
    ClusterRoleBinding,
    DaemonSet,
    CronJob,
  };
  for (const [label, make] of plans) {
    it(label, () => {
      const plan = make();
      const objs = [...renderPowerAgent(plan), ...renderCurtailment(plan), ...renderKueueObjects(plan).filter((o) => o.kind === "Namespace")];
      const dp = renderDevicePluginConfig(plan);
      if (dp) objs.push(dp);
      const checked: string[] = [];
      for (const o of objs) {
        const Model = models[o.kind];
        if (Model === undefined) throw new Error(`no kubernetes-models class for ${o.kind}`);
        expect(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
        checked.push(o.kind);
      }
      expect(new Set(checked).size).toBeGreaterThanOrEqual(6);
    });
  }
  it("an invalid object is caught", () => {
    const ds = renderPowerAgent(samplePlan()).find((o) => o.kind === "DaemonSet") as any;
    const broken = structuredClone(ds);
    broken.spec.template.spec.containers[0].resources.requests.cpu = { amount: 1 };
    expect(() => new DaemonSet(broken).validate()).toThrow();
  });
});
