/**
 * The planner's stages one by one (src/plan/stages/), on one small hand-computed site:
 * each stage's output is asserted exactly, from the outputs of the stages before it.
 * `planFarm` is only the pipeline of these calls (plan-unit.test.ts checks it whole).
 */
import { describe, expect, it } from "vitest";
import { SiteError } from "../src/site/problems.js";
import { siteBudgets, wirePhases } from "../src/plan/stages/budgets.js";
import { allocatePower } from "../src/plan/stages/caps.js";
import { planCurtailment } from "../src/plan/stages/curtailment.js";
import { planLoads } from "../src/plan/stages/loads.js";
import { checkMinimumLoads, minimumLoadProblems } from "../src/plan/stages/minimums.js";
import { plannedNodes } from "../src/plan/stages/nodes.js";
import { groupPools, plannedPools, queuePlan } from "../src/plan/stages/pools.js";
import { memoCatalog, resolveMachines } from "../src/plan/stages/resolve.js";
import { planWarnings } from "../src/plan/stages/warnings.js";
import { LABELS, planFarm } from "../src/plan/index.js";
import { TEST_CATALOG, cpMachine, site, siteInput } from "./arbitraries.js";

/**
 * Firm feed `utility`: the control plane, and two 8 × RTX 3090 riser rigs on a 240 V × 30 A
 * circuit (caps 312 W, as in plan-unit.test.ts). Curtailable feed `ercot`: a 415 V × 20 A
 * three-phase PDU (per phase 415 / √3 × 20 × 0.8 = 3,833.6 W) with an S19 (3,250 W, one cord)
 * and a CPU node (184 W DC / 0.92 = 200 W, two cords). One retired machine. PUE 1.
 */
function stageSite(over: { ercotKw?: number; amps3p?: number } = {}) {
  return site(
    siteInput({
      power: {
        pue: 1.0,
        feeds: [
          { name: "utility", tier: "firm", capacityKw: 100 },
          { name: "ercot", tier: "curtailable", capacityKw: over.ercotKw ?? 20, curtailment: { responseTimeSeconds: 300 } },
        ],
        circuits: [
          { id: "pdu-cp", feed: "utility", volts: 240, amps: 30, phases: 1 },
          { id: "pdu-a1", feed: "utility", volts: 240, amps: 30, phases: 1 },
          { id: "pdu-3p", feed: "ercot", volts: 415, amps: over.amps3p ?? 20, phases: 3 },
        ],
      },
      gpuOperator: { timeSlicingReplicas: 4, driverMode: "host" },
      machines: [
        cpMachine(),
        { hostname: "rig-02", ip: "10.0.1.2", rack: "Row A/1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-3090", gpuCount: 8, pcieLink: "x1" },
        { hostname: "rig-01", ip: "10.0.1.1", rack: "Row A/1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-3090", gpuCount: 8, pcieLink: "x1" },
        { hostname: "old-01", ip: "10.0.1.9", rack: "Row A/1", circuit: "pdu-a1", role: "cpu", state: "retired" },
        { hostname: "asic-01", ip: "10.0.2.1", rack: "c1", circuit: "pdu-3p", role: "asic", asicModel: "s19" },
        { hostname: "cpu-01", ip: "10.0.2.3", rack: "c1", circuit: "pdu-3p", role: "cpu", baseWatts: 184 },
      ],
    }),
  );
}

const s = stageSite();
const { machines, retired } = resolveMachines(s, memoCatalog(TEST_CATALOG));
const budgets = siteBudgets(s, machines);
const power = allocatePower(s, machines, budgets);
const gpuNodes = machines.filter((r) => r.role === "gpu");
const groups = groupPools(s, gpuNodes);
const { nodes, asics, servers } = plannedNodes(s, machines, budgets, power, groups);
const pools = plannedPools(s, groups, power.capOf);
const loads = planLoads(s, machines, budgets, power);
const curtailment = planCurtailment(s, machines, power, groups, asics, loads.feeds);

