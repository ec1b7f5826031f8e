/**
 * The fleet lifecycle in the Pulumi program, under mocks: machine states (active, cordoned,
 * offline, retired), generations, re-addressing, pinned host keys, bounded commands, a k3s
 * version change through the system-upgrade-controller, and what the platform waits for.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { setupMocks, isSecretWrapper, unwrap, valueOf, type MockRecorder, type Registration } from "./mocks.js";
import { samplePlan } from "./helpers/sample-plan.js";
import type { FarmPlan } from "../src/plan/types.js";
import { CHARTS } from "../src/render/versions.js";
import { renderAgentHostFile, sha256Hex } from "../src/render/agent-files.js";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nLIFECYCLEKEY\n-----END OPENSSH PRIVATE KEY-----\n";
const TOKEN = "LIFECYCLESERVERTOKEN0123456789";
const AGENT_TOKEN = "LIFECYCLEAGENTTOKEN9876543210";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

let rec: MockRecorder;
let mod: typeof import("../src/components/index.js");
const plans: Record<string, FarmPlan> = {};
const farms: Record<string, import("../src/components/index.js").FarmCluster> = {};
const hashes: Record<string, Record<string, string>> = {};

function variant(change: (p: FarmPlan) => void): FarmPlan {
  const p = samplePlan();
  change(p);
  return p;
}

beforeAll(async () => {
  // The "v2" site is the "base" site a version later: its machines' install records hold the
  // version they were installed with (ignoreChanges keeps it in state), as a real stack would.
  rec = await setupMocks({
    stack: "lifecycle-test",
    shuffleResults: (name, inputs) => (name.startsWith("v2-") && name.includes("-k3s-install") ? ["v1.33.5+k3s1"] : inputs),
  });
  mod = await import("../src/components/index.js");
  plans.base = samplePlan();
  plans.life = variant((p) => {
    const node = (h: string) => p.nodes.find((n) => n.hostname === h)!;
    node("rig-a01").state = "cordoned";
    node("rig-a02").state = "offline";
    node("h100-01").sshHostKey = HOST_KEY;
    p.retired = [{ hostname: "rig-old", ip: "10.20.1.99", sshUser: "miner", k3sRole: "agent", sshHostKey: HOST_KEY }];
  });
  plans.v2 = variant((p) => {
    p.kubernetes.version = "v1.34.2+k3s1";
  });
  plans.gen = variant((p) => {
    p.nodes.find((n) => n.hostname === "rig-a01")!.generation = 1;
  });
  plans.readdr = variant((p) => {
    const n = p.nodes.find((x) => x.hostname === "rig-a01")!;
    n.ip = "10.20.9.11";
    n.sshUser = "ops";
  });
  plans.mirror = variant((p) => {
    p.mirror = { artifacts: "https://mirror.site/k3s", registry: "mirror.site:5000", charts: "oci://mirror.site:5000/charts" };
  });
  for (const [name, plan] of Object.entries(plans)) {
    farms[name] = new mod.FarmCluster(name, { plan, sshPrivateKey: KEY, k3sToken: TOKEN, k3sAgentToken: AGENT_TOKEN });
  }
  await rec.settle();
  for (const [name, farm] of Object.entries(farms)) {
    hashes[name] = Object.fromEntries(await Promise.all(Object.entries(farm.hosts.configHashes).map(async ([h, o]) => [h, await valueOf(o)] as const)));
  }
});

/** Registrations under the FarmCluster `farm`. */
function under(farm: string): Registration[] {
  const root = rec.registrations.find((r) => r.type === "mine2hpc:index:FarmCluster" && r.name === farm)!;
  const urns = new Set([root.urn]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rec.registrations) if (!urns.has(r.urn) && urns.has(r.parent)) grew = urns.add(r.urn).size > 0;
  }
  return rec.registrations.filter((r) => urns.has(r.urn));
}
const named = (farm: string, name: string) => under(farm).find((r) => r.name === `${farm}-${name}`);
const commands = (farm: string) => under(farm).filter((r) => r.type === "command:remote:Command");
const host = (r: Registration) => (unwrap(r.inputs.connection) as { host: string }).host;

