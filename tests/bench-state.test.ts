/**
 * The state benchmark's model (bench/state.ts): secrets as Pulumi's ciphertext envelope, the
 * bootstrap's log, and the measurement of a 20-GPU-node site (counts and the write model exactly;
 * byte totals follow from the rendered scripts and are checked for consistency, not pinned).
 * Runs in this file's own process, the fresh Pulumi runtime the measurement needs.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { bootstrapLog, recordFarmState, serializeProperty, type StateMeasure } from "../bench/state.js";
import { programSite } from "../bench/program.js";
import { planFarm } from "../src/plan/index.js";
import { MOCK_GENERATED_TOKEN, SECRET_SIG_KEY, SECRET_SIG_VALUE } from "../src/preview/mocks.js";

const wrap = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value });

describe("state model", () => {
  it("stores a secret as the passphrase manager's v1 ciphertext of its Go JSON", () => {
    // "abc" → `"abc"` (5 bytes) + 16-byte GCM tag = 21 bytes → 28 base64 characters; nonce 12 bytes → 16.
    expect(serializeProperty(wrap("abc"))).toEqual({ [SECRET_SIG_KEY]: SECRET_SIG_VALUE, ciphertext: `v1:${"N".repeat(16)}:${"C".repeat(28)}` });
    // Go's json.Marshal escapes '<' as \u003c: `"a\u003cb"` is 10 bytes → 26 → 36 base64 characters.
    expect(serializeProperty(wrap("a<b"))).toEqual({ [SECRET_SIG_KEY]: SECRET_SIG_VALUE, ciphertext: `v1:${"N".repeat(16)}:${"C".repeat(36)}` });
    // Nested secrets are encrypted once, as part of the outer one; plain values stay plain.
    const nested = serializeProperty({ host: "10.0.0.1", privateKey: wrap("k") }) as Record<string, unknown>;
    expect(nested.host).toBe("10.0.0.1");
    expect(nested.privateKey).toEqual({ [SECRET_SIG_KEY]: SECRET_SIG_VALUE, ciphertext: `v1:${"N".repeat(16)}:${"C".repeat(28)}` });
  });

  it("models a first agent bootstrap's output from the script's and k3s install.sh's own lines", () => {
    const plan = planFarm(programSite(6));
    const node = plan.nodes.find((n) => n.k3sRole === "agent" && n.gpu !== undefined)!;
    const { stdout, stderr } = bootstrapLog(plan, node);
    const h = node.hostname;
    expect(stdout.split("\n")).toEqual([
      `mine2hpc[${h}]: wrote /etc/mine2hpc/gpu-power-cap (${node.gpu!.capWatts} W per GPU)`,
      `mine2hpc[${h}]: wrote /etc/rancher/k3s/config.yaml`,
      `mine2hpc[${h}]: installing k3s v1.33.5+k3s1 as agent (installed: none)`,
      "[INFO]  Skipping k3s download and verify",
      "[INFO]  Skipping installation of SELinux RPM",
      "[INFO]  Creating /usr/local/bin/kubectl symlink to k3s",
      "[INFO]  Creating /usr/local/bin/crictl symlink to k3s",
      "[INFO]  Creating /usr/local/bin/ctr symlink to k3s",
      "[INFO]  Creating killall script /usr/local/bin/k3s-killall.sh",
      "[INFO]  Creating uninstall script /usr/local/bin/k3s-agent-uninstall.sh",
      "[INFO]  env: Creating environment file /etc/systemd/system/k3s-agent.service.env",
      "[INFO]  systemd: Creating service file /etc/systemd/system/k3s-agent.service",
      "[INFO]  systemd: Enabling k3s-agent unit",
      `mine2hpc[${h}]: starting k3s-agent (configuration, token or binary changed; deadline 300 s)`,
      `mine2hpc[${h}]: k3s-agent is active`,
      `mine2hpc[${h}]: ${Object.keys(node.labels).length} planned labels set`,
      `mine2hpc[${h}]: done`,
    ]);
    expect(stderr).toBe("Created symlink /etc/systemd/system/multi-user.target.wants/k3s-agent.service → /etc/systemd/system/k3s-agent.service.");
  });
});

describe("state bench on 20 GPU nodes", () => {
  const plan = planFarm(programSite(20));
  // One program per process (Pulumi's runtime is a singleton), measured with the engine's URNs and with the mocks'.
  let m: StateMeasure;
  let mocked: StateMeasure;
  beforeAll(async () => {
    const measure = await recordFarmState(plan);
    m = measure({ keepRecords: true });
    mocked = measure({ keepRecords: true, urns: "mocks" });
  });

  it("gives every resource the engine's URN: the parent's whole type chain, the root stack left out", () => {
    const site = "bench-program-20";
    const prefix = "urn:pulumi:bench::mine2hpc::";
    const host = plan.nodes.find((n) => n.k3sRole === "agent" && n.gpu !== undefined)!.hostname;
    expect(host).toBe("gpu-00000-0");
    const byName = (ms: StateMeasure, name: string, type: string) => ms.records!.find((r) => r.type === type && String(r.record.urn).endsWith(`::${name}`))!.record;
    const bootstrap = byName(m, `${site}-${host}`, "command:remote:Command");
    expect(bootstrap.urn).toBe(`${prefix}mine2hpc:index:FarmCluster$mine2hpc:index:HostBootstrap$command:remote:Command::${site}-${host}`);
    expect(bootstrap.parent).toBe(`${prefix}mine2hpc:index:FarmCluster$mine2hpc:index:HostBootstrap::${site}`);
    expect(bootstrap.provider).toBe(`${prefix}pulumi:providers:command::default_1_2_1::8b7c2f1e-4d3a-4c5b-9e6f-0a1b2c3d4e5f`);
    expect(bootstrap.dependencies).toEqual([`${prefix}mine2hpc:index:FarmCluster$mine2hpc:index:HostBootstrap$command:remote:Command::${site}-cluster-ca`]);
    // The component under FarmCluster: FarmCluster's parent is the root stack, which is not part of the type.
    expect(byName(m, site, "mine2hpc:index:HostBootstrap").urn).toBe(`${prefix}mine2hpc:index:FarmCluster$mine2hpc:index:HostBootstrap::${site}`);
    expect(byName(m, site, "mine2hpc:index:FarmCluster").urn).toBe(`${prefix}mine2hpc:index:FarmCluster::${site}`);
    expect(byName(m, site, "mine2hpc:index:FarmCluster").parent).toBe(`${prefix}pulumi:pulumi:Stack::mine2hpc-bench`);
    // A reference to the explicit Kubernetes provider: its engine URN and the UUID its record holds.
    const k8sProvider = `${prefix}mine2hpc:index:FarmCluster$mine2hpc:index:ClusterAccess$pulumi:providers:kubernetes::${site}`;
    expect(byName(m, site, "pulumi:providers:kubernetes").urn).toBe(k8sProvider);
    expect(byName(m, `${site}-namespace-mine2hpc-system`, "kubernetes:core/v1:Namespace").provider).toBe(`${k8sProvider}::8b7c2f1e-4d3a-4c5b-9e6f-0a1b2c3d4e5f`);
    // The mocks' form keeps the parent's last type only, and their provider ID.
    expect(byName(mocked, `${site}-${host}`, "command:remote:Command").urn).toBe(`${prefix}mine2hpc:index:HostBootstrap$command:remote:Command::${site}-${host}`);
    expect(byName(mocked, `${site}-namespace-mine2hpc-system`, "kubernetes:core/v1:Namespace").provider).toBe(`${prefix}mine2hpc:index:ClusterAccess$pulumi:providers:kubernetes::${site}::${site}-id`);
    // No mocks' URN is left anywhere in the records (URNs, parents, dependencies, property dependencies, providers).
    const text = JSON.stringify(m.records!.map((r) => r.record));
    expect(text).not.toMatch(/::mine2hpc:index:(HostBootstrap|ClusterAccess|KubePlatform|PowerPools)\$/);
    expect(text).not.toContain(`${site}-id`);
  });

  it("grows the state by exactly the characters the engine's URNs add", () => {
    // Every URN two components deep gains `mine2hpc:index:FarmCluster$` (27 characters); each reference to
    // the Kubernetes provider also swaps the mocks' ID `bench-program-20-id` (19) for a UUID (36).
    const text = JSON.stringify(m.records!.map((r) => r.record));
    const deep = text.match(/urn:pulumi:bench::mine2hpc::mine2hpc:index:FarmCluster\$mine2hpc:index:[A-Za-z]+\$/g)!.length;
    const k8sRefs = m.records!.filter((r) => String(r.record.provider ?? "").includes("$pulumi:providers:kubernetes::")).length;
    expect(deep).toBeGreaterThan(100);
    expect(k8sRefs).toBeGreaterThan(10);
    expect(m.total - mocked.total).toBe(27 * deep + 17 * k8sRefs);
    expect(m.resources).toBe(mocked.resources);
    expect(m.checkpointWrites).toBe(mocked.checkpointWrites);
    // Per record: the same records in the same order, each longer by its own URNs' extra characters.
    m.records!.forEach((r, i) => {
      const own = JSON.stringify(r.record);
      const extra = 27 * (own.match(/urn:pulumi:bench::mine2hpc::mine2hpc:index:FarmCluster\$mine2hpc:index:[A-Za-z]+\$/g)?.length ?? 0) + (own.includes("$pulumi:providers:kubernetes::bench-program-20::") ? 17 : 0);
      expect(r.bytes - mocked.records![i]!.bytes).toBe(extra);
    });
  });

  it("measures every registration plus the stack and default providers, and the writes of a first up", () => {
    const counts = Object.fromEntries(m.perType.map((t) => [t.type, t.count]));
    // 67 registrations (tests/bench-program.test.ts) + the two generated tokens (as src/program.ts
    // makes them without configured ones) + the root stack + default command and random providers.
    expect(m.resources).toBe(72);
    expect(counts["pulumi:pulumi:Stack"]).toBe(1);
    expect(counts["pulumi:providers:command"]).toBe(1);
    expect(counts["pulumi:providers:random"]).toBe(1);
    expect(counts["command:remote:Command"]).toBe(27);
    expect(counts["command:remote:CopyToRemote"]).toBe(1);
    expect(counts["kubernetes:core/v1:NodePatch"]).toBeUndefined();
    expect(m.machines).toBe(23);
    // Two writes per resource (pending, done) and one per registerOutputs (5 components and the root stack).
    expect(m.checkpointWrites).toBe(2 * 72 + 6);
    const sum = m.perType.reduce((s, t) => s + t.bytes, 0);
    expect(m.total).toBeGreaterThan(sum);
    expect(m.total - sum).toBeLessThan(2_000); // the manifest, secrets provider and commas
    expect(m.perMachineBytes).toBe(Math.round(m.total / 23));
    // Resources named after a machine: its bootstrap, and a server's install record: 23 + 3.
    expect(m.records!.filter((r) => r.machine !== undefined)).toHaveLength(26);
    // Each write holds at most the whole state: the sum lies between the final state and writes × state.
    expect(m.firstUpBytesWritten).toBeGreaterThan(m.total);
    expect(m.firstUpBytesWritten).toBeLessThan(m.checkpointWrites * m.total);
    // Measured with the SSH agent (the default without mine2hpc:sshPrivateKey): no key in any
    // connection, encrypted or not; the tokens on stdin only encrypted.
    const text = JSON.stringify(m.records!.map((r) => r.record));
    expect(text).not.toContain("OPENSSH PRIVATE KEY");
    // The SDK keeps `connection` secret (its schema), so it is compared encrypted: exactly the
    // ciphertext of host, user, bounds and port, without a key.
    const agent = plan.nodes.find((n) => n.k3sRole === "agent")!;
    const record = m.records!.find((r) => r.type === "command:remote:Command" && r.machine === agent.hostname)!.record;
    const plain = { dialErrorLimit: 6, host: agent.ip, perDialTimeout: 10, port: 22, user: agent.sshUser };
    expect((record.inputs as Record<string, unknown>).connection).toEqual(serializeProperty({ [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value: plain }));
    expect(text).not.toContain(MOCK_GENERATED_TOKEN);
  });
});
