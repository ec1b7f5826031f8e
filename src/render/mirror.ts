/**
 * Where hosts and the cluster fetch what they install: the internet, or the site mirror of an
 * air-gapped site (`plan.mirror`).
 *
 * - k3s artifacts (`mirror.artifacts`, an HTTP(S) base URL) keep the layout of a k3s GitHub
 *   release, so an operator mirrors a release by copying its assets:
 *   `<artifacts>/install.sh` (the installer, from https://get.k3s.io),
 *   `<artifacts>/<version>/k3s`, `<artifacts>/<version>/sha256sum-amd64.txt`,
 *   `<artifacts>/<version>/k3s-airgap-images-amd64.tar.zst`
 *   (asset names as k3s install.sh downloads them: `${GITHUB_URL}/download/${VERSION_K3S}/k3s`
 *   and `.../sha256sum-${ARCH}.txt`; the image archive name from docs.k3s.io/installation/airgap).
 *   The bootstrap downloads and verifies them itself (bounded curl, sha256 from the checksum
 *   file) and runs the installer with `INSTALL_K3S_SKIP_DOWNLOAD=true`, so the installer never
 *   reaches out; the image archive goes to `/var/lib/rancher/k3s/agent/images/`, which k3s
 *   imports at start (docs.k3s.io/installation/airgap, "Manually Deploy Images").
 * - Container images (`mirror.registry`, `host[:port]`): `/etc/rancher/k3s/registries.yaml`
 *   mirrors every registry the cluster pulls from to that registry, each under a path prefix
 *   named after the upstream registry (`rewrite`, docs.k3s.io/installation/private-registry),
 *   so `docker.io/library/x` and `quay.io/library/x` cannot collide in the mirror; k3s's
 *   `disable-default-registry-endpoint` stops containerd from falling back to the internet.
 * - Helm charts (`mirror.charts`): an `https://` chart repository or an `oci://` registry path;
 *   {@link mirroredChart} points every chart there, same chart name and version.
 *
 * `siteArtifacts` lists all of it (source → mirror) for `mine2hpc mirror list`.
 */
import type { FarmPlan } from "../plan/types.js";
import { CHARTS, IMAGES, NETWORK_OPERATOR_IMAGES, type ChartPin } from "./versions.js";
import { SUC_IMAGES, SUC_VERSION } from "./upgrade.js";

/** The mirror settings of a plan (`plan.mirror`). */
export interface SiteMirror {
  artifacts: string | null;
  registry: string | null;
  charts: string | null;
}

/** Architecture of the k3s artifacts (release asset suffix). */
export const K3S_ARCH = "amd64";
/** k3s GitHub release downloads (install.sh `GITHUB_URL` + `/download`). */
export const K3S_RELEASES_URL = "https://github.com/k3s-io/k3s/releases/download";
/** The official k3s installer. */
export const K3S_INSTALLER_URL = "https://get.k3s.io";
/** Directory k3s imports image archives from at start (docs.k3s.io/installation/airgap). */
export const K3S_AIRGAP_IMAGES_DIR = "/var/lib/rancher/k3s/agent/images";
/** Private registry configuration k3s reads (docs.k3s.io/installation/private-registry). */
export const K3S_REGISTRIES_PATH = "/etc/rancher/k3s/registries.yaml";
/** File name of the airgap image archive of a release. */
export const K3S_AIRGAP_IMAGES_FILE = `k3s-airgap-images-${K3S_ARCH}.tar.zst`;
/** Checksum file of a release (install.sh `download_hash`). */
export const K3S_CHECKSUMS_FILE = `sha256sum-${K3S_ARCH}.txt`;

/**
 * Registries the cluster pulls from, mirrored in registries.yaml: k3s's own images and
 * Kueue (registry.k8s.io), the agent image and k3s system images (docker.io), the NVIDIA
 * operators (nvcr.io), and charts' dependencies (quay.io: e.g. MetalLB; ghcr.io).
 */
export const MIRRORED_REGISTRIES = ["docker.io", "ghcr.io", "nvcr.io", "quay.io", "registry.k8s.io"] as const;

/**
 * `plan.mirror`, checked for what the scripts embed (no quotes, spaces or shell characters);
 * null when the site has none.
 */
