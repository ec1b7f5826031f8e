/**
 * The rolling-upgrade objects against upstream system-upgrade-controller v0.20.1
 * (tests/fixtures/system-upgrade-controller-v0.20.1, SOURCE.md): the rendered Plans validate
 * against the Plan CRD the controller registers, and the rendered controller objects are the
 * release manifests as `kustomize build` gives them (namespace set on namespaced objects and
 * service-account subjects, image tag pinned to the release), apart from mine2hpc's labels and
 * the two documented ConfigMap settings.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { execa } from "execa";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Ajv } from "ajv";
import { parseAllDocuments } from "yaml";
import {
  renderCordonDrainScript,
  renderSystemUpgradeController,
  renderUpgradePlans,
  renderWebhookWaitScript,
  SUC_IMAGES,
  SUC_NAMESPACE,
  upgradeExcludedHosts,
  versionChangeLine,
} from "../src/render/upgrade.js";
import { COMMON_LABELS, type K8sObject } from "../src/render/objects.js";
import { samplePlan, samplePlanHa } from "./helpers/sample-plan.js";
import { expectShellcheckClean } from "./helpers/shellcheck.js";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "system-upgrade-controller-v0.20.1");
const yamlDocs = (file: string) => parseAllDocuments(readFileSync(path.join(dir, file), "utf8")).map((d) => d.toJSON()).filter((d) => d !== null);

function stripK8sKeywords(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stripK8sKeywords);
  if (schema === null || typeof schema !== "object") return schema;
  return Object.fromEntries(Object.entries(schema).filter(([k]) => !k.startsWith("x-kubernetes-")).map(([k, v]) => [k, stripK8sKeywords(v)]));
}

const crd = yamlDocs("upgrade.cattle.io_plans.yaml")[0];
const served = crd.spec.versions.find((v: { name: string }) => v.name === "v1");
const validatePlan = new Ajv({ strict: false, allErrors: true, logger: false }).compile(stripK8sKeywords(served.schema.openAPIV3Schema) as object);

/** What `kustomize build` of the repository (kustomization.yaml: `namespace: system-upgrade`) yields, image pinned. */
function upstreamObjects(): K8sObject[] {
  const docs = [...yamlDocs("clusterrole.yaml"), ...yamlDocs("clusterrolebinding.yaml"), ...yamlDocs("system-upgrade-controller.yaml")] as K8sObject[];
  const clusterScoped = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding"]);
  return docs.map((o) => {
    const out = structuredClone(o) as K8sObject & { subjects?: { kind: string; namespace?: string }[]; spec?: any };
    if (!clusterScoped.has(o.kind)) out.metadata.namespace = SUC_NAMESPACE;
    for (const s of out.subjects ?? []) if (s.kind === "ServiceAccount") s.namespace = SUC_NAMESPACE;
    if (o.kind === "Deployment") out.spec.template.spec.containers[0].image = SUC_IMAGES.controller;
    return out;
  });
}

/** A rendered object without mine2hpc's provenance labels (and the documented ConfigMap changes undone). */
function asUpstream(o: K8sObject): K8sObject {
  const out = structuredClone(o) as K8sObject & { data?: Record<string, string> };
  const labels = Object.fromEntries(Object.entries(out.metadata.labels ?? {}).filter(([k]) => !(k in COMMON_LABELS)));
  if (Object.keys(labels).length > 0) out.metadata.labels = labels;
  else delete out.metadata.labels;
  if (o.kind === "ConfigMap") {
    expect(out.data!.SYSTEM_UPGRADE_JOB_ACTIVE_DEADLINE_SECONDS).toBe("1800");
    expect(out.data!.SYSTEM_UPGRADE_JOB_IMAGE_PULL_POLICY).toBe("IfNotPresent");
    out.data!.SYSTEM_UPGRADE_JOB_ACTIVE_DEADLINE_SECONDS = "900";
    out.data!.SYSTEM_UPGRADE_JOB_IMAGE_PULL_POLICY = "Always";
  }
  return out;
}

const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

describe("system-upgrade-controller v0.20.1", () => {
  it("renders exactly the upstream release objects", () => {
    const ours = new Map(renderSystemUpgradeController().map((o) => [key(o), asUpstream(o)]));
    const theirs = new Map(upstreamObjects().map((o) => [key(o), o]));
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [k, o] of theirs) expect(ours.get(k), k).toEqual(o);
  });

  it("renders Plans the upstream CRD accepts, shaped like the k3s example Plans", () => {
    for (const plan of [samplePlan(), samplePlanHa()]) {
      for (const p of renderUpgradePlans(plan, plan.kubernetes.rollout.agentBatch)) {
        expect(validatePlan(p), `${p.metadata.name}: ${JSON.stringify(validatePlan.errors)}`).toBe(true);
      }
    }
    const example = yamlDocs("k3s-upgrade.yaml") as K8sObject[];
    const ours = renderUpgradePlans(samplePlanHa(), 3);
    for (const name of ["k3s-server", "k3s-agent"]) {
      const e = example.find((x) => x.metadata.name === name)! as any;
      const o = ours.find((x) => x.metadata.name === name)! as any;
      expect(o.metadata.namespace).toBe(e.metadata.namespace);
      expect(o.metadata.labels["k3s-upgrade"]).toBe(e.metadata.labels["k3s-upgrade"]);
      expect(o.spec.serviceAccountName).toBe(e.spec.serviceAccountName);
      expect(o.spec.upgrade).toEqual(e.spec.upgrade);
      if (name === "k3s-agent") expect(o.spec.prepare).toEqual(e.spec.prepare);
      else expect(o.spec.cordon).toBe(true);
    }
    expect(ours.map((p: any) => [p.metadata.name, p.spec.concurrency, p.spec.version])).toEqual([
      ["k3s-server", 1, "v1.33.5+k3s1"],
      ["k3s-agent", 3, "v1.33.5+k3s1"],
    ]);
  });

  it("refuses a batch below one, and leaves cordoned and offline machines out", () => {
    expect(() => renderUpgradePlans(samplePlan(), 0)).toThrow(/agent batch must be an integer >= 1, got 0: check kubernetes.rollout.maxUnavailable/);
    const plan = samplePlanHa();
    plan.nodes.find((n) => n.hostname === "rig-b02")!.state = "offline";
    plan.nodes.find((n) => n.hostname === "h100-01")!.state = "cordoned";
    expect(upgradeExcludedHosts(plan)).toEqual(["h100-01", "rig-b02"]);
  });

  it("says a version change in one line", () => {
    expect(versionChangeLine("v1.33.5+k3s1", "v1.34.2+k3s1", 68, 7)).toBe("k3s v1.33.5+k3s1 → v1.34.2+k3s1 on 68 hosts, servers one by one, agents 7 at a time");
  });
});

