/**
 * The power agent against a fake Kubernetes API on loopback and a fake nvidia-smi: fail-safe
 * order, taint only after read-back, SIGTERM keeps caps, drift, unreachable API, watch-driven
 * label changes, non-settable limits, driver not ready, clamping. Intervals are 0.2 s; every
 * wait is bounded; no assertion is on elapsed time.
 */
import { afterEach, describe, expect, it } from "vitest";
import { AgentWorld, h200, waitFor } from "./helpers/power-agent-harness.js";

const CAP = "mine2hpc.io/gpu-power-cap";
const OVERRIDE = "mine2hpc.io/gpu-power-cap-override";
const G0 = h200(0).uuid;
const G1 = h200(1).uuid;

let world: AgentWorld | null = null;
afterEach(async () => {
  await world?.close();
  world = null;
});

function isQuery(argv: string[]): boolean {
  return argv.some((a) => a.startsWith("--query-gpu="));
}

describe("fail-safe first", () => {
  it("applies the safe cap from the file before the first API request", async () => {
    world = new AgentWorld({ safeCap: 450 });
    await world.startApi({ [CAP]: "500" });
    world.startAgent();
    await waitFor(() => !world!.hasTaint(), "taint removed");
    const pl = world.plCalls();
    // First the safe cap on both GPUs, then the label's 500 W.
    expect(pl.slice(0, 2).map((c) => [c.uuid, c.watts])).toEqual([
      [G0, 450],
      [G1, 450],
    ]);
    const firstApi = world.kube.requests[0]!;
    expect(pl[1]!.at < firstApi.at).toBe(true);
    // Persistence mode was enabled before the API was asked anything either.
    const pm = world.calls().filter((c) => c.argv.includes("-pm"));
    expect(pm.map((c) => c.argv)).toEqual([
      ["-i", G0, "-pm", "1"],
      ["-i", G1, "-pm", "1"],
    ]);
    expect(pm[1]!.at < firstApi.at).toBe(true);
    expect(pl.slice(2).map((c) => [c.uuid, c.watts])).toEqual([
      [G0, 500],
      [G1, 500],
    ]);
    expect(world.state().gpus.map((g) => g.limit)).toEqual([500, 500]);
  });

  it("uses each GPU's minimum without a safe cap file, and keeps a limit already below it", async () => {
    world = new AgentWorld({ safeCap: null, gpus: [h200(0), h200(1, { limit: 100, min: 100 })] });
    await world.kube.start(); // no node: the API answers 404 for it
    // No node in the API (404): the safe level is the target, and it is read back in force.
    expect(await world.runOnce()).toBe(0);
    const pl = world.plCalls();
    expect(pl.map((c) => [c.uuid, c.watts])).toEqual([[G0, 200]]);
    expect(world.kube.requests[0]!.at > pl[0]!.at).toBe(true);
  });
});

