/** MetalLB custom resources: the service IP pool and its layer-2 announcement. */
import type { FarmPlan } from "../plan/types.js";
import { NAMESPACES } from "./versions.js";
import { objectMeta, type K8sObject } from "./objects.js";

/** Name of the IPAddressPool (and of the L2Advertisement that announces it). */
export const METALLB_POOL_NAME = "mine2hpc-services";

/**
 * IPAddressPool + L2Advertisement (metallb.io/v1beta1), or [] when the site has no
 * load-balancer pool. Layer 2 because mining halls rarely run BGP to their switches.
 */
export function renderMetalLbObjects(plan: FarmPlan): K8sObject[] {
  const pool = plan.network.loadBalancerPool;
  if (pool === null || pool === "") return [];
  return [
    {
      apiVersion: "metallb.io/v1beta1",
      kind: "IPAddressPool",
      metadata: objectMeta(METALLB_POOL_NAME, { namespace: NAMESPACES.metallb }),
      spec: { addresses: [pool], autoAssign: true },
    },
    {
      apiVersion: "metallb.io/v1beta1",
      kind: "L2Advertisement",
      metadata: objectMeta(METALLB_POOL_NAME, { namespace: NAMESPACES.metallb }),
      spec: { ipAddressPools: [METALLB_POOL_NAME] },
    },
  ];
}
