/**
 * The Pulumi program itself (src/index.ts) under mocks, with the demo stack's config:
 * stack config in, FarmCluster out, outputs exported; the token from config stays secret.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { setupMocks, isSecretWrapper, valueOf, type MockRecorder } from "./mocks.js";
import { loadAndValidate } from "../src/site/load.js";
import { planFarm } from "../src/plan/index.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const TOKEN = "CONFIGK3STOKENPLAINTEXT42";
let rec: MockRecorder;
let program: Record<string, pulumi.Output<unknown>>;

beforeAll(async () => {
  rec = await setupMocks({
    stack: "demo",
    config: { "mine2hpc:site": "stacks/demo/site.yaml", "mine2hpc:sshPrivateKey": "DEMOKEYPLAINTEXT", "mine2hpc:k3sToken": TOKEN },
    secretKeys: ["mine2hpc:sshPrivateKey", "mine2hpc:k3sToken"],
  });
  process.chdir(repoRoot);
  program = await import("../src/index.js");
  await rec.settle();
});

/** Every input value that is not inside a secret wrapper, as one JSON text. */
function plainTextOf(rs: readonly { inputs: Record<string, unknown> }[]): string {
  return JSON.stringify(rs.map((r) => Object.entries(r.inputs).filter(([, v]) => !isSecretWrapper(v))));
}

describe("src/index.ts on the demo stack", () => {
  const plan = () => planFarm(loadAndValidate(`${repoRoot}stacks/demo/site.yaml`).spec);

  it("registers one bootstrap and one NodePatch per Kubernetes node, none for ASICs, no generated token", () => {
    const p = plan();
    const bootstraps = rec.ofType("command:remote:Command").filter((r) => !r.name.endsWith("-kubeconfig"));
    expect(bootstraps.map((r) => r.name).sort()).toEqual(p.nodes.map((n) => `${p.site.name}-${n.hostname}`).sort());
    expect(rec.ofType("kubernetes:core/v1:NodePatch")).toHaveLength(p.nodes.length);
    for (const a of p.asics) expect(bootstraps.map((r) => r.name)).not.toContain(`${p.site.name}-${a.hostname}`);
    // The token comes from config, so nothing is generated.
    expect(rec.ofType("random:index/randomPassword:RandomPassword")).toEqual([]);
    expect(rec.ofType("mine2hpc:index:FarmCluster").map((r) => r.name)).toEqual([p.site.name]);
  });

  it("passes the configured token (and to agents the admin kubeconfig) only as a secret", () => {
    const p = plan();
    const roles = new Map(p.nodes.map((n) => [`${p.site.name}-${n.hostname}`, n.k3sRole]));
    const agents = rec.ofType("command:remote:Command").filter((c) => roles.get(c.name) === "agent");
    expect(agents).toHaveLength(p.nodes.filter((n) => n.k3sRole === "agent").length);
    for (const r of rec.ofType("command:remote:Command").filter((c) => !c.name.endsWith("-kubeconfig"))) {
      expect(isSecretWrapper(r.inputs.stdin)).toBe(true);
      const lines = (r.inputs.stdin as { value: string }).value.split("\n");
      // Line 1 is the token on every node; agents carry the admin kubeconfig (pointed at the endpoint) after it.
      expect(lines[0]).toBe(TOKEN);
      if (roles.get(r.name) === "server") expect(lines).toEqual([TOKEN]);
      else expect(lines.slice(1).join("\n")).toContain(`server: https://${p.kubernetes.apiEndpoint}:6443`);
    }
    expect(plainTextOf(rec.registrations)).not.toContain("client-key-data");
    const plainText = plainTextOf(rec.registrations);
    expect(plainText).not.toContain(TOKEN);
    expect(plainText).not.toContain("DEMOKEYPLAINTEXT");
  });

  it("exports the endpoint, a secret kubeconfig, pools and circuit loads", async () => {
    const p = plan();
    expect(Object.keys(program).sort()).toEqual(["apiEndpoint", "circuitLoads", "kubeconfig", "pools"]);
    expect(await valueOf(program.apiEndpoint!)).toBe(p.kubernetes.apiEndpoint);
    expect(await pulumi.isSecret(program.kubeconfig!)).toBe(true);
    expect(await valueOf(program.kubeconfig!)).toContain(`server: https://${p.kubernetes.apiEndpoint}:6443`);
    expect(await valueOf(program.pools!)).toEqual(p.pools.map((x) => ({ name: x.name, nodes: x.nodes.length, gpus: x.gpus, capWatts: x.capWatts })));
    expect(await valueOf(program.circuitLoads!)).toEqual(
      p.circuits.map((c) => ({ id: c.id, loadWatts: c.loadWatts, usableWatts: c.usableWatts, loadPercent: c.loadPercent })),
    );
  });
});
