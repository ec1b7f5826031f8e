/**
 * Partitioned stacks under mocks: the demo site split into two partitions (tests/helpers/
 * partitioned-repo.ts). Each stack's offline preview (the real program in a child process, with
 * the StackReference answered by the mocks) is compared with the one-stack layout of the same
 * site; then one partition stack in this process, for what a preview masks (retainOnDelete, the
 * agents' secret STDIN, the StackReference's secret outputs).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { previewOffline, type PreviewResource, type PreviewResult } from "../src/preview/offline.js";
import { loadAndValidate } from "../src/site/load.js";
import { planFarm, stackHosts } from "../src/plan/index.js";
import type { FarmPlan } from "../src/plan/types.js";
import { DEMO_PARTITIONS, partitionedDemo } from "./helpers/partitioned-repo.js";

const TIMEOUT_MS = 120_000;
let dir: string;
let plan: FarmPlan;
let previews: Record<string, PreviewResult>;

beforeAll(async () => {
  dir = partitionedDemo();
  plan = planFarm(loadAndValidate(join(dir, "stacks/demo/site.yaml")).spec);
  // The same site as one stack: the partitions block left out, nothing else changed.
  writeFileSync(join(dir, "stacks", "Pulumi.whole.yaml"), "config:\n  mine2hpc:site: stacks/whole/site.yaml\n");
  const { mkdirSync, readFileSync, copyFileSync } = await import("node:fs");
  mkdirSync(join(dir, "stacks", "whole"));
  writeFileSync(join(dir, "stacks/whole/site.yaml"), readFileSync(join(dir, "stacks/demo/site.yaml"), "utf8").replace(/\npartitions:\n[\s\S]*$/, "\n"));
  copyFileSync(join(dir, "stacks/demo/inventory.csv"), join(dir, "stacks/whole/inventory.csv"));
  const stacks = ["demo", ...DEMO_PARTITIONS.map((p) => `demo-${p}`), "whole"];
  const results = await Promise.all(stacks.map((stack) => previewOffline({ repoRoot: dir, stack })));
  previews = Object.fromEntries(stacks.map((s, i) => [s, results[i]!]));
}, TIMEOUT_MS);

/** The demo site's circuits by the partition whose machines they feed (stacks/demo/site.yaml, planned caps). */
const CIRCUITS: Record<string, unknown[]> = {
  "grid-firm": [
    { id: "rig-a", loadWatts: 5760, usableWatts: 5760, loadPercent: 100 },
    { id: "rig-b", loadWatts: 5760, usableWatts: 5760, loadPercent: 100 },
  ],
  "ercot-flex": [{ id: "gpu-pdu-01", loadWatts: 10383, usableWatts: 11501, loadPercent: 90.3 }],
};

const key = (r: PreviewResource) => `${r.parent ?? ""}>${r.type}::${r.name}`;
/** Each stack's publication of its agents' bootstrap files (its own content, under the same names in every stack). */
const isPublication = (r: PreviewResource) => r.name === "demo-publish" || r.name === "demo-publish-copy";
/** What two layouts must agree on: everything but the stack reference and the publication. */
const machineAndClusterResources = (rs: readonly PreviewResource[]) => rs.filter((r) => r.type !== "pulumi:pulumi:StackReference" && !isPublication(r));

