/**
 * Partitioned stacks in the site model: the rule (a machine's own field, else feed, circuit or
 * rack through optional groups), every problem with its file:line and fix, and the stack
 * config of a partition stack (`mine2hpc:partition`, `mine2hpc:clusterStack`).
 */
import { describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAndValidate, loadStack, resolvePartitions, type Problem, type SiteSpec } from "../src/site/index.js";
import { planFarm } from "../src/plan/index.js";
import { loadAndPlan } from "../src/cli/site-args.js";
import { problemsOf, siteFixture } from "./helpers/site-problems.js";
import { DEMO_PARTITIONS_BLOCK, partitionedDemo } from "./helpers/partitioned-repo.js";

const demo = (): SiteSpec => loadAndValidate("stacks/demo/site.yaml").spec;

describe("partition rule", () => {
  it("by feed: each feed is a partition; servers and ASIC miners belong to none", () => {
    const spec = { ...demo(), partitions: { by: "feed" as const } };
    const problems: Problem[] = [];
    const a = resolvePartitions(spec, problems)!;
    expect(problems).toEqual([]);
    expect(a.names).toEqual(["ercot-flex", "grid-firm"]);
    expect(a.byHost.get("rig-s01-1")).toBe("grid-firm");
    expect(a.byHost.get("gpu-r01-4")).toBe("ercot-flex");
    expect(a.byHost.has("cp-1")).toBe(false);
    expect(a.byHost.has("asic-c01-01")).toBe(false);
    expect(a.byHost.size).toBe(10);
  });

  it("a machine's own partition wins over the rule; without any, the site is one stack", () => {
    const base = demo();
    expect(resolvePartitions(base)).toBeNull();
    expect(planFarm(base).partitions).toBeUndefined();
    const machines = base.machines.map((m) => (m.hostname === "gpu-r01-1" ? { ...m, partition: "hall-b" } : m));
    const plan = planFarm({ ...base, machines, partitions: { by: "feed" } });
    expect(plan.partitions).toEqual({ by: "feed", names: ["ercot-flex", "grid-firm", "hall-b"] });
    expect(plan.nodes.find((n) => n.hostname === "gpu-r01-1")!.partition).toBe("hall-b");
    expect(plan.nodes.find((n) => n.hostname === "gpu-r01-2")!.partition).toBe("ercot-flex");
  });

  it("racks that are not DNS labels need groups", () => {
    const spec = demo();
    const machines = spec.machines.map((m) => (m.hostname === "rig-s01-1" ? { ...m, rack: "Shelf 1" } : m));
    const problems: Problem[] = [];
    resolvePartitions({ ...spec, machines, partitions: { by: "rack" } }, problems);
    expect(problems).toEqual([
      {
        message: "rig-s01-1's rack 'Shelf 1' cannot name a partition (partition names are DNS labels: they become stack names)",
        fix: "map it with partitions.groups (e.g. {hall-a: ['Shelf 1']}), or set partition on rig-s01-1",
        path: ["machines", machines.findIndex((m) => m.hostname === "rig-s01-1"), "rack"],
      },
    ]);
  });

  it("reports every partition problem together, each at its line with a fix", () => {
    const file = siteFixture("partitions-bad.yaml");
    const problems = problemsOf(() => loadAndValidate(file));
    expect(problems.map((p) => [p.source?.file, p.source?.line, p.message, p.fix])).toEqual([
      [file, 21, "partitions.groups.hall-a lists unknown circuit 'pdu-zz'", "list ids under power.circuits, or remove 'pdu-zz'"],
      [file, 22, "circuit 'pdu-a1' is in partitions hall-a and hall-b", "list 'pdu-a1' under one partition only"],
      [
        file,
        24,
        "cp-1 is a control-plane machine (servers stay in the cluster stack) but sets partition",
        "remove partition from this machine: only gpu and cpu machines belong to partitions",
      ],
      [file, 26, "rig-002 is on circuit 'pdu-a2', which no partition under partitions.groups lists", "add 'pdu-a2' to one partition under partitions.groups, or set partition on rig-002"],
      [file, 27, "rig-003: partition name 'cluster' is the cluster stack's own", "name the partition after its hall, row or feed (e.g. hall-a)"],
    ]);
  });
});

describe("partition stack config", () => {
  it("reads mine2hpc:partition and mine2hpc:clusterStack, and checks the partition against the site", () => {
    const dir = partitionedDemo();
    expect(loadStack("demo-grid-firm", dir)).toMatchObject({ partition: { name: "grid-firm", line: 3 }, clusterStack: "demo" });
    expect(loadStack("demo", dir).partition).toBeUndefined();
    writeFileSync(join(dir, "stacks", "Pulumi.demo-hall-z.yaml"), "config:\n  mine2hpc:site: stacks/demo/site.yaml\n  mine2hpc:partition: hall-z\n  mine2hpc:clusterStack: demo\n");
    const problems = problemsOf(() => loadAndPlan({ siteFile: join(dir, "stacks/demo/site.yaml"), repoRoot: dir, stack: "demo-hall-z", partition: { name: "hall-z", file: join(dir, "stacks/Pulumi.demo-hall-z.yaml"), line: 3 } }, dir));
    expect(problems).toEqual([
      {
        message: "stack demo-hall-z holds partition 'hall-z', which site demo does not have (it has ercot-flex, grid-firm)",
        fix: "set mine2hpc:partition to one of ercot-flex, grid-firm",
        source: { file: join("stacks", "Pulumi.demo-hall-z.yaml"), line: 3 },
      },
    ]);
    expect(DEMO_PARTITIONS_BLOCK).toContain("by: circuit");
  });

  it("refuses a partition stack without its cluster stack, and a cluster stack key without a partition", () => {
    const dir = mkdtempSync(join(tmpdir(), "mine2hpc-stackcfg-"));
    mkdirSync(join(dir, "stacks"));
    writeFileSync(join(dir, "stacks", "Pulumi.a.yaml"), "config:\n  mine2hpc:site: site.yaml\n  mine2hpc:partition: Hall_A\n");
    writeFileSync(join(dir, "stacks", "Pulumi.b.yaml"), "config:\n  mine2hpc:site: site.yaml\n  mine2hpc:clusterStack: x/y\n");
    const file = (s: string) => join(dir, "stacks", `Pulumi.${s}.yaml`);
    expect(problemsOf(() => loadStack("a", dir)).map((p) => [p.source?.file, p.source?.line, p.message])).toEqual([
      [file("a"), 3, "mine2hpc:partition must name one of the site's partitions (a DNS label)"],
      [file("a"), 3, "partition stack a names no cluster stack (mine2hpc:clusterStack), or not as a stack name"],
    ]);
    expect(problemsOf(() => loadStack("b", dir)).map((p) => [p.source?.line, p.message])).toEqual([
      [3, "mine2hpc:clusterStack is set but mine2hpc:partition is not: only a partition stack reads a cluster stack"],
    ]);
  });
});
