/**
 * FarmCluster under Pulumi mocks, driven by the hand-built sample plans: resource counts,
 * bootstraps per node, ordering, protection, secrets, and trigger stability.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { setupMocks, isSecretWrapper, unwrap, valueOf, type MockRecorder, type Registration } from "./mocks.js";
import { samplePlan, samplePlanHa } from "./helpers/sample-plan.js";
import { LABELS, type FarmPlan } from "../src/plan/types.js";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nTESTKEYPLAINTEXT\n-----END OPENSSH PRIVATE KEY-----\n";
const TOKEN = "TESTK3STOKENPLAINTEXT0123456789";

let rec: MockRecorder;
let mod: typeof import("../src/components/index.js");
const farms: Record<string, import("../src/components/index.js").FarmCluster> = {};
const plans: Record<string, FarmPlan> = {};

/** The sample plan with one rig's GPU cap lowered (label and node figure both). */
function capChanged(): FarmPlan {
  const plan = samplePlan();
  const node = plan.nodes.find((n) => n.hostname === "rig-a01")!;
  node.gpu!.capWatts = 200;
  node.labels[LABELS.gpuPowerCap] = "200";
  return plan;
}

/** The sample plan with rig-a01 moved to another rack (a registration label of its k3s config). */
function moved(): FarmPlan {
  const plan = samplePlan();
  plan.nodes.find((n) => n.hostname === "rig-a01")!.labels[LABELS.rack] = "hall-r9";
  return plan;
}

beforeAll(async () => {
  rec = await setupMocks({ stack: "program-test" });
  mod = await import("../src/components/index.js");
  for (const [name, plan] of [["single", samplePlan()], ["ha", samplePlanHa()], ["capchanged", capChanged()], ["moved", moved()]] as const) {
    plans[name] = plan;
    farms[name] = new mod.FarmCluster(name, { plan, sshPrivateKey: KEY, k3sToken: TOKEN });
  }
  await rec.settle();
});

/** Registrations whose URN lies under the FarmCluster `farm`. */
function under(farm: string): Registration[] {
  const children = new Set<string>();
  const root = rec.registrations.find((r) => r.type === "mine2hpc:index:FarmCluster" && r.name === farm)!;
  children.add(root.urn);
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of rec.registrations) {
      if (!children.has(r.urn) && children.has(r.parent)) {
        children.add(r.urn);
        grew = true;
      }
    }
  }
  return rec.registrations.filter((r) => children.has(r.urn));
}

function counts(rs: Registration[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of [...rs].sort((a, b) => a.type.localeCompare(b.type))) out[r.type] = (out[r.type] ?? 0) + 1;
  return out;
}

const bootstraps = (farm: string) => under(farm).filter((r) => r.type === "command:remote:Command" && r.name !== `${farm}-kubeconfig`);

