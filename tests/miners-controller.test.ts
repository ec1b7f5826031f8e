/**
 * The curtailment controller end to end on loopback: simulated miners (real wire formats),
 * an in-memory Kubernetes API whose "power agent" answers the override label with the
 * node condition the real agent writes, and ClusterQueues. Exact stage reports, logs,
 * Event and exit codes; plus credentials and targets parsing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { capsConfirmed, runCurtailment, CAPS_CONDITION, OVERRIDE_LABEL, type KubeLike } from "../src/runtime/curtail/controller.js";
import { credentialFor, parseCredentials } from "../src/runtime/curtail/credentials.js";
import { mapBounded, runMiners } from "../src/runtime/curtail/miners.js";
import { planFarm } from "../src/plan/index.js";
import { feedTargets, parseFeedTargets, type FeedTargets } from "../src/runtime/curtail/targets.js";
import { loadAndPlan, siteSourceFromArgs } from "../src/cli/site-args.js";
import { REPO_ROOT } from "./helpers/cli.js";
import { SIM_PASSWORD, SIM_USER, startWebhookSim, startAntminerSim, startLuxosSim, startWhatsminerSim, type SimMiner, simPorts } from "./helpers/miner-sims.js";

const running: SimMiner[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

/** In-memory API: nodes with labels/conditions, ClusterQueues, Events. The "agent" confirms an override one tick later. */
function fakeKube(o: { nodes: string[]; queues: string[]; agentAnswers?: boolean; clock: () => number }) {
  const nodes = new Map(o.nodes.map((n) => [n, { labels: {} as Record<string, string>, conditions: [] as Record<string, string>[] }]));
  const queues = new Map(o.queues.map((q) => [q, { stopPolicy: "None" }]));
  const events: Record<string, unknown>[] = [];
  const calls: string[] = [];
  const kube: KubeLike = {
    async get<T>(path: string): Promise<T> {
      calls.push(`GET ${path}`);
      const n = nodes.get(decodeURIComponent(path.split("/").pop()!));
      if (!n) throw new Error(`404 ${path}`);
      return { metadata: { labels: n.labels }, status: { conditions: n.conditions } } as T;
    },
    async patch<T>(path: string, body: unknown, kind: string): Promise<T> {
      calls.push(`PATCH(${kind}) ${path} ${JSON.stringify(body)}`);
      if (path.startsWith("/api/v1/nodes/")) {
        const name = decodeURIComponent(path.split("/").pop()!);
        const n = nodes.get(name)!;
        const labels = (body as { metadata: { labels: Record<string, string | null> } }).metadata.labels;
        for (const [k, v] of Object.entries(labels)) {
          if (v === null) delete n.labels[k];
          else n.labels[k] = v;
        }
        const target = n.labels[OVERRIDE_LABEL];
        if (o.agentAnswers !== false && target !== undefined) {
          // What the agent writes after reading every GPU back (agent.ts patchCondition / describeTargets).
          setTimeout(() => {
            const at = new Date(o.clock()).toISOString().replace(/\.\d{3}Z$/, "Z");
            n.conditions = [{ type: CAPS_CONDITION, status: "True", reason: "CapsInForce", message: `every GPU's limit read back at its target (${target} W on 6 GPUs)`, lastHeartbeatTime: at, lastTransitionTime: at }];
          }, 5);
        }
        return {} as T;
      }
      const q = queues.get(decodeURIComponent(path.split("/").pop()!))!;
      q.stopPolicy = (body as { spec: { stopPolicy: string } }).spec.stopPolicy;
      return { spec: { ...q } } as T;
    },
    async post<T>(path: string, body: unknown): Promise<T> {
      calls.push(`POST ${path}`);
      events.push(body as Record<string, unknown>);
      return body as T;
    },
  };
  return { kube, nodes, queues, events, calls };
}

function logger() {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const mk = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => void lines.push({ level, msg, fields });
  return { lines, log: { info: mk("info"), warn: mk("warn"), error: mk("error") } };
}

