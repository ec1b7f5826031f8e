/**
 * FarmCluster under Pulumi mocks, driven by the hand-built sample plans: resource counts,
 * bootstraps per node, ordering, protection, secrets, and trigger stability.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { setupMocks, isSecretWrapper, unwrap, valueOf, type MockRecorder, type Registration } from "./mocks.js";
import { samplePlan, samplePlanHa } from "./helpers/sample-plan.js";
import { LABELS, type FarmPlan } from "../src/plan/types.js";
import { renderAgentHostFile, sha256Hex } from "../src/render/agent-files.js";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nTESTKEYPLAINTEXT\n-----END OPENSSH PRIVATE KEY-----\n";
const TOKEN = "TESTK3STOKENPLAINTEXT0123456789";
const AGENT_TOKEN = "TESTK3SAGENTTOKENPLAINTEXT98765";
/** Miner credentials as an operator writes them into `pulumi config set --secret mine2hpc:minerCredentials` (YAML). */
const MINER_CREDENTIALS = "default: { user: root, password: MINERPASSWORDPLAINTEXT }\nbyDriver:\n  whatsminer: { user: admin, password: WHATSMINERPASSWORDPLAINTEXT }\n";

let rec: MockRecorder;
let mod: typeof import("../src/components/index.js");
const farms: Record<string, import("../src/components/index.js").FarmCluster> = {};
const plans: Record<string, FarmPlan> = {};
/** Resolved host config hashes, by farm and hostname. */
const hashes: Record<string, Record<string, string>> = {};

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
    farms[name] = new mod.FarmCluster(name, { plan, sshPrivateKey: KEY, k3sToken: TOKEN, k3sAgentToken: AGENT_TOKEN });
  }
  farms["creds"] = new mod.FarmCluster("creds", { plan: samplePlan(), sshPrivateKey: KEY, k3sToken: TOKEN, k3sAgentToken: AGENT_TOKEN, minerCredentials: MINER_CREDENTIALS });
  await rec.settle();
  for (const [name, farm] of Object.entries(farms)) {
    hashes[name] = Object.fromEntries(await Promise.all(Object.entries(farm.hosts.configHashes).map(async ([h, o]) => [h, await valueOf(o)] as const)));
  }
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

/** Bootstrap commands: one per node, named `<farm>-<hostname>` (reads, removals and checks have other names). */
const bootstraps = (farm: string) =>
  under(farm).filter((r) => r.type === "command:remote:Command" && plans[farm]!.nodes.some((n) => r.name === `${farm}-${n.hostname}`));

