/**
 * Shared shapes and helpers for the cluster-side renderers: every object they return is a
 * plain, JSON-serializable Kubernetes manifest with the same provenance labels, so the
 * components can hand them to `@pulumi/kubernetes` unchanged and tests can diff them.
 */
import type { Taint } from "../plan/types.js";

/** A Kubernetes object as plain data (what `kubectl apply -f` would read). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

/** Labels every mine2hpc object carries, so `kubectl get -l app.kubernetes.io/part-of=mine2hpc` finds them all. */
export const COMMON_LABELS: Readonly<Record<string, string>> = Object.freeze({
  "app.kubernetes.io/managed-by": "mine2hpc",
  "app.kubernetes.io/part-of": "mine2hpc",
});

/** A pod toleration (core/v1 Toleration). */
export interface Toleration {
  key?: string;
  operator: "Exists" | "Equal";
  value?: string;
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** Key of the NoSchedule taint the plan puts on nodes of non-firm power tiers. */
export const POWER_TIER_TAINT_KEY = "mine2hpc.io/power-tier";

/**
 * Tolerates the power-tier taint whatever its value: node agents (GPU operator operands,
 * power agent, RDMA plugins) must run on every tier, including the curtailable one.
 */
export const POWER_TIER_TOLERATION: Readonly<Toleration> = Object.freeze({
  key: POWER_TIER_TAINT_KEY,
  operator: "Exists",
  effect: "NoSchedule",
});

/** The GPU operator's own default toleration, kept wherever we replace its toleration list. */
export const NVIDIA_GPU_TOLERATION: Readonly<Toleration> = Object.freeze({
  key: "nvidia.com/gpu",
  operator: "Exists",
  effect: "NoSchedule",
});

/** Builds object metadata with the common labels merged in (extra labels win), keys sorted. */
export function objectMeta(
  name: string,
  options: { namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): K8sObject["metadata"] {
  const meta: K8sObject["metadata"] = { name };
  if (options.namespace !== undefined) meta.namespace = options.namespace;
  meta.labels = sortRecord({ ...COMMON_LABELS, ...(options.labels ?? {}) });
  if (options.annotations !== undefined && Object.keys(options.annotations).length > 0) {
    meta.annotations = sortRecord(options.annotations);
  }
  return meta;
}

/** Returns a copy of a string record with its keys in code-point order (deterministic output). */
export function sortRecord<T>(record: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(record).sort(compareStrings)) out[key] = record[key] as T;
  return out;
}

/** Locale-independent string comparison, for sorting anything rendered. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The toleration that exactly matches a taint (key, value and effect). */
export function tolerationFor(taint: Taint): Toleration {
  return { key: taint.key, operator: "Equal", value: taint.value, effect: taint.effect };
}
