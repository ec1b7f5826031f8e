/**
 * Unit tests of the pure diff library (src/diff): resource identity, input paths, bootstrap
 * detection, plan moves, and the Markdown trim that keeps a PR comment under GitHub's limit.
 */
import { describe, expect, it } from "vitest";
import { diffPlans, diffResources, diffSecrets, diffSite, diffValues, findRebootstraps, diffMarkdown, secretEffect, trimLines, MAX_COMMENT_CHARS } from "../src/diff/index.js";
import type { PreviewResource, PreviewResult } from "../src/preview/offline.js";
import { samplePlan } from "./helpers/sample-plan.js";

function res(name: string, inputs: Record<string, unknown>, extra: Partial<PreviewResource> = {}): PreviewResource {
  return { type: "command:remote:Command", name, parent: "mine2hpc:index:HostBootstrap::site", inputs, dependsOn: [], protect: false, ...extra };
}

function previewOf(resources: PreviewResource[]): PreviewResult {
  return { stack: "s", siteFile: "site.yaml", resources, counts: {}, outputs: {} };
}

describe("diffValues", () => {
  it("descends into objects, quoting keys a dot would make ambiguous", () => {
    expect(diffValues("metadata.labels", { "mine2hpc.io/pool": "a", rack: "r1" }, { "mine2hpc.io/pool": "b", rack: "r1", zone: "z" })).toEqual([
      { key: 'metadata.labels["mine2hpc.io/pool"]', before: "a", after: "b" },
      { key: "metadata.labels.zone", before: null, after: "z" },
    ]);
  });
  it("compares arrays whole and keeps [secret] as it is", () => {
    expect(diffValues("triggers", ["a"], ["b"])).toEqual([{ key: "triggers", before: ["a"], after: ["b"] }]);
    expect(diffValues("stdin", "[secret]", "[secret]")).toEqual([]);
  });
});