async function feedWithSims(faults: ("none" | "keeps-hashing" | "timeout")[]): Promise<{ targets: FeedTargets; sims: SimMiner[] }> {
  const sims: SimMiner[] = [];
  const miners: FeedTargets["miners"] = [];
  for (const [i, fault] of faults.entries()) {
    const kind = i % 3;
    const s = kind === 0 ? await startLuxosSim({ fault }) : kind === 1 ? await startAntminerSim({ fault }) : await startWhatsminerSim({ fault });
    sims.push(s);
    running.push(s);
    miners.push({ hostname: `asic-${String(i).padStart(2, "0")}`, driver: s.kind, host: "127.0.0.1", ...simPorts(s), plannedWatts: 3000 });
  }
  const pue = 1.1;
  return {
    sims,
    targets: {
      version: 1,
      feed: "ercot-flex",
      pue,
      stages: [
        { order: 1, action: "asics-off", shedWatts: Math.round(faults.length * 3000 * pue) },
        { order: 2, action: "gpu-caps-to-min", shedWatts: 2000 },
        { order: 3, action: "drain-queue", shedWatts: 500 },
      ],
      miners,
      webhookUrl: null,
      gpuNodes: [
        { hostname: "gpu-01", minWatts: 100, shedWatts: 1200 },
        { hostname: "gpu-02", minWatts: 150, shedWatts: 800 },
      ],
      clusterQueues: ["curtailable"],
    },
  };
}

const CREDS = parseCredentials(JSON.stringify({ default: { user: SIM_USER, password: SIM_PASSWORD } }), "test");
// Generous per-request limits (a loaded test machine), a short per-miner deadline.
const FAST = { connectTimeoutMs: 2000, requestTimeoutMs: 1500, pollIntervalMs: 50, retries: 1, timeoutSeconds: 4 };

