/**
 * `mine2hpc curtail` end to end, without a cluster: the binary talks to a tiny fake
 * Kubernetes API on 127.0.0.1 (random port, closed in afterAll) that serves the demo
 * stack's rendered (suspended) manual start CronJob and records the Job the CLI creates.
 */
import { mkdtempSync, readFileSync, writeFileSync, cpSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { parseDocument } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, runCli } from "./helpers/cli.js";
import { loadAndValidate } from "../src/site/load.js";
import { planFarm } from "../src/plan/index.js";
import { renderCurtailment } from "../src/render/curtailment.js";
import { findCurtailmentCronJob, jobFromCronJob, utcStamp, type CronJobSource } from "../src/live/curtail.js";

const NS = "mine2hpc-system";
const CRON = "curtail-ercot-flex-manual-start";
const UID = "6f1c2d3e-0000-4aaa-8bbb-123456789abc";
const TOKEN = "test-token-that-must-never-be-printed";
const TIMEOUT_MS = 60_000;

const plan = planFarm(loadAndValidate(path.join(REPO_ROOT, "stacks/demo/site.yaml")).spec);
const rendered = findCurtailmentCronJob(renderCurtailment(plan), "ercot-flex", "start")!;
/** What a real API server returns: the applied object plus server-set fields and defaults. */
const liveCronJob = {
  ...rendered,
  metadata: { ...rendered.metadata, uid: UID, resourceVersion: "4711", generation: 1, creationTimestamp: "2026-05-01T12:00:00Z" },
  // The applied object stays suspended: it only ever runs through `curtail`.
  spec: { ...(rendered.spec as object) },
  status: { lastScheduleTime: "2026-05-01T20:00:00Z" },
};

type Mode = "ok" | "missing" | "forbidden";
let mode: Mode = "ok";
const posted: unknown[] = [];
const authHeaders: string[] = [];
let server: http.Server;
let dir: string;
let kubeconfig: string;

function status(res: http.ServerResponse, code: number, reason: string, message: string) {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code }));
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    authHeaders.push(String(req.headers.authorization));
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "GET" && req.url?.startsWith(`/apis/batch/v1/namespaces/${NS}/cronjobs/${CRON}`) && mode !== "missing") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(liveCronJob));
        return;
      }
      if (req.method === "POST" && req.url?.startsWith(`/apis/batch/v1/namespaces/${NS}/jobs`)) {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { metadata: Record<string, unknown> };
        posted.push(body);
        if (mode === "forbidden") {
          status(res, 403, "Forbidden", `jobs.batch is forbidden: User "viewer" cannot create resource "jobs" in API group "batch" in the namespace "${NS}"`);
          return;
        }
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ ...body, metadata: { ...body.metadata, uid: "job-uid" } }));
        return;
      }
      status(res, 404, "NotFound", `cronjobs.batch "${CRON}" not found`);
    });
  });
  // Bounded: a stuck client cannot keep the test (or the server) alive.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  dir = mkdtempSync(path.join(os.tmpdir(), "mine2hpc-curtail-"));
  kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(kubeconfig, kubeconfigYaml(`http://127.0.0.1:${port}`));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function kubeconfigYaml(serverUrl: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "  - name: fake",
    "    cluster:",
    `      server: ${serverUrl}`,
    // client-node refuses plain http unless TLS verification is off; loopback only.
    "      insecure-skip-tls-verify: true",
    "users:",
    "  - name: ops",
    "    user:",
    `      token: ${TOKEN}`,
    "contexts:",
    "  - name: fake",
    "    context: { cluster: fake, user: ops }",
    "current-context: fake",
    "",
  ].join("\n");
}

/** The Job name's stamp must be a UTC time between `before` and `after` (whole seconds). */
function expectStampBetween(name: string, before: Date, after: Date) {
  const m = /^curtail-ercot-flex-manual-start-manual-(\d{14})$/.exec(name);
  expect(m, name).not.toBeNull();
  const floor = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);
  expect(m![1]! >= utcStamp(floor(before))).toBe(true);
  expect(m![1]! <= utcStamp(after)).toBe(true);
}

