/**
 * Fleet lifecycle inputs of a site (issue: fleet-safe host lifecycle; power runtime):
 * machine state, generation, pinned SSH host keys, miner APIs, rollout, start deadline and
 * the air-gap mirror — as the schema, the validator and the plan see them.
 */
import { describe, expect, it } from "vitest";
import { loadAndValidate, type Problem } from "../src/site/index.js";
import { agentBatchSize, planFarm, resolveMinerApi, unpinnedHostKeyWarning } from "../src/plan/plan.js";
import { parseInventory } from "../src/site/inventory.js";
import { problemsOf, siteFixture } from "./helpers/site-problems.js";

const fixture = siteFixture;

describe("lifecycle inputs in the plan", () => {
  const plan = planFarm(loadAndValidate(fixture("lifecycle.yaml")).spec);

  it("keeps cordoned and offline machines as planned load, with their state and generation", () => {
    expect(plan.nodes.map((n) => [n.hostname, n.state, n.generation, n.sshHostKey !== undefined])).toEqual([
      ["cp-1", "active", 0, true],
      ["rig-001", "cordoned", 3, false],
      ["rig-002", "offline", 0, false],
    ]);
    // The offline rig's 8 GPUs are still planned: it can come back on.
    expect(plan.totals.gpus).toBe(16);
  });

  it("lists retired machines apart, out of pools and power", () => {
    expect(plan.retired).toEqual([{ hostname: "rig-003", ip: "10.20.0.13", sshUser: "ubuntu", k3sRole: "agent" }]);
    expect(plan.nodes.some((n) => n.hostname === "rig-003")).toBe(false);
    expect(plan.circuits.find((c) => c.id === "pdu-a1")!.machines).toEqual(["cp-1", "rig-001", "rig-002"]);
    expect(plan.totals.machines).toBe(9);
  });

  it("resolves each miner's API: URL, firmware, site default, feed webhook", () => {
    expect(plan.asics.map((a) => [a.hostname, a.minerApi])).toEqual([
      ["asic-01", { driver: "luxos", host: "10.20.1.1", port: 4028 }],
      ["asic-02", { driver: "whatsminer", host: "10.20.1.2", port: 4028 }],
      ["asic-03", { driver: "antminer", host: "10.20.1.3", port: 80 }],
      ["asic-04", { driver: "webhook", host: "", port: 0 }],
      ["asic-05", { driver: "braiins", host: "miner-05.site.local", port: 50052 }],
    ]);
    expect(plan.warnings.filter((w) => w.includes("not automated"))).toEqual([]);
  });

  it("resolves rollout, start deadline and mirror", () => {
    expect(plan.kubernetes.rollout).toEqual({ maxUnavailable: "2", agentBatch: 2 });
    expect(plan.kubernetes.startTimeoutSeconds).toBe(120);
    expect(plan.mirror).toEqual({
      artifacts: "https://mirror.site.local/k3s",
      registry: "mirror.site.local:5000",
      charts: "oci://mirror.site.local:5000/charts",
    });
  });

  it("names the machines without a pinned host key (offline ones are not reached)", () => {
    expect(unpinnedHostKeyWarning(plan)).toBe(
      "1 machine has no pinned SSH host key (rig-001): run 'mine2hpc hosts keyscan --write' and review the keys; 'mine2hpc validate --strict' makes this an error",
    );
  });

  it("sizes agent batches: a count as is, a percentage rounded down, at least 1", () => {
    expect([agentBatchSize("10%", 68), agentBatchSize("10%", 5), agentBatchSize("25%", 5000), agentBatchSize(7, 3), agentBatchSize("100%", 9)]).toEqual([
      6, 1, 1250, 7, 9,
    ]);
  });

  it("returns null for a miner nothing automates", () => {
    const m = { hostname: "a", ip: "10.0.0.9", rack: "r", circuit: "c", role: "asic" as const, asicModel: "s21" };
    expect(resolveMinerApi(m, undefined, false)).toBeNull();
    expect(resolveMinerApi({ ...m, firmware: "webhook" }, undefined, false)).toBeNull();
    expect(resolveMinerApi(m, undefined, true)).toEqual({ driver: "webhook", host: "", port: 0 });
  });
});