describe("runCurtailment", () => {
  it("start: every stage in plan order, all confirmed → exit 0, a Normal Event", async () => {
    const { targets, sims } = await feedWithSims(["none", "none", "none", "none"]);
    const k = fakeKube({ nodes: ["gpu-01", "gpu-02"], queues: ["curtailable"], clock: Date.now });
    const { log, lines } = logger();
    const r = await runCurtailment({
      phase: "start",
      targets,
      credentials: CREDS,
      kube: k.kube,
      log,
      miners: FAST,
      gpuPollMs: 20,
      gpuTimeoutSeconds: 5,
      event: { namespace: "mine2hpc-system", involved: { apiVersion: "v1", kind: "Pod", name: "curtail-x", namespace: "mine2hpc-system" }, component: "mine2hpc-curtail" },
    });
    expect(r.stages.map((s) => [s.action, s.plannedWatts, s.confirmedWatts, s.met])).toEqual([
      ["asics-off", 13200, 13200, true],
      ["gpu-caps-to-min", 2000, 2000, true],
      ["drain-queue", 500, 500, true],
    ]);
    expect(r.stages.map((s) => s.summary)).toEqual([
      "asics-off: 13.2 kW of 13.2 kW confirmed shed (4 confirmed, 0 failed, 0 unreachable of 4 miners)",
      "gpu-caps-to-min: 2.0 kW of 2.0 kW confirmed shed (2 of 2 nodes read back at minimum)",
      "drain-queue: 1 of 1 ClusterQueues held and draining (drain watts assumed, not metered)",
    ]);
    expect([r.ok, r.exitCode, r.plannedWatts, r.confirmedWatts]).toEqual([true, 0, 15700, 15700]);
    expect(sims.every((s) => s.sleeping)).toBe(true);
    expect(k.nodes.get("gpu-01")!.labels).toEqual({ [OVERRIDE_LABEL]: "100" });
    expect(k.nodes.get("gpu-02")!.labels).toEqual({ [OVERRIDE_LABEL]: "150" });
    expect(k.queues.get("curtailable")).toEqual({ stopPolicy: "HoldAndDrain" });
    // Order: labels before the queue patch, the Event last.
    const writes = k.calls.filter((c) => !c.startsWith("GET"));
    expect(writes).toEqual([
      `PATCH(merge) /api/v1/nodes/gpu-01 {"metadata":{"labels":{"${OVERRIDE_LABEL}":"100"}}}`,
      `PATCH(merge) /api/v1/nodes/gpu-02 {"metadata":{"labels":{"${OVERRIDE_LABEL}":"150"}}}`,
      'PATCH(merge) /apis/kueue.x-k8s.io/v1beta2/clusterqueues/curtailable {"spec":{"stopPolicy":"HoldAndDrain"}}',
      "POST /api/v1/namespaces/mine2hpc-system/events",
    ]);
    expect(k.events).toHaveLength(1);
    expect(k.events[0]).toMatchObject({
      type: "Normal",
      reason: "CurtailmentConfirmed",
      involvedObject: { kind: "Pod", name: "curtail-x" },
      message:
        "feed ercot-flex start: 15.7 kW of 15.7 kW confirmed; asics-off: 13.2 kW of 13.2 kW confirmed shed (4 confirmed, 0 failed, 0 unreachable of 4 miners); gpu-caps-to-min: 2.0 kW of 2.0 kW confirmed shed (2 of 2 nodes read back at minimum); drain-queue: 1 of 1 ClusterQueues held and draining (drain watts assumed, not metered)",
    });
    // One log line per miner, and no secret anywhere in the logs.
    expect(lines.filter((l) => l.msg === "miner curtail confirmed").map((l) => l.fields.miner)).toEqual(expect.arrayContaining(["asic-00", "asic-01", "asic-02", "asic-03"]));
    expect(JSON.stringify(lines)).not.toContain(SIM_PASSWORD);
  });

  it("start: a miner that keeps hashing and one that never answers make the stage short → exit 1, Warning Event; later stages still run", async () => {
    const { targets } = await feedWithSims(["none", "keeps-hashing", "timeout"]);
    const k = fakeKube({ nodes: ["gpu-01", "gpu-02"], queues: ["curtailable"], clock: Date.now });
    const { log, lines } = logger();
    const r = await runCurtailment({
      phase: "start",
      targets,
      credentials: CREDS,
      kube: k.kube,
      log,
      miners: FAST,
      gpuPollMs: 20,
      event: { namespace: "mine2hpc-system", involved: { apiVersion: "v1", kind: "Pod", name: "p" }, component: "c" },
    });
    const asics = r.stages[0]!;
    expect([asics.confirmedWatts, asics.plannedWatts, asics.met]).toEqual([3300, 9900, false]);
    expect(asics.miners!.results.map((m) => [m.hostname, m.outcome])).toEqual([
      ["asic-00", "confirmed"],
      ["asic-01", "failed"],
      ["asic-02", "unreachable"],
    ]);
    expect(asics.summary).toBe("asics-off: 3.3 kW of 9.9 kW confirmed shed (1 confirmed, 1 failed, 1 unreachable of 3 miners)");
    expect(r.stages.slice(1).map((s) => s.met)).toEqual([true, true]);
    expect([r.ok, r.exitCode]).toEqual([false, 1]);
    expect(k.events[0]).toMatchObject({ type: "Warning", reason: "CurtailmentShort" });
    // Miner lines come in completion order; sorted here.
    expect(lines.filter((l) => l.level === "warn").map((l) => [l.msg, l.fields.miner ?? l.fields.stage]).sort((a, b) => String(a[1]).localeCompare(String(b[1])))).toEqual([
      ["miner curtail failed", "asic-01"],
      ["miner curtail unreachable", "asic-02"],
      ["asics-off: 3.3 kW of 9.9 kW confirmed shed (1 confirmed, 1 failed, 1 unreachable of 3 miners)", "asics-off"],
    ]);
  });

  it("start: a node whose agent never confirms is not counted", async () => {
    const { targets } = await feedWithSims([]);
    const k = fakeKube({ nodes: ["gpu-01", "gpu-02"], queues: ["curtailable"], agentAnswers: false, clock: Date.now });
    const r = await runCurtailment({ phase: "start", targets, credentials: CREDS, kube: k.kube, log: logger().log, gpuPollMs: 20, gpuTimeoutSeconds: 0.2 });
    expect(r.stages[1]!.summary).toBe("gpu-caps-to-min: 0.0 kW of 2.0 kW confirmed shed (0 of 2 nodes read back at minimum)");
    expect(r.stages[1]!.nodes!.map((n) => n.reason)).toEqual([
      `waiting: no ${CAPS_CONDITION} condition (is the power agent running on the node?)`,
      `waiting: no ${CAPS_CONDITION} condition (is the power agent running on the node?)`,
    ]);
    expect(r.exitCode).toBe(1);
  });

  it("end: queues released, overrides removed, then miners resumed", async () => {
    const { targets, sims } = await feedWithSims(["none", "none"]);
    for (const s of sims) s.sleeping = true;
    const k = fakeKube({ nodes: ["gpu-01", "gpu-02"], queues: ["curtailable"], clock: Date.now });
    k.nodes.get("gpu-01")!.labels[OVERRIDE_LABEL] = "100";
    k.queues.get("curtailable")!.stopPolicy = "HoldAndDrain";
    const r = await runCurtailment({ phase: "end", targets, credentials: CREDS, kube: k.kube, log: logger().log, miners: FAST });
    expect(r.stages.map((s) => s.action)).toEqual(["drain-queue", "gpu-caps-to-min", "asics-off"]);
    expect(r.stages.map((s) => s.met)).toEqual([true, true, true]);
    expect(k.nodes.get("gpu-01")!.labels).toEqual({});
    expect(k.queues.get("curtailable")).toEqual({ stopPolicy: "None" });
    expect(sims.map((s) => s.sleeping)).toEqual([false, false]);
    expect(r.exitCode).toBe(0);
  });

  it("without cluster access only the miners run; the other stages say so", async () => {
    const { targets } = await feedWithSims(["none"]);
    const r = await runCurtailment({ phase: "start", targets, credentials: CREDS, kube: null, log: logger().log, miners: FAST });
    expect(r.stages.map((s) => s.summary)).toEqual([
      "asics-off: 3.3 kW of 3.3 kW confirmed shed (1 confirmed, 0 failed, 0 unreachable of 1 miners)",
      "gpu-caps-to-min: not run (no cluster access)",
      "drain-queue: not run (no cluster access)",
    ]);
    expect(r.exitCode).toBe(1);
  });
});

