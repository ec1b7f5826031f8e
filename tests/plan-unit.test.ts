import { describe, expect, it } from "vitest";
import {
  DRAIN_QUEUE_SECONDS,
  LABELS,
  circuitFormula,
  circuitUsableWatts,
  planFarm,
} from "../src/plan/index.js";
import { SiteError } from "../src/site/problems.js";
import { TEST_CATALOG, cpMachine, site, siteInput } from "./arbitraries.js";

const opts = { catalog: TEST_CATALOG };

/** Two 8×RTX 3090 riser rigs on one 240 V × 30 A circuit, control plane elsewhere. */
function twoRigSite() {
  return site(
    siteInput({
      power: {
        pue: 1.0,
        feeds: [{ name: "utility", tier: "firm", capacityKw: 1000 }],
        circuits: [
          { id: "pdu-cp", feed: "utility", volts: 240, amps: 30, phases: 1 },
          { id: "pdu-a1", feed: "utility", volts: 240, amps: 30, phases: 1 },
        ],
      },
      gpuOperator: { timeSlicingReplicas: 4, driverMode: "host" },
      machines: [
        cpMachine(),
        { hostname: "rig-02", ip: "10.0.1.2", rack: "Row A/1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-3090", gpuCount: 8, pcieLink: "x1" },
        { hostname: "rig-01", ip: "10.0.1.1", rack: "Row A/1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-3090", gpuCount: 8, pcieLink: "x1" },
      ],
    }),
  );
}

describe("circuit budgets", () => {
  it("single-phase 240 V × 30 A × 0.8 is 5760 W", () => {
    expect(circuitUsableWatts({ volts: 240, amps: 30, phases: 1, derating: 0.8 })).toBe(5760);
  });
  it("three-phase 415 V × 32 A × √3 × 0.8", () => {
    const w = circuitUsableWatts({ volts: 415, amps: 32, phases: 3, derating: 0.8 });
    expect(w).toBeCloseTo(18401.308, 3);
    expect(circuitFormula({ volts: 415, amps: 32, phases: 3, derating: 0.8 })).toBe("415 V × 32 A × √3 × 0.8");
    const plan = planFarm(
      site(siteInput({ power: { pue: 1, feeds: [{ name: "utility", tier: "firm", capacityKw: 100 }], circuits: [{ id: "pdu-cp", feed: "utility", volts: 415, amps: 32, phases: 3 }] } })),
      opts,
    );
    expect(plan.circuits[0]).toEqual({
      id: "pdu-cp", feed: "utility", usableWatts: 18401, loadWatts: 326, asicWatts: 0, loadPercent: 1.8, strandedWatts: 18075, machines: ["cp-01"],
      // Per phase 415 / √3 × 32 × 0.8 = 6,133.8 W; the control plane's two cords carry 300 / 0.92 / 2 = 163 W each on L1 and L2.
      phaseWatts: [163, 163, 0], phaseBudgetWatts: 6134,
    });
  });
});

