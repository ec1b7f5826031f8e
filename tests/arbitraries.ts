/**
 * Test fixtures for the planner: a small fixed hardware catalog (so expected values do not
 * move when the real catalog's figures are refined), a site builder, and fast-check
 * generators of whole sites.
 */
import fc from "fast-check";
import type { AsicSpec, GpuSpec } from "../src/site/catalog.js";
import { normalizeModelName } from "../src/site/catalog.js";
import type { PlanCatalog } from "../src/plan/index.js";
import { Site } from "../src/site/schema.js";
import type { SiteInput, SiteSpec } from "../src/site/schema.js";

type Machine = NonNullable<SiteInput["machines"]>[number];

/** Test GPUs; curves are concave with round break points so hand calculations stay exact. */
export const TEST_GPUS: readonly GpuSpec[] = [
  {
    key: "rtx-3090", name: "Test RTX 3090", consumer: true, formFactor: "pcie", memoryGiB: 24,
    tdpWatts: 350, minWatts: 100, maxWatts: 350, idleWatts: 20, fp16Tflops: 71,
    curve: [[100, 0.45], [200, 0.8], [250, 0.9], [300, 0.96], [350, 1.0]],
    hostBaseWatts: 150, aliases: [],
  },
  {
    key: "rtx-3060", name: "Test RTX 3060", consumer: true, formFactor: "pcie", memoryGiB: 12,
    tdpWatts: 170, minWatts: 100, maxWatts: 200, idleWatts: 12, fp16Tflops: 25,
    // Flat last segment: watts above 170 buy nothing, the allocator must leave them unused.
    curve: [[100, 0.6], [150, 0.95], [170, 1.0], [200, 1.0]],
    hostBaseWatts: 120, aliases: [],
  },
  {
    key: "l40s", name: "Test L40S", consumer: false, formFactor: "pcie", memoryGiB: 48,
    tdpWatts: 350, minWatts: 150, maxWatts: 350, idleWatts: 35, fp16Tflops: 362,
    curve: [[150, 0.55], [250, 0.85], [300, 0.95], [350, 1.0]],
    hostBaseWatts: 800, aliases: [],
  },
  {
    key: "h100-sxm", name: "Test H100 SXM", consumer: false, formFactor: "sxm", memoryGiB: 80,
    tdpWatts: 700, minWatts: 200, maxWatts: 700, idleWatts: 70, fp16Tflops: 989,
    curve: [[200, 0.4], [400, 0.8], [550, 0.93], [700, 1.0]],
    hostBaseWatts: 1500, aliases: [],
  },
];

export const TEST_ASICS: readonly AsicSpec[] = [
  { key: "s19", name: "Test S19", watts: 3250, hashrateThs: 95, aliases: [] },
  { key: "s21", name: "Test S21", watts: 3500, hashrateThs: 200, aliases: [] },
];

/** The planner's catalog option backed by the test catalog. */
export const TEST_CATALOG: PlanCatalog = {
  findGpu: (name) => TEST_GPUS.find((g) => g.key === normalizeModelName(name)),
  findAsic: (name) => TEST_ASICS.find((a) => a.key === normalizeModelName(name)),
};

/** A minimal valid site input; `over` replaces top-level sections. */
export function siteInput(over: Partial<SiteInput> = {}): SiteInput {
  return {
    apiVersion: "mine2hpc.io/v1alpha1",
    kind: "Site",
    metadata: { name: "test-site", timezone: "America/Chicago", gridRegion: "ERCOT" },
    power: {
      pue: 1.0,
      feeds: [{ name: "utility", tier: "firm", capacityKw: 1000 }],
      circuits: [{ id: "pdu-cp", feed: "utility", volts: 240, amps: 30, phases: 1 }],
    },
    network: { nodeSubnet: "10.0.0.0/16" },
    machines: [cpMachine()],
    ...over,
  };
}

/** The control-plane machine every test site has, on circuit `pdu-cp`. */
export function cpMachine(over: Partial<Machine> = {}): Machine {
  return { hostname: "cp-01", ip: "10.0.0.2", rack: "r0", circuit: "pdu-cp", role: "control-plane", ...over };
}

