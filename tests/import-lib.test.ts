/** The pure import library: circuit rules, normalization, and a 100k-row export. */
import { describe, expect, it } from "vitest";
import { importFleet, inventoryCsv, matchRule, normalizeHostname, normalizeMac, parseCircuitRules, parseIpRange, parseNameMatcher, workerOffsets } from "../src/import/index.js";

const rules = parseCircuitRules(
  ["rules:", '  - { rack: "A01-A04", circuit: pdu-a1 }', '  - { rack: "gpu-r01-gpu-r02", row: "2", circuit: pdu-g1 }', '  - { ip: "10.20.1.0/25", circuit: pdu-b1 }', '  - { ip: "10.20.1.128-10.20.1.130", circuit: pdu-b2 }'].join("\n"),
  "rules.yaml",
);

describe("circuit rules", () => {
  it("parse without problems", () => {
    expect(rules.problems).toEqual([]);
    expect(rules.rules.map((r) => [r.line, r.circuit])).toEqual([[2, "pdu-a1"], [3, "pdu-g1"], [4, "pdu-b1"], [5, "pdu-b2"]]);
  });

  it("match numbered rack ranges, all selectors of a rule, CIDRs and first-last ranges; first match wins", () => {
    const circuit = (s: { rack?: string; row?: string; ip?: string }) => matchRule(rules.rules, s)?.circuit;
    expect(circuit({ rack: "a03" })).toBe("pdu-a1");
    expect(circuit({ rack: "A05" })).toBeUndefined();
    expect(circuit({ rack: "A1" })).toBe("pdu-a1");
    expect(circuit({ rack: "gpu-r02", row: "2" })).toBe("pdu-g1");
    expect(circuit({ rack: "gpu-r02", row: "3" })).toBeUndefined();
    expect(circuit({ rack: "A02", ip: "10.20.1.5" })).toBe("pdu-a1");
    expect(circuit({ ip: "10.20.1.127" })).toBe("pdu-b1");
    expect(circuit({ ip: "10.20.1.130" })).toBe("pdu-b2");
    expect(circuit({ ip: "10.20.1.131" })).toBeUndefined();
  });

  it("parse ranges exactly", () => {
    expect(parseIpRange("10.20.1.7/30")).toEqual({ first: 169083140, last: 169083143 });
    expect(parseIpRange("10.20.1.9-10.20.1.8")).toBeUndefined();
    expect(parseIpRange("10.20.1.0/33")).toBeUndefined();
    expect(parseNameMatcher("shelf-01")).toEqual({ text: "shelf-01", exact: "shelf-01" });
    expect(parseNameMatcher("1-3")).toEqual({ text: "1-3", prefix: "", from: 1, to: 3 });
    expect(parseNameMatcher("B1-12")).toEqual({ text: "B1-12", prefix: "b", from: 1, to: 12 });
  });
});

describe("normalization", () => {
  it("makes DNS labels of hostnames", () => {
    expect(normalizeHostname("Rig_01.Farm A")).toBe("rig-01-farm-a");
    expect(normalizeHostname("--x--")).toBe("x");
    expect(normalizeHostname("___")).toBe("");
    expect(normalizeHostname("a".repeat(70) + "-b")).toBe("a".repeat(63));
  });

  it("normalizes MAC spellings", () => {
    expect(normalizeMac("02-4D-32-05-00-01")).toBe("02:4d:32:05:00:01");
    expect(normalizeMac("024d.3205.0001")).toBe("02:4d:32:05:00:01");
    expect(normalizeMac("02:4d:32:05:00")).toBeUndefined();
  });

  it("quotes CSV cells that need it", () => {
    expect(inventoryCsv([{ hostname: "a", ip: "10.0.0.1", rack: 'r "1", x', circuit: "c", role: "cpu" }])).toBe(
      'hostname,ip,mac,rack,circuit,role,gpuModel,gpuCount,pcieLink,asicModel,psuEfficiency,baseWatts,sshUser\na,10.0.0.1,,"r ""1"", x",c,cpu,,,,,,,\n',
    );
  });

  it("finds each Hive OS worker's start, skipping braces in strings", () => {
    const text = '{\n "tags": [{"a": 1}],\n "data": [\n  {"name": "x{"},\n  {"name": "y"}\n ]\n}';
    expect(workerOffsets(text).map((o) => text.slice(0, o).split("\n").length)).toEqual([4, 5]);
  });
});

describe("large exports", () => {
  it("imports 100,000 Foreman rows in input order", () => {
    const lines = ["id,name,mac,apiIp,minerType,rack,row,index"];
    for (let k = 0; k < 100_000; k++) {
      const ip = `10.${20 + Math.floor(k / 65536)}.${Math.floor(k / 256) % 256}.${k % 256}`;
      lines.push(`${k},miner-${k},,${ip},Antminer S21,A0${1 + (k % 4)},1,${k % 40}`);
    }
    const progress: number[] = [];
    const result = importFleet("foreman", lines.join("\n"), "big.csv", { rules: rules.rules, onProgress: (done) => progress.push(done) });
    expect(result.problems).toEqual([]);
    expect(result.records).toBe(100_000);
    expect(result.machines).toHaveLength(100_000);
    expect(result.machines[99_999]).toEqual({ hostname: "miner-99999", ip: "10.21.134.159", rack: "A04", circuit: "pdu-a1", role: "asic", asicModel: "s21" });
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(100_000);
    expect(progress).toHaveLength(21);
  });
});