describe("machine states", () => {
  it("offline: a placeholder that runs nothing and keeps every stored input, nothing else addressed to it", () => {
    const b = named("life", "rig-a02")!;
    expect([b.inputs.create, b.inputs.update, b.inputs.delete, b.inputs.stdin]).toEqual([undefined, undefined, undefined, undefined]);
    expect(b.ignoreChanges).toEqual(mod.COMMAND_INPUTS);
    expect(b.retainOnDelete).toBe(true);
    // Nothing else of the site is addressed to it: no per-node Kubernetes resource, no drain, no command at its address.
    expect(under("life").filter((r) => r.type === "kubernetes:core/v1:NodePatch")).toEqual([]);
    expect(named("life", "drain-rig-a02")).toBeUndefined();
    expect(commands("life").filter((r) => host(r) === "10.20.1.12").map((r) => r.name)).toEqual(["life-rig-a02"]);
    expect(farms.life!.hosts.order.find((o) => o.hostname === "rig-a02")).toMatchObject({ state: "offline", reachesHost: false });
    // An agent has no install record: it reads the version for new machines from the first server.
    expect(named("life", "rig-a02-k3s-install")).toBeUndefined();
  });

  it("cordoned: stays installed; a bounded drain on the first server cordons it, and its delete uncordons it", () => {
    const b = named("life", "rig-a01")!;
    // The bootstrap itself is that of an active machine: cordoning is done in the cluster.
    expect(b.inputs.create).toBe(named("base", "rig-a01")!.inputs.create);
    const drain = named("life", "drain-rig-a01")!;
    expect(host(drain)).toBe("10.20.0.10");
    // The Node exists once the machine's own bootstrap registered it.
    expect(drain.dependencies).toContain(b.urn);
    const decode = (cmd: unknown) => gunzipSync(Buffer.from(/'([A-Za-z0-9+/=]+)'/.exec(cmd as string)![1]!, "base64")).toString("utf8");
    const script = decode(drain.inputs.create);
    // kubectl drain cordons first (spec.unschedulable), then evicts.
    expect(script).toContain('kubectl_ drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout=300s');
    expect(script).toContain("401/403");
    expect(drain.inputs.create).toContain(`timeout -k 30 ${mod.SERVER_SIDE_DEADLINE_SECONDS} bash -c`);
    // When the machine is no longer cordoned its drain goes, and the delete uncordons it (bounded).
    const uncordon = decode(drain.inputs.delete);
    expect(uncordon).toContain('kubectl_ uncordon "$NODE_NAME" >/dev/null\n');
    expect(uncordon).toContain('log "node is not registered: nothing to uncordon"');
    expect(drain.inputs.delete).toContain(`timeout -k 30 ${mod.SERVER_SIDE_DEADLINE_SECONDS} bash -c`);
    // Active nodes get no drain.
    expect(named("life", "drain-h100-01")).toBeUndefined();
  });

  it("retired: placeholder kept without SSH, server-side removal, then the uninstall on the machine", async () => {
    const { renderServerSideRemovalScript } = await import("../src/render/index.js");
    const placeholder = named("life", "rig-old")!;
    expect([placeholder.inputs.create, placeholder.inputs.delete]).toEqual([undefined, undefined]);
    expect([placeholder.retainOnDelete, placeholder.protect]).toEqual([true, false]);
    const removal = named("life", "remove-rig-old")!;
    expect(host(removal)).toBe("10.20.0.10");
    const script = gunzipSync(Buffer.from(/'([A-Za-z0-9+/=]+)'/.exec(removal.inputs.create as string)![1]!, "base64")).toString("utf8");
    expect(script).toBe(renderServerSideRemovalScript(plans.life!, "rig-old"));
    const uninstall = named("life", "uninstall-rig-old")!;
    expect(host(uninstall)).toBe("10.20.1.99");
    expect((unwrap(uninstall.inputs.connection) as { hostKey: string }).hostKey).toBe(HOST_KEY);
    expect(uninstall.dependencies).toContain(removal.urn);
    expect(uninstall.inputs.stdin).toBeUndefined();
  });

  it("the platform and the pools depend on no agent bootstrap", () => {
    const agents = new Set(["h100-01", "rig-a01", "rig-a02"].map((h) => named("life", h)!.urn));
    for (const r of under("life")) {
      if (r.name.startsWith("life-drain-")) continue; // per cordoned node, after its own bootstrap
      for (const d of r.dependencies) expect(agents.has(d), `${r.type} ${r.name} depends on an agent`).toBe(false);
    }
    // ... and every release waits for the (only) server.
    for (const r of under("life").filter((x) => x.type === "kubernetes:helm.sh/v3:Release")) expect(r.dependencies).toContain(named("life", "cp-01")!.urn);
  });
});