describe("capsConfirmed (the power agent's condition)", () => {
  const since = Date.parse("2026-07-01T15:00:00Z");
  const cond = (status: string, message: string, at = "2026-07-01T15:00:03Z") => [{ type: CAPS_CONDITION, status, reason: "CapsInForce", message, lastHeartbeatTime: at, lastTransitionTime: at }];
  it.each([
    [cond("True", "every GPU's limit read back at its target (100 W on 6 GPUs)"), true, "every GPU's limit read back at its target (100 W on 6 GPUs)"],
    [cond("True", "every GPU's limit read back at its target (0: 100 W, 1: 100 W)"), true, "every GPU's limit read back at its target (0: 100 W, 1: 100 W)"],
    [cond("True", "every GPU's limit read back at its target (250 W on 6 GPUs)"), false, "caps in force, but not at 100 W: every GPU's limit read back at its target (250 W on 6 GPUs)"],
    [cond("True", "every GPU's limit read back at its target (100 W on 6 GPUs)", "2026-07-01T14:59:58Z"), false, `${CAPS_CONDITION} not updated since the override was set`],
    [cond("False", "limit not at target on GPU 2 (mismatch)"), false, `${CAPS_CONDITION}=False: CapsInForce limit not at target on GPU 2 (mismatch)`],
  ])("%#", (conditions, ok, reason) => {
    expect(capsConfirmed(conditions, 100, since)).toEqual({ ok, reason });
  });
});

