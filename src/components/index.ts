/** The Pulumi components of mine2hpc; see ARCHITECTURE.md for how they fit together. */
export * from "./farm-cluster.js";
export * from "./host-bootstrap.js";
export * from "./cluster-access.js";
export * from "./kube-platform.js";
export * from "./power-pools.js";
export * from "./k8s-objects.js";
export * from "./remote-script.js";