describe("diffResources and findRebootstraps", () => {
  const base = [
    res("site-rig-1", { update: "<7000 bytes mine2hpc-host-config=1111111111111111111111111111111111111111111111111111111111111111>", "connection.privateKey": "[secret]" }),
    res("site-rig-2", { update: "<7000 bytes mine2hpc-host-config=2222222222222222222222222222222222222222222222222222222222222222>" }),
    res("site-old", { update: "<7000 bytes mine2hpc-host-config=3333333333333333333333333333333333333333333333333333333333333333>" }),
    res("patch", { "metadata.name": "rig-1" }, { type: "kubernetes:core/v1:NodePatch", parent: null }),
  ];
  const head = [
    res("site-rig-1", { update: "<7000 bytes mine2hpc-host-config=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb>", "connection.privateKey": "[secret]" }, { protect: true }),
    res("site-rig-2", { update: "<7000 bytes mine2hpc-host-config=2222222222222222222222222222222222222222222222222222222222222222>" }, { dependsOn: ["command:remote:Command::site-rig-1"] }),
    res("site-new", { update: "<7000 bytes mine2hpc-host-config=4444444444444444444444444444444444444444444444444444444444444444>" }),
    // Same type and name under another parent: another URN, so a delete and a create.
    res("patch", { "metadata.name": "rig-1" }, { type: "kubernetes:core/v1:NodePatch", parent: "mine2hpc:index:PowerPools::site" }),
  ];
  const diff = diffResources(base, head);

  it("matches resources by parent, type and name", () => {
    expect(diff.added).toEqual([
      { type: "command:remote:Command", name: "site-new", parent: "mine2hpc:index:HostBootstrap::site" },
      { type: "kubernetes:core/v1:NodePatch", name: "patch", parent: "mine2hpc:index:PowerPools::site" },
    ]);
    expect(diff.removed.map((r) => r.name)).toEqual(["site-old", "patch"]);
    expect(diff.changed).toEqual([
      {
        type: "command:remote:Command",
        name: "site-rig-1",
        parent: "mine2hpc:index:HostBootstrap::site",
        inputs: [{ key: "update", before: "<7000 bytes mine2hpc-host-config=1111111111111111111111111111111111111111111111111111111111111111>", after: "<7000 bytes mine2hpc-host-config=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb>" }],
        dependsOn: { added: [], removed: [] },
        protect: { before: false, after: true },
      },
      {
        type: "command:remote:Command",
        name: "site-rig-2",
        parent: "mine2hpc:index:HostBootstrap::site",
        inputs: [],
        dependsOn: { added: ["command:remote:Command::site-rig-1"], removed: [] },
        protect: null,
      },
    ]);
    expect(diff.unchanged).toBe(0);
  });

  it("re-bootstraps added, removed and reconfigured machines only", () => {
    expect(findRebootstraps(base, head, diff)).toEqual([
      { hostname: "new", reason: "added", resource: "site-new", configBefore: null, configAfter: "4444444444444444444444444444444444444444444444444444444444444444" },
      { hostname: "old", reason: "removed", resource: "site-old", configBefore: "3333333333333333333333333333333333333333333333333333333333333333", configAfter: null },
      { hostname: "rig-1", reason: "changed", resource: "site-rig-1", configBefore: "1111111111111111111111111111111111111111111111111111111111111111", configAfter: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" },
    ]);
  });
});

describe("a command whose encoding changed but not its host config", () => {
  const hash = "c".repeat(64);
  // e.g. after a mine2hpc upgrade: the script now travels gzip-compressed, its text (and hash) unchanged.
  const base = [res("site-rig-1", { create: `<9000 bytes mine2hpc-host-config=${hash} base64 -d>` })];
  const head = [res("site-rig-1", { create: `<3000 bytes mine2hpc-host-config=${hash} base64 -d | gzip -dc>` })];

  it("is a re-run of its own kind, not a host config change", () => {
    expect(findRebootstraps(base, head, diffResources(base, head))).toEqual([
      { hostname: "rig-1", reason: "reencoded", resource: "site-rig-1", configBefore: hash, configAfter: hash },
    ]);
  });

  it("says so in the diff, without a config X → X", () => {
    const plan = samplePlan();
    const md = diffMarkdown(diffSite({ ref: "origin/main", commit: "0".repeat(40), plan, preview: previewOf(base) }, { plan, preview: previewOf(head) }));
    const rows = md.split("\n").filter((l) => l.startsWith("| `rig-1`"));
    expect(rows).toEqual([
      "| `rig-1` | bootstrap re-runs once: command encoding changed, host config unchanged (config cccccccccccc; idempotent; hosts that are down will fail this up: use --continue-on-error) |",
    ]);
  });
});

describe("diffPlans", () => {
  it("reports a moved cap, a changed pool and the circuit it sits on", () => {
    const before = samplePlan();
    const after = samplePlan();
    const node = after.nodes.find((n) => n.gpu !== undefined)!;
    const oldCap = node.gpu!.capWatts;
    node.gpu!.capWatts = oldCap - 10;
    const circuit = after.circuits.find((c) => c.id === node.circuit)!;
    circuit.loadWatts -= 60;
    const d = diffPlans(before, after);
    expect(d.caps).toEqual([{ hostname: node.hostname, pool: node.pool ?? null, gpusBefore: node.gpu!.count, gpusAfter: node.gpu!.count, capWattsBefore: oldCap, capWattsAfter: oldCap - 10 }]);
    expect(d.circuits.moved).toEqual([
      {
        id: circuit.id,
        feed: circuit.feed,
        usableWatts: { before: circuit.usableWatts, after: circuit.usableWatts },
        loadWatts: { before: circuit.loadWatts + 60, after: circuit.loadWatts },
        loadPercent: { before: circuit.loadPercent, after: circuit.loadPercent },
      },
    ]);
    expect(d.nodes).toEqual({ added: [], removed: [] });
    expect(diffPlans(before, samplePlan()).caps).toEqual([]);
  });

  it("an empty base (stack new in this change) makes everything added", () => {
    const plan = samplePlan();
    const d = diffPlans(null, plan);
    expect(d.nodes.added).toEqual(plan.nodes.map((n) => n.hostname).sort());
    expect(d.pools.added.map((p) => p.name)).toEqual(plan.pools.map((p) => p.name).sort());
    expect(d.circuits.added).toEqual(plan.circuits.map((c) => c.id).sort());
    expect(d.totals.find((t) => t.field === "gpus")).toEqual({ field: "gpus", before: 0, after: plan.totals.gpus });
  });
});

describe("diffMarkdown trimming", () => {
  it("keeps whole lines under the limit and says how many were cut", () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, "0")} ${"x".repeat(40)}`);
    const out = trimLines(lines, 1000);
    expect(out.length).toBeLessThanOrEqual(1000);
    const kept = out.split("\n").filter((l) => l.startsWith("line "));
    expect(out.endsWith(`\n(… ${100 - kept.length} more lines trimmed; run mine2hpc diff locally for the full list)\n`)).toBe(true);
    expect(kept).toEqual(lines.slice(0, kept.length));
    expect(trimLines(["a", "b"], 1000)).toBe("a\nb\n");
  });

  it("a site diff of thousands of resources fits a PR comment", () => {
    const head = Array.from({ length: 3000 }, (_, i) => res(`site-rig-${i}`, { update: `<7000 bytes mine2hpc-host-config=${"a".repeat(58)}${String(i).padStart(6, "0")}>` }));
    const base = Array.from({ length: 3000 }, (_, i) => res(`site-rig-${i}`, { update: `<7000 bytes mine2hpc-host-config=${"0".repeat(58)}${String(i).padStart(6, "0")}>` }));
    const plan = samplePlan();
    const d = diffSite({ ref: "origin/main", commit: "0".repeat(40), plan, preview: previewOf(base) }, { plan, preview: previewOf(head) });
    const md = diffMarkdown(d);
    expect(md.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    expect(md.split("\n")[0]).toBe(
      "**mine2hpc diff** · stack `s` · `origin/main` → working tree: 0 added, 3000 changed, 0 removed resources · 3000 machines re-bootstrapped · 0 pools changed · 0 node caps moved · 0 circuits and 0 feeds moved",
    );
    expect(md).toMatch(/\n\(… \d+ more lines trimmed; run mine2hpc diff locally for the full list\)\n$/);
  });
});

describe("diffSecrets: stack secrets compared by ciphertext, shown by name", () => {
  const side = (ciphertexts: Record<string, string>, provider: string | null = "encryptionsalt=v1:salt") => ({ ciphertexts, provider });

  it("names each secret set, removed or set again, sorted, and never carries a value", () => {
    const d = diffSecrets(
      side({ "mine2hpc:k3sToken": "v1:a:AAAA", "mine2hpc:sshPrivateKey": "v1:b:BBBB", "mine2hpc:minerCredentials": "v1:c:CCCC" }),
      side({ "mine2hpc:k3sToken": "v1:d:DDDD", "mine2hpc:sshPrivateKey": "v1:b:BBBB", "mine2hpc:k3sAgentToken": "v1:e:EEEE" }),
    );
    expect(d).toEqual({
      reencrypted: false,
      changed: [
        { key: "mine2hpc:k3sAgentToken", change: "set" },
        { key: "mine2hpc:k3sToken", change: "changed" },
        { key: "mine2hpc:minerCredentials", change: "removed" },
      ],
    });
    expect(JSON.stringify(d)).not.toMatch(/AAAA|DDDD|EEEE|CCCC/);
  });

  it("flags a re-encryption (new passphrase salt) so a changed ciphertext is not read as a changed value", () => {
    expect(diffSecrets(side({ "mine2hpc:k3sToken": "v1:a:AAAA" }, "encryptionsalt=v1:old"), side({ "mine2hpc:k3sToken": "v1:z:ZZZZ" }, "encryptionsalt=v1:new"))).toEqual({
      reencrypted: true,
      changed: [{ key: "mine2hpc:k3sToken", change: "changed" }],
    });
  });

  it("has nothing to compare when the stack is new at the base", () => {
    expect(diffSecrets(null, side({ "mine2hpc:k3sToken": "v1:a:AAAA" }))).toEqual({ reencrypted: false, changed: [] });
  });

  it("says what each secret's change does; a k3s token change is a change of the diff, with its own count", () => {
    expect(secretEffect({ key: "mine2hpc:sshPrivateKey", change: "changed" })).toBe(
      "SSH private key set again (its encrypted value differs): every remote command connects with it, so every machine must already accept its public key (authorized_keys), or its bootstrap fails to connect.",
    );
    expect(secretEffect({ key: "mine2hpc:k3sToken", change: "removed" })).toMatch(/^k3s server token removed from the stack file \(a new one is generated\): every server's bootstrap runs again with it, but a running cluster refuses a new server token/);
    expect(secretEffect({ key: "kubernetes:kubeconfig", change: "set" })).toBe("secret kubernetes:kubeconfig now set in the stack file (was generated and kept in state).");
    const plan = samplePlan();
    const same = previewOf([res("a", { update: "x" })]);
    const d = diffSite(
      { ref: "origin/main", commit: "0".repeat(40), plan, preview: same, secrets: side({ "mine2hpc:k3sToken": "v1:a:AAAA" }) },
      { plan, preview: same, secrets: side({ "mine2hpc:k3sToken": "v1:b:BBBB" }) },
    );
    expect(d.summary.secretsChanged).toBe(1);
    const md = diffMarkdown(d);
    expect(md.split("\n").slice(0, 5)).toEqual([
      "**mine2hpc diff** · stack `s` · `origin/main` → working tree: 0 added, 0 changed, 0 removed resources · 0 machines re-bootstrapped · 1 secret changed · 0 pools changed · 0 node caps moved · 0 circuits and 0 feeds moved",
      "",
      "### Secrets (names only; values never read)",
      "",
      `- ⚠ mine2hpc:k3sToken: ${secretEffect({ key: "mine2hpc:k3sToken", change: "changed" })}`,
    ]);
    expect(md).not.toContain("No changes");
  });
});
