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
const AGENT_TOKEN = "CONFIGK3SAGENTTOKENPLAINTEXT7";
let rec: MockRecorder;
let program: Record<string, pulumi.Output<unknown> | undefined>;

beforeAll(async () => {
  rec = await setupMocks({
    stack: "demo",
    config: {
      "mine2hpc:site": "stacks/demo/site.yaml",
      "mine2hpc:sshPrivateKey": "DEMOKEYPLAINTEXT",
      "mine2hpc:k3sToken": TOKEN,
      "mine2hpc:k3sAgentToken": AGENT_TOKEN,
    },
    secretKeys: ["mine2hpc:sshPrivateKey", "mine2hpc:k3sToken", "mine2hpc:k3sAgentToken"],
  });
  process.chdir(repoRoot);
  program = (await import("../src/index.js")).default as unknown as typeof program;
  await rec.settle();
});

/** Every input value that is not inside a secret wrapper, as one JSON text. */
function plainTextOf(rs: readonly { inputs: Record<string, unknown> }[]): string {
  return JSON.stringify(rs.map((r) => Object.entries(r.inputs).filter(([, v]) => !isSecretWrapper(v))));
}

describe("src/index.ts on the demo stack", () => {
  const plan = () => planFarm(loadAndValidate(`${repoRoot}stacks/demo/site.yaml`).spec);

  it("registers one bootstrap per Kubernetes node (which also sets its labels), none for ASICs, no generated token", () => {
    const p = plan();
    const names = new Set(p.nodes.map((n) => `${p.site.name}-${n.hostname}`));
    const bootstraps = rec.ofType("command:remote:Command").filter((r) => names.has(r.name));
    expect(bootstraps.map((r) => r.name).sort()).toEqual([...names].sort());
    // The other commands: the kubeconfig and CA reads on the first server, the agents' files put
    // in place there, and the Kueue webhook check.
    expect(rec.ofType("command:remote:Command").filter((r) => !names.has(r.name)).map((r) => r.name).sort()).toEqual(
      [
        `${p.site.name}-cluster-ca`,
        `${p.site.name}-kubeconfig`,
        `${p.site.name}-kueue-webhooks-ready`,
        `${p.site.name}-publish`,
        ...(p.network.loadBalancerPool ? [`${p.site.name}-metallb-webhooks-ready`] : []),
      ].sort(),
    );
    expect(rec.ofType("kubernetes:core/v1:NodePatch")).toEqual([]);
    for (const a of p.asics) expect(bootstraps.map((r) => r.name)).not.toContain(`${p.site.name}-${a.hostname}`);
    // Both tokens come from config, so nothing is generated.
    expect(rec.ofType("random:index/randomPassword:RandomPassword")).toEqual([]);
    expect(rec.ofType("mine2hpc:index:FarmCluster").map((r) => r.name)).toEqual([p.site.name]);
  });

  it("passes the configured tokens only as secrets: servers both, agents the agent token in secure format", async () => {
    const { secureJoinToken } = await import("../src/render/index.js");
    const { MOCK_CA_HASH } = await import("./mocks.js");
    const p = plan();
    const byName = new Map(p.nodes.map((n) => [`${p.site.name}-${n.hostname}`, n]));
    const bootstraps = rec.ofType("command:remote:Command").filter((c) => byName.has(c.name));
    expect(bootstraps).toHaveLength(p.nodes.length);
    for (const r of bootstraps) {
      const node = byName.get(r.name)!;
      expect(isSecretWrapper(r.inputs.stdin)).toBe(true);
      const stdin = (r.inputs.stdin as { value: string }).value;
      if (node.clusterInit) expect(stdin).toBe(`${TOKEN}\n${AGENT_TOKEN}\n`);
      else if (node.k3sRole === "server") expect(stdin).toBe(`${secureJoinToken(MOCK_CA_HASH, "server", TOKEN)}\n${AGENT_TOKEN}\n`);
      else expect(stdin).toBe(`${secureJoinToken(MOCK_CA_HASH, "agent", AGENT_TOKEN)}\n`);
    }
    const plainText = plainTextOf(rec.registrations);
    expect(plainText).not.toContain("client-key-data");
    expect(plainText).not.toContain(TOKEN);
    expect(plainText).not.toContain(AGENT_TOKEN);
    expect(plainText).not.toContain("DEMOKEYPLAINTEXT");
  });

  it("exports the endpoint, a secret kubeconfig, pools and circuit loads", async () => {
    const p = plan();
    // No clusterJoin or partition on an unpartitioned site.
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
