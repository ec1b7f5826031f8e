/**
 * The partition bench's measurement (bench/partitions.ts) on a 20-GPU-node site in 2 partitions:
 * the split, and exact resource counts per stack (times and bytes are not asserted here: the
 * state model is bench/state.ts's, tested there). One stack per process, so this file measures
 * one partition stack in its own process.
 */
import { describe, expect, it } from "vitest";
import { measureStack, partitionName, partitionedSite, referenceBytes } from "../bench/partitions.js";
import { planFarm, stackHosts } from "../src/plan/index.js";

describe("partition bench on 20 GPU nodes in 2 partitions", () => {
  it("splits the GPU machines into contiguous, even partitions without changing the plan's power", () => {
    const site = partitionedSite(20, 2);
    expect(site.machines.filter((m) => m.role === "gpu").map((m) => m.partition)).toEqual([...Array(10).fill("part-01"), ...Array(10).fill("part-02")]);
    const plan = planFarm(site);
    expect(plan.partitions).toEqual({ by: "machine", names: ["part-01", "part-02"] });
    expect([...stackHosts(plan, "part-02")]).toHaveLength(10);
    expect(partitionName(9)).toBe("part-10");
    expect(() => partitionedSite(20, 0)).toThrow(/partitions must be 1…20/);
  });

  it("measures a partition stack: its 10 machines' bootstraps, their published files, the reference and its components", async () => {
    const m = await measureStack(20, 2, "part-01");
    expect(m.machines).toBe(10);
    // 10 bootstraps, the publication (copy, put in place), StackReference,
    // FarmCluster/HostBootstrap/PowerPools components (no Kubernetes provider, no ClusterAccess).
    expect(m.registered).toBe(10 + 2 + 1 + 3);
    // The checkpoint adds the root stack and the default providers of command and pulumi (the
    // engine's builtin provider that reads stack references, `pulumi:providers:pulumi`); a
    // partition stack holds no server, so no install record and no random provider.
    expect(m.state.resources).toBe(m.registered + 3);
    expect(m.state.total).toBeGreaterThan(referenceBytes({ outputs: {}, secretOutputNames: [] }));
  });
});