describe("credentials", () => {
  it("most specific wins: byHost, byDriver, default", () => {
    const c = parseCredentials(
      JSON.stringify({ default: { user: "root", password: "d" }, byDriver: { whatsminer: { user: "admin", password: "w" } }, byHost: { "asic-7": { user: "root", password: "h" } } }),
      "creds.json",
    );
    expect(credentialFor(c, "asic-7", "whatsminer")).toEqual({ user: "root", password: "h" });
    expect(credentialFor(c, "asic-8", "whatsminer")).toEqual({ user: "admin", password: "w" });
    expect(credentialFor(c, "asic-8", "antminer")).toEqual({ user: "root", password: "d" });
  });

  it("lists every problem with its key, never a value", () => {
    const text = JSON.stringify({ default: { user: "root", pass: "hunter2" }, byDriver: { cgminer: { user: "a", password: "b" } }, extra: 1 });
    let msg = "";
    try {
      parseCredentials(text, "creds.yaml");
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toBe(
      [
        "creds.yaml: 4 problem(s):",
        "  - extra: unknown key (default, byDriver, byHost)",
        "  - default.pass: unknown key (only user and password)",
        "  - default.password: expected a string",
        "  - byDriver.cgminer: unknown driver (luxos, braiins, antminer, whatsminer, webhook)",
      ].join("\n"),
    );
    expect(msg).not.toContain("hunter2");
  });
});

describe("targets", () => {
  it("the demo plan's curtailable feed: stages, miners, GPU nodes and queues, deterministic", () => {
    const { plan } = loadAndPlan(siteSourceFromArgs({ values: {}, cwd: REPO_ROOT }), REPO_ROOT);
    const a = feedTargets(plan, "ercot-flex")!;
    expect(JSON.stringify(feedTargets(plan, "ercot-flex"))).toBe(JSON.stringify(a));
    expect(a.stages).toEqual(plan.curtailment.find((c) => c.feed === "ercot-flex")!.stages.map((s) => ({ order: s.order, action: s.action, shedWatts: s.shedWatts })));
    const asicStage = plan.curtailment.find((c) => c.feed === "ercot-flex")!.stages[0]!;
    expect(a.miners.map((m) => m.hostname)).toEqual(asicStage.targets);
    // Planned miner watts × PUE is the plan's stage figure (within its rounding).
    expect(Math.abs(Math.round(a.miners.reduce((s, m) => s + m.plannedWatts, 0) * a.pue) - asicStage.shedWatts)).toBeLessThanOrEqual(1);
    expect(parseFeedTargets(JSON.stringify(a), "x")).toEqual(a);
    expect(feedTargets(plan, "no-such-feed")).toBeUndefined();
  });

  it("leaves offline miners and GPU nodes out of the targets and of the stage figures the job checks", () => {
    const { plan } = loadAndPlan(siteSourceFromArgs({ values: {}, cwd: REPO_ROOT }), REPO_ROOT);
    const before = feedTargets(plan, "ercot-flex")!;
    const offlineAsic = plan.asics.find((a) => a.hostname === before.miners[0]!.hostname)!;
    const offlineNode = plan.nodes.find((n) => n.hostname === before.gpuNodes[0]!.hostname)!;
    offlineAsic.state = "offline";
    offlineNode.state = "offline";
    const after = feedTargets(plan, "ercot-flex")!;
    expect(after.miners.map((m) => m.hostname)).toEqual(before.miners.slice(1).map((m) => m.hostname));
    expect(after.gpuNodes.map((n) => n.hostname)).toEqual(before.gpuNodes.slice(1).map((n) => n.hostname));
    expect(after.stages.map((s) => s.shedWatts)).toEqual([
      before.stages[0]!.shedWatts - Math.round(offlineAsic.drawWatts * plan.site.pue),
      before.stages[1]!.shedWatts - before.gpuNodes[0]!.shedWatts,
      before.stages[2]!.shedWatts,
    ]);
  });

  it("carries a miner's fleetId from the site through the plan and the targets into the webhook body", async () => {
    const site = loadAndPlan(siteSourceFromArgs({ values: {}, cwd: REPO_ROOT }), REPO_ROOT).loaded.spec;
    const asic = site.machines.find((m) => m.hostname === "asic-c01-01")!;
    asic.fleetId = "foreman:4711";
    const plan = planFarm(site);
    expect(plan.asics.find((a) => a.hostname === "asic-c01-01")!.fleetId).toBe("foreman:4711");
    expect(plan.asics.filter((a) => a.fleetId !== undefined)).toHaveLength(1);
    const t = feedTargets(plan, "ercot-flex")!;
    const m = t.miners.find((x) => x.hostname === "asic-c01-01")!;
    expect(m.fleetId).toBe("foreman:4711");
    expect(parseFeedTargets(JSON.stringify(t), "x")).toEqual(t);
    const hook = await startWebhookSim(204);
    try {
      const specs = t.miners.slice(0, 2).map((x) => ({ ...x, driver: "webhook" as const }));
      await runMiners(specs, "curtail", parseCredentials("{}", "c"), { feed: "ercot-flex", webhookUrl: hook.url, timeoutSeconds: 5 });
      expect(hook.bodies).toEqual([{ feed: "ercot-flex", action: "asics-off", hosts: ["asic-c01-01", "asic-c01-02"], fleetIds: { "asic-c01-01": "foreman:4711" } }]);
    } finally {
      await hook.close();
    }
    expect(() => parseFeedTargets(JSON.stringify({ ...t, miners: [{ ...m, fleetId: "" }] }), "t.json")).toThrow("miners[0].fleetId: expected the fleet tool's id (a non-empty string)");
  });

  it("a bad targets file lists its problems", () => {
    expect(() => parseFeedTargets('{"version":2,"feed":"","pue":0.5,"stages":[],"miners":[{"hostname":"a","driver":"x","host":"h","port":1,"plannedWatts":1}],"gpuNodes":[],"clusterQueues":[]}', "t.json")).toThrow(
      [
        "t.json: 4 problem(s):",
        "  - version: expected 1, got 2",
        "  - feed: expected a feed name",
        "  - pue: expected a number ≥ 1",
        '  - miners[0].driver: unknown driver "x"',
      ].join("\n"),
    );
  });
});

describe("mapBounded", () => {
  it("never has more than the limit in flight and keeps input order", async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapBounded([...Array(50).keys()], 7, async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, (i * 7) % 5));
      inFlight--;
      return i * 2;
    });
    expect(peak).toBe(7);
    expect(out).toEqual([...Array(50).keys()].map((i) => i * 2));
  });
});

