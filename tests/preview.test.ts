/**
 * `mine2hpc preview --offline`: the real program in a child process under mocks, for the demo
 * stack (golden text) and every template (exact counts from the plan); secrets never printed;
 * invalid sites fail before anything is listed.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PassThrough } from "node:stream";
import { PLACEHOLDER_SECRET_PREFIX, formatPreview, previewOffline, type PreviewResult } from "../src/preview/offline.js";
import { loadAndValidate } from "../src/site/load.js";
import { planFarm } from "../src/plan/index.js";
import { SiteError } from "../src/site/problems.js";
import previewCommand from "../src/cli/commands/preview.js";
import { CliError } from "../src/cli/command.js";
import { expectGolden } from "./helpers/golden.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const goldenDir = join(repoRoot, "tests", "golden", "preview");
const TIMEOUT_MS = 60_000;

/** Exact counts the plan implies for the resource types that scale with the site. */
function expectedScaling(siteFile: string) {
  const plan = planFarm(loadAndValidate(join(repoRoot, siteFile)).spec);
  const releases =
    2 + (plan.network.cni === "cilium" ? 1 : 0) + (plan.network.loadBalancerPool ? 1 : 0) + (plan.network.fabric !== "none" ? 1 : 0);
  const webhookChecks = 1 + (plan.network.loadBalancerPool ? 1 : 0); // Kueue, MetalLB
  const drains = plan.nodes.filter((n) => n.state === "cordoned").length;
  const retired = plan.retired.filter((r) => r.k3sRole !== "asic").length;
  // The agents' bootstrap files are published on the first server (copy + put in place) when
  // there is an agent that is not offline and the first server is not offline.
  const publishes = plan.nodes.some((n) => n.k3sRole === "agent" && n.state !== "offline") && plan.nodes.find((n) => n.clusterInit)?.state !== "offline" ? 1 : 0;
  return {
    plan,
    counts: {
      // A bootstrap (or placeholder) per node and retired machine, the kubeconfig and CA reads,
      // the webhook checks, a drain per cordoned node, a removal and an uninstall per retired one,
      // the agents' files put in place on the first server.
      "command:remote:Command": plan.nodes.length + 2 + webhookChecks + drains + 3 * retired + publishes,
      "command:remote:CopyToRemote": publishes,
      // The k3s version a server installs where k3s is missing (agents read it from the first server).
      "random:index/randomShuffle:RandomShuffle": plan.nodes.filter((n) => n.k3sRole === "server").length,
      "kubernetes:upgrade.cattle.io/v1:Plan": 2,
      "kubernetes:helm.sh/v3:Release": releases,
      "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor": plan.pools.length,
      "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue": plan.queues.clusterQueues.length,
      "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue": plan.queues.clusterQueues.length * plan.queues.tenants.length,
      // A start and an end CronJob per window plus the suspended manual pair, for every
      // non-firm feed with a window or something to shed (windows or not).
      "kubernetes:batch/v1:CronJob": plan.curtailment
        .filter((c) => c.tier !== "firm" && (c.windows.length > 0 || c.stages.some((st) => st.targets.length > 0)))
        .reduce((s, c) => s + 2 * (c.windows.length + 1), 0),
      "mine2hpc:index:FarmCluster": 1,
      "mine2hpc:index:HostBootstrap": 1,
      "mine2hpc:index:ClusterAccess": 1,
      "mine2hpc:index:KubePlatform": 1,
      "mine2hpc:index:PowerPools": 1,
      "pulumi:providers:kubernetes": 1,
      "random:index/randomPassword:RandomPassword": 2, // server and agent tokens
    },
  };
}

function pick(counts: Record<string, number>, keys: string[]): Record<string, number> {
  return Object.fromEntries(keys.map((k) => [k, counts[k] ?? 0]));
}

function checkSecrets(result: PreviewResult) {
  const json = JSON.stringify(result);
  expect(json).not.toContain(PLACEHOLDER_SECRET_PREFIX);
  expect(json).not.toContain("MOCKGENERATEDK3STOKEN");
  expect(json).not.toContain("client-key-data");
  for (const r of result.resources.filter((x) => x.type === "command:remote:Command")) {
    expect(r.inputs["connection.privateKey"]).toBe("[secret]");
    // Where a command runs is not secret: a re-addressed machine is visible to a reviewer.
    expect(typeof r.inputs["connection.host"]).toBe("string");
    expect(r.inputs["connection.host"]).not.toBe("[secret]");
    if (r.inputs.stdin !== undefined) expect(r.inputs.stdin).toBe("[secret]");
  }
  expect(result.outputs.kubeconfig).toBe("[secret]");
}