describe("partitioned stacks of the demo site", () => {
  it("plans every agent into its partition and leaves the servers to the cluster stack", () => {
    expect(plan.partitions).toEqual({ by: "circuit", names: ["ercot-flex", "grid-firm"] });
    expect([...stackHosts(plan, "grid-firm")].sort()).toEqual(["rig-s01-1", "rig-s01-2", "rig-s01-3", "rig-s02-1", "rig-s02-2", "rig-s02-3"]);
    expect([...stackHosts(plan, "ercot-flex")].sort()).toEqual(["gpu-r01-1", "gpu-r01-2", "gpu-r01-3", "gpu-r01-4"]);
    expect([...stackHosts(plan, null)]).toEqual(["cp-1"]);
    expect(plan.nodes.filter((n) => n.k3sRole === "server").map((n) => n.partition)).toEqual([undefined]);
  });

  it.each(DEMO_PARTITIONS)("the stack of partition %s registers exactly its machines and nothing cluster-wide", (partition) => {
    const hosts = [...stackHosts(plan, partition)].sort();
    const p = previews[`demo-${partition}`]!;
    const expected = [
      ...hosts.map((h) => `command:remote:Command::demo-${h}`),
      // Its agents' bootstrap files, published on the first server by this stack.
      "command:remote:CopyToRemote::demo-publish-copy",
      "command:remote:Command::demo-publish",
      "pulumi:pulumi:StackReference::demo-cluster",
      "mine2hpc:index:FarmCluster::demo",
      "mine2hpc:index:HostBootstrap::demo",
      "mine2hpc:index:PowerPools::demo",
    ].sort();
    expect(p.resources.map((r) => `${r.type}::${r.name}`).sort()).toEqual(expected);
    // Nothing of the cluster: no release, no Kueue object, no agent, no token, no kubeconfig read,
    // no Kubernetes provider (labels are set by each node's bootstrap with its kubelet credentials).
    expect(Object.keys(p.counts).filter((t) => /helm|kueue|batch|apps|random:index\/randomPassword/.test(t))).toEqual([]);
    expect(p.outputs.partition).toEqual({ name: partition, machines: hosts });
    expect(p.outputs).not.toHaveProperty("kubeconfig");
    // The loads of its own machines' circuits only, not the whole site's.
    expect(Object.keys(p.outputs).sort()).toEqual(["apiEndpoint", "circuitLoads", "partition", "pools"]);
    expect(p.outputs.circuitLoads).toEqual(CIRCUITS[partition]);
    // The agents join on the reference's outputs, not on a server's bootstrap in this stack.
    const bootstrap = p.resources.find((r) => r.name === `demo-${hosts[0]}` && r.type === "command:remote:Command")!;
    expect(bootstrap.dependsOn).toEqual(["command:remote:Command::demo-publish", "pulumi:pulumi:StackReference::demo-cluster"]);
  });

  it("the cluster stack registers no partition's machine, and exports the join secrets", () => {
    const c = previews.demo!;
    const agents = plan.nodes.filter((n) => n.k3sRole === "agent").map((n) => n.hostname);
    for (const r of c.resources) for (const h of agents) expect(r.name.endsWith(`-${h}`) || r.name.endsWith(`-${h}-k3s-install`)).toBe(false);
    expect(c.counts["kubernetes:core/v1:NodePatch"]).toBeUndefined(); // labels are set by each node's bootstrap
    expect(c.counts["random:index/randomShuffle:RandomShuffle"]).toBe(1);
    // With no agent of its own it still publishes the k3s version new machines install.
    expect(c.resources.filter(isPublication).map((r) => r.name).sort()).toEqual(["demo-publish", "demo-publish-copy"]);
    expect(c.counts["pulumi:pulumi:StackReference"]).toBeUndefined();
    expect(c.outputs.clusterJoin).toBe("[secret]");
    expect(c.outputs.kubeconfig).toBe("[secret]");
    // Every partition's StackReference stores all of these: the circuits of the cluster stack's own machines, not the site's.
    expect(Object.keys(c.outputs).sort()).toEqual(["apiEndpoint", "circuitLoads", "clusterJoin", "kubeconfig", "pools"]);
    expect(c.outputs.circuitLoads).toEqual([{ id: "pdu-ctl", loadWatts: 272, usableWatts: 3840, loadPercent: 7.1 }]);
    // The one-stack layout exports every circuit, the ASIC ones too.
    expect((previews.whole!.outputs.circuitLoads as { id: string }[]).map((x) => x.id)).toEqual(["pdu-ctl", "rig-a", "rig-b", "gpu-pdu-01", "asic-pdu-01", "asic-pdu-02"]);
  });

  it("cluster + partitions register what the one-stack layout does, with the same names, parents and inputs", () => {
    const split = [previews.demo!, ...DEMO_PARTITIONS.map((p) => previews[`demo-${p}`]!)].flatMap((p) => machineAndClusterResources(p.resources));
    const whole = machineAndClusterResources(previews.whole!.resources).filter((r) => !r.type.startsWith("mine2hpc:index:"));
    const splitNoComponents = split.filter((r) => !r.type.startsWith("mine2hpc:index:"));
    expect(splitNoComponents.map(key).sort()).toEqual(whole.map(key).sort());
    // Same key inputs resource by resource (so `pulumi state move` between layouts shows no diff),
    // dependencies aside: a partition's agents wait on the stack reference instead of the first server.
    const byKey = new Map(whole.map((r) => [key(r), r]));
    for (const r of splitNoComponents) expect({ key: key(r), inputs: r.inputs }).toEqual({ key: key(r), inputs: byKey.get(key(r))!.inputs });
  });
});