describe("bad lifecycle inputs", () => {
  const file = fixture("lifecycle-bad.yaml");
  const problems = problemsOf(() => loadAndValidate(file));
  const lines = (p: readonly Problem[]) => p.map((x) => [x.source?.line, x.message]);

  it("reports each with its line, all together, without echoing credentials", () => {
    expect(lines(problems)).toEqual([
      [19, "power.feeds[1] (ercot-flex): asicWebhookUrl contains credentials"],
      [29, "mirror.artifacts contains credentials"],
      [44, "rig-001 has the same sshHostKey as machines[0] (cp-1); an image cloned with its host keys lets one machine answer for the other"],
      [45, "rig-001 has role gpu but sets firmware; only ASIC miners are curtailed through a firmware API"],
      [52, "asic-01: minerApi contains credentials"],
      [59, "asic-02: minerApi scheme 'cgminer' is not a miner driver"],
      [66, "asic-03: minerApi 'whatsminer://10.20.1.3:4028/api' has a path, query or fragment"],
      [67, "asic-03 is an ASIC miner but sets sshHostKey; mine2hpc never opens SSH to miners"],
    ]);
    const text = JSON.stringify(problems);
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("s3cret");
    expect(text).not.toContain("root:pw");
  });

  it("--strict adds an error for each machine pulumi up would reach without a pinned key", () => {
    const strict = problemsOf(() => loadAndValidate(file, { strict: true }));
    expect(lines(strict).filter(([, m]) => String(m).includes("no pinned SSH host key"))).toEqual([
      [68, "rig-002 has no pinned SSH host key (--strict): pulumi up would trust whatever answers at 10.20.0.12"],
    ]);
    expect(strict).toHaveLength(problems.length + 1);
  });

  it("rejects malformed state, generation, host key, rollout, deadline and registry at the schema", () => {
    const p = problemsOf(() => loadAndValidate(fixture("lifecycle-schema-bad.yaml")));
    expect(p.map((x) => [x.source?.line, x.path?.join(".")])).toEqual([
      [24, "kubernetes.rollout.maxUnavailable"],
      [25, "kubernetes.startTimeoutSeconds"],
      [27, "mirror.registry"],
      [34, "machines.0.state"],
      [35, "machines.0.generation"],
      [36, "machines.0.sshHostKey"],
    ]);
  });

  it("refuses to retire the cluster-init server while other servers stay", () => {
    const spec = loadAndValidate(fixture("lifecycle.yaml")).spec;
    const machines = [
      { ...spec.machines[0]!, state: "retired" as const },
      { ...spec.machines[0]!, hostname: "cp-2", ip: "10.20.0.3", sshHostKey: undefined },
      { ...spec.machines[0]!, hostname: "cp-3", ip: "10.20.0.4", sshHostKey: undefined },
      { ...spec.machines[0]!, hostname: "cp-4", ip: "10.20.0.5", sshHostKey: undefined },
    ];
    return import("../src/site/validate.js").then(({ validateSite }) => {
      expect(validateSite({ ...spec, machines }).map((x) => x.message)).toEqual([
        "control-plane cp-1 is the cluster-init server (first by hostname) and is retired; the other servers joined through it",
      ]);
    });
  });
});

describe("inventory columns", () => {
  it("reads state, generation, sshHostKey, minerApi and firmware", () => {
    const inv = parseInventory(
      "hostname,ip,rack,circuit,role,asicModel,state,generation,sshHostKey,minerApi,firmware\n" +
        "rig-1,10.0.0.5,r1,c1,cpu,,cordoned,2,ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl,,\n" +
        "a-1,10.0.1.5,r2,c1,asic,s21,offline,,,antminer://10.0.1.5,antminer\n",
      "inv.csv",
    );
    expect(inv.problems).toEqual([]);
    expect(inv.machines).toEqual([
      {
        hostname: "rig-1", ip: "10.0.0.5", rack: "r1", circuit: "c1", role: "cpu", state: "cordoned", generation: 2,
        sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
      },
      { hostname: "a-1", ip: "10.0.1.5", rack: "r2", circuit: "c1", role: "asic", asicModel: "s21", state: "offline", minerApi: "antminer://10.0.1.5", firmware: "antminer" },
    ]);
  });
});