describe("FarmCluster on the single-server sample plan", () => {
  it("registers exactly these resources", () => {
    expect(counts(under("single"))).toEqual({
      "command:remote:Command": 8, // 4 nodes + kubeconfig read + cluster CA read + Kueue webhook check + agents' files put in place
      "command:remote:CopyToRemote": 1, // the agents' files, copied to the first server
      "kubernetes:apps/v1:DaemonSet": 1,
      "kubernetes:apps/v1:Deployment": 1, // system-upgrade-controller
      "kubernetes:batch/v1:CronJob": 4, // grid-flex: manual start/end (suspended) + 4cp-afternoon start/end
      "kubernetes:core/v1:ConfigMap": 4, // device-plugin config, runtime bundle (power agent and curtailment jobs), curtailment targets, upgrade controller env
      "kubernetes:core/v1:Namespace": 4, // gpu-operator, kueue-system, mine2hpc-system (power agent), system-upgrade
      "kubernetes:core/v1:ServiceAccount": 3,
      "kubernetes:helm.sh/v3:Release": 2, // gpu-operator, kueue (flannel, no MetalLB pool, no fabric)
      "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue": 2,
      "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue": 2,
      "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor": 2,
      "kubernetes:kueue.x-k8s.io/v1beta2:WorkloadPriorityClass": 3,
      "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": 4, // power agent, curtailment, upgrade controller + its drainer
      "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": 4,
      "kubernetes:rbac.authorization.k8s.io/v1:Role": 2, // upgrade controller; curtailment (its summary Event)
      "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 2,
      "kubernetes:upgrade.cattle.io/v1:Plan": 2, // k3s-server, k3s-agent
      "mine2hpc:index:ClusterAccess": 1,
      "mine2hpc:index:FarmCluster": 1,
      "mine2hpc:index:HostBootstrap": 1,
      "mine2hpc:index:KubePlatform": 1,
      "mine2hpc:index:PowerPools": 1,
      "pulumi:providers:kubernetes": 1,
      "random:index/randomShuffle:RandomShuffle": 1, // the k3s version the server installs when k3s is missing (agents read it from the first server)
    });
  });

  it("bootstraps every Kubernetes node once and no ASIC miner", () => {
    const names = bootstraps("single").map((r) => r.name).sort();
    expect(names).toEqual(["single-cp-01", "single-h100-01", "single-rig-a01", "single-rig-a02"]);
    const hosts = bootstraps("single").map((r) => (unwrap(r.inputs.connection) as { host: string }).host).sort();
    expect(hosts).toEqual(["10.20.0.10", "10.20.1.11", "10.20.1.12", "10.20.2.21"]);
    for (const asic of plans.single!.asics) expect(hosts).not.toContain(asic.ip);
  });

  it("protects the control-plane bootstrap only, and never uninstalls before a replacement", () => {
    const byName = Object.fromEntries(bootstraps("single").map((r) => [r.name, r]));
    expect(byName["single-cp-01"]!.protect).toBe(true);
    expect(["single-h100-01", "single-rig-a01", "single-rig-a02"].map((n) => byName[n]!.protect)).toEqual([false, false, false]);
    // A new address is an in-place update (the provider replaces on `triggers` only): no uninstall through the old address.
    expect(bootstraps("single").some((r) => r.deleteBeforeReplace)).toBe(false);
  });

  it("runs the rendered scripts with the token on stdin, led by the host config hash, without triggers", async () => {
    const { renderBootstrapScript, renderUninstallScript, hostConfigHash, renderAgentHostFile, sha256Hex, INSTALLED_UNINSTALL_PATH } = await import("../src/render/index.js");
    // A server runs its whole script inline.
    const cp = bootstraps("single").find((r) => r.name === "single-cp-01")!;
    const create = cp.inputs.create as string;
    expect(create.startsWith(`: mine2hpc-host-config=${hostConfigHash(plans.single!, "cp-01")}; `)).toBe(true);
    // Bounded on the host: coreutils timeout past the longest the script's own deadlines allow.
    const { bootstrapMaxSeconds } = await import("../src/render/index.js");
    expect(mod.bootstrapDeadlineSeconds(plans.single!)).toBe(bootstrapMaxSeconds(plans.single!) + 300);
    expect(create).toContain(`timeout -k 30 ${mod.bootstrapDeadlineSeconds(plans.single!)} bash -c "$M2H_SCRIPT"`);
    const b64 = /'([A-Za-z0-9+/=]+)'/.exec(create)![1]!;
    expect(gunzipSync(Buffer.from(b64, "base64")).toString("utf8")).toBe(renderBootstrapScript(plans.single!, "cp-01"));
    expect(cp.inputs.update).toBeUndefined(); // an update runs `create` again: one copy of the script in state
    const del = /'([A-Za-z0-9+/=]+)'/.exec(cp.inputs.delete as string)![1]!;
    expect(gunzipSync(Buffer.from(del, "base64")).toString("utf8")).toBe(renderUninstallScript(plans.single!, "cp-01"));
    // triggers are replaceOnChanges in @pulumi/command: a replacement would uninstall k3s.
    expect(cp.inputs.triggers).toBeUndefined();
    expect(cp.inputs.logging).toBe("stdoutAndStderr");

    // An agent's command fetches its published host file by sha256; its uninstall is on the host.
    const rig = bootstraps("single").find((r) => r.name === "single-rig-a01")!;
    const hash = sha256Hex(renderAgentHostFile(plans.single!, "rig-a01", mod.bootstrapDeadlineSeconds(plans.single!)));
    expect(hostConfigHash(plans.single!, "rig-a01")).toBe(hash);
    expect(rig.inputs.create).toBe(
      `M2H_HOST_CONFIG=${hash};u=https://10.20.0.10:6443/static/mine2hpc/$M2H_HOST_CONFIG;` +
        't=$(mktemp)&&curl -fsSk -m 60 --retry 2 -o "$t" $u&&echo "$M2H_HOST_CONFIG  $t"|sha256sum -c --status&&exec bash "$t";' +
        'rm -f "$t";echo "mine2hpc: $u unreadable or altered" >&2;exit 1',
    );
    expect(rig.inputs.delete).toBe(`f=${INSTALLED_UNINSTALL_PATH};[ ! -f $f ]||exec bash $f;echo "mine2hpc: nothing to uninstall"`);
    expect(rig.inputs.update).toBeUndefined();
    expect(rig.inputs.triggers).toBeUndefined();
    // Left at its default (both streams logged): one input less in every machine's state.
    expect(rig.inputs.logging).toBeUndefined();
    // At its default too: a successful bootstrap prints nothing to hand on (render/agent-files.ts).
    expect(rig.inputs.addPreviousOutputInEnv).toBeUndefined();
  });

  it("sends servers both bare tokens, agents only the CA-pinned agent token, as secrets", async () => {
    const { secureJoinToken } = await import("../src/render/index.js");
    const { MOCK_CA_HASH } = await import("./mocks.js");
    const byName = Object.fromEntries(bootstraps("single").map((r) => [r.name, r]));
    expect(isSecretWrapper(byName["single-cp-01"]!.inputs.stdin)).toBe(true);
    expect(unwrap(byName["single-cp-01"]!.inputs.stdin)).toBe(`${TOKEN}\n${AGENT_TOKEN}\n`);
    for (const agent of ["single-h100-01", "single-rig-a01", "single-rig-a02"]) {
      expect(isSecretWrapper(byName[agent]!.inputs.stdin), agent).toBe(true);
      const stdin = unwrap(byName[agent]!.inputs.stdin) as string;
      expect(stdin, agent).toBe(`${secureJoinToken(MOCK_CA_HASH, "agent", AGENT_TOKEN)}\n`);
      // No server token and no kubeconfig ever reach an agent.
      expect(stdin).not.toContain(TOKEN);
      expect(stdin).not.toContain("apiVersion");
    }
  });
});

