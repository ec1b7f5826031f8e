/** The pure import library: circuit rules, normalization, and a 100k-row export. */
import { describe, expect, it } from "vitest";
import { combineImports, importFleet, inventoryCsv, matchRule, normalizeHostname, normalizeMac, parseCircuitRules, parseIpRange, parseNameMatcher, problemLines, workerOffsets } from "../src/import/index.js";

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
    expect(result.machines[99_999]).toEqual({ hostname: "miner-99999", ip: "10.21.134.159", rack: "A04", row: "1", circuit: "pdu-a1", role: "asic", asicModel: "s21", fleetId: "99999" });
    expect(result.lines[99_999]).toBe(100_001);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(100_000);
    expect(progress).toHaveLength(21);
  });
});

describe("Foreman headers", () => {
  it("reads snake_case miner_* columns, keeps id as fleetId, row beside rack, and a container's racks apart", () => {
    const csv = ["miner_id,miner_name,miner_ip,miner_mac,miner_type,container,rack,row", "7,m-1,10.20.1.5,AA-BB-CC-00-00-01,Antminer S21,C01,R1,2", "8,m-2,10.20.1.6,,Antminer S21,C02,R1,0"].join("\n");
    const result = importFleet("foreman", csv, "f.csv", { rules: rules.rules });
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.machines).toEqual([
      { hostname: "m-1", ip: "10.20.1.5", mac: "aa:bb:cc:00:00:01", rack: "C01-R1", row: "2", circuit: "pdu-b1", role: "asic", asicModel: "s21", fleetId: "7" },
      { hostname: "m-2", ip: "10.20.1.6", rack: "C02-R1", row: "0", circuit: "pdu-b1", role: "asic", asicModel: "s21", fleetId: "8" },
    ]);
    expect(result.lines).toEqual([2, 3]);
  });

  it("matches container rules", () => {
    const parsed = parseCircuitRules('rules:\n  - { container: "C1-C3", rack: "R1", circuit: pdu-x }\n', "c.yaml");
    expect(parsed.problems).toEqual([]);
    expect(matchRule(parsed.rules, { container: "c2", rack: "r1" })?.circuit).toBe("pdu-x");
    expect(matchRule(parsed.rules, { container: "c4", rack: "r1" })).toBeUndefined();
    expect(matchRule(parsed.rules, { rack: "r1" })).toBeUndefined();
  });

  it("refuses a MAC used twice in one export", () => {
    const csv = ["name,apiIp,mac,minerType,circuit,rack", "a,10.0.0.1,02:00:00:00:00:01,s21,p1,r", "b,10.0.0.2,02-00-00-00-00-01,s21,p1,r"].join("\n");
    const result = importFleet("foreman", csv, "m.csv");
    expect(result.problems).toEqual([{ kind: "MAC used by an earlier row", message: "MAC 02:00:00:00:00:01 is already used on line 2", fix: "each machine has its own MAC; fix the duplicate in the fleet tool", source: { file: "m.csv", line: 3 } }]);
  });
});

describe("Hive OS workers", () => {
  const workers = JSON.stringify({
    data: [
      { id: 9, farm_id: 4, name: "r1", ip_addresses: ["10.20.1.9"], stats: { online: false }, hardware_info: { net_interfaces: [{ iface: "eth0", mac: "02:00:00:00:00:09" }] }, gpu_info: [{ brand: "nvidia", model: "GeForce RTX 3090" }] },
      { id: 10, farm_id: 4, name: "r2", ip_addresses: ["10.20.1.10"], stats: { online: true }, gpu_info: [{ brand: "nvidia", model: "GeForce RTX 3090" }] },
    ],
  });

  it("imports offline rigs with state offline, SSH user user, the MAC and the worker id", () => {
    const result = importFleet("hiveos", workers, "w.json", { rules: rules.rules });
    expect(result.problems).toEqual([]);
    expect(result.machines[0]).toEqual({ hostname: "r1", ip: "10.20.1.9", mac: "02:00:00:00:00:09", rack: "farm-4", circuit: "pdu-b1", role: "gpu", gpuModel: "rtx-3090", gpuCount: 1, pcieLink: "x1", sshUser: "user", state: "offline", fleetId: "9" });
    expect(result.offline).toEqual([{ line: 1, hostname: "r1", skipped: false }]);
  });

  it("leaves offline rigs out on request", () => {
    const result = importFleet("hiveos", workers, "w.json", { rules: rules.rules, skipOffline: true, sshUser: "miner" });
    expect(result.machines.map((m) => [m.hostname, m.sshUser])).toEqual([["r2", "miner"]]);
    expect(result.offline).toEqual([{ line: 1, hostname: "r1", skipped: true }]);
  });
});

describe("several exports", () => {
  it("name every file:line of a hostname, IP or MAC two exports share", () => {
    const a = importFleet("csv", "hostname,ip,mac,rack,circuit,role\nx,10.0.0.1,02:00:00:00:00:01,r,c,cpu\ny,10.0.0.2,,r,c,cpu", "a.csv");
    const b = importFleet("csv", "hostname,ip,mac,rack,circuit,role\n# comment\nz,10.0.0.2,02:00:00:00:00:01,r,c,cpu\nx,10.0.0.9,,r,c,cpu", "b.csv");
    const all = combineImports([a, b]);
    expect(all.machines.map((m) => m.hostname)).toEqual(["x", "y", "z", "x"]);
    expect(all.records).toBe(4);
    expect(all.problems.map((p) => `${p.source!.file}:${p.source!.line}: ${p.message}`)).toEqual([
      "a.csv:2: hostname 'x' appears 2 times: a.csv:2, b.csv:4",
      "a.csv:3: IP '10.0.0.2' appears 2 times: a.csv:3, b.csv:3",
      "a.csv:2: MAC '02:00:00:00:00:01' appears 2 times: a.csv:2, b.csv:3",
    ]);
  });
});

describe("problem summary", () => {
  const p = (kind: string | undefined, line: number) => ({ ...(kind ? { kind } : {}), message: `${kind ?? "file"} at ${line}`, fix: "do it", source: { file: "e.csv", line } });

  it("groups a kind's problems under one line with a count and the first 5 rows; a single problem prints in full", () => {
    const problems = [p(undefined, 1), ...[2, 3, 4, 5, 6, 7, 8].map((l) => p("bad rack", l)), p("bad ip", 9)];
    expect(problemLines(problems)).toEqual([
      "e.csv:1: file at 1",
      "  fix: do it",
      "bad rack: 7 rows",
      "  fix: do it",
      "  e.csv:2: bad rack at 2",
      "  e.csv:3: bad rack at 3",
      "  e.csv:4: bad rack at 4",
      "  e.csv:5: bad rack at 5",
      "  e.csv:6: bad rack at 6",
      "  ... and 2 more (run with --verbose to list every row)",
      "e.csv:9: bad ip at 9",
      "  fix: do it",
    ]);
    expect(problemLines(problems, true)).toHaveLength(18);
  });
});