describe("in the cluster: runtime.mjs curtail and the credentials Secret", () => {
  it("runs a phase from the mounted targets and credentials files, and posts the Event on its pod", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const { runCurtailCommand } = await import("../src/runtime/curtail/command.js");
    const { renderMinerCredentialsSecret } = await import("../src/render/curtailment.js");
    const { targets, sims } = await feedWithSims(["none", "none"]);
    const dir = mkdtempSync(path.join(os.tmpdir(), "curtail-cmd-"));
    writeFileSync(path.join(dir, "t.json"), JSON.stringify(targets));
    const secret = renderMinerCredentialsSecret({ byHost: { "asic-01": { user: SIM_USER, password: SIM_PASSWORD } }, default: { user: SIM_USER, password: SIM_PASSWORD } });
    expect(secret).toMatchObject({ kind: "Secret", metadata: { name: "mine2hpc-miner-credentials", namespace: "mine2hpc-system" }, type: "Opaque" });
    const file = (secret.stringData as Record<string, string>)["credentials.json"]!;
    expect(Object.keys(JSON.parse(file))).toEqual(["default", "byHost"]);
    writeFileSync(path.join(dir, "c.json"), file);
    const k = fakeKube({ nodes: ["gpu-01", "gpu-02"], queues: ["curtailable"], clock: Date.now });
    const { log } = logger();
    const r = await runCurtailCommand("start", { feed: "ercot-flex", targets: path.join(dir, "t.json"), credentials: path.join(dir, "c.json"), timeout: "10" }, {
      kube: k.kube,
      log,
      env: { POD_NAME: "curtail-ercot-flex-abc", POD_NAMESPACE: "mine2hpc-system", POD_UID: "u-1" },
    });
    expect(r.code).toBe(0);
    expect(sims.map((s) => s.sleeping)).toEqual([true, true]);
    expect(k.events[0]).toMatchObject({ involvedObject: { kind: "Pod", name: "curtail-ercot-flex-abc", namespace: "mine2hpc-system", uid: "u-1" }, reason: "CurtailmentConfirmed" });
    await expect(runCurtailCommand("stop", { feed: "ercot-flex" }, { kube: null, log, env: {} })).rejects.toThrow("expected 'curtail start' or 'curtail end', got 'stop'");
    await expect(runCurtailCommand("start", { feed: "other", targets: path.join(dir, "t.json") }, { kube: null, log, env: {} })).rejects.toThrow(`${path.join(dir, "t.json")} is feed ercot-flex, not other`);
  });

  it("a credentials file that is not JSON is refused without an excerpt", () => {
    expect(() => parseCredentials('{"default": {"user": "root", "password": "hunter2"', "/etc/mine2hpc/miner-credentials/credentials.json")).toThrow(
      "/etc/mine2hpc/miner-credentials/credentials.json: not valid JSON.\n  fix: write it as { default: { user, password }, byDriver: { DRIVER: {…} }, byHost: { HOSTNAME: {…} } }.",
    );
  });
});