describe("stage 1: resolveMachines", () => {
  it("resolves circuit, feed, hardware, base and minimum draw, cords; lists retired machines apart", () => {
    expect(machines.map((r) => [r.index, r.hostname, r.circuit, r.feed, r.tier, r.role, r.gpu?.key ?? r.asic?.key ?? null, r.gpuCount, r.baseWatts, r.psuEfficiency, r.cords])).toEqual([
      [0, "cp-01", 0, 0, "firm", "control-plane", null, 0, 300, 0.92, 2],
      [1, "rig-02", 1, 0, "firm", "gpu", "rtx-3090", 8, 150, 0.92, 1],
      [2, "rig-01", 1, 0, "firm", "gpu", "rtx-3090", 8, 150, 0.92, 1],
      [4, "asic-01", 2, 1, "curtailable", "asic", "s19", 0, 0, 0.92, 1],
      [5, "cpu-01", 2, 1, "curtailable", "cpu", null, 0, 184, 0.92, 2],
    ]);
    // (150 + 8 × 100) / 0.92 = 1,032.61 W; 184 / 0.92 = 200 W; an ASIC draws its catalog watts.
    expect(machines.map((r) => r.minWallWatts)).toEqual([300 / 0.92, 950 / 0.92, 950 / 0.92, 3250, 184 / 0.92]);
    expect(retired).toEqual([{ hostname: "old-01", ip: "10.0.1.9", sshUser: "ubuntu", k3sRole: "agent" }]);
  });
  it("reports every unknown model together, with its path", () => {
    const bad = site(
      siteInput({
        machines: [
          cpMachine(),
          { hostname: "rig-x", ip: "10.0.1.5", rack: "r", circuit: "pdu-cp", role: "gpu", gpuModel: "rtx-9999", gpuCount: 1 },
          { hostname: "asic-x", ip: "10.0.1.6", rack: "r", circuit: "pdu-cp", role: "asic", asicModel: "s99" },
        ],
      }),
    );
    let err: unknown;
    try {
      resolveMachines(bad, TEST_CATALOG);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SiteError);
    expect((err as SiteError).problems.map((p) => [p.message, p.path])).toEqual([
      ["GPU machine rig-x needs a catalog gpuModel and gpuCount ≥ 1", ["machines", 1, "gpuModel"]],
      ["ASIC machine asic-x has unknown model s99", ["machines", 2, "asicModel"]],
    ]);
  });
  it("memoCatalog looks each model up once", () => {
    let calls = 0;
    const cat = memoCatalog({ findGpu: (n) => (calls++, TEST_CATALOG.findGpu(n)), findAsic: () => undefined });
    cat.findGpu("rtx-3090");
    cat.findGpu("rtx-3090");
    cat.findGpu("nope");
    cat.findGpu("nope");
    expect(calls).toBe(2);
  });
});

describe("stage 2: siteBudgets and checkMinimumLoads", () => {
  it("budgets and minimum loads per circuit and feed", () => {
    expect(budgets.circuitFeed).toEqual([0, 0, 1]);
    expect(budgets.usableWatts).toEqual([5760, 5760, 415 * 20 * Math.sqrt(3) * 0.8]);
    expect(budgets.phaseBudgetWatts).toEqual([null, null, (415 / Math.sqrt(3)) * 20 * 0.8]);
    expect(budgets.circuitMinWatts).toEqual([300 / 0.92, 950 / 0.92 + 950 / 0.92, 3250 + 184 / 0.92]);
    expect(budgets.circuitHosts).toEqual([["cp-01"], ["rig-01", "rig-02"], ["asic-01", "cpu-01"]]);
    expect(budgets.feedMinItWatts).toEqual([300 / 0.92 + (950 / 0.92 + 950 / 0.92), 3250 + 184 / 0.92]);
    expect(budgets.feedCircuits).toEqual([["pdu-cp", "pdu-a1"], ["pdu-3p"]]);
    expect(budgets.onCircuit.map((on) => on.map((r) => r.hostname))).toEqual([["cp-01"], ["rig-02", "rig-01"], ["asic-01", "cpu-01"]]);
    expect([...budgets.positionOnCircuit]).toEqual([[0, 0], [1, 0], [2, 1], [4, 0], [5, 1]]);
  });
  it("wires cords largest first: the S19's one cord on L1, the CPU node's two on L2 and L3", () => {
    expect(wirePhases(budgets, 2, (r) => r.minWallWatts)).toEqual({ phaseWatts: [3250, 100, 100], cordPhases: [[0], [1, 2]] });
    expect(wirePhases(budgets, 1, (r) => r.minWallWatts)).toBeNull();
    expect(minimumLoadProblems(s, budgets)).toEqual([]);
    expect(() => checkMinimumLoads(s, budgets)).not.toThrow();
  });
  it("names an overloaded phase and an overloaded feed together", () => {
    // 415 V × 10 A: per phase 1,916.8 W < the S19's 3,250 W on L1, though the total (5,750.4 W) fits.
    const small = stageSite({ amps3p: 10, ercotKw: 3 });
    const b = siteBudgets(small, resolveMachines(small, TEST_CATALOG).machines);
    expect(minimumLoadProblems(small, b)).toEqual([
      {
        message:
          "circuit pdu-3p needs 3,250 W on phase L1 at minimum GPU caps but one phase can deliver 1,917 W (415 V / √3 × 10 A × 0.8): 1,333 W over; " +
          "phases L1/L2/L3 3,250/100/100 W with PSU cords spread largest first; machines on L1: asic-01",
        fix: "spread these machines over more circuits, put fewer machines on this PDU (a multiple of 3 PSU cords balances best), or use machines with more PSU cords (powerCords) so their load splits over the three phases",
        path: ["power", "circuits", 2],
      },
      {
        message: "feed ercot needs 3,450 W at minimum GPU caps (IT 3,450 W × PUE 1) but its capacity is 3,000 W: 450 W over; circuits: pdu-3p",
        fix: "move machines to a circuit on another feed, remove GPUs or ASIC miners, or raise the feed's capacityKw if the utility contract allows it",
        path: ["power", "feeds", 1],
      },
    ]);
    expect(() => checkMinimumLoads(small, b)).toThrow(SiteError);
  });
  it("reports a circuit on an unknown feed first", () => {
    const orphan = { ...s, power: { ...s.power, circuits: [...s.power.circuits, { ...s.power.circuits[0]!, id: "pdu-x", feed: "nope" }] } };
    const b = siteBudgets(orphan, machines);
    expect(b.circuitFeed).toEqual([0, 0, 1, undefined]);
    expect(minimumLoadProblems(orphan, b)).toEqual([
      { message: "circuit pdu-x is on feed nope, which is not in power.feeds", fix: "set feed to the name of a feed in power.feeds", path: ["power", "circuits", 3, "feed"] },
    ]);
  });
});

