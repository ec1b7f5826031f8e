/**
 * Pure renderers: FarmPlan in, text or plain objects out. No Pulumi imports below this line.
 * Host side first (k3s config, host scripts, content hash); the cluster-side renderers add
 * their export lines after these.
 */
export * from "./k3s.js";
export * from "./scripts.js";
export * from "./mirror.js";
export * from "./hash.js";
export * from "./objects.js";
export * from "./versions.js";
export * from "./gpu-operator.js";
export * from "./cilium.js";
export * from "./metallb.js";
export * from "./network-operator.js";
export * from "./kueue.js";
export * from "./power-agent.js";
export * from "./curtailment.js";
export * from "./agent-files.js";
