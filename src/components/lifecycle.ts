/**
 * Machine lifecycle fields of the plan, read in one place.
 *
 * The site model (`state`, `generation`, `sshHostKey`, `retired`, `rollout`,
 * `startTimeoutSeconds`) is being added to the plan by the `model` branch; until every stack
 * carries it these accessors supply the documented defaults, so the components work with a
 * plan of either shape. TODO(model): read the fields directly once `model` is on main.
 */
import type { FarmPlan, PlannedNode } from "../plan/types.js";

/** What mine2hpc does with a machine (site `machines[].state`; `retired` ones are in `plan.retired`). */
export type NodeState = "active" | "cordoned" | "offline";

/** A machine leaving the cluster (site `state: retired`), as the plan lists it. */
export interface RetiredNode {
  hostname: string;
  ip: string;
  sshUser: string;
  /** `asic` miners are only dropped from the plan; nodes are removed from the cluster. */
  k3sRole: "server" | "agent" | "asic";
  sshHostKey?: string;
}

type Lifecycle = { state?: NodeState; generation?: number; sshHostKey?: string };

/** The node's state. @default "active" */
export function stateOf(node: PlannedNode): NodeState {
  return (node as PlannedNode & Lifecycle).state ?? "active";
}

/** The node's install generation. @default 0 */
export function generationOf(node: PlannedNode): number {
  return (node as PlannedNode & Lifecycle).generation ?? 0;
}

/** The node's pinned SSH host key (`<type> <base64>`), or undefined. */
export function hostKeyOf(node: PlannedNode): string | undefined {
  return (node as PlannedNode & Lifecycle).sshHostKey;
}

/** Retired Kubernetes machines (servers and agents; retired ASIC miners have nothing to remove). */
export function retiredNodesOf(plan: FarmPlan): (RetiredNode & { k3sRole: "server" | "agent" })[] {
  const retired = (plan as FarmPlan & { retired?: RetiredNode[] }).retired ?? [];
  return retired.filter((r): r is RetiredNode & { k3sRole: "server" | "agent" } => r.k3sRole !== "asic");
}

/** Default share of agents upgraded at once (site `kubernetes.rollout.maxUnavailable`). */
const DEFAULT_MAX_UNAVAILABLE = "10%";

/** How a version change rolls: agents at once (`agentBatch`, at least 1). */
export function rolloutOf(plan: FarmPlan): { maxUnavailable: string; agentBatch: number } {
  const k = plan.kubernetes as FarmPlan["kubernetes"] & { rollout?: { maxUnavailable: string; agentBatch: number } };
  if (k.rollout !== undefined) return k.rollout;
  const agents = plan.nodes.filter((n) => n.k3sRole === "agent").length;
  return { maxUnavailable: DEFAULT_MAX_UNAVAILABLE, agentBatch: Math.max(1, Math.floor(agents / 10)) };
}

/** Deadline for k3s to start on a host, in s (site `kubernetes.startTimeoutSeconds`). @default 300 */
export function startTimeoutOf(plan: FarmPlan): number {
  return (plan.kubernetes as FarmPlan["kubernetes"] & { startTimeoutSeconds?: number }).startTimeoutSeconds ?? 300;
}

/**
 * The server the cluster-side commands run on (kubeconfig and CA reads, drains, removals):
 * the first server (`cluster-init`). Throws when it is offline: joining nodes need its CA
 * hash and every cluster-side step its API, so nothing could be done.
 */
export function controlServerOf(plan: FarmPlan): PlannedNode {
  const servers = plan.nodes.filter((n) => n.k3sRole === "server");
  const first = servers.find((n) => n.clusterInit) ?? servers[0];
  if (first === undefined) throw new Error(`plan of site '${plan.site.name}' has no k3s server; planFarm must name at least one control-plane node`);
  if (stateOf(first) === "offline") {
    throw new Error(
      `site '${plan.site.name}': the first k3s server ${first.hostname} is offline; mine2hpc reads the cluster's CA and kubeconfig there. ` +
        `Bring it back (state: active) before running pulumi up`,
    );
  }
  return first;
}