describe("stage 3: allocatePower", () => {
  it("caps the two rigs at 312 W (5,299.2 W DC for 2 × 150 W bases and 16 GPUs) and draws the fixed loads", () => {
    expect([...power.capOf]).toEqual([[1, 312], [2, 312]]);
    expect([...power.wallOf]).toEqual([[0, 300 / 0.92], [1, (150 + 8 * 312) / 0.92], [2, (150 + 8 * 312) / 0.92], [4, 3250], [5, 184 / 0.92]]);
    expect(power.circuitLoadWatts).toEqual([300 / 0.92, (150 + 8 * 312) / 0.92 + (150 + 8 * 312) / 0.92, 3250 + 184 / 0.92]);
    expect(power.phaseLoads).toEqual([null, null, { phaseWatts: [3250, 100, 100], cordPhases: [[0], [1, 2]] }]);
  });
});

describe("stage 4: groupPools, plannedNodes, plannedPools, queuePlan", () => {
  it("groups the rigs into one riser pool with time slicing", () => {
    expect([...groups.byName.keys()]).toEqual(["rtx-3090-x1-riser-firm"]);
    const g = groups.byName.get("rtx-3090-x1-riser-firm")!;
    expect([g.gpuModel, g.interconnect, g.tier, g.replicas, g.nodes.map((r) => r.hostname)]).toEqual(["rtx-3090", "x1-riser", "firm", 4, ["rig-02", "rig-01"]]);
    expect(Object.keys(g.labels)).toEqual([LABELS.devicePluginConfig, LABELS.gpuModel, LABELS.pool, LABELS.powerTier, LABELS.workload].sort());
    expect([...groups.poolOf.keys()]).toEqual([1, 2]);
  });
  it("nodes: servers first, then agents by hostname; the CPU node tainted with its phases; the miner apart", () => {
    expect(nodes.map((n) => [n.hostname, n.k3sRole, n.clusterInit, n.tier, n.taints.length, n.drawWatts, n.pool ?? null, n.gpu?.capWatts ?? null, n.phases ?? null, n.throughputTflops])).toEqual([
      ["cp-01", "server", true, "firm", 0, 326, null, null, null, 0],
      ["cpu-01", "agent", false, "curtailable", 1, 200, null, null, ["L2", "L3"], 0],
      ["rig-01", "agent", false, "firm", 0, 2876, "rtx-3090-x1-riser-firm", 312, null, 550.7],
      ["rig-02", "agent", false, "firm", 0, 2876, "rtx-3090-x1-riser-firm", 312, null, 550.7],
    ]);
    expect(servers.map((n) => n.hostname)).toEqual(["cp-01"]);
    expect(asics).toEqual([{ hostname: "asic-01", ip: "10.0.2.1", rack: "c1", circuit: "pdu-3p", feed: "ercot", model: "s19", drawWatts: 3250, phases: ["L1"], state: "active", minerApi: null }]);
  });
  it("a site without a control-plane machine stops here", () => {
    const noCp = machines.filter((r) => r.role !== "control-plane");
    expect(() => plannedNodes(s, noCp, budgets, power, groups)).toThrow("the site has no control-plane machine");
  });
  it("pools and queues", () => {
    expect(pools.map((p) => [p.name, p.nodes, p.feeds, p.gpus, p.capWatts, p.timeSlicingReplicas, p.throughputTflops])).toEqual([
      ["rtx-3090-x1-riser-firm", ["rig-01", "rig-02"], ["utility"], 16, { min: 312, max: 312 }, 4, 1101.5],
    ]);
    expect(queuePlan(s, pools)).toEqual({
      cohort: "test-site",
      tenants: ["default"],
      clusterQueues: [{ name: "firm", tier: "firm", flavors: [{ flavor: "rtx-3090-x1-riser-firm", pool: "rtx-3090-x1-riser-firm", gpus: 16 }] }],
    });
  });
});