export function planMirror(plan: FarmPlan): SiteMirror | null {
  const m = plan.mirror ?? null;
  if (m === null) return null;
  if (m.artifacts !== null && !/^https?:\/\/[^\s'"$`\\]+$/.test(m.artifacts)) {
    throw new Error(`site "${plan.site.name}": mirror.artifacts "${m.artifacts}" must be an http(s) URL without quotes or spaces (e.g. https://mirror.site/k3s).`);
  }
  if (m.registry !== null && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(m.registry)) {
    throw new Error(`site "${plan.site.name}": mirror.registry "${m.registry}" must be host[:port] without scheme or path (e.g. mirror.site:5000).`);
  }
  if (m.charts !== null && !/^(https?|oci):\/\/[^\s'"$`\\]+$/.test(m.charts)) {
    throw new Error(`site "${plan.site.name}": mirror.charts "${m.charts}" must be an https:// chart repository or an oci:// registry path (e.g. oci://mirror.site:5000/charts).`);
  }
  return m;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** URLs of the k3s artifacts one host downloads; `airgapImages` only with a mirror. */
export interface K3sArtifacts {
  installer: string;
  binary: string;
  checksums: string;
  /** The airgap image archive; null when images come from registries (no artifacts mirror). */
  airgapImages: string | null;
}

/**
 * Where the bootstrap downloads k3s from for the plan's version. The version is
 * URL-encoded (`+` → `%2B`), as GitHub's release URLs are.
 */
export function k3sArtifacts(plan: FarmPlan): K3sArtifacts {
  const version = encodeURIComponent(plan.kubernetes.version);
  const mirror = planMirror(plan);
  if (mirror?.artifacts) {
    const base = trimSlash(mirror.artifacts);
    return {
      installer: `${base}/install.sh`,
      binary: `${base}/${version}/k3s`,
      checksums: `${base}/${version}/${K3S_CHECKSUMS_FILE}`,
      airgapImages: `${base}/${version}/${K3S_AIRGAP_IMAGES_FILE}`,
    };
  }
  return {
    installer: K3S_INSTALLER_URL,
    binary: `${K3S_RELEASES_URL}/${version}/k3s`,
    checksums: `${K3S_RELEASES_URL}/${version}/${K3S_CHECKSUMS_FILE}`,
    airgapImages: null,
  };
}

/**
 * `/etc/rancher/k3s/registries.yaml` for a site with a registry mirror, else null. Format from
 * docs.k3s.io/installation/private-registry: `mirrors.<registry>.endpoint` (list of URLs) and
 * `rewrite` (regex → replacement on the repository path).
 */
export function renderRegistriesYaml(plan: FarmPlan): string | null {
  const mirror = planMirror(plan);
  if (!mirror?.registry) return null;
  const lines = [
    `# ${K3S_REGISTRIES_PATH} for site ${plan.site.name}: every registry is pulled through the site mirror.`,
    "# Generated by mine2hpc from the site's mirror.registry: edit the site, not this file.",
    "mirrors:",
  ];
  for (const registry of MIRRORED_REGISTRIES) {
    lines.push(`  ${registry}:`, "    endpoint:", `      - "https://${mirror.registry}"`, "    rewrite:", `      "^(.*)$": "${registry}/$1"`);
  }
  return lines.join("\n") + "\n";
}

/**
 * The chart as the cluster installs it: from the chart mirror when the site has one (same name
 * and version; an `oci://` mirror is a registry path the chart name is appended to by Helm),
 * else unchanged.
 */
export function mirroredChart(chart: ChartPin, plan: FarmPlan): ChartPin {
  const mirror = planMirror(plan);
  if (!mirror?.charts) return chart;
  return { chart: chart.chart, repo: trimSlash(mirror.charts), version: chart.version };
}

/** Splits an image reference into registry (docker.io when implicit) and the rest. */
export function imageRegistry(image: string): { registry: string; path: string } {
  const slash = image.indexOf("/");
  const first = slash < 0 ? "" : image.slice(0, slash);
  if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    return { registry: first, path: image.slice(slash + 1) };
  }
  return { registry: "docker.io", path: slash < 0 ? `library/${image}` : image };
}

/**
 * Where an image lives in the site registry mirror (the `rewrite` of {@link renderRegistriesYaml}:
 * `<mirror>/<upstream registry>/<path>`), or null without a registry mirror.
 */
export function mirroredImage(image: string, plan: FarmPlan): string | null {
  const mirror = planMirror(plan);
  if (!mirror?.registry) return null;
  const { registry, path } = imageRegistry(image);
  return `${mirror.registry}/${registry}/${path}`;
}

/** One file the site needs, and where the mirror must serve it. */
export interface SiteArtifactUrl {
  /** What it is, e.g. `k3s binary v1.33.5+k3s1`. */
  what: string;
  /** Where it comes from upstream. */
  source: string;
  /** Where the site fetches it (the mirror URL), or null when the site has no mirror for it. */
  mirror: string | null;
}

/** One container image the site pulls, pinned. */
export interface SiteArtifactImage {
  /** Who pulls it, e.g. `gpu-operator chart v26.7.0` or `mine2hpc power agent`. */
  what: string;
  /** Full upstream reference with registry and tag (or digest). */
  image: string;
  /** Where the mirror must serve it, or null without a registry mirror. */
  mirror: string | null;
}

/** Every artifact and image of a site, for `mine2hpc mirror list`. */
export interface SiteArtifacts {
  urls: SiteArtifactUrl[];
  images: SiteArtifactImage[];
  /** Charts whose images could not be listed (no values file given for them). */
  chartsWithoutImages: string[];
}

/** The charts a site installs, by role, with the plan's GPU-operator version. */
export function siteCharts(plan: FarmPlan): { key: keyof typeof CHARTS; pin: ChartPin }[] {
  const out: { key: keyof typeof CHARTS; pin: ChartPin }[] = [
    { key: "gpuOperator", pin: { ...CHARTS.gpuOperator, version: plan.gpuOperator.chartVersion } },
    { key: "kueue", pin: CHARTS.kueue },
  ];
  if (plan.network.loadBalancerPool !== null) out.push({ key: "metallb", pin: CHARTS.metallb });
  if (plan.network.cni === "cilium") out.push({ key: "cilium", pin: CHARTS.cilium });
  if (plan.network.fabric !== "none") out.push({ key: "networkOperator", pin: CHARTS.networkOperator });
  return out;
}

/** Where Helm fetches a chart from: `<repo>/<chart>-<version>.tgz` for an index repo, the OCI reference otherwise. */
export function chartUrl(pin: ChartPin): string {
  const repo = trimSlash(pin.repo);
  return repo.startsWith("oci://") ? `${repo}/${pin.chart}:${pin.version}` : `${repo}/${pin.chart}-${pin.version.replace(/^v/, "")}.tgz`;
}

/**
 * Container images pinned in a chart's values (`values.yaml` of that chart version): every map
 * with string `repository` + `image` (+ `version`: the NVIDIA operators' layout, where a missing
 * version means the chart's appVersion, `appVersion` here), or `repository` + `tag` (the common
 * Helm layout, `registry` prefixed when present). Sorted, unique.
 */
export function imagesInChartValues(values: unknown, appVersion: string | null = null): string[] {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(visit);
      return;
    }
    if (v === null || typeof v !== "object") return;
    const o = v as Record<string, unknown>;
    const str = (k: string): string | null => (typeof o[k] === "string" && o[k] !== "" ? (o[k] as string) : null);
    const repository = str("repository");
    const version = str("version") ?? appVersion;
    if (repository !== null && str("image") !== null && version !== null) {
      found.add(`${repository}/${str("image")}${version.startsWith("sha256:") ? "@" : ":"}${version}`);
    } else if (repository !== null && str("tag") !== null) {
      const registry = str("registry");
      found.add(`${registry !== null ? `${registry}/` : ""}${repository}:${str("tag")}`);
    }
    Object.values(o).forEach(visit);
  };
  visit(values);
  return [...found].sort();
}