describe("mine2hpc curtail against a fake API", () => {
  it(
    "creates the Job from the live start CronJob and says what it did",
    async () => {
      mode = "ok";
      posted.length = 0;
      authHeaders.length = 0;
      expect(rendered.metadata.name).toBe(CRON);
      expect(rendered.metadata.annotations).toEqual({ "mine2hpc.io/phase": "start", "mine2hpc.io/window": "manual" });
      expect((rendered.spec as { suspend?: boolean }).suspend).toBe(true);
      const before = new Date();
      const r = await runCli(["curtail", "start", "--feed", "ercot-flex", "--kubeconfig", kubeconfig], { cwd: REPO_ROOT });
      const after = new Date();
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      expect(posted).toHaveLength(1);
      const body = posted[0] as { metadata: { name: string } };
      const name = body.metadata.name;
      expectStampBetween(name, before, after);
      // Exactly the Job kubectl create job --from=cronjob would send: nothing of the server-set fields.
      expect(body).toEqual(jobFromCronJob(JSON.parse(JSON.stringify(liveCronJob)) as CronJobSource, name));
      expect(body).toEqual({
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: {
          name,
          namespace: NS,
          labels: {
            "app.kubernetes.io/component": "curtailment",
            "app.kubernetes.io/managed-by": "mine2hpc",
            "app.kubernetes.io/name": "mine2hpc-curtailment",
            "app.kubernetes.io/part-of": "mine2hpc",
            "mine2hpc.io/feed": "ercot-flex",
          },
          annotations: { "cronjob.kubernetes.io/instantiate": "manual" },
          ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: CRON, uid: UID, controller: true }],
        },
        spec: (rendered.spec as { jobTemplate: { spec: unknown } }).jobTemplate.spec,
      });
      expect(authHeaders).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
      expect(r.stdout.split("\n")).toEqual([
        "Started curtailment of feed ercot-flex (curtailable) on site demo.",
        `  Job ${name} in namespace ${NS}, from CronJob ${CRON}.`,
        "  Stages in plan order (response within 600 s):",
        "    1. asics-off        sheds     66.3 kW (total 66.3 kW) after 60 s  meets response time",
        "    2. gpu-caps-to-min  sheds      4.8 kW (total 71.0 kW) after 90 s  meets response time",
        "    3. drain-queue      sheds      2.4 kW (total 73.4 kW) after 390 s  meets response time",
        "  Residual load 4.0 kW.",
        "  ACT NOW: no ASIC webhook is set; the job only lists the 20 miners: power them off with the fleet tool.",
        `Follow it: kubectl --kubeconfig ${kubeconfig} -n ${NS} logs job/${name} -f`,
        "",
      ]);
      expect(r.stdout).not.toContain(TOKEN);
    },
    TIMEOUT_MS,
  );

  it(
    "fails with exit 2 and the `pulumi up` fix when the cluster has no CronJob",
    async () => {
      mode = "missing";
      posted.length = 0;
      const r = await runCli(["curtail", "start", "--feed", "ercot-flex", "--kubeconfig", kubeconfig], { cwd: REPO_ROOT });
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe("");
      const port = (server.address() as AddressInfo).port;
      expect(r.stderr).toBe(
        [
          `error: could not read CronJob ${CRON} in namespace ${NS}: not found on http://127.0.0.1:${port}: cronjobs.batch "${CRON}" not found.`,
          "  fix: run 'pulumi up' for this site first (it creates the curtailment CronJobs), and check that --context / --kubeconfig point at this site's cluster.",
          "",
        ].join("\n"),
      );
      expect(posted).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    "passes on the API's RBAC message when creating the Job is forbidden",
    async () => {
      mode = "forbidden";
      posted.length = 0;
      const r = await runCli(["curtail", "start", "--feed", "ercot-flex", "--kubeconfig", kubeconfig], { cwd: REPO_ROOT });
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe("");
      expect(posted).toHaveLength(1);
      const name = (posted[0] as { metadata: { name: string } }).metadata.name;
      expect(r.stderr).toBe(
        [
          `error: the cluster refused to create Job ${name} in namespace ${NS} (403 Forbidden): jobs.batch is forbidden: User "viewer" cannot create resource "jobs" in API group "batch" in the namespace "${NS}".`,
          "  fix: use a kubeconfig whose user may get cronjobs and create jobs in that namespace (the site's admin kubeconfig: get the site's admin kubeconfig with 'pulumi stack output --show-secrets kubeconfig > kubeconfig' and pass --kubeconfig kubeconfig).",
          "",
        ].join("\n"),
      );
      expect(r.stderr).not.toContain(TOKEN);
    },
    TIMEOUT_MS,
  );

  it(
    "says how to get a kubeconfig when the API cannot be reached",
    async () => {
      // A port that was free a moment ago: nothing listens there.
      const probe = http.createServer();
      await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const file = path.join(dir, "kubeconfig-closed");
      writeFileSync(file, kubeconfigYaml(`http://127.0.0.1:${port}`));
      const r = await runCli(["curtail", "end", "--feed", "ercot-flex", "--kubeconfig", file], { cwd: REPO_ROOT });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toBe(
        [
          `error: cannot reach the Kubernetes API at http://127.0.0.1:${port} (ECONNREFUSED) from ${file}.`,
          "  fix: check that the cluster is up and reachable from here (VPN, firewall), or get the site's admin kubeconfig with 'pulumi stack output --show-secrets kubeconfig > kubeconfig' and pass --kubeconfig kubeconfig.",
          "",
        ].join("\n"),
      );
    },
    TIMEOUT_MS,
  );

  it(
    "refuses to guess a cluster when there is no kubeconfig at all",
    async () => {
      const home = mkdtempSync(path.join(os.tmpdir(), "mine2hpc-nohome-"));
      const r = await runCli(["curtail", "start", "--feed", "ercot-flex"], { cwd: REPO_ROOT, env: { HOME: home, KUBECONFIG: "" } });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toBe(
        [
          "error: no kubeconfig: --kubeconfig not given, KUBECONFIG not set, and ~/.kube/config does not exist.",
          "  fix: get the site's admin kubeconfig with 'pulumi stack output --show-secrets kubeconfig > kubeconfig' and pass --kubeconfig kubeconfig.",
          "",
        ].join("\n"),
      );
    },
    TIMEOUT_MS,
  );
});