describe("one partition stack in this process", () => {
  it("joins agents with the referenced agent token, kept secret, and forgets (never uninstalls) a machine that leaves it", async () => {
    const { setupMocks, unwrap, isSecretWrapper, MOCK_CA_HASH, MOCK_KUBECONFIG } = await import("./mocks.js");
    const { secureJoinToken } = await import("../src/render/index.js");
    const AGENT = "REFERENCEDAGENTTOKEN0123";
    const rec = await setupMocks({
      stack: "demo-grid-firm",
      config: { "mine2hpc:site": "stacks/demo/site.yaml", "mine2hpc:sshPrivateKey": "KEYPLAINTEXT", "mine2hpc:partition": "grid-firm", "mine2hpc:clusterStack": "demo" },
      secretKeys: ["mine2hpc:sshPrivateKey"],
      stackReferences: {
        "organization/mine2hpc/demo": {
          outputs: { kubeconfig: MOCK_KUBECONFIG, clusterJoin: { site: "demo", apiEndpoint: plan.kubernetes.apiEndpoint, caHash: MOCK_CA_HASH, agentToken: AGENT } },
          secretOutputNames: ["kubeconfig", "clusterJoin"],
        },
      },
    });
    const { run } = await import("../src/program.js");
    const outputs = run(new pulumi.Config("mine2hpc"), { projectRoot: dir });
    await rec.settle();
    const hosts = [...stackHosts(plan, "grid-firm")].sort();
    const bootstraps = rec.ofType("command:remote:Command").filter((r) => r.name !== "demo-publish");
    expect(bootstraps.map((r) => r.name).sort()).toEqual(hosts.map((h) => `demo-${h}`));
    for (const b of bootstraps) {
      // Removal from this stack must never run the uninstall: the machine may be another partition's now.
      expect(b.retainOnDelete).toBe(true);
      expect(b.protect).toBe(false);
      expect(isSecretWrapper(b.inputs.stdin)).toBe(true);
      expect(unwrap(b.inputs.stdin)).toBe(`${secureJoinToken(MOCK_CA_HASH, "agent", AGENT)}\n`);
    }
    // No Kubernetes provider: the cluster-admin kubeconfig is neither read from the reference nor kept in this stack's state.
    expect(rec.ofType("pulumi:providers:kubernetes")).toEqual([]);
    expect(rec.registrations.filter((r) => r.type.startsWith("kubernetes:") || r.type === "mine2hpc:index:ClusterAccess")).toEqual([]);
    expect(rec.ofType("pulumi:pulumi:StackReference").map((r) => [r.name, r.inputs.name])).toEqual([["demo-cluster", "organization/mine2hpc/demo"]]);
    expect(JSON.stringify(rec.registrations.map((r) => Object.values(r.inputs).filter((v) => !isSecretWrapper(v))))).not.toContain(AGENT);
    expect(outputs.kubeconfig).toBeUndefined();
    expect(outputs.clusterJoin).toBeUndefined();
  }, TIMEOUT_MS);
});

