/**
 * `mine2hpc diff` on fleet-lifecycle changes of the demo stack, from real offline previews:
 * a k3s version change is one line and re-runs no bootstrap; machine states, re-addressing and
 * a generation bump each show as what they do.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { previewOffline, type PreviewResult } from "../src/preview/offline.js";
import { loadAndValidate } from "../src/site/load.js";
import { planFarm } from "../src/plan/index.js";
import type { FarmPlan } from "../src/plan/types.js";
import { diffSite, type SiteDiff } from "../src/diff/compare.js";
import { diffText } from "../src/diff/format.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const TIMEOUT_MS = 60_000;

/** The demo site and inventory copied to a temporary folder, edited; returns the site file. */
function editedDemo(editSite: (s: string) => string, editInventory: (lines: string[]) => string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "mine2hpc-diff-lifecycle-"));
  writeFileSync(join(dir, "site.yaml"), editSite(readFileSync(join(repoRoot, "stacks/demo/site.yaml"), "utf8")));
  const inventory = readFileSync(join(repoRoot, "stacks/demo/inventory.csv"), "utf8").trimEnd().split("\n");
  writeFileSync(join(dir, "inventory.csv"), editInventory(inventory).join("\n") + "\n");
  return join(dir, "site.yaml");
}

/** A side of the diff; `recorded`: the base's records, as `mine2hpc diff` passes them on. */
async function side(siteFile: string, recorded?: Record<string, string[]>): Promise<{ plan: FarmPlan; preview: PreviewResult }> {
  return { plan: planFarm(loadAndValidate(siteFile).spec), preview: await previewOffline({ repoRoot, stack: "demo", siteFile, ...(recorded ? { recorded } : {}) }) };
}

/** Adds `state` and `generation` columns, with values for the given hostnames. */
function withColumns(values: Record<string, { state?: string; generation?: number; ip?: string }>) {
  return (lines: string[]): string[] => {
    const header = lines[0]!.split(",");
    const ipAt = header.indexOf("ip");
    return lines.map((line, i) => {
      if (i === 0) return `${line},state,generation`;
      const cells = line.split(",");
      const v = values[cells[0]!] ?? {};
      if (v.ip !== undefined) cells[ipAt] = v.ip;
      return `${cells.join(",")},${v.state ?? ""},${v.generation ?? ""}`;
    });
  };
}

let base: { plan: FarmPlan; preview: PreviewResult };
let upgraded: SiteDiff;
let lifecycle: SiteDiff;

beforeAll(async () => {
  base = await side(join(repoRoot, "stacks/demo/site.yaml"));
  const v2 = await side(
    editedDemo(
      (s) => s.replace("# kubernetes:\n#   version: v1.33.5+k3s1", "kubernetes:\n  version: v1.34.2+k3s1"),
      (l) => l,
    ),
    base.preview.records,
  );
  upgraded = diffSite({ ref: "base", commit: "0".repeat(40), ...base }, v2);
  const life = await side(
    editedDemo(
      (s) => s,
      withColumns({
        "rig-s01-1": { state: "cordoned" },
        "rig-s01-2": { state: "offline" },
        "rig-s02-3": { state: "retired" },
        "rig-s02-1": { ip: "192.168.50.99" },
        "gpu-r01-2": { generation: 1 },
      }),
    ),
    base.preview.records,
  );
  lifecycle = diffSite({ ref: "base", commit: "0".repeat(40), ...base }, life);
}, 4 * TIMEOUT_MS);

