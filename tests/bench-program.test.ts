/**
 * The program benchmark's measurement (bench/program.ts) on a 20-GPU-node site: the resource
 * counts it reports, exactly (times are not asserted). Runs in this test file's own process,
 * which is the fresh Pulumi runtime the measurement needs.
 */
import { describe, expect, it } from "vitest";
import { countProgram, measureProgram, programSite } from "../bench/program.js";
import { planFarm } from "../src/plan/index.js";

describe("program bench on 20 GPU nodes", () => {
  it("builds a site with exactly the asked GPU nodes", () => {
    const site = programSite(20);
    expect(site.machines.filter((m) => m.role === "gpu")).toHaveLength(20);
    expect(site.machines.filter((m) => m.role === "control-plane")).toHaveLength(3);
    expect(() => programSite(0)).toThrow(/positive integer/);
  });

  it("reports the exact resource counts: two per machine plus a constant", async () => {
    const m = await measureProgram(20);
    const { wallMs, ...counts } = m;
    expect(wallMs).toBeGreaterThan(0);
    expect(counts).toEqual({
      gpuNodes: 20,
      machines: 23,
      pools: 2,
      resources: 71,
      byType: {
        "command:remote:Command": 24,
        "kubernetes:apps/v1:DaemonSet": 1,
        "kubernetes:core/v1:ConfigMap": 2,
        "kubernetes:core/v1:Namespace": 3,
        "kubernetes:core/v1:NodePatch": 23,
        "kubernetes:core/v1:ServiceAccount": 1,
        "kubernetes:helm.sh/v3:Release": 2,
        "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue": 1,
        "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue": 1,
        "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor": 2,
        "kubernetes:kueue.x-k8s.io/v1beta2:WorkloadPriorityClass": 3,
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": 1,
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": 1,
        "mine2hpc:index:ClusterAccess": 1,
        "mine2hpc:index:FarmCluster": 1,
        "mine2hpc:index:HostBootstrap": 1,
        "mine2hpc:index:KubePlatform": 1,
        "mine2hpc:index:PowerPools": 1,
        "pulumi:providers:kubernetes": 1,
      },
      // One bootstrap command and one NodePatch per Kubernetes machine: 2 per machine, over the target of 1.
      perMachine: { bootstraps: 23, nodePatches: 23, total: 46 },
      resourcesPerMachine: 2,
      constant: 25,
      constantPerPool: 12.5,
    });
  });

  it("splits counts without double-counting the kubeconfig read", () => {
    const plan = planFarm(programSite(20));
    const c = countProgram(plan, { "command:remote:Command": 24, "kubernetes:core/v1:NodePatch": 23, "mine2hpc:index:FarmCluster": 1 }, 1);
    expect([c.resources, c.perMachine.total, c.constant, c.resourcesPerMachine]).toEqual([48, 46, 2, 2]);
  });
});
