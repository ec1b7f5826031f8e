/**
 * Air-gapped sites: the k3s artifacts, registries.yaml, charts and images from the site mirror
 * (src/render/mirror.ts), and a sweep over everything src/render produces asserting that with a
 * mirror set nothing points outside it.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { FarmPlan } from "../src/plan/types.js";
import {
  CHARTS,
  IMAGES,
  MIRRORED_REGISTRIES,
  imageRegistry,
  imagesInChartValues,
  k3sArtifacts,
  mirroredChart,
  mirroredImage,
  renderBootstrapScript,
  renderCiliumValues,
  renderCurtailment,
  renderDevicePluginConfig,
  renderGpuOperatorValues,
  renderK3sConfig,
  renderKueueObjects,
  renderMetalLbObjects,
  renderNetworkOperator,
  renderPowerAgent,
  renderRegistriesYaml,
  renderServerSideRemovalScript,
  renderUninstallScript,
  siteArtifacts,
  siteCharts,
} from "../src/render/index.js";
import { renderKueueValues } from "../src/render/kueue-values.js";
import { samplePlan, samplePlanHa } from "./helpers/sample-plan.js";
import { expectGolden } from "./helpers/golden.js";
import { REPO_ROOT } from "./helpers/cli.js";

const MIRROR = { artifacts: "https://mirror.site/k3s", registry: "mirror.site:5000", charts: "oci://mirror.site:5000/charts" };

function mirrored(make: () => FarmPlan): FarmPlan {
  const plan = make();
  plan.mirror = { ...MIRROR };
  return plan;
}

describe("k3s artifacts", () => {
  it("come from GitHub and get.k3s.io without a mirror, from the release layout under mirror.artifacts with one", () => {
    expect(k3sArtifacts(samplePlan())).toEqual({
      installer: "https://get.k3s.io",
      binary: "https://github.com/k3s-io/k3s/releases/download/v1.33.5%2Bk3s1/k3s",
      checksums: "https://github.com/k3s-io/k3s/releases/download/v1.33.5%2Bk3s1/sha256sum-amd64.txt",
      airgapImages: null,
    });
    const plan = mirrored(samplePlan);
    plan.mirror!.artifacts = "https://mirror.site/k3s/";
    expect(k3sArtifacts(plan)).toEqual({
      installer: "https://mirror.site/k3s/install.sh",
      binary: "https://mirror.site/k3s/v1.33.5%2Bk3s1/k3s",
      checksums: "https://mirror.site/k3s/v1.33.5%2Bk3s1/sha256sum-amd64.txt",
      airgapImages: "https://mirror.site/k3s/v1.33.5%2Bk3s1/k3s-airgap-images-amd64.tar.zst",
    });
  });

  it("the bootstrap installs the airgap image archive and turns off the registries' internet fallback", () => {
    const plan = mirrored(samplePlan);
    const script = renderBootstrapScript(plan, "rig-a01");
    expect(script).toContain("install -m 0644 \"$work/k3s-airgap-images-amd64.tar.zst\" /var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst\n");
    expect(script).toContain("verify_sha256 \"$work/k3s-airgap-images-amd64.tar.zst\" k3s-airgap-images-amd64.tar.zst\n");
    expect(parse(renderK3sConfig(plan, "rig-a01"))["disable-default-registry-endpoint"]).toBe(true);
    expect(parse(renderK3sConfig(samplePlan(), "rig-a01"))["disable-default-registry-endpoint"]).toBeUndefined();
    expect(renderBootstrapScript(samplePlan(), "rig-a01")).toContain("rm -f /etc/rancher/k3s/registries.yaml\n");
  });
});

describe("registries.yaml", () => {
  it("mirrors every registry the cluster pulls from, each under its own prefix (golden)", () => {
    expect(renderRegistriesYaml(samplePlan())).toBeNull();
    const text = renderRegistriesYaml(mirrored(samplePlan))!;
    expectGolden("host/registries.yaml", text);
    const doc = parse(text) as { mirrors: Record<string, { endpoint: string[]; rewrite: Record<string, string> }> };
    expect(Object.keys(doc.mirrors)).toEqual([...MIRRORED_REGISTRIES]);
    for (const r of MIRRORED_REGISTRIES) expect(doc.mirrors[r]).toEqual({ endpoint: ["https://mirror.site:5000"], rewrite: { "^(.*)$": `${r}/$1` } });
  });
});

describe("charts and images", () => {
  it("points every chart at the chart mirror, same name and version", () => {
    const plan = mirrored(samplePlanHa);
    for (const { pin } of siteCharts(plan)) expect(mirroredChart(pin, plan)).toEqual({ chart: pin.chart, repo: "oci://mirror.site:5000/charts", version: pin.version });
    expect(mirroredChart(CHARTS.kueue, samplePlan())).toBe(CHARTS.kueue);
  });

  it("names the upstream registry of an image and its place in the mirror", () => {
    expect(imageRegistry("busybox")).toEqual({ registry: "docker.io", path: "library/busybox" });
    expect(imageRegistry("rancher/pause:3.6")).toEqual({ registry: "docker.io", path: "rancher/pause:3.6" });
    expect(imageRegistry("nvcr.io/nvidia/driver:595.91.07")).toEqual({ registry: "nvcr.io", path: "nvidia/driver:595.91.07" });
    expect(mirroredImage(IMAGES.agent, mirrored(samplePlan))).toBe("mirror.site:5000/docker.io/library/buildpack-deps:bookworm-curl");
    expect(mirroredImage(IMAGES.agent, samplePlan())).toBeNull();
  });

  it("reads the images pinned in a chart's values, the NVIDIA layout with the chart's appVersion as default", () => {
    expect(
      imagesInChartValues(
        {
          operator: { repository: "nvcr.io/nvidia", image: "gpu-operator" },
          driver: { repository: "nvcr.io/nvidia", image: "driver", version: "595.91.07" },
          nfd: { image: { registry: "registry.k8s.io", repository: "nfd/node-feature-discovery", tag: "v0.18.2" } },
          digest: { repository: "nvcr.io/nvidia", image: "x", version: "sha256:abc" },
        },
        "v26.7.0",
      ),
    ).toEqual(["nvcr.io/nvidia/driver:595.91.07", "nvcr.io/nvidia/gpu-operator:v26.7.0", "nvcr.io/nvidia/x@sha256:abc", "registry.k8s.io/nfd/node-feature-discovery:v0.18.2"]);
  });

  it("lists every artifact of a site, with its mirror location (golden)", () => {
    const plan = mirrored(samplePlanHa);
    const a = siteArtifacts(plan, { gpuOperator: { operator: { repository: "nvcr.io/nvidia", image: "gpu-operator" } } });
    expectGolden("host/site-artifacts-ha.json", JSON.stringify(a, null, 2) + "\n");
    expect(a.urls.map((u) => u.what)).toEqual([
      "k3s installer",
      "k3s binary v1.33.5+k3s1",
      "k3s checksums v1.33.5+k3s1",
      "k3s airgap images v1.33.5+k3s1",
      ...siteCharts(plan).map(({ pin }) => `${pin.chart} chart ${pin.version}`),
    ]);
    for (const u of a.urls) expect(u.mirror, u.what).toMatch(/^(https:\/\/mirror\.site\/k3s\/|oci:\/\/mirror\.site:5000\/charts\/)/);
    for (const i of a.images) expect(i.mirror, i.image).toBe(`mirror.site:5000/${imageRegistry(i.image).registry}/${imageRegistry(i.image).path}`);
    expect(a.chartsWithoutImages).toEqual(siteCharts(plan).filter(({ key }) => key !== "gpuOperator").map(({ pin }) => `${pin.chart} chart ${pin.version}`));
  });
});

describe("bad mirror settings", () => {
  it("are refused with the fix, before anything is rendered", () => {
    const cases: [Partial<typeof MIRROR>, string][] = [
      [{ artifacts: "ftp://mirror.site/k3s" }, 'mirror.artifacts "ftp://mirror.site/k3s" must be an http(s) URL'],
      [{ artifacts: "https://mirror.site/k3s'; rm -rf /" }, "must be an http(s) URL without quotes or spaces"],
      [{ registry: "https://mirror.site:5000" }, 'mirror.registry "https://mirror.site:5000" must be host[:port] without scheme or path'],
      [{ charts: "mirror.site/charts" }, 'mirror.charts "mirror.site/charts" must be an https:// chart repository or an oci:// registry path'],
    ];
    for (const [bad, message] of cases) {
      const plan = samplePlan();
      plan.mirror = { ...MIRROR, ...bad };
      expect(() => renderBootstrapScript(plan, "cp-01")).toThrow(message);
    }
  });
});

/** Every string anywhere in a value. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value !== null && typeof value === "object") Object.values(value).forEach((v) => strings(v, out));
  return out;
}

describe("with a mirror set, nothing points outside it", () => {
  for (const [name, make] of [
    ["single", samplePlan],
    ["ha", samplePlanHa],
  ] as const) {
    it(`${name}: every URL in host scripts and configs, every image in the manifests and values, every chart`, () => {
      const plan = mirrored(make);
      const texts: string[] = [renderRegistriesYaml(plan)!];
      for (const n of plan.nodes) {
        texts.push(renderK3sConfig(plan, n.hostname), renderBootstrapScript(plan, n.hostname), renderUninstallScript(plan, n.hostname), renderServerSideRemovalScript(plan, n.hostname));
      }
      const outside: string[] = [];
      for (const t of texts) {
        for (const url of t.match(/\b(?:https?|oci):\/\/[^\s'"`)]+/g) ?? []) {
          const ok =
            url.startsWith(`${MIRROR.artifacts}/`) ||
            url === `https://${MIRROR.registry}` ||
            url.startsWith("https://127.0.0.1:") ||
            // The cluster's own API (server URL of joining nodes) and docs cited in comments.
            /^https:\/\/(10\.\d+\.\d+\.\d+|api\.hall2\.example\.net):6443$/.test(url) ||
            /^https:\/\/docs\.k3s\.io\//.test(url);
          if (!ok) outside.push(url);
        }
      }
      // Manifests and chart values: every image's registry is mirrored by registries.yaml
      // (containerd pulls it from the mirror; no fallback to the internet).
      const manifests: unknown[] = [
        renderGpuOperatorValues(plan),
        renderDevicePluginConfig(plan),
        renderCiliumValues(plan),
        renderKueueValues(plan),
        renderKueueObjects(plan),
        renderMetalLbObjects(plan),
        renderNetworkOperator(plan),
        renderPowerAgent(plan),
        renderCurtailment(plan),
      ];
      const images = new Set<string>();
      for (const m of manifests) {
        const doc = m as Record<string, unknown>;
        for (const s of strings(doc)) {
          // A URL whose host is a template (`http://${…}`) is computed at run time from the site's own
          // addresses: the in-cluster API (src/runtime/kube.ts inClusterConnection) and the miners'
          // APIs on the site LAN (src/runtime/miners: Antminer CGI, Braiins gRPC). Fixed URLs must be mirrored.
          for (const url of s.match(/\b(?:https?|oci):\/\/[^\s'"`)]+/g) ?? []) if (!/^https?:\/\/\$\{/.test(url)) outside.push(url);
        }
        JSON.stringify(doc, (key, value) => {
          if (key === "image" && typeof value === "string") images.add(value);
          if (value && typeof value === "object" && typeof value.repository === "string" && typeof value.image === "string") images.add(`${value.repository}/${value.image}`);
          return value;
        });
      }
      for (const image of images) if (!(MIRRORED_REGISTRIES as readonly string[]).includes(imageRegistry(image).registry)) outside.push(image);
      for (const { pin } of siteCharts(plan)) if (!mirroredChart(pin, plan).repo.startsWith("oci://mirror.site:5000/")) outside.push(pin.repo);
      expect(outside).toEqual([]);
      expect(images.size).toBeGreaterThan(0);
    });
  }
});

describe("the pinned gpu-operator values", () => {
  it("name only registries the mirror covers", () => {
    const file = path.resolve(REPO_ROOT, "../shared/fixtures/gpu-operator-v26.7.0/values.yaml");
    let values: unknown;
    try {
      values = parse(readFileSync(file, "utf8"));
    } catch {
      console.warn(`${file} is absent; the pinned-values check runs in CI`);
      return;
    }
    const images = imagesInChartValues(values, "v26.7.0");
    expect(images).toContain("nvcr.io/nvidia/gpu-operator:v26.7.0");
    for (const i of images) expect(MIRRORED_REGISTRIES as readonly string[], i).toContain(imageRegistry(i).registry);
  });
});