describe("FarmCluster on the single-server sample plan", () => {
  it("registers exactly these resources", () => {
    expect(counts(under("single"))).toEqual({
      "command:remote:Command": 5, // 4 nodes + kubeconfig read
      "kubernetes:apps/v1:DaemonSet": 1,
      "kubernetes:batch/v1:CronJob": 4, // grid-flex: manual start/end (suspended) + 4cp-afternoon start/end
      "kubernetes:core/v1:ConfigMap": 3, // device-plugin config, agent script, curtailment script
      "kubernetes:core/v1:Namespace": 3, // gpu-operator, kueue-system, mine2hpc-system (power agent)
      "kubernetes:core/v1:NodePatch": 4,
      "kubernetes:core/v1:ServiceAccount": 2,
      "kubernetes:helm.sh/v3:Release": 2, // gpu-operator, kueue (flannel, no MetalLB pool, no fabric)
      "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue": 2,
      "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue": 2,
      "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor": 2,
      "kubernetes:kueue.x-k8s.io/v1beta2:WorkloadPriorityClass": 3,
      "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": 2,
      "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": 2,
      "mine2hpc:index:ClusterAccess": 1,
      "mine2hpc:index:FarmCluster": 1,
      "mine2hpc:index:HostBootstrap": 1,
      "mine2hpc:index:KubePlatform": 1,
      "mine2hpc:index:PowerPools": 1,
      "pulumi:providers:kubernetes": 1,
    });
  });

  it("bootstraps every Kubernetes node once and no ASIC miner", () => {
    const names = bootstraps("single").map((r) => r.name).sort();
    expect(names).toEqual(["single-cp-01", "single-h100-01", "single-rig-a01", "single-rig-a02"]);
    const hosts = bootstraps("single").map((r) => (unwrap(r.inputs.connection) as { host: string }).host).sort();
    expect(hosts).toEqual(["10.20.0.10", "10.20.1.11", "10.20.1.12", "10.20.2.21"]);
    for (const asic of plans.single!.asics) expect(hosts).not.toContain(asic.ip);
  });

  it("protects the control-plane bootstrap only, and replaces delete-before-create", () => {
    const byName = Object.fromEntries(bootstraps("single").map((r) => [r.name, r]));
    expect(byName["single-cp-01"]!.protect).toBe(true);
    expect(["single-h100-01", "single-rig-a01", "single-rig-a02"].map((n) => byName[n]!.protect)).toEqual([false, false, false]);
    expect(bootstraps("single").every((r) => r.deleteBeforeReplace)).toBe(true);
  });

  it("runs the rendered scripts with the token on stdin, led by the host config hash, without triggers", async () => {
    const { renderBootstrapScript, renderUninstallScript, hostConfigHash } = await import("../src/render/index.js");
    const rig = bootstraps("single").find((r) => r.name === "single-rig-a01")!;
    const create = rig.inputs.create as string;
    expect(create.startsWith(`: mine2hpc-host-config=${hostConfigHash(plans.single!, "rig-a01")}; `)).toBe(true);
    const b64 = /'([A-Za-z0-9+/=]+)'/.exec(create)![1]!;
    expect(Buffer.from(b64, "base64").toString("utf8")).toBe(renderBootstrapScript(plans.single!, "rig-a01"));
    expect(rig.inputs.update).toBe(create);
    const del = /'([A-Za-z0-9+/=]+)'/.exec(rig.inputs.delete as string)![1]!;
    expect(Buffer.from(del, "base64").toString("utf8")).toBe(renderUninstallScript(plans.single!, "rig-a01"));
    // triggers are replaceOnChanges in @pulumi/command: a replacement would uninstall k3s.
    expect(rig.inputs.triggers).toBeUndefined();
    expect(rig.inputs.logging).toBe("stdoutAndStderr");
  });

  it("sends servers the token only and agents the token line plus the admin kubeconfig, as secrets", async () => {
    const { rewriteKubeconfigServer } = await import("../src/render/index.js");
    const { MOCK_KUBECONFIG } = await import("./mocks.js");
    const kubeconfig = rewriteKubeconfigServer(MOCK_KUBECONFIG, plans.single!.kubernetes.apiEndpoint);
    expect(kubeconfig).toContain("server: https://10.20.0.10:6443");
    const byName = Object.fromEntries(bootstraps("single").map((r) => [r.name, r]));
    expect(isSecretWrapper(byName["single-cp-01"]!.inputs.stdin)).toBe(true);
    expect(unwrap(byName["single-cp-01"]!.inputs.stdin)).toBe(TOKEN);
    for (const agent of ["single-h100-01", "single-rig-a01", "single-rig-a02"]) {
      expect(isSecretWrapper(byName[agent]!.inputs.stdin), agent).toBe(true);
      expect(unwrap(byName[agent]!.inputs.stdin), agent).toBe(`${TOKEN}\n${kubeconfig.endsWith("\n") ? kubeconfig : `${kubeconfig}\n`}`);
    }
    // The uninstall script skips exactly line 1, so the kubeconfig must start on line 2.
    const agentStdin = unwrap(byName["single-rig-a01"]!.inputs.stdin) as string;
    expect(agentStdin.split("\n")[0]).toBe(TOKEN);
    expect(agentStdin.split("\n")[1]).toBe("apiVersion: v1");
    expect(() => mod.agentStdinText("two\nlines", kubeconfig)).toThrow(/line break/);
  });
});

