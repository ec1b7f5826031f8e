/**
 * The planner with a site's own catalog (issue 9 §2): models from `catalog.gpus[]`, a
 * machine's `gpuMaxWatts` as its max cap, and boards whose own PCIe link is riser-class.
 * planFarm is called without a catalog option, as the CLI and the Pulumi program do.
 */
import { describe, expect, it } from "vitest";
import { planFarm } from "../src/plan/index.js";
import { resolveMachines } from "../src/plan/stages/resolve.js";
import { planText } from "../src/cli/format/plan.js";
import { siteCatalog } from "../src/site/catalog.js";
import { SiteError } from "../src/site/problems.js";
import type { SiteInput } from "../src/site/schema.js";
import { cpMachine, site, siteInput } from "./arbitraries.js";

/** One firm 100 kW feed and a 240 V × 100 A circuit (19.2 kW usable): no budget binds, so every cap is its max. */
function catalogSite(machines: ReturnType<typeof cpMachine>[], catalog?: SiteInput["catalog"]) {
  return site(
    siteInput({
      power: {
        pue: 1.0,
        feeds: [{ name: "utility", tier: "firm", capacityKw: 100 }],
        circuits: [
          { id: "pdu-cp", feed: "utility", volts: 240, amps: 30, phases: 1 },
          { id: "pdu-a1", feed: "utility", volts: 240, amps: 100, phases: 1 },
        ],
      },
      ...(catalog ? { catalog } : {}),
      machines: [cpMachine(), ...machines],
    }),
  );
}