describe("a k3s version change", () => {
  it("keeps the installed version in every server's record (the base's state)", () => {
    expect(Object.keys(base.preview.records!)).toHaveLength(base.plan.nodes.filter((n) => n.k3sRole === "server").length);
    for (const v of Object.values(base.preview.records!)) expect(v).toEqual(["v1.33.5+k3s1"]);
  });

  it("is one line and re-runs no bootstrap: only the two upgrade Plans and the published version for new machines change", () => {
    const agents = base.plan.nodes.filter((n) => n.k3sRole === "agent").length;
    expect(upgraded.plan.version).toEqual({
      before: "v1.33.5+k3s1",
      after: "v1.34.2+k3s1",
      hosts: base.plan.nodes.length,
      agentBatch: base.plan.kubernetes.rollout.agentBatch,
      line: `k3s v1.33.5+k3s1 → v1.34.2+k3s1 on ${base.plan.nodes.length} hosts, servers one by one, agents ${base.plan.kubernetes.rollout.agentBatch} at a time`,
    });
    expect(agents).toBeGreaterThan(0);
    expect(upgraded.rebootstraps).toEqual([]);
    expect(upgraded.resources.changed.map((r) => [r.type, r.name])).toEqual([
      // The k3s version file an agent without k3s reads from the first server (render/agent-files.ts).
      ["command:remote:Command", "demo-publish"],
      ["command:remote:CopyToRemote", "demo-publish-copy"],
      ["kubernetes:upgrade.cattle.io/v1:Plan", "demo-plan-system-upgrade-k3s-agent"],
      ["kubernetes:upgrade.cattle.io/v1:Plan", "demo-plan-system-upgrade-k3s-server"],
    ]);
    for (const r of upgraded.resources.changed.filter((x) => x.type === "kubernetes:upgrade.cattle.io/v1:Plan")) {
      expect(r.inputs).toEqual([{ key: "spec.version", before: "v1.33.5+k3s1", after: "v1.34.2+k3s1" }]);
    }
    expect(diffText(upgraded)).toContain(`Lifecycle:\n  ${upgraded.plan.version!.line} (system-upgrade-controller; no host bootstrap runs)\n`);
  });
});

describe("states, re-addressing and generations", () => {
  it("lists every state change with what it does", () => {
    expect(lifecycle.plan.states).toEqual([
      { hostname: "rig-s01-1", before: "active", after: "cordoned" },
      { hostname: "rig-s01-2", before: "active", after: "offline" },
      { hostname: "rig-s02-3", before: "active", after: "retired" },
    ]);
    const text = diffText(lifecycle);
    expect(text).toContain("rig-s01-1: active → cordoned: cordoned and drained from the first server; stays installed");
    expect(text).toContain("rig-s01-2: active → offline: nothing reaches it (no SSH); its last state is kept and its power stays planned");
    expect(text).toContain("rig-s02-3: active → retired: drained and removed from the cluster from the first server");
  });

  it("shows a re-addressed machine with its addresses (not secret) and re-bootstraps it in place", () => {
    expect(lifecycle.plan.readdressed).toEqual([{ hostname: "rig-s02-1", before: "192.168.50.24", after: "192.168.50.99" }]);
    expect(diffText(lifecycle)).toContain("rig-s02-1: re-addressed: 192.168.50.24 → 192.168.50.99");
    const change = lifecycle.resources.changed.find((r) => r.name === "demo-rig-s02-1")!;
    expect(change.inputs.find((c) => c.key === "connection.host")).toEqual({ key: "connection.host", before: "192.168.50.24", after: "192.168.50.99" });
    expect(lifecycle.rebootstraps.find((r) => r.hostname === "rig-s02-1")!.reason).toBe("readdressed");
  });

  it("re-bootstraps a bumped generation; an offline or retired machine's placeholder runs nothing", () => {
    expect(lifecycle.rebootstraps.find((r) => r.hostname === "gpu-r01-2")!.reason).toBe("changed");
    const hosts = lifecycle.rebootstraps.map((r) => r.hostname);
    expect(hosts).not.toContain("rig-s01-2");
    expect(hosts).not.toContain("rig-s02-3");
    // The retired machine is removed from the server side, then uninstalled.
    expect(lifecycle.resources.added.map((r) => r.name)).toEqual(expect.arrayContaining(["demo-remove-rig-s02-3", "demo-uninstall-rig-s02-3", "demo-drain-rig-s01-1"]));
    // Nothing is removed from state: offline and retired machines keep their resources (placeholders).
    expect(lifecycle.resources.removed.filter((r) => r.type === "command:remote:Command")).toEqual([]);
  });
});
