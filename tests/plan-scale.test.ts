/**
 * Warnings for one cluster past upstream Kubernetes' tested limits
 * (kubernetes.io/docs/setup/best-practices/cluster-large/): exact messages, on generated sites.
 */
import { describe, expect, it } from "vitest";
import { planFarm } from "../src/plan/index.js";
import { KUBERNETES_LIMITS, gpuNodeDaemonPods, scaleWarnings } from "../src/plan/stages/scale.js";
import { programSite } from "../bench/program.js";

const SPLIT =
  "split the machines into several sites, one cluster each (e.g. by hall or feed, each its own repository from mine2hpc new); partitioned stacks split the Pulumi state, not the cluster, and do not lift this limit";

describe("Kubernetes scalability limits", () => {
  it("are the upstream figures", () => {
    expect(KUBERNETES_LIMITS).toEqual({ nodes: 5000, podsPerNode: 110, totalPods: 150000, totalContainers: 300000 });
  });

  it("say nothing for 1,000 GPU nodes at the bench's sharing", () => {
    const site = programSite(1000);
    const plan = planFarm(site);
    expect(scaleWarnings(site, plan.nodes, plan.pools)).toEqual([]);
  });

  it("warn past 5,000 nodes, in validate's (the plan's) warnings, with how to split", () => {
    const site = programSite(5000);
    const plan = planFarm(site);
    expect(plan.nodes).toHaveLength(5003);
    const expected = `one cluster of 5,003 nodes is over the 5,000 nodes per cluster upstream Kubernetes is tested for (kubernetes.io/docs/setup/best-practices/cluster-large): ${SPLIT}`;
    expect(plan.warnings).toContain(expected);
    expect(scaleWarnings(site, plan.nodes, plan.pools)).toEqual([expected]);
  });

  it("warn on pods per node, total pods and total containers from GPUs × time-slicing replicas", () => {
    const site = programSite(5000);
    const plan = planFarm(site);
    // The bench site: driver on the host, no MetalLB: 7 DaemonSet pods per GPU node.
    expect(gpuNodeDaemonPods(site)).toBe(7);
    const pools = plan.pools.map((p) => ({ ...p, timeSlicingReplicas: 20 }));
    const counts = new Map<string, number>();
    for (const n of plan.nodes) if (n.gpu) counts.set(`${n.pool}:${n.gpu.count}`, (counts.get(`${n.pool}:${n.gpu.count}`) ?? 0) + 1);
    // 6-GPU rigs: 6 × 20 + 7 = 127 pods; 4-GPU servers: 4 × 20 + 7 = 87. Each node holds at most 110 (max-pods).
    const total = [...counts].reduce((s, [k, c]) => s + c * Math.min(110, Number(k.split(":")[1]) * 20 + 7), 0) + 3 * 1;
    // The two pools of 6-GPU riser rigs (firm and curtailable feeds); 17 × 6 + 7 = 109 fits.
    expect(plan.pools.filter((p) => plan.nodes.some((n) => n.pool === p.name && n.gpu?.count === 6)).map((p) => p.name)).toEqual([
      "rtx-3090-x1-riser-curtailable",
      "rtx-3090-x1-riser-firm",
    ]);
    const perNode = (pool: string) =>
      `pool ${pool}: up to 127 pods per node (6 GPUs × 20 time-slicing replicas + 7 DaemonSet pods) is over the 110 pods per node upstream Kubernetes is tested for, and the kubelet's default max-pods (110) leaves the rest unscheduled: lower the pool's timeSlicingReplicas to 17 or less`;
    expect(scaleWarnings(site, plan.nodes, pools)).toEqual([
      `one cluster of 5,003 nodes is over the 5,000 nodes per cluster upstream Kubernetes is tested for (kubernetes.io/docs/setup/best-practices/cluster-large): ${SPLIT}`,
      perNode("rtx-3090-x1-riser-curtailable"),
      perNode("rtx-3090-x1-riser-firm"),
      `the cluster can hold up to ${total.toLocaleString("en-US")} pods (one per GPU slot, GPUs × time-slicing replicas, plus the DaemonSets on every node), over the 150,000 total pods upstream Kubernetes is tested for: lower timeSlicingReplicas, or ${SPLIT}`,
      `the cluster can hold at least ${total.toLocaleString("en-US")} containers (one per pod), over the 300,000 total containers upstream Kubernetes is tested for: ${SPLIT}`,
    ]);
    expect(total).toBeGreaterThan(300_000);
  });
});