describe("caps on a binding circuit (hand-computed)", () => {
  // DC budget of pdu-a1: 5760 W × 0.92 = 5299.2 W; bases 2 × 150 W leave 4999.2 W for 16 GPUs.
  // Greedy order (ratio = 71 TFLOPS × slope × 0.92): both rigs fill 100→200 W, then 200→250,
  // then 250→300 (16 × 300 = 4800 W); the 199.2 W left go to rig-01 (hostname tie-break) on
  // the 300→350 segment: 199.2 / 8 = 24.9 W → 324.9 W, rounded down to 324 W. The two rigs
  // are identical and share the circuit, so their 624 W are then spread evenly: 312 W each.
  const plan = planFarm(twoRigSite(), opts);
  const rig1 = plan.nodes.find((n) => n.hostname === "rig-01")!;
  const rig2 = plan.nodes.find((n) => n.hostname === "rig-02")!;

  it("sets the caps the greedy gives", () => {
    expect(rig1.gpu!.capWatts).toBe(312);
    expect(rig2.gpu!.capWatts).toBe(312);
  });
  it("computes draws, throughput and circuit load", () => {
    expect(rig1.drawWatts).toBe(2876); // (150 + 8 × 312) / 0.92 = 2876.09
    expect(rig2.drawWatts).toBe(2876);
    expect(rig1.throughputTflops).toBe(550.7); // 8 × 71 × (0.96 + 12 × 0.0008) = 550.73
    expect(rig2.throughputTflops).toBe(550.7);
    expect(plan.circuits[1]).toEqual({
      id: "pdu-a1", feed: "utility", usableWatts: 5760, loadWatts: 5752, asicWatts: 0, loadPercent: 99.9, strandedWatts: 8, machines: ["rig-01", "rig-02"],
      phaseWatts: null, phaseBudgetWatts: null,
    });
    expect(plan.totals.throughputTflops).toBe(1101.5);
  });
  it("labels, pools, roles", () => {
    expect(rig1.labels).toEqual({
      [LABELS.circuit]: "pdu-a1",
      [LABELS.feed]: "utility",
      [LABELS.gpuModel]: "rtx-3090",
      [LABELS.gpuPowerCap]: "312",
      [LABELS.pool]: "rtx-3090-x1-riser-firm",
      [LABELS.powerTier]: "firm",
      [LABELS.rack]: "Row-A-1",
      [LABELS.workload]: "inference",
      [LABELS.devicePluginConfig]: "rtx-3090-x1-riser-firm",
    });
    expect(Object.keys(rig1.labels)).toEqual([...Object.keys(rig1.labels)].sort());
    expect(rig1.taints).toEqual([]);
    expect(plan.nodes.map((n) => [n.hostname, n.k3sRole, n.clusterInit])).toEqual([
      ["cp-01", "server", true],
      ["rig-01", "agent", false],
      ["rig-02", "agent", false],
    ]);
    expect(plan.nodes[0]!.labels).toEqual({ [LABELS.circuit]: "pdu-cp", [LABELS.feed]: "utility", [LABELS.powerTier]: "firm", [LABELS.rack]: "r0" });
    expect(plan.kubernetes).toEqual({
      distribution: "k3s",
      version: "v1.33.5+k3s1",
      apiEndpoint: "10.0.0.2",
      servers: ["cp-01"],
      rollout: { maxUnavailable: "10%", agentBatch: 1 },
      startTimeoutSeconds: 300,
    });
    expect(plan.pools).toEqual([
      {
        name: "rtx-3090-x1-riser-firm", gpuModel: "rtx-3090", interconnect: "x1-riser", tier: "firm", workload: "inference",
        nodes: ["rig-01", "rig-02"], feeds: ["utility"], gpus: 16, capWatts: { min: 312, max: 312 }, timeSlicingReplicas: 4,
        flavor: "rtx-3090-x1-riser-firm", clusterQueue: "firm",
        nodeLabels: {
          [LABELS.gpuModel]: "rtx-3090", [LABELS.pool]: "rtx-3090-x1-riser-firm", [LABELS.powerTier]: "firm",
          [LABELS.workload]: "inference", [LABELS.devicePluginConfig]: "rtx-3090-x1-riser-firm",
        },
        taints: [], throughputTflops: 1101.5,
      },
    ]);
    expect(plan.queues).toEqual({
      cohort: "test-site", tenants: ["default"],
      clusterQueues: [{ name: "firm", tier: "firm", flavors: [{ flavor: "rtx-3090-x1-riser-firm", pool: "rtx-3090-x1-riser-firm", gpus: 16 }] }],
    });
  });
  it("does not warn about a circuit the caps fill by design (driver on host, caps ≥ 80 % TDP)", () => {
    expect(plan.warnings).toEqual([]);
  });
  it("is byte-identical across runs", () => {
    expect(JSON.stringify(planFarm(twoRigSite(), opts))).toBe(JSON.stringify(plan));
  });
});