/** Parses a site input with the real schema (defaults applied), as the loader would. */
export function site(input: SiteInput): SiteSpec {
  return Site.parse(input);
}

const TIERS = ["firm", "interruptible", "curtailable"] as const;

/** fast-check: a random site of 1–3 feeds, 1–6 circuits and up to 24 machines (not always feasible at minimum caps). */
export function arbSite(): fc.Arbitrary<SiteSpec> {
  return fc
    .record({
      pue: fc.constantFrom(1.0, 1.05, 1.2, 1.5),
      feeds: fc.array(
        fc.record({ tier: fc.constantFrom(...TIERS), capacityKw: fc.integer({ min: 5, max: 200 }), program: fc.boolean() }),
        { minLength: 1, maxLength: 3 },
      ),
      circuits: fc.array(
        fc.record({
          feed: fc.nat(),
          kind: fc.constantFrom([120, 1], [208, 1], [240, 1], [208, 3], [415, 3]) as fc.Arbitrary<[number, 1 | 3]>,
          amps: fc.constantFrom(15, 20, 30, 32, 40, 63, 100),
          derating: fc.constantFrom(0.8, 1.0),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      machines: fc.array(arbMachineShape(), { minLength: 0, maxLength: 24 }),
      replicas: fc.integer({ min: 1, max: 4 }),
      driverMode: fc.constantFrom("container", "host") as fc.Arbitrary<"container" | "host">,
    })
    .map((r) => {
      const feeds = r.feeds.map((f, i) => ({
        name: `feed-${i}`,
        tier: f.tier,
        capacityKw: f.capacityKw,
        ...(f.tier !== "firm" && f.program ? { curtailment: { responseTimeSeconds: 300, windows: [{ name: "4cp", schedule: "0 15 * 6-9 1-5", durationMinutes: 120 }] } } : {}),
      }));
      const circuits = r.circuits.map((c, i) => ({
        id: `pdu-${i}`,
        feed: `feed-${c.feed % feeds.length}`,
        volts: c.kind[0],
        amps: c.amps,
        phases: c.kind[1],
        derating: c.derating,
      }));
      const machines: Machine[] = [cpMachine({ circuit: "pdu-0" })];
      r.machines.forEach((m, i) => machines.push(machineFrom(m, i, circuits.length)));
      return site(
        siteInput({
          power: { pue: r.pue, feeds, circuits },
          machines,
          gpuOperator: { timeSlicingReplicas: r.replicas, driverMode: r.driverMode },
        }),
      );
    });
}

/** Shape of a generated machine before it gets a name and address. */
export interface MachineShape {
  role: "gpu" | "cpu" | "asic";
  circuit: number;
  gpuModel: string;
  gpuCount: number;
  pcieLink: "x1" | "x16";
  psuEfficiency: number;
  asicModel: string;
  hostNo: number;
  /** PSU cords (`powerCords`); 0 leaves the planner's default. */
  cords: number;
}

export function arbMachineShape(): fc.Arbitrary<MachineShape> {
  return fc.record({
    role: fc.constantFrom("gpu", "gpu", "gpu", "cpu", "asic") as fc.Arbitrary<"gpu" | "cpu" | "asic">,
    circuit: fc.nat(),
    gpuModel: fc.constantFrom(...TEST_GPUS.map((g) => g.key)),
    gpuCount: fc.integer({ min: 1, max: 8 }),
    pcieLink: fc.constantFrom("x1", "x16") as fc.Arbitrary<"x1" | "x16">,
    psuEfficiency: fc.constantFrom(0.85, 0.9, 0.92, 0.94, 0.96),
    asicModel: fc.constantFrom(...TEST_ASICS.map((a) => a.key)),
    hostNo: fc.integer({ min: 0, max: 999 }),
    cords: fc.constantFrom(0, 0, 0, 1, 2, 3, 4, 6, 8),
  });
}

/** A concrete machine from a shape; hostnames are unique per index, in random order relative to the site order. */
export function machineFrom(m: MachineShape, i: number, circuitCount: number): Machine {
  const hostname = `m-${String(m.hostNo).padStart(3, "0")}-${i}`;
  const base: Machine = {
    hostname,
    ip: `10.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
    rack: `rack ${i % 3}`,
    circuit: `pdu-${m.circuit % circuitCount}`,
    role: m.role,
    psuEfficiency: m.psuEfficiency,
    ...(m.cords > 0 ? { powerCords: m.cords } : {}),
  };
  if (m.role === "gpu") return { ...base, gpuModel: m.gpuModel, gpuCount: m.pcieLink === "x1" ? Math.min(m.gpuCount, 8) : m.gpuCount, pcieLink: m.pcieLink };
  if (m.role === "asic") return { ...base, asicModel: m.asicModel };
  return base;
}

/**
 * fast-check: a site where phases bind: 1–2 feeds (the second sometimes tight), 1–4
 * three-phase PDUs (and sometimes a single-phase circuit) of 2–7 machines with 1, 2 or 3
 * cords (x1 rigs, servers, ASICs filling one phase), PDU amps low enough that the heaviest
 * phase limits the caps. Not always feasible at minimum caps; callers skip those.
 */
export function arbPhasedSite(): fc.Arbitrary<SiteSpec> {
  const machine = fc.record({
    role: fc.constantFrom("gpu", "gpu", "gpu", "gpu", "asic", "cpu") as fc.Arbitrary<"gpu" | "cpu" | "asic">,
    gpuModel: fc.constantFrom(...TEST_GPUS.map((g) => g.key)),
    gpuCount: fc.integer({ min: 1, max: 6 }),
    cords: fc.constantFrom(1, 1, 2, 2, 3),
    psuEfficiency: fc.constantFrom(0.9, 0.92, 0.94),
  });
  return fc
    .record({
      feedKw: fc.array(fc.integer({ min: 20, max: 200 }), { minLength: 1, maxLength: 2 }),
      pdus: fc.array(
        fc.record({ feed: fc.nat(), volts: fc.constantFrom(208, 400, 415), amps: fc.constantFrom(20, 25, 30, 32, 40, 50, 63), single: fc.constantFrom(false, false, false, true), machines: fc.array(machine, { minLength: 2, maxLength: 7 }) }),
        { minLength: 1, maxLength: 4 },
      ),
    })
    .map((r) => {
      const feeds = [{ name: "feed-cp", tier: "firm" as const, capacityKw: 50 }, ...r.feedKw.map((kw, i) => ({ name: `feed-${i}`, tier: (i === 0 ? "firm" : "curtailable") as "firm" | "curtailable", capacityKw: kw }))];
      const circuits = [
        { id: "pdu-cp", feed: "feed-cp", volts: 240, amps: 30, phases: 1 as const },
        ...r.pdus.map((p, i) => ({ id: `pdu-${i}`, feed: `feed-${p.feed % r.feedKw.length}`, volts: p.single ? 240 : p.volts, amps: p.amps, phases: (p.single ? 1 : 3) as 1 | 3 })),
      ];
      const machines: Machine[] = [cpMachine()];
      let n = 0;
      r.pdus.forEach((p, ci) =>
        p.machines.forEach((m) => {
          n++;
          const base = { hostname: `m-${String(n).padStart(3, "0")}`, ip: `10.0.1.${n}`, rack: `r${ci}`, circuit: `pdu-${ci}`, psuEfficiency: m.psuEfficiency, powerCords: m.role === "asic" ? 1 : m.cords };
          if (m.role === "gpu") machines.push({ ...base, role: "gpu", gpuModel: m.gpuModel, gpuCount: m.gpuCount, pcieLink: m.cords === 1 ? "x1" : "x16" });
          else if (m.role === "asic") machines.push({ ...base, role: "asic", asicModel: "s19" });
          else machines.push({ ...base, role: "cpu" });
        }),
      );
      return site(siteInput({ power: { pue: 1.1, feeds, circuits }, machines }));
    });
}
