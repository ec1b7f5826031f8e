/**
 * Pinned Helm charts, images and namespaces of everything the cluster side installs.
 *
 * Pinned so that two `pulumi up` runs a month apart install the same bits; a site can
 * override a chart version through stack config (the GPU operator's comes from the plan).
 */

/** One pinned Helm chart. */
export interface ChartPin {
  /** Chart name in its repository. */
  chart: string;
  /** Repository URL (`https://…` index or `oci://…` registry). */
  repo: string;
  /** Exact chart version. */
  version: string;
}

/** Helm charts the KubePlatform component installs, by role. */
export const CHARTS = {
  /** Default only: the plan's `gpuOperator.chartVersion` is what gets installed. */
  gpuOperator: { chart: "gpu-operator", repo: "https://helm.ngc.nvidia.com/nvidia", version: "v26.7.0" },
  kueue: { chart: "kueue", repo: "oci://registry.k8s.io/kueue/charts", version: "0.19.2" },
  metallb: { chart: "metallb", repo: "https://metallb.github.io/metallb", version: "0.16.1" },
  cilium: { chart: "cilium", repo: "https://helm.cilium.io", version: "1.18.4" },
  networkOperator: { chart: "network-operator", repo: "https://helm.ngc.nvidia.com/nvidia", version: "26.4.1" },
} as const satisfies Record<string, ChartPin>;

/** Namespace of each installed component. */
export const NAMESPACES = {
  gpuOperator: "gpu-operator",
  kueue: "kueue-system",
  metallb: "metallb-system",
  networkOperator: "nvidia-network-operator",
  cilium: "kube-system",
  mine2hpc: "mine2hpc-system",
} as const;

/**
 * Images of the mine2hpc agents. The power agent and the curtailment jobs need bash, curl
 * and CA certificates; `buildpack-deps:<release>-curl` is Debian with exactly that (glibc,
 * although nvidia-smi itself runs chrooted in the driver root with the driver's own libs).
 * Pinned to a Debian release tag; pin a digest (`@sha256:…`) in air-gapped sites.
 */
export const IMAGES = {
  agent: "docker.io/library/buildpack-deps:bookworm-curl",
  /**
   * Runs the bundled runtime (render/runtime-bundle.ts): the official Node image, Debian
   * bookworm slim (glibc, and coreutils' chroot to run nvidia-smi inside the driver root).
   * Node 24.19.0 is the 24.x release of nodejs/docker-node PR #2587 (24/bookworm-slim/Dockerfile,
   * `ENV NODE_VERSION=24.19.0`, August 2026); the official-images library file publishes each
   * `<version>-bookworm-slim` tag. Pin a digest (`@sha256:…`) in air-gapped sites.
   */
  runtime: "docker.io/library/node:24.19.0-bookworm-slim",
} as const;

/**
 * NVIDIA network operator component images for the NicClusterPolicy, as published for
 * network-operator v26.4.1 (its documented NicClusterPolicy example).
 */
export const NETWORK_OPERATOR_IMAGES = {
  docaDriver: { image: "doca-driver", repository: "nvcr.io/nvidia/mellanox", version: "doca3.4.1-26.04-1.1.0.0-1" },
  rdmaSharedDevicePlugin: {
    image: "k8s-rdma-shared-dev-plugin",
    repository: "nvcr.io/nvidia/mellanox",
    version: "network-operator-v26.4.1",
  },
} as const;