describe("webhook readiness check", () => {
  it("dry-runs the objects server-side within its deadline and fails hard on refused credentials", () => {
    const script = renderWebhookWaitScript(samplePlan(), "kueue 0.19.2", [{ apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ResourceFlavor", metadata: { name: "probe" } }]);
    expect(script).toContain("kubectl_ apply --dry-run=server -f -");
    expect(script).toContain("deadline=$((SECONDS + 300))");
    expect(script).toContain('{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"kueue.x-k8s.io/v1beta2","kind":"ResourceFlavor","metadata":{"name":"probe"}}]}');
    expect(script).toContain("*Unauthorized*|*Forbidden*|*\" 401\"*|*\" 403\"*)");
    expect(() => renderWebhookWaitScript(samplePlan(), "kueue", [])).toThrow(/no objects to dry-run/);
  });
});

describe("cluster-side scripts", () => {
  const scripts: Record<string, string> = {
    "drain.sh": renderCordonDrainScript(samplePlan(), "rig-a01"),
    "webhook-wait.sh": renderWebhookWaitScript(samplePlan(), "kueue 0.19.2", [{ apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ResourceFlavor", metadata: { name: "probe" } }]),
  };
  for (const [name, script] of Object.entries(scripts)) {
    it(`${name} passes shellcheck`, (ctx) => expectShellcheckClean(script, ctx));
  }

  /** Runs the drain script with `/usr/local/bin/k3s` replaced by a fake that answers `get` and `drain` as told. */
  async function drainWith(get: string, drain: string): Promise<{ exitCode: number; all: string; calls: string }> {
    const dirTmp = mkdtempSync(path.join(tmpdir(), "mine2hpc-drain-"));
    const calls = path.join(dirTmp, "calls");
    const fake = path.join(dirTmp, "k3s");
    writeFileSync(
      fake,
      `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> ${calls}\ncase "$*" in\n  *" get node "*) ${get} ;;\n  *" drain "*) ${drain} ;;\n  *) exit 9 ;;\nesac\n`,
      { mode: 0o755 },
    );
    const script = renderCordonDrainScript(samplePlan(), "rig-a01").replace("K3S_BIN='/usr/local/bin/k3s'", `K3S_BIN='${fake}'`);
    const r = await execa("bash", ["-c", script], { reject: false, all: true, timeout: 10_000 });
    return { exitCode: r.exitCode ?? -1, all: r.all ?? "", calls: existsSync(calls) ? readFileSync(calls, "utf8") : "" };
  }

  it("drains a registered node with a deadline, through the API only", async () => {
    const r = await drainWith("echo node/rig-a01", "echo drained");
    expect(r.exitCode).toBe(0);
    expect(r.calls).toBe(
      "kubectl --request-timeout=30s get node rig-a01 -o name\nkubectl --request-timeout=30s drain rig-a01 --ignore-daemonsets --delete-emptydir-data --timeout=300s\n",
    );
  });

  it("has nothing to drain on a node that never registered", async () => {
    const r = await drainWith(`echo 'Error from server (NotFound): nodes "rig-a01" not found' >&2; exit 1`, "exit 9");
    expect(r.exitCode).toBe(0);
    expect(r.all).toContain("node is not registered: nothing to drain");
  });

  it("fails hard when the API refuses the credentials (401), never skips", async () => {
    const r = await drainWith("echo 'error: You must be logged in to the server (Unauthorized)' >&2; exit 1", "exit 9");
    expect(r.exitCode).toBe(1);
    expect(r.all).toContain("refused the admin credentials (401/403)");
    expect(r.calls).not.toContain("drain");
  });

  it("fails with the blocker's hint when the drain runs out of time", async () => {
    const r = await drainWith("echo node/rig-a01", "echo 'error: timed out waiting for the condition' >&2; exit 1");
    expect(r.exitCode).toBe(1);
    expect(r.all).toContain("drain did not finish within 300 s (a PodDisruptionBudget or a stuck pod holds it)");
  });
});

describe("host bootstrap and the upgrade controller", () => {
  it("installs k3s only where it is missing and never replaces an installed one (the controller upgrades it)", async () => {
    const { renderBootstrapScript } = await import("../src/render/index.js");
    const script = renderBootstrapScript(samplePlan(), "rig-a01");
    expect(script).toContain('if [ -z "$CURRENT_VERSION" ] || [ ! -f "/etc/systemd/system/${K3S_SERVICE}.service" ]; then');
    expect(script).not.toContain('[ "$CURRENT_VERSION" != "$K3S_VERSION" ]');
  });
});