describe("overload at minimum caps", () => {
  it("names every overloaded circuit and feed with watts, machines and fix", () => {
    const machines = [cpMachine()];
    for (let i = 1; i <= 6; i++) {
      machines.push({ hostname: `rig-0${i}`, ip: `10.0.1.${i}`, rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-3090", gpuCount: 8, pcieLink: "x1" });
    }
    const s = site(
      siteInput({
        power: {
          pue: 1.2,
          feeds: [{ name: "utility", tier: "firm", capacityKw: 7 }],
          circuits: [
            { id: "pdu-cp", feed: "utility", volts: 240, amps: 30, phases: 1 },
            { id: "pdu-a1", feed: "utility", volts: 240, amps: 30, phases: 1 },
          ],
        },
        machines,
      }),
    );
    let err: unknown;
    try {
      planFarm(s, opts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SiteError);
    const problems = (err as SiteError).problems;
    // Six rigs at 100 W × 8 + 150 W base: 6 × 950 / 0.92 = 6195.65 W.
    expect(problems).toEqual([
      {
        message: "circuit pdu-a1 needs 6,196 W at minimum GPU caps but can deliver 5,760 W (240 V × 30 A × 0.8): 436 W over; machines: rig-01, rig-02, rig-03, rig-04, rig-05, rig-06",
        fix: "move some of these machines to a circuit with headroom, remove GPUs from them, or raise the breaker rating (amps) if the wiring allows it",
        path: ["power", "circuits", 1],
      },
      {
        // IT = 6195.65 + 300 / 0.92 (control plane) = 6521.74 W; × 1.2 = 7826.09 W.
        message: "feed utility needs 7,826 W at minimum GPU caps (IT 6,522 W × PUE 1.2) but its capacity is 7,000 W: 826 W over; circuits: pdu-cp, pdu-a1",
        fix: "move machines to a circuit on another feed, remove GPUs or ASIC miners, or raise the feed's capacityKw if the utility contract allows it",
        path: ["power", "feeds", 0],
      },
    ]);
  });
});

describe("curtailable feed", () => {
  const s = site(
    siteInput({
      power: {
        pue: 1.2,
        feeds: [
          { name: "utility", tier: "firm", capacityKw: 100 },
          { name: "ercot", tier: "curtailable", capacityKw: 500, curtailment: { responseTimeSeconds: 300, windows: [{ name: "4cp", schedule: "0 15 * 6-9 1-5", durationMinutes: 120 }] } },
          { name: "spare", tier: "interruptible", capacityKw: 50, curtailment: { responseTimeSeconds: 600 } },
        ],
        circuits: [
          { id: "pdu-cp", feed: "utility", volts: 240, amps: 30, phases: 1 },
          { id: "pdu-c1", feed: "ercot", volts: 415, amps: 63, phases: 3 },
        ],
      },
      machines: [
        cpMachine(),
        { hostname: "asic-01", ip: "10.0.2.1", rack: "c1", circuit: "pdu-c1", role: "asic", asicModel: "s19" },
        { hostname: "hgx-01", ip: "10.0.2.2", rack: "c1", circuit: "pdu-c1", role: "gpu", gpuModel: "h100-sxm", gpuCount: 8 },
        { hostname: "cpu-01", ip: "10.0.2.3", rack: "c1", circuit: "pdu-c1", role: "cpu", baseWatts: 200 },
      ],
    }),
  );
  const plan = planFarm(s, opts);

  it("stages shed exact watts in order", () => {
    // HGX at max 700 W: caps-to-min = 8 × 500 / 0.92 × 1.2 = 5217.39; drain = 8 × (200 − 70) / 0.92 × 1.2 = 1356.52.
    expect(plan.curtailment[0]).toEqual({
      feed: "ercot", tier: "curtailable", responseTimeSeconds: 300,
      windows: [{ name: "4cp", schedule: "0 15 * 6-9 1-5", durationMinutes: 120 }],
      asicWebhook: null,
      pools: ["h100-sxm-curtailable"], clusterQueues: ["curtailable"],
      stages: [
        { order: 1, action: "asics-off", shedWatts: 3900, cumulativeShedWatts: 3900, durationSeconds: 60, completeAfterSeconds: 60, meetsResponseTime: true, targets: ["asic-01"] },
        { order: 2, action: "gpu-caps-to-min", shedWatts: 5217, cumulativeShedWatts: 9117, durationSeconds: 30, completeAfterSeconds: 90, meetsResponseTime: true, targets: ["h100-sxm-curtailable"] },
        { order: 3, action: "drain-queue", shedWatts: 1357, cumulativeShedWatts: 10474, durationSeconds: DRAIN_QUEUE_SECONDS, completeAfterSeconds: 390, meetsResponseTime: false, targets: ["h100-sxm-curtailable"] },
      ],
      // Facility (3250 + 7100/0.92 + 200/0.92) × 1.2 = 13421.74 → 13422; minus 10474.
      residualWatts: 2948,
    });
  });
  it("keeps zero-watt stages on an empty non-firm feed and warns", () => {
    expect(plan.curtailment[1]!.stages.map((st) => [st.action, st.shedWatts, st.meetsResponseTime])).toEqual([
      ["asics-off", 0, true], ["gpu-caps-to-min", 0, true], ["drain-queue", 0, true],
    ]);
    expect(plan.curtailment[1]!.residualWatts).toBe(0);
    expect(plan.warnings).toEqual([
      "feed ercot: curtailment stage drain-queue completes 390 s after the call, later than the required response time of 300 s",
      "feed ercot: stage asics-off is not automated for 1 of 1 miner (asic-01): set their firmware (or minerApi, or defaults.minerFirmware) so the curtailment job commands them through the firmware's API, or set power.feeds[].curtailment.asicWebhookUrl for your fleet tool; else someone must act on the job's list within 60 s",
      "feed spare has a curtailment program but no machines; its windows shed nothing",
    ]);
  });
  it("taints GPU and CPU nodes on the non-firm feed, never the control plane", () => {
    const taint = { key: "mine2hpc.io/power-tier", value: "curtailable", effect: "NoSchedule" };
    expect(plan.nodes.map((n) => [n.hostname, n.taints])).toEqual([
      ["cp-01", []], ["cpu-01", [taint]], ["hgx-01", [taint]],
    ]);
    expect(plan.pools[0]!.taints).toEqual([taint]);
    expect(plan.pools[0]!.workload).toBe("training");
    expect(plan.pools[0]!.timeSlicingReplicas).toBe(1);
    expect(plan.asics).toEqual([{ hostname: "asic-01", ip: "10.0.2.1", rack: "c1", circuit: "pdu-c1", feed: "ercot", model: "s19", drawWatts: 3250, phases: ["L1"], state: "active", minerApi: null }]);
    expect(plan.feeds[1]).toEqual({
      name: "ercot", tier: "curtailable", capacityWatts: 500000, itWatts: 11185, facilityWatts: 13422, loadPercent: 2.7, strandedWatts: 486578, circuits: ["pdu-c1"],
    });
  });
});

describe("warnings", () => {
  it("flags GeForce with driverMode container and low caps", () => {
    const s = site(
      siteInput({
        power: {
          pue: 1.0,
          feeds: [{ name: "utility", tier: "firm", capacityKw: 1000 }],
          circuits: [
            { id: "pdu-cp", feed: "utility", volts: 240, amps: 30, phases: 1 },
            { id: "pdu-a1", feed: "utility", volts: 120, amps: 15, phases: 1 },
          ],
        },
        machines: [cpMachine(), { hostname: "rig-01", ip: "10.0.1.1", rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-3090", gpuCount: 6, pcieLink: "x16", psuEfficiency: 1 }],
      }),
    );
    // 120 × 15 × 0.8 = 1440 W; (1440 − 150) / 6 = 215 W per GPU.
    const plan = planFarm(s, opts);
    expect(plan.nodes[1]!.gpu!.capWatts).toBe(215);
    expect(plan.pools[0]!.name).toBe("rtx-3090-pcie-firm");
    expect(plan.pools[0]!.workload).toBe("training");
    expect(plan.warnings).toEqual([
      "GeForce cards are outside the GPU operator's support matrix; set gpuOperator.driverMode: host (pools: rtx-3090-pcie-firm)",
      "pool rtx-3090-pcie-firm: GPUs capped as low as 215 W (61.4 % of the 350 W TDP) to fit circuit and feed budgets; more circuit or feed capacity would raise its throughput",
    ]);
  });
  it("leaves watts unused on a flat curve segment", () => {
    const s = site(siteInput({ machines: [cpMachine(), { hostname: "rig-01", ip: "10.0.1.1", rack: "r1", circuit: "pdu-cp", role: "gpu", gpuModel: "rtx-3060", gpuCount: 2, pcieLink: "x1" }], gpuOperator: { driverMode: "host" } }));
    expect(planFarm(s, opts).nodes[1]!.gpu!.capWatts).toBe(170);
  });
});

describe("roles", () => {
  it("orders servers first by hostname, cluster-init on the first, API endpoint from the site", () => {
    const s = site(
      siteInput({
        kubernetes: { apiEndpoint: "k8s.example.internal" },
        machines: [
          { hostname: "worker-a", ip: "10.0.0.9", rack: "r0", circuit: "pdu-cp", role: "cpu" },
          cpMachine({ hostname: "cp-c", ip: "10.0.0.4" }),
          cpMachine({ hostname: "cp-a", ip: "10.0.0.2", mac: "3C:EC:EF:01:02:03", sshUser: "admin" }),
          cpMachine({ hostname: "cp-b", ip: "10.0.0.3" }),
        ],
      }),
    );
    const plan = planFarm(s, opts);
    expect(plan.nodes.map((n) => [n.hostname, n.k3sRole, n.clusterInit, n.sshUser])).toEqual([
      ["cp-a", "server", true, "admin"],
      ["cp-b", "server", false, "ubuntu"],
      ["cp-c", "server", false, "ubuntu"],
      ["worker-a", "agent", false, "ubuntu"],
    ]);
    expect(plan.nodes[0]!.mac).toBe("3c:ec:ef:01:02:03");
    expect(plan.kubernetes.apiEndpoint).toBe("k8s.example.internal");
    expect(plan.kubernetes.servers).toEqual(["cp-a", "cp-b", "cp-c"]);
    // 4 × 300 W / 0.92 = 1304.35 W on a 5760 W circuit.
    expect(plan.totals).toEqual({ machines: 4, nodes: 4, gpus: 0, asics: 0, itWatts: 1304, facilityWatts: 1304, strandedWatts: 998696, throughputTflops: 0 });
    expect(plan.pools).toEqual([]);
    expect(plan.queues.clusterQueues).toEqual([]);
  });
});

describe("nearly full fixed loads", () => {
  it("warns about a circuit above 95 % that no GPU cap can lower (ASICs only)", () => {
    const plan = planFarm(
      site(
        siteInput({
          power: {
            pue: 1.0,
            feeds: [{ name: "utility", tier: "firm", capacityKw: 1000 }],
            circuits: [
              { id: "pdu-cp", feed: "utility", volts: 240, amps: 30, phases: 1 },
              // 240 V × 19 A × 0.8 = 3,648 W; one 3,500 W miner is 95.9 %.
              { id: "pdu-m", feed: "utility", volts: 240, amps: 19, phases: 1 },
            ],
          },
          machines: [cpMachine(), { hostname: "m-01", ip: "10.0.2.1", rack: "r2", circuit: "pdu-m", role: "asic", asicModel: "s21" }],
        }),
      ),
      opts,
    );
    expect(plan.warnings).toEqual([
      "1 circuit is loaded above 95 % of usable power with no GPU cap left to lower: pdu-m (95.9 %); measure wall draw after the first run, since a PSU less efficient than assumed could push it past the derated limit",
    ]);
  });
});

describe("control-plane quorum", () => {
  it("warns when one circuit carries half or more of the servers", () => {
    const cps = ["cp-01", "cp-02", "cp-03"].map((h, i) => cpMachine({ hostname: h, ip: `10.0.0.${i + 2}`, circuit: i < 2 ? "pdu-cp" : "pdu-cp2" }));
    const plan = planFarm(
      site(
        siteInput({
          power: {
            pue: 1.0,
            feeds: [{ name: "utility", tier: "firm", capacityKw: 1000 }],
            circuits: [
              { id: "pdu-cp", feed: "utility", volts: 240, amps: 30, phases: 1 },
              { id: "pdu-cp2", feed: "utility", volts: 240, amps: 30, phases: 1 },
            ],
          },
          machines: cps,
        }),
      ),
      opts,
    );
    expect(plan.warnings).toEqual([
      "control-plane nodes cp-01, cp-02 (2 of 3) share circuit pdu-cp: one breaker trip loses etcd quorum; put each server on its own circuit",
    ]);
  });
});