describe("a k3s version change", () => {
  it("leaves every bootstrap, its STDIN and its hash as they are (the install record keeps the installed version)", () => {
    const record = named("v2", "cp-01-k3s-install")!;
    expect(record.inputs.inputs).toEqual(["v1.34.2+k3s1"]);
    expect(record.ignoreChanges).toEqual(["inputs", "resultCount"]);
    for (const n of plans.base!.nodes) {
      const [a, b] = [named("base", n.hostname)!, named("v2", n.hostname)!];
      expect(b.inputs.create, n.hostname).toBe(a.inputs.create);
      expect(b.inputs.create, n.hostname).toBe(a.inputs.create);
      expect(JSON.stringify(b.inputs.stdin)).toBe(JSON.stringify(a.inputs.stdin));
    }
    expect(hashes.v2).toEqual(hashes.base);
  });

  it("routes through the system-upgrade-controller: the server Plan one at a time, the agent Plan in batches after it", () => {
    const plansOf = (farm: string) => under(farm).filter((r) => r.type === "kubernetes:upgrade.cattle.io/v1:Plan");
    const spec = (farm: string, name: string) => (plansOf(farm).find((r) => (r.inputs.metadata as { name: string }).name === name)!.inputs as { spec: Record<string, unknown> }).spec;
    expect(spec("base", "k3s-server").version).toBe("v1.33.5+k3s1");
    expect(spec("v2", "k3s-server")).toMatchObject({ version: "v1.34.2+k3s1", concurrency: 1, cordon: true });
    expect(spec("v2", "k3s-agent")).toMatchObject({
      version: "v1.34.2+k3s1",
      concurrency: plans.v2!.kubernetes.rollout.agentBatch,
      prepare: { image: "rancher/k3s-upgrade", args: ["prepare", "k3s-server"] },
      drain: { timeout: "300s", ignoreDaemonSets: true, deleteEmptydirData: true, force: true, skipWaitForDeleteTimeout: 60 },
    });
    const deployment = under("v2").find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name.includes("system-upgrade-controller"))!;
    for (const p of plansOf("v2")) expect(p.dependencies).toContain(deployment.urn);
  });

  it("keeps cordoned and offline machines out of both Plans", () => {
    const server = under("life").find((r) => r.type === "kubernetes:upgrade.cattle.io/v1:Plan" && (r.inputs.metadata as { name: string }).name === "k3s-agent")!;
    expect((server.inputs.spec as { nodeSelector: unknown }).nodeSelector).toEqual({
      matchExpressions: [
        { key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" },
        { key: "kubernetes.io/hostname", operator: "NotIn", values: ["rig-a01", "rig-a02"] },
      ],
    });
  });
});

describe("replacement and credentials", () => {
  it("a generation bump re-runs only that machine's bootstrap, with a fresh install record", () => {
    expect(Object.keys(hashes.gen!).filter((h) => hashes.gen![h] !== hashes.base![h])).toEqual(["rig-a01"]);
    // The generation is part of the agent's host file, so of its hash and its command.
    const file = renderAgentHostFile(plans.gen!, "rig-a01", mod.bootstrapDeadlineSeconds(plans.gen!));
    expect(file).toContain("\n# install generation 1: a new generation runs the bootstrap again.\n");
    expect(named("gen", "rig-a01")!.inputs.create).toContain(`M2H_HOST_CONFIG=${sha256Hex(file)};`);
    expect(named("gen", "rig-a01-k3s-install-g1")).toBeUndefined();
  });

  it("re-addressing is an in-place update at the new address, never an uninstall through the old one", () => {
    const [a, b] = [named("base", "rig-a01")!, named("readdr", "rig-a01")!];
    // Same resource; the k3s config carries the new node-ip, so its bootstrap runs there.
    expect(b.inputs.create).not.toBe(a.inputs.create);
    expect(Object.keys(hashes.readdr!).filter((h) => hashes.readdr![h] !== hashes.base![h])).toEqual(["rig-a01"]);
    expect(unwrap(b.inputs.connection)).toMatchObject({ host: "10.20.9.11", user: "ops" });
    expect(b.deleteBeforeReplace).toBe(false);
    expect(b.inputs.triggers).toBeUndefined();
  });

  it("pins the host key where the site has one, bounds every dial and every command", () => {
    expect((unwrap(named("life", "h100-01")!.inputs.connection) as { hostKey?: string }).hostKey).toBe(HOST_KEY);
    expect((unwrap(named("life", "cp-01")!.inputs.connection) as { hostKey?: string }).hostKey).toBeUndefined();
    for (const c of commands("life")) {
      expect(isSecretWrapper(c.inputs.connection), c.name).toBe(true);
      expect(unwrap(c.inputs.connection), c.name).toMatchObject({ dialErrorLimit: mod.DIAL_ERROR_LIMIT, perDialTimeout: mod.PER_DIAL_TIMEOUT_SECONDS });
      if (c.inputs.create === undefined) continue; // offline and retired placeholders run nothing
      expect(c.customTimeouts.create, c.name).toMatch(/^\d+s$/);
      expect(c.customTimeouts.delete, c.name).toMatch(/^\d+s$/);
      const create = c.inputs.create as string;
      const agent = /^M2H_HOST_CONFIG=([0-9a-f]{64});/.exec(create);
      if (agent === null) {
        expect(create, c.name).toMatch(/timeout (-k 30 )?\d+ /);
        continue;
      }
      // An agent's command fetches its host file (curl bounded by -m 60), which runs under the deadline.
      const hostname = c.name.slice("life-".length);
      const file = renderAgentHostFile(plans.life!, hostname, mod.bootstrapDeadlineSeconds(plans.life!));
      expect(sha256Hex(file), c.name).toBe(agent[1]);
      expect(create, c.name).toContain("curl -fsSk -m 60 --retry 2 ");
      expect(file, c.name).toContain(`"$@" env M2H_DEADLINE=${mod.bootstrapDeadlineSeconds(plans.life!)} timeout -k 30 ${mod.bootstrapDeadlineSeconds(plans.life!)} bash "$0" || M2H_RC=$?\n`);
    }
  });

  it("gives no agent the server token or a kubeconfig", () => {
    for (const h of ["h100-01", "rig-a01"]) {
      const stdin = unwrap(named("life", h)!.inputs.stdin) as string;
      expect(stdin).not.toContain(TOKEN);
      expect(stdin).toContain(AGENT_TOKEN);
      expect(stdin.split("\n").filter((l) => l !== "")).toHaveLength(1);
    }
  });
});

