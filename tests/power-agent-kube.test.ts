/**
 * The runtime's Kubernetes client against the fake API on loopback: token re-read per request,
 * patch content types, errors with the API's status, request deadlines, watch resume and 410.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KubeApiError, KubeClient, inClusterConnection, watchCollection } from "../src/runtime/kube.js";
import { FakeKube, gpuNode } from "./helpers/fake-kube.js";

let fake: FakeKube | null = null;
afterEach(async () => {
  await fake?.stop();
  fake = null;
});

describe("KubeClient", () => {
  it("reads the token file again for every request (projected tokens rotate)", async () => {
    fake = new FakeKube();
    const url = await fake.start();
    fake.putNode(gpuNode("n1", {}));
    const dir = mkdtempSync(path.join(os.tmpdir(), "m2h-kube-"));
    const tokenFile = path.join(dir, "token");
    writeFileSync(tokenFile, "first\n");
    const client = new KubeClient({ server: url, tokenFile });
    await client.get("/api/v1/nodes/n1");
    writeFileSync(tokenFile, "second\n");
    await client.get("/api/v1/nodes/n1");
    client.close();
    expect(fake.requests.map((r) => r.authorization)).toEqual(["Bearer first", "Bearer second"]);
  });

  it("sends each patch kind with its content type and reports the API's refusal", async () => {
    fake = new FakeKube();
    const client = new KubeClient({ server: await fake.start() });
    fake.putNode(gpuNode("n1", { a: "1" }));
    await client.patch("/api/v1/nodes/n1", { metadata: { labels: { b: "2" } } }, "merge");
    await client.patch("/api/v1/nodes/n1/status", { status: { conditions: [{ type: "X", status: "True" }] } }, "strategic");
    const err = await client.patch("/api/v1/nodes/n1", [{ op: "test", path: "/metadata/labels/a", value: "9" }], "json").catch((e: unknown) => e);
    client.close();
    expect(fake.requests.map((r) => r.contentType)).toEqual(["application/merge-patch+json", "application/strategic-merge-patch+json", "application/json-patch+json"]);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(422);
    expect((err as KubeApiError).reason).toBe("Invalid");
    const node = fake.node("n1");
    expect(node.metadata.labels).toMatchObject({ a: "1", b: "2" });
    expect(node.status.conditions.map((c: { type: string }) => c.type)).toEqual(["Ready", "X"]);
  });

  it("gives up on a silent server after its deadline, with status 0", async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const client = new KubeClient({ server: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, timeoutMs: 150 });
    const err = (await client.get("/api/v1/nodes/n1").catch((e: unknown) => e)) as KubeApiError;
    client.close();
    silent.closeAllConnections();
    silent.close();
    expect(err.status).toBe(0);
    expect(err.message).toBe("GET /api/v1/nodes/n1: no answer from the API (no answer within 150 ms)");
  });

  it("builds the in-cluster connection from the pod's environment", () => {
    expect(inClusterConnection({ KUBERNETES_SERVICE_HOST: "10.43.0.1", KUBERNETES_SERVICE_PORT: "443" })).toEqual({
      server: "https://10.43.0.1:443",
      tokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
      caFile: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
    });
    expect(inClusterConnection({ KUBERNETES_SERVICE_HOST: "fd00::1" }).server).toBe("https://[fd00::1]:443");
    expect(() => inClusterConnection({})).toThrow("KUBERNETES_SERVICE_HOST is not set");
  });
});

describe("watchCollection", () => {
  it("lists, follows events, resumes after a cut stream and relists after 410 Gone", async () => {
    fake = new FakeKube();
    const client = new KubeClient({ server: await fake.start() });
    fake.putNode(gpuNode("n1", { v: "1" }));
    fake.putNode(gpuNode("other", { v: "x" }));
    const seen: string[] = [];
    const errors: number[] = [];
    const controller = new AbortController();
    const done = watchCollection<{ metadata?: { name?: string; labels?: Record<string, string> } }>(client, {
      path: "/api/v1/nodes",
      fieldSelector: "metadata.name=n1",
      signal: controller.signal,
      backoff: { initialMs: 10, maxMs: 40 },
      onList: (items) => seen.push(`list:${items.map((n) => `${n.metadata?.name}=${n.metadata?.labels?.v}`).join(",")}`),
      onEvent: (type, n) => seen.push(`${type}:${n.metadata?.labels?.v}`),
      onError: (e) => errors.push(e.status),
    });
    const until = async (n: number) => {
      for (let i = 0; i < 500 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    await until(1);
    fake.label("other", { v: "y" }); // filtered out by the field selector
    fake.label("n1", { v: "2" });
    await until(2);
    fake.setDown(true);
    fake.label("n1", { v: "3" });
    fake.setDown(false);
    await until(3); // resumed from its resourceVersion: the change made while cut arrives
    fake.setDown(true);
    fake.label("n1", { v: "4" });
    fake.compact();
    fake.setDown(false);
    await until(4);
    controller.abort();
    await done;
    client.close();
    expect(seen).toEqual(["list:n1=1", "MODIFIED:2", "MODIFIED:3", "list:n1=4"]);
    expect(errors.every((s) => s === 0)).toBe(true);
  });
});
