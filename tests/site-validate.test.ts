import { describe, expect, it } from "vitest";
import { isValidTimeZone, loadAndValidate, loadSite, validateSite, type Problem } from "../src/site/index.js";
import { problemsOf, siteFixture } from "./helpers/site-problems.js";

const fixture = siteFixture;

describe("validateSite", () => {
  it("accepts a sound site, including an 8-GPU rig on x1 risers", () => {
    const site = loadAndValidate(fixture("good.yaml"));
    expect(site.spec.machines[1]).toMatchObject({ gpuCount: 8, pcieLink: "x1" });
    expect(validateSite(site.spec)).toEqual([]);
  });

  // cross.yaml has one instance of each cross-field bad-input class; one SiteError carries them all.
  const problems = problemsOf(() => loadAndValidate(fixture("cross.yaml")));
  const file = fixture("cross.yaml");
  const find = (substring: string): Problem => {
    const hits = problems.filter((p) => p.message.includes(substring));
    if (hits.length !== 1) throw new Error(`expected one problem containing "${substring}", got ${hits.length}`);
    return hits[0]!;
  };

  it("reports every problem together, in document order, all located in the site file", () => {
    expect(problems).toHaveLength(21);
    expect(problems.every((p) => p.source?.file === file)).toBe(true);
    const lines = problems.map((p) => p.source!.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });

  it.each([
    ["invalid timezone", "timezone 'America/Chicgo' is not in the IANA time zone database", 5, "use 'America/Chicago'"],
    ["curtailment on a firm feed", "feed 'utility-a' is firm but has a curtailment block", 13, "remove the curtailment block"],
    ["duplicate feed", "duplicate feed name 'utility-a' (power.feeds[0] has it too)", 15, "unique name"],
    ["duplicate circuit", "duplicate circuit id 'pdu-a1' (power.circuits[0] has it too)", 24, "unique id"],
    ["unknown feed", "circuit 'pdu-a1' names unknown feed 'utilty-b' (did you mean 'utility-a'?)", 25, "utility-a"],
    ["overlapping CIDRs", "network.clusterCidr 10.20.0.0/16 overlaps network.nodeSubnet 10.20.0.0/22", 31, "shares no addresses"],
    ["LB pool overlapping a CIDR", "loadBalancerPool 10.20.0.8/29 overlaps network.clusterCidr 10.20.0.0/16", 33, "move the pool"],
    ["LB pool overlapping nodes", "loadBalancerPool 10.20.0.8-10.20.0.15 contains the IPs of 2 machines: rig-002 (10.20.0.12), srv-001 (10.20.0.13)", 33, "no machine uses"],
    ["even control-plane count", "2 machines have role control-plane (cp-1, cp-1)", 34, "use 1 or 3 control-plane machines"],
    ["duplicate hostname", "duplicate hostname cp-1 on machines[1] (cp-1): machines[0] (cp-1) already uses it", 41, "own hostname"],
    ["duplicate IP", "duplicate IP 10.20.0.2 on machines[1]", 42, "own IP"],
    ["duplicate MAC (case-insensitive)", "duplicate MAC 3c:ec:ef:01:02:03 on machines[1]", 43, "own MAC"],
    ["IP outside the node subnet", "rig-001 IP 10.30.0.11 is outside network.nodeSubnet 10.20.0.0/22", 48, "widen nodeSubnet"],
    ["unknown circuit", "rig-001 names unknown circuit 'pdu-x9' (did you mean 'pdu-a1'?)", 50, "power.circuits"],
    ["unknown GPU model", "unknown GPU model 'rtx-3909' on rig-001 (did you mean 'rtx-3090'?)", 52, "gpuModel: rtx-3090"],
    ["GPU machine with gpuCount 0", "rig-001 has role gpu but gpuCount 0", 53, "set gpuCount"],
    ["GPU machine without gpuCount", "rig-002 has role gpu but no gpuCount", 54, "set gpuCount"],
    ["GPU fields on a cpu machine", "srv-001 has role cpu but sets gpuModel", 65, "remove gpuModel"],
    ["asicModel on a cpu machine", "srv-001 has role cpu but sets asicModel", 66, "remove asicModel"],
    ["ASIC without a model", "asic-001 has role asic but no asicModel", 67, "add asicModel"],
    ["unknown ASIC model", "unknown ASIC model 's21-hydra' on asic-002 (did you mean 's21-hydro'?)", 77, "asicModel: s21-hydro"],
  ])("%s", (_name, message, line, fix) => {
    const p = find(message);
    expect(p.source?.file).toBe(file);
    expect(p.source?.line).toBe(line);
    expect(p.fix).toContain(fix);
  });

  it("points a control-plane count problem at the machines key", () => {
    const problems = problemsOf(() => loadAndValidate(fixture("even-cp.yaml")));
    expect(problems.map((p) => [p.source, p.message])).toEqual([
      [{ file: fixture("even-cp.yaml"), line: 22, column: 1 }, "2 machines have role control-plane (cp-1, cp-2); embedded etcd needs an odd count for quorum"],
    ]);
    expect(problems[0]!.path).toEqual(["machines"]);
  });

  it("reports zero control-plane machines", () => {
    const spec = loadSite(fixture("good.yaml")).spec;
    const noServer = { ...spec, machines: spec.machines.filter((m) => m.role !== "control-plane") };
    expect(validateSite(noServer)).toEqual([
      {
        message: "no machine has role control-plane; the cluster needs 1 or an odd number ≥ 3",
        fix: "set role: control-plane on 1 machine (or 3 for high availability)",
        path: ["machines"],
      },
    ]);
  });

  it("reports a load-balancer pool outside the node subnet and overlapping the service CIDR", () => {
    const spec = loadSite(fixture("good.yaml")).spec;
    const moved = { ...spec, network: { ...spec.network, loadBalancerPool: "10.43.0.0/24" } };
    expect(validateSite(moved).map((p) => p.message)).toEqual([
      "loadBalancerPool 10.43.0.0/24 is not inside network.nodeSubnet 10.20.0.0/22",
      "loadBalancerPool 10.43.0.0/24 overlaps network.serviceCidr 10.43.0.0/16",
    ]);
  });

  it("does not require ASIC miners to be inside the node subnet", () => {
    const spec = loadSite(fixture("good.yaml")).spec;
    const asicVlan = { ...spec, machines: spec.machines.map((m) => (m.role === "asic" ? { ...m, ip: "192.168.50.10" } : m)) };
    expect(validateSite(asicVlan)).toEqual([]);
  });

  it("knows IANA zones", () => {
    expect(isValidTimeZone("Europe/Oslo")).toBe(true);
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus")).toBe(false);
  });
});

describe("curtailment windows", () => {
  it("reports a window whose end cannot be a cron schedule, at the window's schedule", async () => {
    const { validateSite } = await import("../src/site/validate.js");
    const { Site } = await import("../src/site/schema.js");
    const spec = Site.parse({
      apiVersion: "mine2hpc.io/v1alpha1",
      kind: "Site",
      metadata: { name: "w", timezone: "America/Chicago", gridRegion: "ERCOT" },
      power: {
        pue: 1.1,
        feeds: [
          { name: "grid", tier: "curtailable", capacityKw: 100, curtailment: { responseTimeSeconds: 600, windows: [
            { name: "ok", schedule: "0 15 * 6-9 1-5", durationMinutes: 120 },
            { name: "every-15", schedule: "*/15 15 * * *", durationMinutes: 10 },
            { name: "late", schedule: "0 23 * 6-9 1-5", durationMinutes: 90 },
          ] } },
        ],
        circuits: [{ id: "pdu-1", feed: "grid", volts: 240, amps: 30, phases: 1 }],
      },
      network: { nodeSubnet: "10.0.0.0/24" },
      machines: [{ hostname: "cp-1", ip: "10.0.0.2", rack: "r1", circuit: "pdu-1", role: "control-plane" }],
    });
    const problems = validateSite(spec).filter((p) => p.path?.[4] === "windows");
    expect(problems.map((p) => [p.path, p.message])).toEqual([
      [["power", "feeds", 0, "curtailment", "windows", 1, "schedule"], 'curtailment window every-15 of feed grid (schedule "*/15 15 * * *"): the end time cannot be computed because the minute and hour fields are not single numbers'],
      [["power", "feeds", 0, "curtailment", "windows", 2, "schedule"], 'curtailment window late of feed grid (schedule "0 23 * 6-9 1-5") ends after midnight, and the days it ends on (the day after each start) cannot be written as cron schedules'],
    ]);
  });
  it("reserves the window name 'manual' for the feed's hand-started CronJobs, at the window's name", async () => {
    const { validateSite } = await import("../src/site/validate.js");
    const { Site } = await import("../src/site/schema.js");
    const { MANUAL_WINDOW } = await import("../src/site/cron.js");
    expect(MANUAL_WINDOW).toBe("manual");
    const spec = Site.parse({
      apiVersion: "mine2hpc.io/v1alpha1",
      kind: "Site",
      metadata: { name: "w", timezone: "America/Chicago", gridRegion: "ERCOT" },
      power: {
        pue: 1.1,
        feeds: [
          { name: "firm", tier: "firm", capacityKw: 50 },
          { name: "grid", tier: "curtailable", capacityKw: 100, curtailment: { responseTimeSeconds: 600, windows: [
            { name: "4cp-summer", schedule: "0 15 * 6-9 1-5", durationMinutes: 120 },
            { name: "manual", schedule: "0 19 * * *", durationMinutes: 60 },
            { name: "manual-ers", schedule: "0 7 * * *", durationMinutes: 60 },
          ] } },
        ],
        circuits: [
          { id: "pdu-0", feed: "firm", volts: 240, amps: 30, phases: 1 },
          { id: "pdu-1", feed: "grid", volts: 240, amps: 30, phases: 1 },
        ],
      },
      network: { nodeSubnet: "10.0.0.0/24" },
      machines: [{ hostname: "cp-1", ip: "10.0.0.2", rack: "r1", circuit: "pdu-0", role: "control-plane" }],
    });
    const problems = validateSite(spec).filter((p) => p.path?.[4] === "windows");
    // Only the exact name is reserved: 'manual-ers' is a window like any other.
    expect(problems).toEqual([
      {
        message: "curtailment window name 'manual' of feed 'grid' is reserved for the CronJobs 'mine2hpc curtail' starts by hand",
        fix: "give the window another name, e.g. 'dispatch-manual' or '4cp-summer'",
        path: ["power", "feeds", 1, "curtailment", "windows", 1, "name"],
      },
    ]);
  });
});

describe("schema and cross-field problems in one pass", () => {
  it("reports a machine's wrong type together with another machine's duplicate IP", async () => {
    const { loadAndValidate } = await import("../src/site/load.js");
    const path = await import("node:path");
    const { fileURLToPath } = await import("node:url");
    const file = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "sites", "mixed.yaml");
    let err: unknown;
    try {
      loadAndValidate(file);
    } catch (e) {
      err = e;
    }
    const { SiteError } = await import("../src/site/problems.js");
    expect(err).toBeInstanceOf(SiteError);
    const problems = (err as InstanceType<typeof SiteError>).problems;
    expect(problems.map((p) => [p.source?.line, p.source?.column, p.message])).toEqual([
      [11, 28, "duplicate IP 10.9.0.2 on machines[1] (rig-1): machines[0] (cp-1) already uses it"],
      [12, 106, "gpuCount must be a number, got 'six'"],
    ]);
  });

  it("skips the machine that failed the schema in the cross-field checks (no second complaint about it)", async () => {
    const { validateSite } = await import("../src/site/validate.js");
    const { Site } = await import("../src/site/schema.js");
    const spec = Site.parse({
      apiVersion: "mine2hpc.io/v1alpha1", kind: "Site",
      metadata: { name: "s", timezone: "America/Chicago", gridRegion: "ERCOT" },
      power: { pue: 1.1, feeds: [{ name: "grid", tier: "firm", capacityKw: 100 }], circuits: [{ id: "pdu-1", feed: "grid", volts: 240, amps: 30, phases: 1 }] },
      network: { nodeSubnet: "10.9.0.0/24" },
      machines: [
        { hostname: "cp-1", ip: "10.9.0.2", rack: "r1", circuit: "pdu-1", role: "control-plane" },
        { hostname: "cp-1", ip: "10.9.0.2", rack: "r1", circuit: "nowhere", role: "control-plane" },
      ],
    });
    expect(validateSite(spec).map((p) => p.path?.join("."))).toEqual(["machines.1.hostname", "machines.1.ip", "machines.1.circuit", "machines"]);
    expect(validateSite(spec, { skipMachines: new Set([1]) })).toEqual([]);
  });
});