describe("taint and read-back", () => {
  it("removes the taint only after every limit is read back at its target, keeping other taints", async () => {
    world = new AgentWorld();
    const other = { key: "example.com/maintenance", value: "x", effect: "NoSchedule" };
    await world.startApi({ [CAP]: "500" }, [other, { key: "mine2hpc.io/power-unverified", effect: "NoSchedule" }]);
    world.startAgent();
    await waitFor(() => !world!.hasTaint(), "taint removed");
    const patch = world.kube.requestsMatching("PATCH", `/api/v1/nodes/${world.nodeName}`).find((r) => !r.path.endsWith("/status"))!;
    expect(patch.contentType).toBe("application/json-patch+json");
    expect(patch.body).toEqual([
      { op: "test", path: "/spec/taints", value: [other, { key: "mine2hpc.io/power-unverified", effect: "NoSchedule" }] },
      { op: "replace", path: "/spec/taints", value: [other] },
    ]);
    expect(world.kube.node(world.nodeName).spec.taints).toEqual([other]);
    // The read-back query after the last -pl 500 came before the taint patch.
    const calls = world.calls();
    const lastPl = calls.map((c, i) => ({ c, i })).filter(({ c }) => c.argv.includes("-pl") && c.argv.includes("500")).pop()!;
    const readBack = calls.slice(lastPl.i + 1).find((c) => isQuery(c.argv))!;
    expect(readBack.at < patch.at).toBe(true);
    await waitFor(() => world!.condition()?.status === "True", "condition True");
    expect(world.condition()).toMatchObject({ status: "True", reason: "CapsInForce", message: "every GPU's limit read back at its target (500 W on 2 GPUs)" });
  });

  it("keeps the taint, sets the condition and posts an event when a limit does not take", async () => {
    world = new AgentWorld({ gpus: [h200(0), h200(1, { ignoresPl: true })] });
    await world.startApi({ [CAP]: "500" });
    world.startAgent();
    await waitFor(() => world!.kube.events.length > 0, "an event");
    await waitFor(() => world!.plCalls().filter((c) => c.uuid === G1 && c.watts === 500).length >= 2, "two tries on GPU 1");
    expect(world.hasTaint()).toBe(true);
    expect(world.kube.requestsMatching("PATCH", `/api/v1/nodes/${world.nodeName}`).filter((r) => !r.path.endsWith("/status"))).toEqual([]);
    expect(world.condition()).toMatchObject({ status: "False", reason: "CannotCorrectLimit", message: "limit not at target on GPU 1 (read back 700 W after setting 500 W)" });
    expect(world.kube.events[0]).toMatchObject({
      type: "Warning",
      reason: "PowerCapsNotInForce",
      involvedObject: { kind: "Node", name: world.nodeName, uid: `uid-${world.nodeName}` },
      metadata: { namespace: "default" },
      source: { component: "mine2hpc-power-agent", host: world.nodeName },
    });
    // One event per transition, not one per pass.
    expect(world.kube.events).toHaveLength(1);
  });

  it("puts the taint back when a drift cannot be corrected", async () => {
    world = new AgentWorld();
    await world.startApi({ [CAP]: "500" });
    world.startAgent();
    await waitFor(() => !world!.hasTaint(), "taint removed");
    // Driver reload: limits back to default, and the GPU now refuses to move.
    world.mutate((s) => {
      s.gpus[0]!.limit = 700;
      s.gpus[0]!.ignoresPl = true;
    });
    await waitFor(() => world!.hasTaint() && world!.condition()?.status === "False", "taint back and condition False");
    const add = world.kube.requestsMatching("PATCH", `/api/v1/nodes/${world.nodeName}`).filter((r) => !r.path.endsWith("/status")).pop()!;
    expect(add.body).toEqual([
      { op: "test", path: "/spec/taints", value: [] },
      { op: "replace", path: "/spec/taints", value: [{ key: "mine2hpc.io/power-unverified", effect: "NoSchedule" }] },
    ]);
    expect(world.condition()?.reason).toBe("CannotCorrectLimit");
  });
});