describe("bad program inputs", () => {
  it("refuses a plan whose first server is offline, before registering anything of it", () => {
    const plan = variant((p) => {
      p.nodes.find((n) => n.clusterInit)!.state = "offline";
    });
    const before = rec.registrations.length;
    expect(() => new mod.FarmCluster("bad-first", { plan, sshPrivateKey: KEY, k3sToken: TOKEN, k3sAgentToken: AGENT_TOKEN })).toThrow(
      /first k3s server cp-01 is offline.*state: active/,
    );
    // Only the FarmCluster component itself was registered before the check threw.
    expect(rec.registrations.slice(before).filter((r) => r.name.startsWith("bad-first-"))).toEqual([]);
  });

  it("refuses a host-side deadline that is not a whole number of seconds", () => {
    expect(() => mod.remoteScriptCommand("true\n", "mine2hpc-test", { timeoutSeconds: 0 })).toThrow(/timeoutSeconds must be a whole number >= 1, got 0/);
    expect(() => mod.remoteScriptCommand("true\n", "mine2hpc-test", { timeoutSeconds: 1.5 })).toThrow(/got 1.5/);
  });

  it("wraps a script in the host-side deadline with a line naming it", () => {
    const cmd = mod.remoteScriptCommand("true\n", "mine2hpc-test", { timeoutSeconds: 42 });
    expect(cmd).toBe(
      `set -e; if [ "$(id -u)" = 0 ]; then M2H_SUDO=""; else M2H_SUDO="sudo -n"; fi; ` +
        `command -v gzip >/dev/null 2>&1 || { echo "mine2hpc: mine2hpc-test needs gzip on the host (apt-get install gzip)" >&2; exit 127; }; ` +
        `M2H_SCRIPT="$(printf '%s' '${gzipSync(Buffer.from("true\n"), { level: 9 }).toString("base64")}' | base64 -d | gzip -dc)"; ` +
        `$M2H_SUDO timeout -k 30 42 bash -c "$M2H_SCRIPT" mine2hpc-test || { M2H_RC=$?; if [ "$M2H_RC" -eq 124 ] || [ "$M2H_RC" -eq 137 ]; then echo "mine2hpc: mine2hpc-test did not finish within 42 s and was stopped" >&2; fi; exit "$M2H_RC"; }`,
    );
  });
});

describe("air-gapped site", () => {
  it("installs every Helm chart from the site's chart mirror, same name and version", () => {
    const releases = under("mirror").filter((r) => r.type === "kubernetes:helm.sh/v3:Release");
    const got = releases.map((r) => ({ chart: r.inputs.chart, repositoryOpts: r.inputs.repositoryOpts, version: r.inputs.version })).sort((a, b) => String(a.chart).localeCompare(String(b.chart)));
    const plan = plans.mirror!;
    expect(got).toEqual(
      [
        { chart: "oci://mirror.site:5000/charts/gpu-operator", repositoryOpts: undefined, version: plan.gpuOperator.chartVersion },
        { chart: "oci://mirror.site:5000/charts/kueue", repositoryOpts: undefined, version: CHARTS.kueue.version },
        ...(plan.network.loadBalancerPool !== null ? [{ chart: "oci://mirror.site:5000/charts/metallb", repositoryOpts: undefined, version: CHARTS.metallb.version }] : []),
      ].sort((a, b) => a.chart.localeCompare(b.chart)),
    );
    // Without a mirror the pinned upstream repositories stay.
    const upstream = under("base").find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.name === "gpu-operator")!;
    expect(upstream.inputs.repositoryOpts).toEqual({ repo: CHARTS.gpuOperator.repo });
  });
});