/** The exact problem of a partitioned site's cluster stack that does not say `mine2hpc:partitioned: "true"`. */
function unsplitProblem(stack: string, file: string, line: number, set = "does not set mine2hpc:partitioned") {
  return {
    message:
      `stack ${stack} is the cluster stack of partitioned site demo (partitions ercot-flex, grid-firm) but ${set}: ` +
      "if it ran the site before it was partitioned, its state still holds the bootstraps of the machines that now belong to partitions, " +
      "and running it would uninstall k3s from every one of them",
    fix:
      "if this stack ran the site before, first move each partition's machines into that partition's stack, once per partition: " +
      `'pulumi state move --source ${stack} --dest <partition stack> <URNs>' (URNs from 'pulumi stack --stack ${stack} --show-urns': ` +
      "every resource named demo-<host> or demo-<host>-… of the partition's machines; they are the same in both layouts); a brand-new site has nothing to move. " +
      `Then run 'pulumi config set mine2hpc:partitioned true --stack ${stack}'`,
    source: { file, line },
  };
}

describe("a partitioned site's cluster stack without mine2hpc:partitioned", () => {
  it("registers nothing and throws the SiteError saying how to move the partitions' machines out first", async () => {
    const { setupMocks } = await import("./mocks.js");
    const { SiteError } = await import("../src/site/problems.js");
    const rec = await setupMocks({ stack: "old-whole", config: { "mine2hpc:site": "stacks/demo/site.yaml", "mine2hpc:sshPrivateKey": "K" }, secretKeys: ["mine2hpc:sshPrivateKey"] });
    const { run } = await import("../src/program.js");
    let err: unknown;
    try {
      run(new pulumi.Config("mine2hpc"), { projectRoot: dir });
    } catch (e) {
      err = e;
    }
    await rec.settle();
    expect(err).toBeInstanceOf(SiteError);
    expect((err as InstanceType<typeof SiteError>).problems).toEqual([unsplitProblem("old-whole", join(dir, "stacks", "Pulumi.old-whole.yaml"), 1)]);
    expect(rec.registrations).toEqual([]);
  }, TIMEOUT_MS);
});

describe("mine2hpc validate --stack of a partitioned site's cluster stack", () => {
  it("refuses it without mine2hpc:partitioned: \"true\", at the stack file's line, and passes it with", async () => {
    const { runCli } = await import("./helpers/cli.js");
    const file = join(dir, "stacks", "Pulumi.old-whole.yaml");
    writeFileSync(file, "config:\n  mine2hpc:site: stacks/demo/site.yaml\n");
    const missing = await runCli(["validate", "--stack", "old-whole", "--json"], { cwd: dir });
    writeFileSync(file, "# the old whole-site stack\nconfig:\n  mine2hpc:site: stacks/demo/site.yaml\n  mine2hpc:partitioned: \"false\"\n");
    const wrong = await runCli(["validate", "--stack", "old-whole", "--json"], { cwd: dir });
    writeFileSync(file, "config:\n  mine2hpc:site: stacks/demo/site.yaml\n  mine2hpc:partitioned: \"true\"\n");
    const set = await runCli(["validate", "--stack", "old-whole"], { cwd: dir });
    const { formatProblem } = await import("../src/site/problems.js");
    const refusal = (line: number, value?: string) =>
      `error: the site has 1 problem; nothing was planned or applied.\n${formatProblem(unsplitProblem("old-whole", "stacks/Pulumi.old-whole.yaml", line, value))}\n`;
    expect([missing.exitCode, missing.stdout, missing.stderr]).toEqual([2, "", refusal(1)]);
    expect([wrong.exitCode, wrong.stdout, wrong.stderr]).toEqual([2, "", refusal(4, 'does not set mine2hpc:partitioned to "true"')]);
    expect([set.exitCode, set.stderr]).toEqual([0, ""]);
  }, TIMEOUT_MS);
});
