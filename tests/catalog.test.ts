import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  ASICS,
  BUILTIN_CATALOG,
  GPUS,
  editDistance,
  findAsic,
  findGpu,
  isAmdGpuName,
  modelCurve,
  nearestName,
  normalizeModelName,
  relativeThroughput,
  siteCatalog,
  withMaxWatts,
  type GpuSpec,
  type SiteGpuEntry,
} from "../src/site/catalog.js";

const REQUIRED_GPU_KEYS = [
  "rtx-3060", "rtx-3060-ti", "rtx-3070", "rtx-3070-ti", "rtx-3080", "rtx-3080-ti", "rtx-3090", "rtx-4070-ti", "rtx-4080", "rtx-4090", "rtx-5090",
  "rtx-a2000", "rtx-a2000-12gb", "rtx-a4000", "rtx-a4500", "rtx-a5000", "rtx-a6000", "rtx-6000-ada",
  "a10", "a30", "a40", "l4", "l40", "l40s", "t4", "v100-pcie", "v100-sxm", "a100-pcie", "a100-sxm", "h100-pcie", "h100-sxm", "h200-sxm", "b200",
  "cmp-30hx", "cmp-50hx", "cmp-90hx", "cmp-170hx",
];
const REQUIRED_ASIC_KEYS = [
  "s19", "s19j-pro", "s19-xp", "s21", "s21-hydro", "m50s", "m60s",
  "s19k-pro", "s21-pro", "s21-xp", "m30s-plus-plus", "m63s", "avalon-a1466",
];

function gpu(key: string): GpuSpec {
  const g = GPUS.find((x) => x.key === key);
  if (!g) throw new Error(`catalog has no GPU ${key}`);
  return g;
}