describe("stage 5: planLoads", () => {
  it("circuits with phase loads, feeds with IT and facility watts", () => {
    expect(loads.circuits[2]).toEqual({
      // 415 × 20 × √3 × 0.8 = 11,500.8 W; 3,450 / 11,500.8 = 30.0 %.
      id: "pdu-3p", feed: "ercot", usableWatts: 11501, loadWatts: 3450, asicWatts: 3250, loadPercent: 30, strandedWatts: 8051,
      machines: ["asic-01", "cpu-01"], phaseWatts: [3250, 100, 100], phaseBudgetWatts: 3834,
    });
    // 326.09 + 2 × 2,876.09 = 6,078.26 W.
    expect(loads.feeds).toEqual([
      { name: "utility", tier: "firm", capacityWatts: 100000, itWatts: 6078, facilityWatts: 6078, loadPercent: 6.1, strandedWatts: 93922, circuits: ["pdu-cp", "pdu-a1"] },
      { name: "ercot", tier: "curtailable", capacityWatts: 20000, itWatts: 3450, facilityWatts: 3450, loadPercent: 17.3, strandedWatts: 16550, circuits: ["pdu-3p"] },
    ]);
    expect(loads.itWatts).toBe(loads.feedItWatts[0]! + loads.feedItWatts[1]!);
  });
});

describe("stage 6: planCurtailment", () => {
  it("the curtailable feed sheds its S19 first; the CPU node's 200 W stay on", () => {
    expect(curtailment).toHaveLength(1);
    const c = curtailment[0]!;
    expect([c.feed, c.tier, c.responseTimeSeconds, c.pools, c.clusterQueues, c.residualWatts]).toEqual(["ercot", "curtailable", 300, [], [], 200]);
    expect(c.stages.map((st) => [st.action, st.shedWatts, st.cumulativeShedWatts, st.completeAfterSeconds, st.targets])).toEqual([
      ["asics-off", 3250, 3250, 60, ["asic-01"]],
      ["gpu-caps-to-min", 0, 3250, 90, []],
      ["drain-queue", 0, 3250, 390, []],
    ]);
  });
});

describe("stage 7: planWarnings", () => {
  it("warns that the S19 has no API to be switched off through, and that the drain (60 + 30 + 300 s) is late; sorted", () => {
    const warnings = planWarnings(s, { machines, budgets, power, circuits: loads.circuits, nodes, servers, asics, pools, curtailment });
    expect(warnings).toEqual([
      "feed ercot: curtailment stage drain-queue completes 390 s after the call, later than the required response time of 300 s",
      "feed ercot: stage asics-off is not automated for 1 of 1 miner (asic-01): set their firmware (or minerApi, or defaults.minerFirmware) so the curtailment job commands them through the firmware's API, or set power.feeds[].curtailment.asicWebhookUrl for your fleet tool; else someone must act on the job's list within 60 s",
    ]);
  });
});

describe("planFarm is the pipeline of the stages", () => {
  it("assembles exactly the stages' outputs", () => {
    const plan = planFarm(s, { catalog: TEST_CATALOG });
    expect(plan.nodes).toEqual(nodes);
    expect(plan.asics).toEqual(asics);
    expect(plan.retired).toEqual(retired);
    expect(plan.pools).toEqual(pools);
    expect(plan.circuits).toEqual(loads.circuits);
    expect(plan.feeds).toEqual(loads.feeds);
    expect(plan.curtailment).toEqual(curtailment);
    expect(plan.totals).toEqual({ machines: 6, nodes: 4, gpus: 16, asics: 1, itWatts: 9528, facilityWatts: 9528, strandedWatts: 110472, throughputTflops: 1101.5 });
  });
});