describe("mine2hpc curtail without a cluster", () => {
  it(
    "--dry-run --json prints the Job and calls no API",
    async () => {
      const r = await runCli(["curtail", "end", "--feed", "ercot-flex", "--dry-run", "--json"], { cwd: REPO_ROOT, env: { KUBECONFIG: "/nonexistent" } });
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      const out = JSON.parse(r.stdout) as Record<string, unknown> & { job: string; manifest: { metadata: { name: string } } };
      const endCron = findCurtailmentCronJob(renderCurtailment(plan), "ercot-flex", "end")!;
      expect(out.job).toMatch(/^curtail-ercot-flex-manual-end-manual-\d{14}$/);
      expect(out).toEqual({
        site: "demo",
        feed: "ercot-flex",
        tier: "curtailable",
        phase: "end",
        namespace: NS,
        cronJob: "curtail-ercot-flex-manual-end",
        job: out.job,
        created: false,
        responseTimeSeconds: 600,
        meetsResponseTime: true,
        stages: plan.curtailment.find((c) => c.feed === "ercot-flex")!.stages,
        residualWatts: plan.curtailment.find((c) => c.feed === "ercot-flex")!.residualWatts,
        followCommand: `kubectl -n ${NS} logs job/${out.job} -f`,
        manifest: jobFromCronJob(endCron as unknown as CronJobSource, out.job),
      });
    },
    TIMEOUT_MS,
  );

  it(
    "rejects firm and unknown feeds, listing the non-firm ones",
    async () => {
      const firm = await runCli(["curtail", "start", "--feed", "grid-firm", "--dry-run"], { cwd: REPO_ROOT });
      expect(firm.exitCode).toBe(2);
      expect(firm.stderr).toBe(
        "error: feed grid-firm is firm: mine2hpc never curtails a firm feed (it keeps the control plane up).\n  fix: pass one of the site's non-firm feeds: ercot-flex.\n",
      );
      const unknown = await runCli(["curtail", "start", "--feed", "ercot", "--dry-run"], { cwd: REPO_ROOT });
      expect(unknown.exitCode).toBe(2);
      expect(unknown.stderr).toBe("error: site demo has no feed named 'ercot'.\n  fix: pass one of the site's non-firm feeds: ercot-flex.\n");
    },
    TIMEOUT_MS,
  );

  it(
    "a feed without windows still works through its manual CronJob",
    async () => {
      const siteDir = mkdtempSync(path.join(os.tmpdir(), "mine2hpc-curtail-site-"));
      cpSync(path.join(REPO_ROOT, "stacks/demo/inventory.csv"), path.join(siteDir, "inventory.csv"));
      const doc = parseDocument(readFileSync(path.join(REPO_ROOT, "stacks/demo/site.yaml"), "utf8"));
      const feeds = doc.getIn(["power", "feeds"]) as { items: { get(k: string): unknown }[] };
      const index = feeds.items.findIndex((f) => f.get("name") === "ercot-flex");
      doc.deleteIn(["power", "feeds", index, "curtailment", "windows"]);
      const sitePath = path.join(siteDir, "site.yaml");
      writeFileSync(sitePath, doc.toString());
      const noWindowsPlan = planFarm(loadAndValidate(sitePath).spec);
      expect(noWindowsPlan.curtailment.find((c) => c.feed === "ercot-flex")!.windows).toEqual([]);
      const objects = renderCurtailment(noWindowsPlan);
      expect(objects.filter((o) => o.kind === "CronJob").map((o) => o.metadata.name)).toEqual(["curtail-ercot-flex-manual-start", "curtail-ercot-flex-manual-end"]);

      const r = await runCli(["curtail", "start", "--feed", "ercot-flex", "--site", sitePath, "--dry-run"], { cwd: REPO_ROOT, env: { KUBECONFIG: "/nonexistent" } });
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      const [first, second, ...yamlLines] = r.stdout.split("\n");
      expect(first).toBe("# mine2hpc curtail start --feed ercot-flex --dry-run: the Job it would create; nothing was sent to a cluster.");
      expect(second).toBe("# The live CronJob curtail-ercot-flex-manual-start is its template; its uid becomes the Job's ownerReference when created.");
      const job = parseDocument(yamlLines.join("\n")).toJS() as { metadata: { name: string } };
      expect(job.metadata.name).toMatch(/^curtail-ercot-flex-manual-start-manual-\d{14}$/);
      const template = findCurtailmentCronJob(objects, "ercot-flex", "start")!;
      expect(job).toEqual(jobFromCronJob(template as unknown as CronJobSource, job.metadata.name));
      // The same job the demo's windowed site would run: windows only add schedules.
      expect(template.spec).toEqual(rendered.spec);
    },
    TIMEOUT_MS,
  );
});