describe("ordering", () => {
  it("starts agents only after every server, and extra servers after the first", () => {
    const bs = bootstraps("ha");
    const urn = (host: string) => bs.find((r) => r.name === `ha-${host}`)!.urn;
    const servers = ["cp-01", "cp-02", "cp-03"].map(urn);
    expect(bs.find((r) => r.name === "ha-cp-01")!.dependencies).toEqual([]);
    expect(bs.find((r) => r.name === "ha-cp-02")!.dependencies).toEqual([servers[0]]);
    expect(bs.find((r) => r.name === "ha-cp-03")!.dependencies).toEqual([servers[0]]);
    // Agents also wait for the kubeconfig read (their STDIN carries the kubeconfig for the drain on delete).
    const read = under("ha").find((r) => r.name === "ha-kubeconfig")!.urn;
    for (const agent of ["rig-b01", "rig-b02", "rig-b03", "h100-01", "h100-02"]) {
      expect(bs.find((r) => r.name === `ha-${agent}`)!.dependencies).toEqual([...servers, read].sort());
    }
    expect(farms.ha!.hosts.order.map((o) => [o.hostname, o.after.length, o.protected])).toEqual([
      ["cp-01", 0, true],
      ["cp-02", 1, true],
      ["cp-03", 1, true],
      ["h100-01", 3, false],
      ["h100-02", 3, false],
      ["rig-b01", 3, false],
      ["rig-b02", 3, false],
      ["rig-b03", 3, false],
    ]);
  });

  it("installs Cilium before the GPU operator and the charts before their custom resources", () => {
    const rs = under("ha");
    const urnOf = (type: string, name: string) => rs.find((r) => r.type === type && r.name === name)!.urn;
    const release = (n: string) => rs.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.name === `ha-${n}`)!;
    expect(rs.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.name).sort()).toEqual([
      "ha-cilium",
      "ha-gpu-operator",
      "ha-kueue",
      "ha-metallb",
      "ha-network-operator",
    ]);
    expect(release("gpu-operator").dependencies).toContain(release("cilium").urn);
    for (const cr of rs.filter((r) => r.type.startsWith("kubernetes:metallb.io/"))) expect(cr.dependencies).toContain(release("metallb").urn);
    for (const cr of rs.filter((r) => r.type.startsWith("kubernetes:kueue.x-k8s.io/"))) expect(cr.dependencies).toContain(release("kueue").urn);
    const nic = rs.find((r) => r.type === "kubernetes:mellanox.com/v1alpha1:NicClusterPolicy")!;
    expect(nic.dependencies).toContain(release("network-operator").urn);
    // Every release waits for every node's bootstrap.
    for (const b of bootstraps("ha")) expect(release("kueue").dependencies).toContain(b.urn);
    expect(urnOf("kubernetes:core/v1:NodePatch", "ha-rig-b01")).toMatch(/::ha-rig-b01$/);
  });

  it("installs Kueue with the manager config that makes it account GPUs only", async () => {
    const { renderKueueValues } = await import("../src/render/kueue-values.js");
    const kueue = under("ha").find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.name === "ha-kueue")!;
    expect(kueue.inputs.values).toEqual(renderKueueValues(plans.ha!));
    expect((kueue.inputs.values as { managerConfig: { controllerManagerConfigYaml: string } }).managerConfig.controllerManagerConfigYaml).toContain(
      "excludeResourcePrefixes:\n    - cpu\n    - memory\n    - ephemeral-storage\n",
    );
  });

  it("reads the kubeconfig only after the first server's bootstrap", () => {
    const read = under("ha").find((r) => r.name === "ha-kubeconfig")!;
    expect(read.dependencies).toEqual([bootstraps("ha").find((r) => r.name === "ha-cp-01")!.urn]);
    expect(read.inputs.logging).toBe("none");
    expect(unwrap(read.inputs.connection)).toMatchObject({ host: "10.30.0.11", user: "ubuntu" });
  });
});