describe("drift and outages", () => {
  it("corrects a limit raised by a driver reload at the next pass and counts it", async () => {
    world = new AgentWorld();
    await world.startApi({ [CAP]: "500" });
    world.startAgent();
    await waitFor(() => !world!.hasTaint(), "taint removed");
    const mark = world.calls().length;
    world.mutate((s) => (s.gpus[1]!.limit = 700));
    await waitFor(() => world!.plCalls().filter((c) => c.uuid === G1 && c.watts === 500).length === 2 && world!.state().gpus[1]!.limit === 500, "correction");
    const after = world.calls().slice(mark);
    // The first query after the reload is followed directly by the correction: one pass.
    const q = after.findIndex((c) => isQuery(c.argv));
    const fix = after.findIndex((c) => c.argv.includes("-pl"));
    expect(fix).toBe(q + 1);
    expect(after[fix]!.argv).toEqual(["-i", G1, "-pl", "500"]);
    expect(world.state().gpus.map((g) => g.limit)).toEqual([500, 500]);
    expect(world.hasTaint()).toBe(false);
    const port = world.metricsPort()!;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toContain(`mine2hpc_gpu_power_drift_corrections_total{node="gpu-01",uuid="${G1}",index="1"} 1\n`);
    expect(text).toContain(`mine2hpc_gpu_power_drift_corrections_total{node="gpu-01",uuid="${G0}",index="0"} 0\n`);
    expect(text).toContain(`mine2hpc_gpu_power_target_watts{node="gpu-01",uuid="${G0}",index="0"} 500\n`);
    expect(text).toContain(`mine2hpc_gpu_power_limit_watts{node="gpu-01",uuid="${G1}",index="1"} 500\n`);
    expect(text).toContain(`mine2hpc_gpu_power_draw_watts{node="gpu-01",uuid="${G0}",index="0"} 77.71\n`);
    expect(text).toContain('mine2hpc_power_caps_in_force{node="gpu-01"} 1\n');
    expect(text).toMatch(/mine2hpc_power_last_success_timestamp_seconds\{node="gpu-01"\} \d{10}\n/);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it("never raises a limit before it has read a label: an API down since the start keeps a curtailment in force", async () => {
    // GPU 0 at 250 W (a curtailment override was in force when the agent restarted), GPU 1 at its 700 W default.
    world = new AgentWorld({ safeCap: 450, gpus: [h200(0, { limit: 250 }), h200(1)] });
    await world.startApi({ [CAP]: "500", [OVERRIDE]: "250" });
    world.kube.setDown(true);
    world.startAgent({ interval: "0.2" });
    await waitFor(() => world!.calls().filter((c) => isQuery(c.argv)).length >= 6, "passes while the API is down");
    // Only GPU 1 was lowered, to the safe cap; GPU 0 stayed at 250 W in every pass.
    expect(world.plCalls().map((c) => [c.uuid, c.watts])).toEqual([[G1, 450]]);
    expect(world.state().gpus.map((g) => g.limit)).toEqual([250, 450]);
    // The API back: the override label is the target, and nothing moves.
    world.kube.setDown(false);
    await waitFor(() => !world!.hasTaint() && world!.condition()?.message === "every GPU's limit read back at its target (250 W on 2 GPUs)", "override read back", 45_000); // the watch reconnects after its backoff (up to 30 s)
    expect(world.plCalls().map((c) => [c.uuid, c.watts])).toEqual([
      [G1, 450],
      [G1, 250],
    ]);
  });

  it("keeps and re-applies the last target while the API is unreachable", async () => {
    world = new AgentWorld({ safeCap: 450 });
    await world.startApi({ [CAP]: "500" });
    world.startAgent();
    await waitFor(() => !world!.hasTaint(), "taint removed");
    world.kube.setDown(true);
    const mark = world.calls().length;
    world.mutate((s) => (s.gpus[0]!.limit = 700));
    await waitFor(() => world!.calls().length > mark + 6, "passes while the API is down");
    const pl = world.calls().slice(mark).filter((c) => c.argv.includes("-pl"));
    // Re-applied the last target read (500), not the safe cap (450), not the default.
    expect(pl.map((c) => c.argv)).toEqual([["-i", G0, "-pl", "500"]]);
    expect(world.state().gpus.map((g) => g.limit)).toEqual([500, 500]);
    expect(world.logs().some((l) => l.msg === "node watch failed; keeping the current caps and retrying")).toBe(true);
    // Back: the watch resumes and a label change lands again.
    world.kube.setDown(false);
    world.kube.label(world.nodeName, { [CAP]: "400" });
    await waitFor(() => world!.state().gpus.every((g) => g.limit === 400), "400 W after the API is back");
  });

  it("applies a label change from the watch without waiting for the interval", async () => {
    world = new AgentWorld();
    await world.startApi({ [CAP]: "500" });
    world.startAgent({ interval: "3600" });
    await waitFor(() => !world!.hasTaint(), "taint removed");
    world.kube.label(world.nodeName, { [OVERRIDE]: "250" });
    await waitFor(() => world!.state().gpus.every((g) => g.limit === 250), "override applied");
    world.kube.label(world.nodeName, { [OVERRIDE]: null });
    await waitFor(() => world!.state().gpus.every((g) => g.limit === 500), "planned cap restored");
    // An override equal to the planned cap changes no limit, yet the condition is written again (a job waits for it).
    const statusPatches = () => world!.kube.requestsMatching("PATCH", `/api/v1/nodes/${world!.nodeName}/status`).length;
    await waitFor(() => world!.condition()?.message === "every GPU's limit read back at its target (500 W on 2 GPUs)", "condition at 500 W");
    const before = statusPatches();
    world.kube.label(world.nodeName, { [OVERRIDE]: "500" });
    await waitFor(() => statusPatches() === before + 1, "condition re-written");
    // One list, then watches only: no periodic GETs of the node.
    expect(world.kube.requestsMatching("GET", "/api/v1/nodes").filter((r) => r.query.watch === undefined)).toHaveLength(1);
    expect(world.kube.requestsMatching("GET", "/api/v1/nodes")[1]!.query).toMatchObject({ fieldSelector: "metadata.name=gpu-01", watch: "1", allowWatchBookmarks: "true" });
  });

  it("writes the condition every pass while an override is in force (a retried curtailment waits for a fresh one), and only on change otherwise", async () => {
    world = new AgentWorld();
    await world.startApi({ [CAP]: "500" });
    world.startAgent({ interval: "0.2" });
    await waitFor(() => world!.condition()?.status === "True", "condition True");
    const firstTrue = (world.condition() as { lastTransitionTime?: string }).lastTransitionTime;
    const statusPatches = () => world!.kube.requestsMatching("PATCH", `/api/v1/nodes/${world!.nodeName}/status`).length;
    const queries = () => world!.calls().filter((c) => isQuery(c.argv)).length;
    world.kube.label(world.nodeName, { [OVERRIDE]: "250" });
    await waitFor(() => world!.condition()?.message === "every GPU's limit read back at its target (250 W on 2 GPUs)", "condition at 250 W");
    const during = statusPatches();
    // The same label set again changes nothing the agent sees; the heartbeat is what a retried job reads.
    await waitFor(() => statusPatches() >= during + 3, "three more condition writes while the override is in force");
    // Still True since the first confirmation: the transition time stays, only the heartbeat moves.
    expect((world.condition() as { lastTransitionTime?: string }).lastTransitionTime).toBe(firstTrue);
    expect(world.condition()).toMatchObject({ status: "True", reason: "CapsInForce" });
    world.kube.label(world.nodeName, { [OVERRIDE]: null });
    await waitFor(() => world!.condition()?.message === "every GPU's limit read back at its target (500 W on 2 GPUs)", "condition back at 500 W");
    await waitFor(() => world!.state().gpus.every((g) => g.limit === 500), "planned cap restored");
    const atRest = statusPatches();
    const q = queries();
    await waitFor(() => queries() >= q + 6, "three more passes at rest");
    expect(statusPatches()).toBe(atRest);
  });

  it("relists after 410 Gone and keeps following labels", async () => {
    world = new AgentWorld();
    await world.startApi({ [CAP]: "500" });
    world.startAgent({ interval: "3600" });
    await waitFor(() => !world!.hasTaint(), "taint removed");
    // The watch is cut, the label changes meanwhile, and the API compacts that history away.
    world.kube.setDown(true);
    world.kube.label(world.nodeName, { [CAP]: "300" });
    world.kube.compact();
    world.kube.setDown(false);
    await waitFor(() => world!.state().gpus.every((g) => g.limit === 300), "300 W after relist");
    const lists = world.kube.requestsMatching("GET", "/api/v1/nodes").filter((r) => r.query.watch === undefined);
    expect(lists).toHaveLength(2);
  });
});

describe("GPUs that cannot be capped", () => {
  it("leaves a non-settable GPU alone and keeps the node tainted", async () => {
    world = new AgentWorld({ gpus: [h200(0), h200(1, { notSettable: true, naValue: "[Not Supported]" })] });
    await world.startApi({ [CAP]: "500" });
    world.startAgent();
    await waitFor(() => world!.condition()?.status === "False", "condition False");
    expect(world.plCalls().every((c) => c.uuid === G0)).toBe(true);
    expect(world.state().gpus[0]!.limit).toBe(500);
    expect(world.hasTaint()).toBe(true);
    expect(world.condition()).toMatchObject({ reason: "LimitNotSettable", message: "power limit not settable on GPU 1 (limit [Not Supported], range [Not Supported]..[Not Supported])" });
  });

  it("keeps the taint while the driver is not ready, adds it when missing, and lifts it once caps are read back", async () => {
    world = new AgentWorld({ driverReady: false });
    await world.startApi({ [CAP]: "500" }, []);
    world.startAgent();
    await waitFor(() => world!.hasTaint() && world!.condition() !== undefined, "taint added and condition set");
    expect(world.condition()).toMatchObject({ status: "False", reason: "DriverNotReady" });
    expect(world.plCalls()).toEqual([]);
    const add = world.kube.requestsMatching("PATCH", `/api/v1/nodes/${world.nodeName}`).filter((r) => !r.path.endsWith("/status"))[0]!;
    expect(add.body).toEqual([
      { op: "test", path: "/spec/taints", value: [] },
      { op: "replace", path: "/spec/taints", value: [{ key: "mine2hpc.io/power-unverified", effect: "NoSchedule" }] },
    ]);
    world.mutate((s) => (s.driverReady = true));
    await waitFor(() => !world!.hasTaint(), "taint removed once the driver answers");
    expect(world.state().gpus.map((g) => g.limit)).toEqual([500, 500]);
  });

  it("clamps the label to each GPU's settable range (minimum up, maximum down)", async () => {
    world = new AgentWorld({ gpus: [h200(0, { min: 100.5, max: 349.99, limit: 350, default: 350 }), h200(1)] });
    await world.startApi({ [CAP]: "900" });
    expect(await world.runOnce()).toBe(0);
    expect(world.state().gpus.map((g) => g.limit)).toEqual([349, 700]);
    world.kube.label(world.nodeName, { [CAP]: "50" });
    // Below the minimum: held at the minimum (the lowest possible), but not in force: the GPU
    // draws more than the plan budgeted, so the node stays tainted until the plan is fixed.
    expect(await world.runOnce()).toBe(1);
    expect(world.state().gpus.map((g) => g.limit)).toEqual([101, 200]);
    const last = world.logs().filter((l) => l.msg === "caps not in force").pop()!;
    expect(last).toMatchObject({
      reason: "CapBelowMinimum",
      message:
        "planned 50 W is below the settable minimum of GPU 0 (101 W), 1 (200 W): held at the minimum, which draws more than planned; set the model's minWatts in the site catalog to the driver's minimum and re-plan",
    });
  });

  it("keeps the node tainted while the planned cap is below a GPU's minimum", async () => {
    world = new AgentWorld({ gpus: [h200(0), h200(1)] });
    await world.startApi({ [CAP]: "150" }, [{ key: "mine2hpc.io/power-unverified", effect: "NoSchedule" }]);
    world.startAgent();
    await waitFor(() => world!.condition()?.status === "False", "condition False");
    expect(world.condition()).toMatchObject({ status: "False", reason: "CapBelowMinimum" });
    expect(world.hasTaint()).toBe(true);
    expect(world.state().gpus.map((g) => g.limit)).toEqual([200, 200]);
    // The plan is corrected: the node is untainted once the new cap reads back.
    world.kube.label(world.nodeName, { [CAP]: "250" });
    await waitFor(() => !world!.hasTaint(), "taint removed");
    expect(world.state().gpus.map((g) => g.limit)).toEqual([250, 250]);
  });
});

describe("stopping and dry runs", () => {
  it("keeps the caps on SIGTERM: the bundled agent exits 0 and runs no setter after the signal", async () => {
    world = new AgentWorld();
    await world.startApi({ [CAP]: "500" });
    const child = world.spawnBundle();
    await waitFor(() => !world!.hasTaint(), "taint removed");
    const signalled = process.hrtime.bigint();
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(world.calls().filter((c) => c.at > signalled && (c.argv.includes("-pl") || c.argv.includes("-pm")))).toEqual([]);
    expect(world.state().gpus.map((g) => g.limit)).toEqual([500, 500]);
    expect(world.logs().some((l) => l.msg === "stopping; power limits are kept as they are" && l.signal === "SIGTERM")).toBe(true);
  });

  it("--dry-run --once only queries and prints the GPU table", async () => {
    world = new AgentWorld();
    await world.startApi({ [CAP]: "500" });
    expect(await world.runOnce({ "dry-run": true })).toBe(1);
    expect(world.calls().every((c) => isQuery(c.argv))).toBe(true);
    expect(world.kube.requests.map((r) => r.method)).toEqual(["GET"]);
    expect(world.stdout.split("\n").slice(2, 6)).toEqual([
      "# target: 500 W (from label); caps in force: no (Pending: dry run: would set GPU 0 700→500 W, 1 700→500 W)",
      "index\tuuid\tname\tpower.limit\tenforced\tmin\tmax\tdefault\tdraw\tpersistence\ttarget\taction",
      `0\t${G0}\tNVIDIA H200\t700.00\t700.00\t200.00\t700.00\t700.00\t77.71\tDisabled\t500\twould-set`,
      `1\t${G1}\tNVIDIA H200\t700.00\t700.00\t200.00\t700.00\t700.00\t77.71\tDisabled\t500\twould-set`,
    ]);
  });
});