describe("inventory powerCords column", () => {
  it("reads powerCords from the CSV and rejects a non-integer at its cell", async () => {
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const { loadSite } = await import("../src/site/load.js");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mine2hpc-cords-"));
    const site = [
      "apiVersion: mine2hpc.io/v1alpha1",
      "kind: Site",
      "metadata: { name: c, timezone: America/Chicago, gridRegion: ERCOT }",
      "power:",
      "  pue: 1.1",
      "  feeds: [{ name: grid, tier: firm, capacityKw: 100 }]",
      "  circuits: [{ id: pdu-1, feed: grid, volts: 415, amps: 32, phases: 3 }]",
      "network: { nodeSubnet: 10.9.0.0/24 }",
      "inventory: inv.csv",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "site.yaml"), site);
    fs.writeFileSync(path.join(dir, "inv.csv"), "hostname,ip,rack,circuit,role,powerCords\ncp-1,10.9.0.2,r1,pdu-1,control-plane,3\n");
    expect(loadSite(path.join(dir, "site.yaml")).spec.machines[0]!.powerCords).toBe(3);
    fs.writeFileSync(path.join(dir, "inv.csv"), "hostname,ip,rack,circuit,role,powerCords\ncp-1,10.9.0.2,r1,pdu-1,control-plane,1.5\n");
    let message = "";
    try {
      loadSite(path.join(dir, "site.yaml"));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`${path.join(dir, "inv.csv")}:2:`);
    expect(message).toContain("powerCords");
  });
});