describe("bundle/runtime.mjs curtail (the file the Jobs run)", () => {
  it("curtails simulated miners with no API access (miners first), logs JSON lines, exits by the confirmed shed", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const { execFile } = await import("node:child_process");
    const { targets, sims } = await feedWithSims(["none", "none"]);
    const dir = mkdtempSync(path.join(os.tmpdir(), "curtail-bundle-"));
    const minersOnly = { ...targets, stages: targets.stages.map((st) => (st.action === "asics-off" ? st : { ...st, shedWatts: 0 })), gpuNodes: [], clusterQueues: [] };
    writeFileSync(path.join(dir, "t.json"), JSON.stringify(minersOnly));
    writeFileSync(path.join(dir, "c.json"), JSON.stringify({ default: { user: SIM_USER, password: SIM_PASSWORD } }));
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const env = { PATH: process.env.PATH ?? "" };
        execFile(process.execPath, [path.join(REPO_ROOT, "bundle", "runtime.mjs"), "curtail", ...args], { env, timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const r = await run(["start", "--feed", "ercot-flex", "--targets", path.join(dir, "t.json"), "--credentials", path.join(dir, "c.json"), "--timeout", "20"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ level: "error", msg: "no Kubernetes API access: only the miner stage runs", component: "mine2hpc-curtail" });
    expect(lines.filter((l) => l.msg === "miner curtail confirmed").map((l) => l.miner).sort()).toEqual(["asic-00", "asic-01"]);
    expect(lines.at(-1)).toMatchObject({ msg: "curtailment confirmed", plannedWatts: 6600, confirmedWatts: 6600 });
    expect(r.stdout).not.toContain(SIM_PASSWORD);
    expect(sims.map((s) => s.sleeping)).toEqual([true, true]);
    const bad = await run(["stop"]);
    expect([bad.code, bad.stderr]).toEqual([2, "error: expected 'curtail start' or 'curtail end' and flags, got 'curtail stop'.\n  fix: runtime.mjs curtail start --feed FEED\n"]);
  });
});
