import { describe, expect, it } from "vitest";
import {
  ASICS,
  GPUS,
  editDistance,
  findAsic,
  findGpu,
  nearestName,
  normalizeModelName,
  relativeThroughput,
  type GpuSpec,
} from "../src/site/catalog.js";

const REQUIRED_GPU_KEYS = [
  "rtx-3060", "rtx-3070", "rtx-3080", "rtx-3090", "rtx-4090", "rtx-a4000", "rtx-a5000", "rtx-6000-ada",
  "l40s", "a100-pcie", "a100-sxm", "h100-pcie", "h100-sxm", "h200-sxm", "b200",
];
const REQUIRED_ASIC_KEYS = ["s19", "s19j-pro", "s19-xp", "s21", "s21-hydro", "m50s", "m60s"];

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
    expect(g.consumer).toBe(g.name.includes("GeForce"));
    if (g.consumer) expect(g.formFactor).toBe("pcie");
  });

  it.each(GPUS.map((g) => [g.key, g] as const))("%s: curve spans min..max, ascending, concave, 1.0 at TDP", (_key, g) => {
    const c = g.curve;
    expect(c.length).toBeGreaterThanOrEqual(4);
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

  it("spot-checks datasheet figures", () => {
    const h100 = gpu("h100-sxm");
    expect([h100.tdpWatts, h100.minWatts, h100.maxWatts, h100.memoryGiB, h100.fp16Tflops]).toEqual([700, 200, 700, 80, 989]);
    expect(h100.formFactor).toBe("sxm");
    expect(h100.hostBaseWatts).toBe(4300);
    const r3090 = gpu("rtx-3090");
    expect([r3090.tdpWatts, r3090.minWatts, r3090.maxWatts, r3090.memoryGiB]).toEqual([350, 100, 400, 24]);
    expect(r3090.consumer).toBe(true);
    expect(r3090.hostBaseWatts).toBe(120);
    const r4090 = gpu("rtx-4090");
    expect([r4090.tdpWatts, r4090.minWatts, r4090.maxWatts]).toEqual([450, 150, 600]);
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
    // rtx-4090 above TDP: (450, 1) to (600, 1.033); 525 W → 1.0165.
    expect(relativeThroughput(gpu("rtx-4090"), 525)).toBeCloseTo(1.0165, 12);
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
    ]);
  });
});