describe("secrets", () => {
  it("keeps the SSH key and token secret in every input that carries them", () => {
    for (const r of rec.registrations) {
      const text = JSON.stringify(r.inputs);
      if (!text.includes("TESTKEYPLAINTEXT") && !text.includes(TOKEN)) continue;
      // The only places the plaintext may sit are inside secret wrappers.
      for (const [k, v] of Object.entries(r.inputs)) {
        const t = JSON.stringify(v);
        if (t.includes("TESTKEYPLAINTEXT") || t.includes(TOKEN)) expect(isSecretWrapper(v), `${r.type} ${r.name} input ${k}`).toBe(true);
      }
    }
    const commands = rec.ofType("command:remote:Command");
    expect(commands.every((c) => isSecretWrapper(c.inputs.connection))).toBe(true);
  });

  it("exports the kubeconfig as a secret, rewritten to the API endpoint", async () => {
    expect(await pulumi.isSecret(farms.ha!.kubeconfig)).toBe(true);
    expect(await valueOf(farms.ha!.kubeconfig)).toContain("server: https://api.hall2.example.net:6443");
    const provider = rec.registrations.find((r) => r.type === "pulumi:providers:kubernetes" && r.name === "ha")!;
    expect(isSecretWrapper(provider.inputs.kubeconfig)).toBe(true);
  });

  it("exports plain pool and circuit summaries", async () => {
    expect(await valueOf(farms.single!.pools)).toEqual(
      plans.single!.pools.map((p) => ({ name: p.name, nodes: p.nodes.length, gpus: p.gpus, capWatts: p.capWatts })),
    );
    expect(await pulumi.isSecret(farms.single!.pools)).toBe(false);
    expect(await valueOf(farms.single!.apiEndpoint)).toBe("10.20.0.10");
  });
});

describe("a change to one machine", () => {
  const scripts = (farm: string) => Object.fromEntries(bootstraps(farm).map((r) => [r.name.slice(farm.length + 1), r.inputs.update]));
  const patches = (farm: string) =>
    Object.fromEntries(under(farm).filter((r) => r.type === "kubernetes:core/v1:NodePatch").map((r) => [r.name.slice(farm.length + 1), JSON.stringify(r.inputs)]));
  const differing = (a: Record<string, unknown>, b: Record<string, unknown>) => Object.keys(a).filter((h) => a[h] !== b[h]);

  it("a registration label (rack) changes only that machine's config hash and bootstrap", () => {
    expect(differing(farms.single!.hosts.configHashes, farms.moved!.hosts.configHashes)).toEqual(["rig-a01"]);
    expect(differing(scripts("single"), scripts("moved"))).toEqual(["rig-a01"]);
    expect(differing(patches("single"), patches("moved"))).toEqual(["rig-a01"]);
  });

  it("a GPU cap change touches only that node: its NodePatch and its safe-cap file (bootstrap re-run, k3s config unchanged)", () => {
    // The bootstrap writes the planned cap to /etc/mine2hpc/gpu-power-cap (the power agent's
    // fail-safe start, issue 8), so the node's bootstrap re-runs; it restarts nothing.
    expect(differing(farms.single!.hosts.configHashes, farms.capchanged!.hosts.configHashes)).toEqual(["rig-a01"]);
    expect(differing(scripts("single"), scripts("capchanged"))).toEqual(["rig-a01"]);
    expect(differing(patches("single"), patches("capchanged"))).toEqual(["rig-a01"]);
    const patch = under("capchanged").find((r) => r.type === "kubernetes:core/v1:NodePatch" && r.name === "capchanged-rig-a01")!;
    expect((patch.inputs as { metadata: { labels: Record<string, string> } }).metadata.labels[LABELS.gpuPowerCap]).toBe("200");
  });
});

describe("remoteScriptCommand", () => {
  it("round-trips any script text through base64 and runs it as root", () => {
    const script = "#!/bin/bash\necho \"it's $HOME\" `date`\n";
    const cmd = mod.remoteScriptCommand(script, "mine2hpc-test");
    expect(cmd).toBe(
      `set -e; if [ "$(id -u)" = 0 ]; then M2H_SUDO=""; else M2H_SUDO="sudo -n"; fi; $M2H_SUDO bash -c "$(printf '%s' '${Buffer.from(script).toString("base64")}' | base64 -d)" mine2hpc-test`,
    );
    expect(() => mod.remoteScriptCommand(script, "Bad Label")).toThrow(/lowercase/);
    expect(() => mod.remoteScriptCommand("x".repeat(200_000), "big")).toThrow(/over the 131072-byte argument limit/);
  });

  it("puts OCI charts in the chart reference and HTTP repositories in repositoryOpts", () => {
    expect(mod.chartSource({ chart: "kueue", repo: "oci://registry.k8s.io/kueue/charts", version: "0.19.2" })).toEqual({
      chart: "oci://registry.k8s.io/kueue/charts/kueue",
    });
    expect(mod.chartSource({ chart: "metallb", repo: "https://metallb.github.io/metallb", version: "0.16.1" })).toEqual({
      chart: "metallb",
      repositoryOpts: { repo: "https://metallb.github.io/metallb" },
    });
  });
});
