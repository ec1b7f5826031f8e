/**
 * Turns rendered Kubernetes objects (plain data from `render/`) into Pulumi resources.
 *
 * Core kinds get their typed class (the provider knows their schema and await logic);
 * everything else (Kueue, MetalLB, NicClusterPolicy) is a `CustomResource`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { K8sObject } from "../render/index.js";

type Ctor = new (name: string, args: never, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/** Typed classes for the core kinds the renderers emit, by `apiVersion/kind`. */
const CORE_KINDS: Record<string, Ctor> = {
  "v1/Namespace": k8s.core.v1.Namespace as unknown as Ctor,
  "v1/ServiceAccount": k8s.core.v1.ServiceAccount as unknown as Ctor,
  "v1/ConfigMap": k8s.core.v1.ConfigMap as unknown as Ctor,
  "v1/Secret": k8s.core.v1.Secret as unknown as Ctor,
  "v1/Service": k8s.core.v1.Service as unknown as Ctor,
  "apps/v1/DaemonSet": k8s.apps.v1.DaemonSet as unknown as Ctor,
  "apps/v1/Deployment": k8s.apps.v1.Deployment as unknown as Ctor,
  "batch/v1/CronJob": k8s.batch.v1.CronJob as unknown as Ctor,
  "batch/v1/Job": k8s.batch.v1.Job as unknown as Ctor,
  "rbac.authorization.k8s.io/v1/ClusterRole": k8s.rbac.v1.ClusterRole as unknown as Ctor,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": k8s.rbac.v1.ClusterRoleBinding as unknown as Ctor,
  "rbac.authorization.k8s.io/v1/Role": k8s.rbac.v1.Role as unknown as Ctor,
  "rbac.authorization.k8s.io/v1/RoleBinding": k8s.rbac.v1.RoleBinding as unknown as Ctor,
};

/**
 * Stable Pulumi name of a rendered object: `<prefix>-<kind>-[<namespace>-]<name>`, lowercased.
 * It depends only on the object's identity in the cluster, so re-rendering never renames it.
 */
export function objectResourceName(prefix: string, obj: K8sObject): string {
  const ns = obj.metadata.namespace ? `${obj.metadata.namespace}-` : "";
  return `${prefix}-${obj.kind.toLowerCase()}-${ns}${obj.metadata.name}`;
}

/** Registers one rendered object with the typed class for its kind, or as a CustomResource. */
export function createObject(prefix: string, obj: K8sObject, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  const name = objectResourceName(prefix, obj);
  const ctor = CORE_KINDS[`${obj.apiVersion}/${obj.kind}`];
  if (ctor) return new ctor(name, obj as never, opts);
  return new k8s.apiextensions.CustomResource(name, obj as k8s.apiextensions.CustomResourceArgs, opts);
}

/**
 * Registers `objects`. A Namespace in the same list is registered first and the objects in it
 * depend on it, because the API server rejects objects in a namespace that does not exist yet.
 */
export function createObjects(prefix: string, objects: readonly K8sObject[], opts: pulumi.CustomResourceOptions): pulumi.CustomResource[] {
  const namespaces = new Map<string, pulumi.CustomResource>();
  for (const o of objects) {
    if (o.apiVersion === "v1" && o.kind === "Namespace") namespaces.set(o.metadata.name, createObject(prefix, o, opts));
  }
  const out: pulumi.CustomResource[] = [...namespaces.values()];
  for (const o of objects) {
    if (o.apiVersion === "v1" && o.kind === "Namespace") continue;
    const ns = o.metadata.namespace ? namespaces.get(o.metadata.namespace) : undefined;
    // Objects in a namespace created in this batch wait for it (the API rejects them before).
    out.push(createObject(prefix, o, ns ? pulumi.mergeOptions(opts, { dependsOn: [ns] }) : opts));
  }
  return out;
}