describe("site catalog (catalog.gpus[], catalog.asics[]) and gpuMaxWatts", () => {
  it("accepts a site's own models, a replaced built-in model and per-machine max limits (inline and from the CSV)", () => {
    const site = loadAndValidate(fixture("catalog.yaml"));
    const byHost = Object.fromEntries(site.spec.machines.map((m) => [m.hostname, m]));
    expect(byHost["rig-002"]!.gpuMaxWatts).toBe(420);
    expect(byHost["rig-003"]!.gpuMaxWatts).toBe(480);
    expect(byHost["rig-004"]!.gpuMaxWatts).toBeUndefined();
    expect(site.locate(["machines", 4, "gpuMaxWatts"])).toEqual({ file: fixture("catalog.csv"), line: 2, column: 45 });
    expect(site.spec.catalog!.gpus.map((g) => [g.key, g.consumer, g.formFactor, g.aliases])).toEqual([
      ["rtx-2080-ti", true, "pcie", ["rtx2080ti", "2080ti"]],
      ["rtx-3090", true, "pcie", []],
    ]);
  });

  // catalog-bad.yaml: one of each catalog problem, all reported with the machine problems in one pass.
  const file = fixture("catalog-bad.yaml");
  const problems = problemsOf(() => loadAndValidate(file));

  it("reports every catalog and model problem together, at its line, in document order", () => {
    expect(problems.map((p) => [p.source?.line, p.message])).toEqual([
      [24, "catalog.gpus[0] (nvidia-rtx-2060): key 'nvidia-rtx-2060' is not in catalog form: names are looked up without vendor words (nvidia, geforce, antminer, whatsminer, bitmain, microbt, canaan)"],
      [28, "catalog.gpus[0] (nvidia-rtx-2060): minWatts 200 W is above tdpWatts 160 W"],
      [29, "catalog.gpus[0] (nvidia-rtx-2060): tdpWatts 160 W is above maxWatts 150 W"],
      [31, "catalog.gpus[1] (rx-6800): 'AMD Radeon RX 6800' is an AMD GPU; the NVIDIA GPU operator, its device plugin and nvidia-smi power limits drive only NVIDIA GPUs"],
      [38, "catalog.gpus[2] (a800-sxm): an SXM (HGX) model has no hostBaseWatts"],
      [45, "catalog.gpus[2] (a800-sxm): boardMaxWatts 300 W is below maxWatts 400 W"],
      [46, "catalog.gpus[2] (a800-sxm): idleWatts 100 W is not below minWatts 100 W"],
      [48, "catalog.gpus[2] (a800-sxm): curve starts at 150 W, not at minWatts 100 W"],
      [48, "catalog.gpus[2] (a800-sxm): curve is not concave at point 1 (200 W): it gains more per watt after it than before it"],
      [56, "catalog.gpus[3] (titan-rtx): curve is 0.95 at tdpWatts 280 W, not 1.0"],
      [57, "catalog.gpus[3] (titan-rtx): '3090' names the built-in GPU model 'rtx-3090'"],
      [58, "duplicate catalog GPU key 'titan-rtx' (catalog.gpus[3] has it too)"],
      [70, "catalog.asics[0] (t21): 's21' names the built-in ASIC model 's21'"],
      [77, "cp-1 has role control-plane but sets gpuMaxWatts; only gpu machines get GPU pools and caps"],
      [83, "rig-001: gpuModel 'RX 5700 XT' is an AMD GPU; the NVIDIA GPU operator (device plugin, drivers) and nvidia-smi power limits drive only NVIDIA GPUs, so it cannot be a GPU node"],
      [90, "unknown GPU model 'rtx-2070-super' on rig-002 (did you mean 'rtx-3070-ti'?)"],
      [99, "rig-003: gpuMaxWatts 700 W is above the highest power limit rtx-4090 boards are known to accept (600 W)"],
      [107, "rig-004: gpuMaxWatts 300 W is below the rtx-3090's TDP of 350 W; a board's Max Power Limit is never below its default limit"],
      [113, "rig-005: gpuModel 'mi100' is an AMD GPU; the NVIDIA GPU operator (device plugin, drivers) and nvidia-smi power limits drive only NVIDIA GPUs, so it cannot be a GPU node"],
    ]);
    expect(problems.every((p) => p.source?.file === file)).toBe(true);
  });

  it.each([
    ["key form", "not in catalog form", "write key: rtx-2060"],
    ["min above TDP", "minWatts 200 W is above", "min ≤ TDP ≤ max"],
    ["curve not concave", "not concave", "exact only for concave curves"],
    ["alias of a built-in model", "'3090' names the built-in", "to replace the built-in model, set key: rtx-3090"],
    ["AMD GPU on a machine", "'RX 5700 XT' is an AMD GPU", "plan the machine as role: cpu without gpuModel, gpuCount and pcieLink (count its GPUs' draw in baseWatts), or leave it out of the site"],
    ["unknown model: the site catalog is the fix, not the source", "unknown GPU model 'rtx-2070-super'", "describe it in the site file under catalog.gpus"],
    ["gpuMaxWatts above what boards accept", "gpuMaxWatts 700 W", "give the model boardMaxWatts: 700 in the site file's catalog.gpus (an entry with key: rtx-4090)"],
    ["gpuMaxWatts below TDP", "gpuMaxWatts 300 W", "(350–400 W), or remove it to use the catalog's 400 W"],
  ])("%s: the fix says what to do", (_name, message, fix) => {
    const hits = problems.filter((p) => p.message.includes(message));
    expect(hits).toHaveLength(1);
    expect(hits[0]!.fix).toContain(fix);
  });

  it("no fix sends a person to edit the tool's source (src/site/catalog.ts)", () => {
    expect(problems.filter((p) => p.fix.includes("src/site"))).toEqual([]);
  });

  it("a site catalog model without a curve below 10 % of TDP asks for a curve", () => {
    const spec = loadSite(fixture("catalog.yaml")).spec;
    const gpus = [{ ...spec.catalog!.gpus[0]!, minWatts: 20 }, spec.catalog!.gpus[1]!];
    expect(validateSite({ ...spec, catalog: { gpus, asics: spec.catalog!.asics } }).map((p) => [p.path?.join("."), p.message])).toEqual([
      ["catalog.gpus.0.minWatts", "catalog.gpus[0] (rtx-2080-ti): minWatts 20 W is below 10 % of tdpWatts, where the shared throughput model is not defined"],
    ]);
  });
});