/**
 * Every artifact URL and container image the site needs: the k3s installer, binary,
 * checksums and airgap image archive of the pinned version, each chart, the images pinned in
 * the charts' values where `chartValues` has them (keyed like {@link CHARTS}), the mine2hpc
 * agent image and the network-operator component images. Deterministic order.
 */
export function siteArtifacts(plan: FarmPlan, chartValues: Partial<Record<keyof typeof CHARTS, unknown>> = {}): SiteArtifacts {
  const mirror = planMirror(plan);
  const upstream = k3sArtifacts({ ...plan, mirror: null } as FarmPlan);
  const local = mirror?.artifacts ? k3sArtifacts(plan) : null;
  const version = plan.kubernetes.version;
  const urls: SiteArtifactUrl[] = [
    { what: "k3s installer", source: upstream.installer, mirror: local?.installer ?? null },
    { what: `k3s binary ${version}`, source: upstream.binary, mirror: local?.binary ?? null },
    { what: `k3s checksums ${version}`, source: upstream.checksums, mirror: local?.checksums ?? null },
    {
      what: `k3s airgap images ${version}`,
      source: `${K3S_RELEASES_URL}/${encodeURIComponent(version)}/${K3S_AIRGAP_IMAGES_FILE}`,
      mirror: local?.airgapImages ?? null,
    },
  ];
  const images: SiteArtifactImage[] = [];
  const addImage = (what: string, image: string): void => {
    images.push({ what, image, mirror: mirroredImage(image, plan) });
  };
  const chartsWithoutImages: string[] = [];
  for (const { key, pin } of siteCharts(plan)) {
    const label = `${pin.chart} chart ${pin.version}`;
    urls.push({ what: label, source: chartUrl(pin), mirror: mirror?.charts ? chartUrl(mirroredChart(pin, plan)) : null });
    const values = chartValues[key];
    if (values === undefined) chartsWithoutImages.push(label);
    // The NVIDIA charts' appVersion is their chart version (an image without `version` uses it).
    else for (const image of imagesInChartValues(values, pin.version)) addImage(label, image);
  }
  addImage("mine2hpc curtailment jobs", IMAGES.agent);
  addImage("mine2hpc power agent (bundled runtime on stock Node)", IMAGES.runtime);
  // Rolling k3s upgrades: the controller, the kubectl image of its cordon/drain Jobs, and the
  // upgrade image tagged with the Plan's version (SUC writes `+` as `-` in the tag).
  addImage(`system-upgrade-controller ${SUC_VERSION}`, SUC_IMAGES.controller);
  addImage(`system-upgrade-controller ${SUC_VERSION} jobs (cordon, drain)`, SUC_IMAGES.kubectl);
  addImage(`k3s upgrade ${version}`, `${SUC_IMAGES.k3sUpgrade}:${version.replace(/\+/g, "-")}`);
  if (plan.network.fabric !== "none") {
    for (const c of Object.values(NETWORK_OPERATOR_IMAGES)) addImage(`network-operator NicClusterPolicy`, `${c.repository}/${c.image}:${c.version}`);
  }
  return { urls, images, chartsWithoutImages };
}