describe("ordering", () => {
  it("chains the servers one after another and starts agents after the first server only", () => {
    const bs = bootstraps("ha");
    const urn = (host: string) => bs.find((r) => r.name === `ha-${host}`)!.urn;
    const ca = under("ha").find((r) => r.name === "ha-cluster-ca")!;
    // Each server bootstrap also reads its own install-version record (an input dependency).
    const deps = (host: string) => {
      const record = under("ha").find((r) => r.name === `ha-${host}-k3s-install`)?.urn;
      return bs.find((r) => r.name === `ha-${host}`)!.dependencies.filter((d) => d !== record);
    };
    const publish = under("ha").find((r) => r.name === "ha-publish")!;
    const copy = under("ha").find((r) => r.name === "ha-publish-copy")!;
    // And cp-01's install record: its host config hash leads the publication and is the copy's
    // trigger (a re-imaged first server gets the archive and the files again).
    const record = under("ha").find((r) => r.name === "ha-cp-01-k3s-install")!.urn;
    expect(copy.dependencies).toEqual([urn("cp-01"), record].sort());
    expect(copy.inputs.triggers).toEqual([hashes.ha!["cp-01"]]);
    expect(copy.inputs.remotePath).toBe(".mine2hpc-publish-program-test.tar.gz");
    expect(publish.dependencies).toEqual([urn("cp-01"), copy.urn, record].sort());
    expect(publish.inputs.create as string).toMatch(new RegExp(`^: mine2hpc-first-server=${hashes.ha!["cp-01"]}; `));
    // The CA read follows the first server and the agents' files.
    expect(ca.dependencies).toEqual([urn("cp-01"), publish.urn].sort());
    expect(deps("cp-01")).toEqual([]);
    expect(deps("cp-02")).toEqual([urn("cp-01"), ca.urn].sort());
    expect(deps("cp-03")).toEqual([urn("cp-02"), ca.urn].sort());
    // An agent's one dependency is the CA read its STDIN carries (after cp-01 and the publication).
    for (const agent of ["rig-b01", "rig-b02", "rig-b03", "h100-01", "h100-02"]) expect(deps(agent)).toEqual([ca.urn]);
    expect(farms.ha!.hosts.order.map((o) => [o.hostname, o.after.join(","), o.protected])).toEqual([
      ["cp-01", "", true],
      ["cp-02", "cp-01", true],
      ["cp-03", "cp-02", true],
      ["h100-01", "cp-01", false],
      ["h100-02", "cp-01", false],
      ["rig-b01", "cp-01", false],
      ["rig-b02", "cp-01", false],
      ["rig-b03", "cp-01", false],
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
    // Every release waits for the servers' bootstraps and for no agent's: a dead rig blocks nothing else.
    for (const b of bootstraps("ha")) {
      const isServer = ["ha-cp-01", "ha-cp-02", "ha-cp-03"].includes(b.name);
      for (const r of rs.filter((x) => x.type === "kubernetes:helm.sh/v3:Release")) expect(r.dependencies.includes(b.urn), `${r.name} on ${b.name}`).toBe(isServer);
    }
    // No per-node Kubernetes resource: each node's bootstrap sets its labels (no NodePatch).
    expect(rs.filter((r) => r.type === "kubernetes:core/v1:NodePatch")).toEqual([]);
  });

  it("installs Kueue with the manager config that makes it account GPUs only", async () => {
    const { renderKueueValues } = await import("../src/render/kueue-values.js");
    const kueue = under("ha").find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.name === "ha-kueue")!;
    expect(kueue.inputs.values).toEqual(renderKueueValues(plans.ha!));
    expect((kueue.inputs.values as { managerConfig: { controllerManagerConfigYaml: string } }).managerConfig.controllerManagerConfigYaml).toContain(
      "excludeResourcePrefixes:\n    - cpu\n    - memory\n    - ephemeral-storage\n",
    );
  });

  it("reads the kubeconfig after the first server's bootstrap, again on every run", () => {
    const read = under("ha").find((r) => r.name === "ha-kubeconfig")!;
    expect(read.dependencies).toEqual([bootstraps("ha").find((r) => r.name === "ha-cp-01")!.urn]);
    expect(read.inputs.logging).toBe("none");
    // A trigger that differs every run replaces (re-runs) the read: a renewed certificate is picked up.
    expect((read.inputs.triggers as string[]).length).toBe(1);
    const provider = rec.registrations.find((r) => r.type === "pulumi:providers:kubernetes" && r.name === "ha")!;
    expect(provider.inputs.clusterIdentifier).toBe(plans.ha!.site.name);
    expect(unwrap(read.inputs.connection)).toMatchObject({ host: "10.30.0.11", user: "ubuntu" });
  });
});

describe("secrets", () => {
  it("keeps the SSH key and token secret in every input that carries them", () => {
    for (const r of rec.registrations) {
      const text = JSON.stringify(r.inputs);
      if (!text.includes("TESTKEYPLAINTEXT") && !text.includes(TOKEN) && !text.includes(AGENT_TOKEN)) continue;
      // The only places the plaintext may sit are inside secret wrappers.
      for (const [k, v] of Object.entries(r.inputs)) {
        const t = JSON.stringify(v);
        if (t.includes("TESTKEYPLAINTEXT") || t.includes(TOKEN) || t.includes(AGENT_TOKEN)) expect(isSecretWrapper(v), `${r.type} ${r.name} input ${k}`).toBe(true);
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
  const scripts = (farm: string) => Object.fromEntries(bootstraps(farm).map((r) => [r.name.slice(farm.length + 1), r.inputs.create]));
  // An agent's command names its host file by sha256; the file is what its bootstrap runs.
  const script = (farm: string, host: string) => {
    const text = renderAgentHostFile(plans[farm]!, host, mod.bootstrapDeadlineSeconds(plans[farm]!));
    expect(scripts(farm)[host]).toContain(`M2H_HOST_CONFIG=${sha256Hex(text)};`);
    return text;
  };
  const differing = (a: Record<string, unknown>, b: Record<string, unknown>) => Object.keys(a).filter((h) => a[h] !== b[h]);

  it("a registration label (rack) changes only that machine's config hash and bootstrap", () => {
    expect(differing(hashes.single!, hashes.moved!)).toEqual(["rig-a01"]);
    expect(differing(scripts("single"), scripts("moved"))).toEqual(["rig-a01"]);
  });

  it("a GPU cap change touches only that node: its safe-cap file and its cap label (bootstrap re-run, k3s config unchanged)", () => {
    // The bootstrap writes the planned cap to /etc/mine2hpc/gpu-power-cap (the power agent's
    // fail-safe start, issue 8) and sets the cap label with the node's kubelet credentials, so
    // the node's bootstrap re-runs; it restarts nothing.
    expect(differing(hashes.single!, hashes.capchanged!)).toEqual(["rig-a01"]);
    expect(differing(scripts("single"), scripts("capchanged"))).toEqual(["rig-a01"]);
    expect(script("capchanged", "rig-a01")).toContain(`"${LABELS.gpuPowerCap}":"200"`);
    expect(script("single", "rig-a01")).not.toContain(`"${LABELS.gpuPowerCap}":"200"`);
  });
});

describe("remoteScriptCommand", () => {
  it("round-trips any script text through gzip and base64 and runs it as root", () => {
    const script = "#!/bin/bash\necho \"it's $HOME\" `date`\n";
    const cmd = mod.remoteScriptCommand(script, "mine2hpc-test");
    const gz = gzipSync(Buffer.from(script), { level: 9 }).toString("base64");
    expect(cmd).toBe(
      `set -e; if [ "$(id -u)" = 0 ]; then M2H_SUDO=""; else M2H_SUDO="sudo -n"; fi; ` +
        `command -v gzip >/dev/null 2>&1 || { echo "mine2hpc: mine2hpc-test needs gzip on the host (apt-get install gzip)" >&2; exit 127; }; ` +
        `M2H_SCRIPT="$(printf '%s' '${gz}' | base64 -d | gzip -dc)"; $M2H_SUDO bash -c "$M2H_SCRIPT" mine2hpc-test`,
    );
    // Deterministic: the same script gives the same command (zlib's header carries no time or name).
    expect(mod.remoteScriptCommand(script, "mine2hpc-test")).toBe(cmd);
    expect(() => mod.remoteScriptCommand(script, "Bad Label")).toThrow(/lowercase/);
    expect(() => mod.remoteScriptCommand("x".repeat(200_000), "big")).toThrow(/over the 131072-byte argument limit/);
  });

  it.skipIf(process.getuid?.() !== 0)("runs through bash, and fails by name (exit 127) on a host without gzip instead of running nothing", () => {
    const cmd = mod.remoteScriptCommand("echo \"ran as $0\"\n", "mine2hpc-test");
    expect(execFileSync("bash", ["-c", cmd], { encoding: "utf8" })).toBe("ran as mine2hpc-test\n");
    // A PATH with the shell's helpers but no gzip.
    const bin = mkdtempSync(path.join(tmpdir(), "m2h-nogzip-"));
    for (const tool of ["id", "base64", "bash"]) symlinkSync(execFileSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim(), path.join(bin, tool));
    const run = spawnSync(path.join(bin, "bash"), ["-c", cmd], { encoding: "utf8", env: { PATH: bin, HOME: bin }, stdio: ["ignore", "pipe", "pipe"] });
    rmSync(bin, { recursive: true, force: true });
    expect(run.status).toBe(127);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe("mine2hpc: mine2hpc-test needs gzip on the host (apt-get install gzip)\n");
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

describe("miner credentials", () => {
  it("become the curtailment jobs' Secret, secret end to end, after the namespace", () => {
    const creds = under("creds");
    const secrets = creds.filter((r) => r.type === "kubernetes:core/v1:Secret");
    expect(secrets.map((r) => r.name)).toEqual(["creds-secret-mine2hpc-system-mine2hpc-miner-credentials"]);
    const secret = secrets[0]!;
    expect(isSecretWrapper(secret.inputs.stringData)).toBe(true);
    expect(JSON.parse((unwrap(secret.inputs.stringData) as Record<string, string>)["credentials.json"]!)).toEqual({
      default: { user: "root", password: "MINERPASSWORDPLAINTEXT" },
      byDriver: { whatsminer: { user: "admin", password: "WHATSMINERPASSWORDPLAINTEXT" } },
      byHost: {},
    });
    const ns = creds.find((r) => r.type === "kubernetes:core/v1:Namespace" && r.name === "creds-namespace-mine2hpc-system")!;
    expect(secret.dependencies).toContain(ns.urn);
    // Nowhere else, and never in clear.
    const clear = JSON.stringify(creds.filter((r) => r !== secret).map((r) => r.inputs));
    expect(clear).not.toContain("MINERPASSWORDPLAINTEXT");
    expect(under("single").some((r) => r.type === "kubernetes:core/v1:Secret")).toBe(false);
  });

  it("puts every curtailment object after the namespace it lives in", () => {
    const single = under("single");
    const ns = single.find((r) => r.type === "kubernetes:core/v1:Namespace" && r.name === "single-namespace-mine2hpc-system")!;
    const inNs = single.filter((r) => r.type === "kubernetes:batch/v1:CronJob");
    expect(inNs.length).toBeGreaterThan(0);
    expect(inNs.every((r) => r.dependencies.includes(ns.urn))).toBe(true);
  });
});
