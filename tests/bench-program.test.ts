/**
 * The program benchmark's measurement (bench/program.ts) on a 20-GPU-node site: the resource
 * counts it reports, exactly (times are not asserted). Runs in this test file's own process,
 * which is the fresh Pulumi runtime the measurement needs.
 */
import { describe, expect, it } from "vitest";
import { countProgram, installDepth, measureProgram, programSite } from "../bench/program.js";
import { planFarm } from "../src/plan/index.js";

describe("program bench on 20 GPU nodes", () => {
  it("builds a site with exactly the asked GPU nodes", () => {
    const site = programSite(20);
    expect(site.machines.filter((m) => m.role === "gpu")).toHaveLength(20);
    expect(site.machines.filter((m) => m.role === "control-plane")).toHaveLength(3);
    expect(() => programSite(0)).toThrow(/positive integer/);
  });

  it("reports the exact resource counts (one per machine, a record per server, a constant) and the sequential steps", async () => {
    const m = await measureProgram(20);
    const { wallMs, ...counts } = m;
    expect(wallMs).toBeGreaterThan(0);
    expect(counts).toEqual({
      gpuNodes: 20,
      machines: 23,
      pools: 2,
      resources: 67,
      byType: {
        "command:remote:Command": 27, // 23 bootstraps, kubeconfig and CA reads, Kueue webhook check, agents' files put in place
        "command:remote:CopyToRemote": 1, // the agents' files, copied to the first server
        "kubernetes:apps/v1:DaemonSet": 1,
        "kubernetes:apps/v1:Deployment": 1,
        "kubernetes:core/v1:ConfigMap": 3,
        "kubernetes:core/v1:Namespace": 4,
        "kubernetes:core/v1:ServiceAccount": 2,
        "kubernetes:helm.sh/v3:Release": 2,
        "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue": 1,
        "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue": 1,
        "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor": 2,
        "kubernetes:kueue.x-k8s.io/v1beta2:WorkloadPriorityClass": 3,
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": 3,
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": 3,
        "kubernetes:rbac.authorization.k8s.io/v1:Role": 1,
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 1,
        "kubernetes:upgrade.cattle.io/v1:Plan": 2,
        "mine2hpc:index:ClusterAccess": 1,
        "mine2hpc:index:FarmCluster": 1,
        "mine2hpc:index:HostBootstrap": 1,
        "mine2hpc:index:KubePlatform": 1,
        "mine2hpc:index:PowerPools": 1,
        "pulumi:providers:kubernetes": 1,
        "random:index/randomShuffle:RandomShuffle": 3, // the servers' install-version records
      },
      // A bootstrap command per Kubernetes machine (which also sets the node's labels), and an
      // install-version record per server (agents read the version from the first server).
      perMachine: { bootstraps: 23, installRecords: 3, nodePatches: 0, total: 26 },
      resourcesPerMachine: 1.13,
      constant: 41,
      constantPerPool: 20.5,
      // First install: cp-1 → agents' files copied → put in place → CA read → cp-2 → cp-3 → Kueue release → webhook check → Kueue objects.
      // Upgrade: the two Plans change (one Pulumi step), then 3 servers one by one and ⌈20/2⌉ agent batches.
      depth: { agents: 20, servers: 3, installSteps: 9, upgradePulumiSteps: 1, agentBatch: 2, upgradeRounds: 13 },
    });
  });

  it("splits counts: bootstraps, install records and NodePatches per machine, the rest constant", () => {
    const plan = planFarm(programSite(20));
    const c = countProgram(
      plan,
      { "command:remote:Command": 26, "kubernetes:core/v1:NodePatch": 23, "random:index/randomShuffle:RandomShuffle": 23, "mine2hpc:index:FarmCluster": 1 },
      23,
    );
    expect([c.resources, c.perMachine.total, c.constant, c.resourcesPerMachine]).toEqual([73, 69, 4, 3]);
  });

  it("measures the install depth over a graph, and refuses a cycle", () => {
    const r = (urn: string, type: string, dependencies: string[]) => ({ urn, type, dependencies, parent: "" });
    expect(
      installDepth([r("a", "command:remote:Command", []), r("rec", "random:index/randomShuffle:RandomShuffle", []), r("b", "command:remote:Command", ["a", "rec"]), r("c", "kubernetes:core/v1:NodePatch", ["b"])]),
    ).toBe(3);
    expect(() => installDepth([r("a", "command:remote:Command", ["b"]), r("b", "command:remote:Command", ["a"])])).toThrow(/cycle/);
  });
});