describe("GPU catalog", () => {
  it("has every required model, exactly once", () => {
    const keys = GPUS.map((g) => g.key);
    expect([...keys].sort()).toEqual([...REQUIRED_GPU_KEYS].sort());
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("keys, names and aliases never collide across models", () => {
    const owner = new Map<string, string>();
    for (const g of GPUS) {
      for (const n of new Set([g.key, normalizeModelName(g.name), ...g.aliases])) {
        expect(owner.get(n) ?? g.key, `"${n}" claimed by ${owner.get(n)} and ${g.key}`).toBe(g.key);
        owner.set(n, g.key);
      }
    }
  });

  it("keys and aliases are in normalized form", () => {
    for (const g of GPUS) {
      expect(normalizeModelName(g.key)).toBe(g.key);
      for (const a of g.aliases) expect(normalizeModelName(a), `${g.key} alias ${a}`).toBe(a);
    }
  });

  it.each(GPUS.map((g) => [g.key, g] as const))("%s: power range and figures are sane", (_key, g) => {
    expect(g.minWatts).toBeLessThan(g.tdpWatts);
    expect(g.tdpWatts).toBeLessThanOrEqual(g.maxWatts);
    expect(g.idleWatts).toBeGreaterThan(0);
    expect(g.idleWatts).toBeLessThan(g.minWatts);
    expect(g.memoryGiB).toBeGreaterThan(0);
    expect(g.fp16Tflops).toBeGreaterThan(0);
    expect(g.hostBaseWatts).toBeGreaterThan(0);
    // GeForce and CMP mining cards are both outside NVIDIA's datacenter support matrix.
    expect(g.consumer).toBe(g.name.includes("GeForce") || g.name.includes(" CMP "));
    if (g.consumer) expect(g.formFactor).toBe("pcie");
    for (const w of [g.tdpWatts, g.minWatts, g.maxWatts, g.boardMaxWatts ?? g.maxWatts]) expect(Number.isInteger(w)).toBe(true);
    expect(g.boardMaxWatts ?? g.maxWatts).toBeGreaterThanOrEqual(g.maxWatts);
  });

  it.each(GPUS.map((g) => [g.key, g] as const))("%s: curve spans min..max, ascending, concave, 1.0 at TDP", (_key, g) => {
    const c = g.curve;
    expect(c.length).toBeGreaterThanOrEqual(3);
    expect(c.length).toBeLessThanOrEqual(7);
    expect(c[0]![0]).toBe(g.minWatts);
    expect(c[c.length - 1]![0]).toBe(g.maxWatts);
    for (let i = 1; i < c.length; i++) {
      expect(c[i]![0], `caps ascend at point ${i}`).toBeGreaterThan(c[i - 1]![0]);
      expect(c[i]![1], `throughput rises at point ${i}`).toBeGreaterThan(c[i - 1]![1]);
    }
    for (let i = 2; i < c.length; i++) {
      const before = (c[i - 1]![1] - c[i - 2]![1]) / (c[i - 1]![0] - c[i - 2]![0]);
      const after = (c[i]![1] - c[i - 1]![1]) / (c[i]![0] - c[i - 1]![0]);
      expect(after, `slope must not increase at ${c[i - 1]![0]} W`).toBeLessThanOrEqual(before);
    }
    expect(Math.abs(relativeThroughput(g, g.tdpWatts) - 1)).toBeLessThan(1e-9);
    expect(c[0]![1]).toBeGreaterThan(0);
    // Above TDP the gain is small: at most +4% for the whole headroom.
    expect(relativeThroughput(g, g.maxWatts)).toBeLessThanOrEqual(1.04);
  });

  it.each(GPUS.map((g) => [g.key, g] as const))("%s: curve is the shared model sampled at its range (modelCurve, 3 decimals)", (_key, g) => {
    expect(g.curve).toEqual(modelCurve(g.tdpWatts, g.minWatts, g.maxWatts, 3));
  });

  it("spot-checks datasheet figures", () => {
    const h100 = gpu("h100-sxm");
    expect([h100.tdpWatts, h100.minWatts, h100.maxWatts, h100.memoryGiB, h100.fp16Tflops]).toEqual([700, 200, 700, 80, 989]);
    expect(h100.formFactor).toBe("sxm");
    expect(h100.hostBaseWatts).toBe(4300);
    const r3090 = gpu("rtx-3090");
    expect([r3090.tdpWatts, r3090.minWatts, r3090.maxWatts, r3090.memoryGiB]).toEqual([350, 100, 400, 24]);
    expect(r3090.consumer).toBe(true);
    expect(r3090.hostBaseWatts).toBe(120);
    // The planner's default max is the limit every 4090 board accepts; Founders Edition-class boards reach 600 W per machine.
    const r4090 = gpu("rtx-4090");
    expect([r4090.tdpWatts, r4090.minWatts, r4090.maxWatts, r4090.boardMaxWatts]).toEqual([450, 150, 450, 600]);
    const r5090 = gpu("rtx-5090");
    expect([r5090.tdpWatts, r5090.minWatts, r5090.maxWatts, r5090.memoryGiB]).toEqual([575, 400, 575, 32]);
    expect([gpu("rtx-3080-ti").tdpWatts, gpu("rtx-3080-ti").memoryGiB, gpu("rtx-3080-ti").fp16Tflops]).toEqual([350, 12, 68.2]);
    expect([gpu("t4").minWatts, gpu("t4").maxWatts, gpu("t4").fp16Tflops]).toEqual([60, 70, 65]);
    expect([gpu("l4").tdpWatts, gpu("a10").fp16Tflops, gpu("a30").fp16Tflops, gpu("a40").fp16Tflops, gpu("l40").fp16Tflops]).toEqual([72, 125, 165, 149.7, 181.05]);
    expect([gpu("v100-pcie").tdpWatts, gpu("v100-sxm").tdpWatts, gpu("v100-sxm").formFactor]).toEqual([250, 300, "sxm"]);
    expect([gpu("rtx-a2000").tdpWatts, gpu("rtx-a4500").fp16Tflops, gpu("rtx-a6000").fp16Tflops]).toEqual([70, 94.6, 154.8]);
    expect(gpu("a100-sxm").tdpWatts).toBe(400);
    expect(gpu("a100-pcie").tdpWatts).toBe(300);
    expect(gpu("h100-pcie").tdpWatts).toBe(350);
    expect(gpu("l40s").fp16Tflops).toBe(362.05);
    expect(gpu("h200-sxm").memoryGiB).toBe(141);
    expect(gpu("b200").tdpWatts).toBe(1000);
    expect(gpu("rtx-a4000").consumer).toBe(false);
  });
});

describe("relativeThroughput", () => {
  it("interpolates linearly between curve points", () => {
    // h100-sxm has points (350 W, 0.7) and (490 W, 0.9); 420 W is the midpoint → 0.8.
    expect(relativeThroughput(gpu("h100-sxm"), 420)).toBeCloseTo(0.8, 12);
    // rtx-3090: (100 W, 0.379) and (175 W, 0.7); 130 W is 30/75 of the way → 0.379 + 0.4 × 0.321 = 0.5074.
    expect(relativeThroughput(gpu("rtx-3090"), 130)).toBeCloseTo(0.5074, 12);
    // rtx-4090 raised to 600 W: above TDP the model's slope, +0.1 per TDP: 525 W → 1 + 75 / 450 × 0.1.
    expect(relativeThroughput(withMaxWatts(gpu("rtx-4090"), 600), 525)).toBeCloseTo(1 + 75 / 4500, 12);
  });

  it("returns the exact point value at a curve point", () => {
    expect(relativeThroughput(gpu("h100-sxm"), 490)).toBe(0.9);
    expect(relativeThroughput(gpu("a100-pcie"), 150)).toBe(0.7);
  });

  it("clamps outside the settable range", () => {
    expect(relativeThroughput(gpu("h100-sxm"), 50)).toBe(0.379);
    expect(relativeThroughput(gpu("h100-sxm"), 900)).toBe(1);
    expect(relativeThroughput(gpu("rtx-3090"), 1000)).toBe(1.014);
  });
});

describe("ASIC catalog", () => {
  it("has every required model, exactly once", () => {
    const keys = ASICS.map((a) => a.key);
    expect([...keys].sort()).toEqual([...REQUIRED_ASIC_KEYS].sort());
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("aliases are in normalized form and positive figures", () => {
    for (const a of ASICS) {
      expect(normalizeModelName(a.key)).toBe(a.key);
      for (const al of a.aliases) expect(normalizeModelName(al)).toBe(al);
      expect(a.watts).toBeGreaterThan(1000);
      expect(a.hashrateThs).toBeGreaterThan(0);
    }
  });

  it("spot-checks spec-sheet figures", () => {
    const table = Object.fromEntries(ASICS.map((a) => [a.key, [a.hashrateThs, a.watts]]));
    expect(table).toEqual({
      s19: [95, 3250],
      "s19j-pro": [104, 3068],
      "s19-xp": [140, 3010],
      s21: [200, 3500],
      "s21-hydro": [335, 5360],
      m50s: [126, 3276],
      m60s: [186, 3441],
      "s19k-pro": [120, 2760],
      "s21-pro": [234, 3510],
      "s21-xp": [270, 3645],
      "m30s-plus-plus": [112, 3472],
      m63s: [390, 7215],
      "avalon-a1466": [150, 3230],
    });
  });
});

describe("name lookup", () => {
  it("normalizes vendor words, case, spaces and underscores", () => {
    expect(normalizeModelName("NVIDIA GeForce RTX 3090")).toBe("rtx-3090");
    expect(normalizeModelName("  Antminer_S19j  Pro ")).toBe("s19j-pro");
    expect(normalizeModelName("NVIDIA RTX 6000 Ada Generation")).toBe("rtx-6000-ada-generation");
  });

  it("finds GPUs by key, marketing name, nvidia-smi name and alias", () => {
    expect(findGpu("NVIDIA GeForce RTX 3090")?.key).toBe("rtx-3090");
    expect(findGpu("rtx-3090")?.key).toBe("rtx-3090");
    expect(findGpu("RTX3090")?.key).toBe("rtx-3090");
    expect(findGpu("NVIDIA H100 80GB HBM3")?.key).toBe("h100-sxm");
    expect(findGpu("NVIDIA H100 PCIe")?.key).toBe("h100-pcie");
    expect(findGpu("NVIDIA H200")?.key).toBe("h200-sxm");
    expect(findGpu("NVIDIA RTX 6000 Ada Generation")?.key).toBe("rtx-6000-ada");
    expect(findGpu("NVIDIA RTX A4000")?.key).toBe("rtx-a4000");
    expect(findGpu("A5000")?.key).toBe("rtx-a5000");
    expect(findGpu("NVIDIA A100 80GB PCIe")?.key).toBe("a100-pcie");
    expect(findGpu("NVIDIA A100-SXM4-80GB")?.key).toBe("a100-sxm");
    expect(findGpu("NVIDIA L40S")?.key).toBe("l40s");
    expect(findGpu("NVIDIA B200")?.key).toBe("b200");
    expect(findGpu("rtx-9999")).toBeUndefined();
  });

  it("finds ASICs by key, name and alias", () => {
    expect(findAsic("Antminer S19j Pro")?.key).toBe("s19j-pro");
    expect(findAsic("Bitmain Antminer S19 XP")?.key).toBe("s19-xp");
    expect(findAsic("S21 Hyd")?.key).toBe("s21-hydro");
    expect(findAsic("WhatsMiner M60S")?.key).toBe("m60s");
    expect(findAsic("s19")?.key).toBe("s19");
    expect(findAsic("rtx-3090")).toBeUndefined();
  });

  it("suggests the nearest name for typos", () => {
    const keys = GPUS.map((g) => g.key);
    expect(nearestName("rtx-3900", keys)).toBe("rtx-3090");
    expect(nearestName("H100 SMX", keys)).toBe("h100-sxm");
    expect(nearestName("Antminer S19j Por", ASICS.map((a) => a.key))).toBe("s19j-pro");
    expect(nearestName("x", [])).toBeUndefined();
  });

  it("editDistance stays plain Levenshtein", () => {
    expect(editDistance("rtx-3900", "rtx-3090")).toBe(2);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });
});

describe("throughput figures compare across GPU classes", () => {
  it("GeForce cards use the FP32-accumulate tensor rate, like datacenter cards", () => {
    expect(GPUS.filter((g) => g.consumer).map((g) => [g.key, g.fp16Tflops])).toEqual([
      ["rtx-3060", 25.6],
      ["rtx-3070", 40.6],
      ["rtx-3080", 59.5],
      ["rtx-3090", 71],
      ["rtx-4090", 165.2],
      ["rtx-3060-ti", 32.4],
      ["rtx-3070-ti", 43.5],
      ["rtx-3080-ti", 68.2],
      ["rtx-4070-ti", 80.2],
      ["rtx-4080", 97.5],
      ["rtx-5090", 209.5],
      ["cmp-30hx", 0.31],
      ["cmp-50hx", 1.38],
      ["cmp-90hx", 1.37],
      ["cmp-170hx", 6.3],
    ]);
  });
});

describe("NVIDIA CMP mining cards", () => {
  it("carry their Gen 1 x4 link and names as nvidia-smi prints them", () => {
    const cmp = GPUS.filter((g) => g.key.startsWith("cmp-"));
    expect(cmp.map((g) => [g.key, g.tdpWatts, g.memoryGiB, g.pcieLinkLimit])).toEqual([
      ["cmp-30hx", 125, 6, { generation: 1, lanes: 4 }],
      ["cmp-50hx", 250, 10, { generation: 1, lanes: 4 }],
      ["cmp-90hx", 320, 10, { generation: 1, lanes: 4 }],
      ["cmp-170hx", 250, 8, { generation: 1, lanes: 4 }],
    ]);
    expect(findGpu("NVIDIA CMP 170HX")?.key).toBe("cmp-170hx");
    expect(GPUS.filter((g) => g.pcieLinkLimit !== undefined).map((g) => g.key)).toEqual(["cmp-30hx", "cmp-50hx", "cmp-90hx", "cmp-170hx"]);
  });
});

describe("the H200 entry against a real capture (tests/fixtures/nvidia-smi/h200-580.159.04)", () => {
  const qpower = readFileSync(fileURLToPath(new URL("./fixtures/nvidia-smi/h200-580.159.04/qpower.txt", import.meta.url)), "utf8");
  const csv = readFileSync(fileURLToPath(new URL("./fixtures/nvidia-smi/h200-580.159.04/csv-header.txt", import.meta.url)), "utf8");
  /** The first "<label> : <n> W" line of `nvidia-smi -q -d POWER` (the GPU's own readings, before the module's). */
  const watts = (label: string): number => {
    const m = new RegExp(`^\\s+${label}\\s+:\\s+([\\d.]+) W$`, "m").exec(qpower);
    if (!m) throw new Error(`no ${label} in qpower.txt`);
    return Number(m[1]);
  };

  it("nvidia-smi's Min/Max/Default Power Limit are the catalog's min, max and TDP", () => {
    const h200 = gpu("h200-sxm");
    expect([watts("Min Power Limit"), watts("Max Power Limit"), watts("Default Power Limit")]).toEqual([200, 700, 700]);
    expect([h200.minWatts, h200.maxWatts, h200.tdpWatts]).toEqual([watts("Min Power Limit"), watts("Max Power Limit"), watts("Default Power Limit")]);
  });

  it("memory: nvidia-smi's total (143771 MiB = 140.4 GiB, less what the driver reserves) is within 1 % of the datasheet's 141", () => {
    const smi = readFileSync(fileURLToPath(new URL("./fixtures/nvidia-smi/h200-580.159.04/default.txt", import.meta.url)), "utf8");
    const mib = Number(/\d+MiB \/\s+(\d+)MiB/.exec(smi)![1]);
    expect(mib).toBe(143771);
    expect(Math.abs(gpu("h200-sxm").memoryGiB - mib / 1024) / gpu("h200-sxm").memoryGiB).toBeLessThan(0.01);
  });

  it("the name nvidia-smi prints finds the entry, and the CSV's limits agree", () => {
    const row = csv.split("\n").find((l) => l.startsWith("0, GPU-"))!.split(", ");
    expect(row[2]).toBe("NVIDIA H200");
    expect(findGpu(row[2]!)?.key).toBe("h200-sxm");
    expect(row.slice(4, 7)).toEqual(["200.00 W", "700.00 W", "700.00 W"]);
  });
});

describe("modelCurve and withMaxWatts", () => {
  it("samples the shared model at min, 0.5/0.7/0.85/0.93 × TDP (5 W steps) inside the range, TDP and max", () => {
    expect(modelCurve(350, 100, 400, 3)).toEqual([[100, 0.379], [175, 0.7], [245, 0.9], [300, 0.972], [325, 0.99], [350, 1], [400, 1.014]]);
    expect(modelCurve(70, 60, 70, 3)).toEqual([[60, 0.972], [65, 0.99], [70, 1]]);
  });

  it("cuts a curve at a lower max (interpolated) and extends it at the model's slope above TDP", () => {
    const r3090 = gpu("rtx-3090");
    expect(withMaxWatts(r3090, 400)).toBe(r3090);
    const cut = withMaxWatts(r3090, 375).curve;
    expect(cut.slice(0, -1)).toEqual([[100, 0.379], [175, 0.7], [245, 0.9], [300, 0.972], [325, 0.99], [350, 1]]);
    expect(cut[cut.length - 1]![0]).toBe(375);
    expect(cut[cut.length - 1]![1]).toBeCloseTo(1.007, 12);
    const raised = withMaxWatts(gpu("rtx-4090"), 600);
    expect(raised.maxWatts).toBe(600);
    expect(raised.curve[raised.curve.length - 1]).toEqual([600, 1 + 150 / 4500]);
    // A datacenter curve ending at TDP continues with the smaller of its last slope and the model's.
    const a10 = withMaxWatts(gpu("a10"), 160);
    expect(a10.curve[a10.curve.length - 1]![1]).toBeCloseTo(1 + 10 * Math.min(0.01 / 10, 0.1 / 150), 12);
  });
});

describe("minimum power limits: sourced or marked derived", () => {
  it("marks exactly the built-in models whose minWatts is inferred", () => {
    expect(GPUS.filter((g) => g.minWattsSource === "derived").map((g) => [g.key, g.minWatts])).toEqual([
      ["rtx-3060-ti", 100],
      ["rtx-3070-ti", 100],
      ["rtx-3080-ti", 100],
      ["rtx-4070-ti", 95],
      ["rtx-4080", 110],
      ["rtx-a2000", 50],
      ["rtx-a2000-12gb", 50],
      ["rtx-a4500", 100],
      ["rtx-a6000", 100],
      ["a10", 100],
      ["a30", 100],
      ["l4", 40],
      ["l40", 100],
      ["v100-pcie", 100],
      ["b200", 200],
      ["cmp-30hx", 100],
      ["cmp-50hx", 100],
      ["cmp-90hx", 100],
      ["cmp-170hx", 100],
    ]);
  });

  it("takes the V100 SXM2 and A40 limits from nvidia-smi captures (nvidia-docker #1076, #1447)", () => {
    expect([gpu("v100-sxm").minWatts, gpu("v100-sxm").maxWatts, gpu("v100-sxm").minWattsSource]).toEqual([150, 300, undefined]);
    expect([gpu("a40").minWatts, gpu("a40").maxWatts, gpu("a40").minWattsSource]).toEqual([100, 300, undefined]);
    expect([gpu("rtx-4090").minWatts, gpu("rtx-4090").minWattsSource]).toEqual([150, undefined]);
  });

  it("a site entry counts as verified even where it replaces a derived built-in model", () => {
    const cat = siteCatalog({ catalog: { gpus: [{ key: "cmp-170hx", name: "NVIDIA CMP 170HX", consumer: true, formFactor: "pcie", memoryGiB: 8, tdpWatts: 250, minWatts: 125, maxWatts: 250, fp16Tflops: 6.3, aliases: [] }], asics: [] } });
    expect([cat.findGpu("cmp-170hx")!.minWatts, cat.findGpu("cmp-170hx")!.minWattsSource]).toEqual([125, undefined]);
  });

  it("tells the 12 GB RTX A2000 from the 6 GB one", () => {
    expect([findGpu("NVIDIA RTX A2000 12GB")?.key, findGpu("NVIDIA RTX A2000 12GB")?.memoryGiB]).toEqual(["rtx-a2000-12gb", 12]);
    expect([findGpu("NVIDIA RTX A2000")?.key, findGpu("rtx-a2000-6gb")?.memoryGiB]).toEqual(["rtx-a2000", 6]);
    const { key: _k, name: _n, memoryGiB: _m, aliases: _a, ...rest12 } = gpu("rtx-a2000-12gb");
    const { key: _k6, name: _n6, memoryGiB: _m6, aliases: _a6, ...rest6 } = gpu("rtx-a2000");
    expect(rest12).toEqual(rest6);
  });
});

describe("siteCatalog", () => {
  const entry: SiteGpuEntry = {
    key: "rtx-2080-ti",
    name: "NVIDIA GeForce RTX 2080 Ti",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 11,
    tdpWatts: 250,
    minWatts: 100,
    maxWatts: 280,
    fp16Tflops: 56.9,
    aliases: ["2080TI"],
  };

  it("finds site models first, then built-in ones; a built-in key is replaced, its other spellings follow", () => {
    const replaced: SiteGpuEntry = { ...entry, key: "rtx-3090", name: "Partner RTX 3090", tdpWatts: 350, maxWatts: 350, boardMaxWatts: 480, aliases: [] };
    const cat = siteCatalog({ catalog: { gpus: [entry, replaced], asics: [{ key: "t21", name: "Antminer T21", watts: 3610, hashrateThs: 190, aliases: [] }] } });
    expect(cat.findGpu("NVIDIA GeForce RTX 2080 Ti")?.key).toBe("rtx-2080-ti");
    expect(cat.findGpu("2080ti")?.key).toBe("rtx-2080-ti");
    expect(cat.findGpu("rtx-3090")?.boardMaxWatts).toBe(480);
    // The built-in 3090's aliases are gone with it: only the replacing entry's spellings find it.
    expect(cat.findGpu("3090")).toBeUndefined();
    expect(cat.findGpu("h100")?.key).toBe("h100-sxm");
    expect(cat.findAsic("Antminer T21")?.key).toBe("t21");
    expect(cat.gpus.map((g) => g.key).slice(0, 3)).toEqual(["rtx-2080-ti", "rtx-3090", "rtx-3060"]);
    expect(cat.gpus.filter((g) => g.key === "rtx-3090")).toHaveLength(1);
  });

  it("fills what a site entry leaves out: the model curve, idle at 10 % of TDP, host base by class", () => {
    const g = siteCatalog({ catalog: { gpus: [entry], asics: [] } }).findGpu("rtx-2080-ti")!;
    expect(g.curve).toEqual(modelCurve(250, 100, 280));
    expect([g.idleWatts, g.hostBaseWatts, g.aliases]).toEqual([25, 120, ["2080ti"]]);
  });

  it("is the built-in catalog when the site has none", () => {
    expect(siteCatalog({})).toBe(BUILTIN_CATALOG);
    expect(siteCatalog({ catalog: { gpus: [], asics: [] } })).toBe(BUILTIN_CATALOG);
  });
});

describe("isAmdGpuName", () => {
  it.each(["RX 5700 XT", "rx-6800", "Radeon RX 6900 XT", "AMD Radeon VII", "MI100", "mi250x", "Instinct MI300X", "rx-vega-56", "rx580"])("%s is AMD", (name) => {
    expect(isAmdGpuName(name)).toBe(true);
  });
  it.each(["rtx-3090", "NVIDIA GeForce RTX 3080 Ti", "a10", "l4", "h100-sxm", "cmp-170hx", "t4", "rtx-a6000"])("%s is not", (name) => {
    expect(isAmdGpuName(name)).toBe(false);
  });
});
