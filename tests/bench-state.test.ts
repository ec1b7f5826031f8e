/**
 * The state benchmark's model (bench/state.ts): secrets as Pulumi's ciphertext envelope, the
 * bootstrap's log, and the measurement of a 20-GPU-node site (counts and the write model exactly;
 * byte totals follow from the rendered scripts and are checked for consistency, not pinned).
 * Runs in this file's own process, the fresh Pulumi runtime the measurement needs.
 */
import { describe, expect, it } from "vitest";
import { bootstrapLog, measureState, serializeProperty } from "../bench/state.js";
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
  it("measures every registration plus the stack and default providers, and the writes of a first up", async () => {
    const plan = planFarm(programSite(20));
    const m = await measureState(plan, { keepRecords: true });
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
