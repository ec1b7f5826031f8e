/**
 * Machine lifecycle fields of the plan, as the components use them: the state of a node, the
 * retired machines that are Kubernetes nodes, and the server cluster-side commands run on.
 */
import type { FarmPlan, PlannedNode, RetiredMachine } from "../plan/types.js";

/** What mine2hpc does with a planned machine (site `machines[].state`; `retired` ones are in `plan.retired`). */
export type NodeState = PlannedNode["state"];

/** A retired machine that was a Kubernetes node (retired ASIC miners have nothing to remove). */
export type RetiredNode = RetiredMachine & { k3sRole: "server" | "agent" };

/** The node's state. */
export function stateOf(node: PlannedNode): NodeState {
  return node.state;
}

/** The node's install generation. */
export function generationOf(node: PlannedNode): number {
  return node.generation;
}

/** The node's pinned SSH host key (`<type> <base64>`), or undefined. */
export function hostKeyOf(node: PlannedNode): string | undefined {
  return node.sshHostKey;
}

/** Retired Kubernetes machines, by hostname (servers and agents). */
export function retiredNodesOf(plan: FarmPlan): RetiredNode[] {
  return plan.retired.filter((r): r is RetiredNode => r.k3sRole !== "asic");
}

/** How a version change rolls (site `kubernetes.rollout`): agents upgraded at once. */
export function rolloutOf(plan: FarmPlan): FarmPlan["kubernetes"]["rollout"] {
  return plan.kubernetes.rollout;
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
  if (first.state === "offline") {
    throw new Error(
      `site '${plan.site.name}': the first k3s server ${first.hostname} is offline; mine2hpc reads the cluster's CA and kubeconfig there. ` +
        `Bring it back (state: active) before running pulumi up`,
    );
  }
  return first;
}