describe("offline preview of the demo stack", () => {
  it(
    "lists every resource with counts, secrets masked, matching the golden text",
    async () => {
      const result = await previewOffline({ repoRoot, stack: "demo" });
      const { counts } = expectedScaling("stacks/demo/site.yaml");
      expect(pick(result.counts, Object.keys(counts))).toEqual(counts);
      expect(Object.values(result.counts).reduce((a, b) => a + b, 0)).toBe(result.resources.length);
      checkSecrets(result);
      const bootstrap = result.resources.find((r) => r.name === "demo-cp-1")!;
      expect(bootstrap.protect).toBe(true);
      const text = formatPreview(result);
      expectGolden("preview/demo.txt", text);
    },
    TIMEOUT_MS,
  );
});

const templates = readdirSync(join(repoRoot, "templates")).filter((t) => existsSync(join(repoRoot, "templates", t, "site.yaml"))).sort();

describe.each(templates)("offline preview of template %s", (template) => {
  it(
    "registers exactly what the plan implies",
    async () => {
      const siteFile = `templates/${template}/site.yaml`;
      const result = await previewOffline({ repoRoot, stack: "demo", siteFile });
      const { counts, plan } = expectedScaling(siteFile);
      expect(pick(result.counts, Object.keys(counts))).toEqual(counts);
      const bootstrapped = result.resources.filter((r) => r.type === "command:remote:Command" && !r.name.endsWith("-kubeconfig"));
      for (const a of plan.asics) expect(bootstrapped.map((r) => r.name)).not.toContain(`${plan.site.name}-${a.hostname}`);
      checkSecrets(result);
    },
    TIMEOUT_MS,
  );
});

describe("invalid sites", () => {
  it(
    "fail with the SiteError before anything is listed",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "mine2hpc-preview-"));
      const site = readFileSync(join(repoRoot, "stacks/demo/site.yaml"), "utf8").replace(/nodeSubnet: *\S+/, "nodeSubnet: not-a-cidr");
      writeFileSync(join(dir, "site.yaml"), site);
      writeFileSync(join(dir, "inventory.csv"), readFileSync(join(repoRoot, "stacks/demo/inventory.csv")));
      const err = await previewOffline({ repoRoot, stack: "demo", siteFile: join(dir, "site.yaml") }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SiteError);
      const line = site.split("\n").findIndex((l) => l.includes("nodeSubnet: not-a-cidr")) + 1;
      expect((err as SiteError).problems.map((p) => p.source?.line)).toContain(line);
    },
    TIMEOUT_MS,
  );
});

describe("mine2hpc preview", () => {
  function io() {
    const out = new PassThrough();
    const err = new PassThrough();
    let o = "";
    let e = "";
    out.on("data", (d) => (o += String(d)));
    err.on("data", (d) => (e += String(d)));
    return { out, err, text: () => ({ o, e }) };
  }

  it("without --offline points at 'pulumi preview': a usage error (64)", async () => {
    const s = io();
    const err = await previewCommand.run({ values: { stack: "demo" }, positionals: [], cwd: repoRoot, stdout: s.out, stderr: s.err }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(64);
    expect((err as CliError).message).toBe(
      "only the offline preview is built in; 'pulumi preview' is the source of truth.\n  fix: run 'mine2hpc preview --offline --stack demo' (no cloud, no cluster),\n       or with the Pulumi CLI: 'pulumi preview --stack demo'.",
    );
    expect(s.text().o).toBe("");
  });

  it(
    "--offline --json prints the preview as JSON",
    async () => {
      const s = io();
      const code = await previewCommand.run({ values: { stack: "demo", offline: true, json: true }, positionals: [], cwd: repoRoot, stdout: s.out, stderr: s.err });
      expect(code).toBe(0);
      const parsed = JSON.parse(s.text().o) as PreviewResult;
      expect(parsed.stack).toBe("demo");
      expect(parsed.siteFile).toBe("stacks/demo/site.yaml");
      expect(parsed.resources.length).toBe(Object.values(parsed.counts).reduce((a, b) => a + b, 0));
      checkSecrets(parsed);
    },
    TIMEOUT_MS,
  );
});
