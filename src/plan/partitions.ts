/**
 * Partitioned stacks in the plan: each agent's partition (decided by `site/partitions.ts`) on
 * its node, and which machines each stack of the site holds.
 *
 * Layout: the cluster stack holds the servers and everything cluster-wide (platform, the pools'
 * Kueue objects, power agent, curtailment); partition P's stack holds P's gpu and cpu machines.
 * A site without partitions is one stack that holds everything.
 */
import { resolvePartitions } from "../site/partitions.js";
import { SiteError, type Problem } from "../site/problems.js";
import type { SiteSpec } from "../site/schema.js";
import type { FarmPlan } from "./types.js";

/**
 * The plan with each agent's partition and `partitions` set; the plan itself when the site is
 * not partitioned (so unpartitioned plans are byte-identical to before partitions existed).
 * @throws SiteError when a machine's partition cannot be decided (validation reports the same).
 */
export function withPartitions(site: SiteSpec, plan: FarmPlan): FarmPlan {
  const problems: Problem[] = [];
  const assigned = resolvePartitions(site, problems);
  if (problems.length > 0) throw new SiteError(problems);
  if (assigned === null) return plan;
  const of = (hostname: string, agent: boolean) => {
    const p = agent ? assigned.byHost.get(hostname) : undefined;
    return p !== undefined ? { partition: p } : {};
  };
  return {
    ...plan,
    nodes: plan.nodes.map((n) => ({ ...n, ...of(n.hostname, n.k3sRole === "agent") })),
    retired: plan.retired.map((r) => ({ ...r, ...of(r.hostname, r.k3sRole === "agent") })),
    partitions: { by: assigned.by, names: assigned.names },
  };
}

/** The part of a site one stack holds: the cluster (`null`, the whole site when unpartitioned) or a partition. */
export type StackPart = string | null;

/**
 * Hostnames (planned nodes and retired machines) whose resources the stack of `part` registers:
 * every Kubernetes machine for an unpartitioned site; the servers for the cluster stack of a
 * partitioned one; the partition's agents for a partition stack.
 */
export function stackHosts(plan: FarmPlan, part: StackPart): Set<string> {
  const holds = (m: { k3sRole: string; partition?: string }): boolean =>
    m.k3sRole !== "asic" && (part === null ? plan.partitions === undefined || m.k3sRole === "server" : m.k3sRole === "agent" && m.partition === part);
  return new Set([...plan.nodes.filter(holds), ...plan.retired.filter(holds)].map((m) => m.hostname));
}

/** The partition of a Kubernetes machine (planned or retired), or null for the cluster stack's. */
export function partitionOfHost(plan: FarmPlan, hostname: string): StackPart {
  const m = plan.nodes.find((n) => n.hostname === hostname) ?? plan.retired.find((r) => r.hostname === hostname);
  return m?.partition ?? null;
}