describe("planFarm with the site's catalog", () => {
  it("plans a model the site adds, with the shared curve, at its max when power allows", () => {
    const s = catalogSite(
      [{ hostname: "rig-01", ip: "10.0.1.1", rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "NVIDIA GeForce RTX 2080 Ti", gpuCount: 6, pcieLink: "x1" }],
      { gpus: [{ key: "rtx-2080-ti", name: "NVIDIA GeForce RTX 2080 Ti", consumer: true, memoryGiB: 11, tdpWatts: 250, minWatts: 100, maxWatts: 280, fp16Tflops: 56.9 }] },
    );
    const plan = planFarm(s);
    const rig = plan.nodes.find((n) => n.hostname === "rig-01")!;
    expect(rig.gpu).toEqual({ model: "rtx-2080-ti", count: 6, capWatts: 280, minWatts: 100, maxWatts: 280, tdpWatts: 250, consumer: true });
    expect(rig.pool).toBe("rtx-2080-ti-x1-riser-firm");
    // (120 rig base + 6 × 280) / 0.92 = 1,956.5 W; 6 × 56.9 × (1 + 0.1 × 30 / 250) = 345.5 TFLOPS.
    expect([rig.drawWatts, rig.throughputTflops]).toEqual([1957, 345.5]);
  });

  it("a machine's gpuMaxWatts is its max cap: an RTX 4090 board raised to 600 W next to one at the catalog's 450 W", () => {
    const s = catalogSite([
      { hostname: "rig-fe", ip: "10.0.1.1", rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-4090", gpuCount: 4, gpuMaxWatts: 600 },
      { hostname: "rig-oc", ip: "10.0.1.2", rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-4090", gpuCount: 4, gpuMaxWatts: 500 },
      { hostname: "rig-std", ip: "10.0.1.3", rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-4090", gpuCount: 4 },
    ]);
    const plan = planFarm(s);
    const gpus = Object.fromEntries(plan.nodes.filter((n) => n.gpu).map((n) => [n.hostname, [n.gpu!.capWatts, n.gpu!.maxWatts, n.gpu!.maxFromMachine ?? false, n.throughputTflops]]));
    // 4 × 165.2 × (1 + 0.1 × (cap − 450) / 450): 600 W → 682.83, 500 W → 668.14, 450 W → 660.8.
    expect(gpus).toEqual({ "rig-fe": [600, 600, true, 682.8], "rig-oc": [500, 500, true, 668.1], "rig-std": [450, 450, false, 660.8] });
    expect(plan.pools.map((p) => [p.name, p.capWatts])).toEqual([["rtx-4090-pcie-firm", { min: 450, max: 600 }]]);
    expect(planText(plan)).toContain(
      ["GPU max power limits set per machine (gpuMaxWatts)", "  NODE    MODEL     GPUS  TDP W  MAX W  CAP W", "  rig-fe  rtx-4090     4    450    600    600", "  rig-oc  rtx-4090     4    450    500    500"].join("\n"),
    );
  });

  it("a lower gpuMaxWatts caps the machine there even when the circuit has room", () => {
    const s = catalogSite(
      [{ hostname: "rig-01", ip: "10.0.1.1", rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-3090", gpuCount: 8, gpuMaxWatts: 370 }],
      { gpus: [{ key: "rtx-3090", name: "NVIDIA GeForce RTX 3090", consumer: true, memoryGiB: 24, tdpWatts: 350, minWatts: 100, maxWatts: 400, boardMaxWatts: 480, fp16Tflops: 71 }] },
    );
    expect(planFarm(s).nodes.find((n) => n.hostname === "rig-01")!.gpu).toMatchObject({ capWatts: 370, maxWatts: 370, maxFromMachine: true });
  });

  it("NVIDIA CMP cards go to an inference pool even in an x16 slot: their own link is Gen 1 x4", () => {
    const s = catalogSite([{ hostname: "cmp-01", ip: "10.0.1.1", rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "NVIDIA CMP 170HX", gpuCount: 8, pcieLink: "x16" }]);
    const plan = planFarm(s);
    expect(plan.pools.map((p) => [p.name, p.interconnect, p.workload, p.gpus])).toEqual([["cmp-170hx-x1-riser-firm", "x1-riser", "inference", 8]]);
    expect(plan.warnings).toContain(
      "pool cmp-170hx-x1-riser-firm: NVIDIA CMP 170HX boards run their PCIe link at Gen 1 x4 (1 GB/s) whatever the slot, so the pool is planned for single-GPU inference like x1 risers; check the model's compute limits in the catalog before scheduling work on it",
    );
  });

  it("a CMP 170HX rig no longer takes watts from real GPUs on a shared circuit (6.3 TFLOPS measured, not 42)", () => {
    // 240 V × 30 A × 0.8 = 5,760 W for 8 × CMP 170HX and 8 × RTX 3090 (PSU 0.9, 120 W base each).
    // With 42 TFLOPS the CMPs sat at their 250 W max and the 3090s stopped at 368 W; now the 3090s
    // reach their 400 W max first and the CMPs get what is left: (5,760 × 0.9 − 240 − 8 × 400) / 8 = 218 W.
    const s = site(
      siteInput({
        power: {
          pue: 1.0,
          feeds: [{ name: "utility", tier: "firm", capacityKw: 100 }],
          circuits: [
            { id: "pdu-cp", feed: "utility", volts: 240, amps: 30, phases: 1 },
            { id: "pdu-a1", feed: "utility", volts: 240, amps: 30, phases: 1 },
          ],
        },
        machines: [
          cpMachine(),
          { hostname: "cmp-01", ip: "10.0.1.1", rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "cmp-170hx", gpuCount: 8, pcieLink: "x1", psuEfficiency: 0.9 },
          { hostname: "rig-01", ip: "10.0.1.2", rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-3090", gpuCount: 8, pcieLink: "x1", psuEfficiency: 0.9 },
        ],
      }),
    );
    const plan = planFarm(s);
    expect(plan.nodes.filter((n) => n.gpu).map((n) => [n.hostname, n.gpu!.capWatts])).toEqual([["cmp-01", 218], ["rig-01", 400]]);
    expect(plan.circuits.find((c) => c.id === "pdu-a1")!.loadWatts).toBe(5760);
  });

  it("warns where a plan uses a built-in model whose minimum power limit is derived, not where the site supplies it", () => {
    const rigs = [
      { hostname: "cmp-01", ip: "10.0.1.1", rack: "r1", circuit: "pdu-a1", role: "gpu" as const, gpuModel: "cmp-170hx", gpuCount: 8, pcieLink: "x1" as const },
      { hostname: "cmp-02", ip: "10.0.1.2", rack: "r1", circuit: "pdu-a1", role: "gpu" as const, gpuModel: "cmp-170hx", gpuCount: 8, pcieLink: "x1" as const },
      { hostname: "rig-01", ip: "10.0.1.3", rack: "r1", circuit: "pdu-a1", role: "gpu" as const, gpuModel: "rtx-3090", gpuCount: 8, pcieLink: "x1" as const },
    ];
    const derived = planFarm(catalogSite(rigs)).warnings.filter((w) => w.includes("minimum power limit"));
    expect(derived).toEqual([
      "GPU model NVIDIA CMP 170HX (cmp-170hx) on 2 machines (cmp-01, cmp-02): its 100 W minimum power limit in the built-in catalog is derived, not published or measured, and the plan caps it as low as 250 W; if the driver's real minimum is higher, the power agent holds the GPU at that minimum and reports CapBelowMinimum (the node stays tainted) wherever the plan goes below it. Run nvidia-smi -q -d POWER on one of them and set minWatts to its Min Power Limit in the site file's catalog.gpus (an entry with key: cmp-170hx)",
    ]);
    // The operator's figure (a site catalog entry with the same key) is taken as measured.
    const measured = catalogSite(rigs, {
      gpus: [{ key: "cmp-170hx", name: "NVIDIA CMP 170HX", consumer: true, memoryGiB: 8, tdpWatts: 250, minWatts: 125, maxWatts: 250, fp16Tflops: 6.3, pcieLinkLimit: { generation: 1, lanes: 4 } }],
    });
    expect(planFarm(measured).warnings.filter((w) => w.includes("minimum power limit"))).toEqual([]);
  });

  it("the planner re-checks gpuMaxWatts against the model's range (a site that skipped validation)", () => {
    const s = catalogSite([
      { hostname: "rig-01", ip: "10.0.1.1", rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-4090", gpuCount: 4, gpuMaxWatts: 700 },
      { hostname: "rig-02", ip: "10.0.1.2", rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "rtx-4090", gpuCount: 4, gpuMaxWatts: 300 },
    ]);
    let err: unknown;
    try {
      resolveMachines(s, siteCatalog(s));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SiteError);
    expect((err as SiteError).problems.map((p) => [p.message, p.path])).toEqual([
      ["GPU machine rig-01 has gpuMaxWatts 700 W outside its model's 450–600 W", ["machines", 1, "gpuMaxWatts"]],
      ["GPU machine rig-02 has gpuMaxWatts 300 W outside its model's 450–600 W", ["machines", 2, "gpuMaxWatts"]],
    ]);
  });
});

describe("the report sees the site's catalog too", () => {
  it("siteFacts counts PSU cords with a site model's form factor and hands its models to the stranded-power explanation", async () => {
    const { siteFacts } = await import("../src/report/index.js");
    const s = catalogSite(
      [{ hostname: "hgx-01", ip: "10.0.1.1", rack: "r1", circuit: "pdu-a1", role: "gpu", gpuModel: "h800-sxm", gpuCount: 8 }],
      { gpus: [{ key: "h800-sxm", name: "NVIDIA H800 80GB HBM3", formFactor: "sxm", memoryGiB: 80, tdpWatts: 700, minWatts: 200, maxWatts: 700, fp16Tflops: 989, hostBaseWatts: 4300 }] },
    );
    const facts = siteFacts(s);
    // SXM (HGX) systems default to 6 cords, the control plane to 2 (src/plan/phases.ts defaultPowerCords).
    expect(Object.fromEntries(facts.cords!)).toEqual({ "cp-01": 2, "hgx-01": 6 });
    expect(facts.findGpu!("NVIDIA H800 80GB HBM3")?.key).toBe("h800-sxm");
  });
});
