/**
 * nvidia-smi CSV parsing against real outputs. Rows are the agent's query fields taken from
 * published captures (utkuozdemir/nvidia_gpu_exporter internal/captures/*.txt @ e656cd8, UUIDs
 * masked there), re-emitted in the agent's field order with `nounits`: values with two
 * decimals, ", " between fields, bracketed phrases for what the driver cannot give.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GPU_QUERY_ARGS, clampCap, parseGpuQuery, parseReading, settableRange, SmiParseError } from "../src/runtime/power-agent/smi.js";

// index, uuid, power.limit, enforced.power.limit, power.min_limit, power.max_limit, power.default_limit, power.draw, persistence_mode, name
const H200_590 = "0, GPU-00000000-0000-0000-0000-000000000000, 700.00, 700.00, 200.00, 700.00, 700.00, 77.71, Enabled, NVIDIA H200";
const RTX2080S_595 = "0, GPU-00000000-0000-0000-0000-000000000000, 250.00, 250.00, 105.00, 350.00, 250.00, 39.32, Disabled, NVIDIA GeForce RTX 2080 SUPER";
const L40S_595 = "0, GPU-00000000-0000-0000-0000-000000000000, 350.00, 350.00, 100.00, 350.00, 350.00, 144.97, Disabled, NVIDIA L40S";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "nvidia-smi", "h200-580.159.04");

/** A captured run: `$ command` line, output, `rc=N` line. */
function capture(file: string): { fields: string[]; stdout: string; rc: number } {
  const lines = readFileSync(path.join(FIXTURES, file), "utf8").split("\n");
  const command = lines[0]!;
  const rcLine = lines.findIndex((l) => l.startsWith("rc="));
  const fields = /--query-gpu=(\S+)/.exec(command)?.[1]?.split(",") ?? [];
  return { fields, stdout: lines.slice(1, rcLine).join("\n"), rc: Number(lines[rcLine]!.slice(3)) };
}

describe("real H200 output (driver 580.159.04, captured read-only)", () => {
  it("parses the noheader/nounits CSV", () => {
    const c = capture("csv-noheader.txt");
    expect(c.rc).toBe(0);
    const [gpu] = parseGpuQuery(c.stdout, c.fields);
    expect(gpu).toEqual({
      index: 0,
      uuid: "GPU-6aab29af-d56f-d753-8eac-fdc281ca3a5e",
      name: "",
      limit: { watts: 700 },
      enforcedLimit: { watts: 700 },
      minLimit: { watts: 200 },
      maxLimit: { watts: 700 },
      defaultLimit: { watts: 700 },
      draw: { watts: 109.14 },
      persistence: true,
    });
    expect(settableRange(gpu!)).toEqual({ min: 200, max: 700 });
  });

  it("parses values with units (--format=csv without nounits)", () => {
    const c = capture("csv-header.txt");
    const [gpu] = parseGpuQuery(c.stdout.split("\n").slice(1).join("\n"), c.fields);
    expect(gpu).toMatchObject({ index: 0, name: "NVIDIA H200", limit: { watts: 700 }, minLimit: { watts: 200 }, draw: { watts: 110.64 }, persistence: true });
  });

  it("parses the agent's own query as the driver answered it", () => {
    const c = capture("agent-query.txt");
    expect(c.fields).toEqual([...GPU_QUERY_ARGS[0].slice("--query-gpu=".length).split(",")]);
    expect(parseGpuQuery(c.stdout)).toEqual([
      {
        index: 0,
        uuid: "GPU-547a9fb8-b2d0-054e-f29b-90f5fc991217",
        name: "NVIDIA H200",
        limit: { watts: 700 },
        enforcedLimit: { watts: 700 },
        minLimit: { watts: 200 },
        maxLimit: { watts: 700 },
        defaultLimit: { watts: 700 },
        draw: { watts: 79.06 },
        persistence: true,
      },
    ]);
  });

  it("the bundled agent's --dry-run --once reads it and would lower the GPU to its minimum (no safe cap, no API)", () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const smi = `${process.execPath} ${path.join(here, "helpers", "replay-nvidia-smi.mjs")} ${path.join(FIXTURES, "agent-query.txt")}`;
    let out = "";
    try {
      execFileSync(process.execPath, [path.join(here, "..", "bundle", "runtime.mjs"), "power-agent", "--node", "h200", "--dry-run", "--once", "--kube-api", "http://127.0.0.1:1", "--safe-cap-file", "/nonexistent", "--nvidia-smi", smi], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch (err) {
      const e = err as { status: number; stdout: string };
      expect(e.status).toBe(1); // caps not in force: it would have to set them
      out = e.stdout;
    }
    expect(out.split("\n").slice(2)).toEqual([
      "# target: each GPU's minimum (from gpu-minimum); caps in force: no (Pending: dry run: would set GPU 0 700→200 W)",
      "index\tuuid\tname\tpower.limit\tenforced\tmin\tmax\tdefault\tdraw\tpersistence\ttarget\taction",
      "0\tGPU-547a9fb8-b2d0-054e-f29b-90f5fc991217\tNVIDIA H200\t700.00\t700.00\t200.00\t700.00\t700.00\t79.06\tEnabled\t200\twould-set",
      "",
    ]);
  });

  it("an unknown field fails the whole query (why the agent asks only long-standing fields)", () => {
    expect(capture("csv-bogus.txt")).toEqual({ fields: ["index", "power.bogus"], stdout: 'Field "power.bogus" is not a valid field to query.\n', rc: 2 });
  });
});

describe("nvidia-smi query", () => {
  it("asks for exactly the fields the agent reads, without units or header", () => {
    expect(GPU_QUERY_ARGS).toEqual([
      "--query-gpu=index,uuid,power.limit,enforced.power.limit,power.min_limit,power.max_limit,power.default_limit,power.draw,persistence_mode,name",
      "--format=csv,noheader,nounits",
    ]);
  });

  it("parses real rows of an H200 (590.48.01), an RTX 2080 SUPER and an L40S (595.x)", () => {
    const gpus = parseGpuQuery(`${H200_590}\n${RTX2080S_595.replace(/^0, GPU-0/, "1, GPU-1")}\n${L40S_595.replace(/^0, GPU-0/, "2, GPU-2")}\n`);
    expect(gpus).toEqual([
      {
        index: 0,
        uuid: "GPU-00000000-0000-0000-0000-000000000000",
        name: "NVIDIA H200",
        limit: { watts: 700 },
        enforcedLimit: { watts: 700 },
        minLimit: { watts: 200 },
        maxLimit: { watts: 700 },
        defaultLimit: { watts: 700 },
        draw: { watts: 77.71 },
        persistence: true,
      },
      {
        index: 1,
        uuid: "GPU-10000000-0000-0000-0000-000000000000",
        name: "NVIDIA GeForce RTX 2080 SUPER",
        limit: { watts: 250 },
        enforcedLimit: { watts: 250 },
        minLimit: { watts: 105 },
        maxLimit: { watts: 350 },
        defaultLimit: { watts: 250 },
        draw: { watts: 39.32 },
        persistence: false,
      },
      {
        index: 2,
        uuid: "GPU-20000000-0000-0000-0000-000000000000",
        name: "NVIDIA L40S",
        limit: { watts: 350 },
        enforcedLimit: { watts: 350 },
        minLimit: { watts: 100 },
        maxLimit: { watts: 350 },
        defaultLimit: { watts: 350 },
        draw: { watts: 144.97 },
        persistence: false,
      },
    ]);
    expect(settableRange(gpus[1]!)).toEqual({ min: 105, max: 350 });
  });

  it("keeps the driver's reason for values it cannot give, and such a GPU has no settable range", () => {
    const row = "3, GPU-3a4b5c6d-0000-0000-0000-000000000000, [N/A], [N/A], [Not Supported], [Not Supported], [N/A], [Unknown Error], [N/A], NVIDIA GeForce RTX 3060 Laptop GPU";
    const [gpu] = parseGpuQuery(row);
    expect(gpu).toMatchObject({
      index: 3,
      limit: { unavailable: "[N/A]" },
      minLimit: { unavailable: "[Not Supported]" },
      draw: { unavailable: "[Unknown Error]" },
      persistence: null,
      name: "NVIDIA GeForce RTX 3060 Laptop GPU",
    });
    expect(settableRange(gpu!)).toBeNull();
  });

  it("reads values with or without units and a name with commas", () => {
    expect(parseReading("300.00")).toEqual({ watts: 300 });
    expect(parseReading("300")).toEqual({ watts: 300 });
    expect(parseReading("627.40 W")).toEqual({ watts: 627.4 });
    expect(parseReading("[Requested functionality has been deprecated]")).toEqual({ unavailable: "[Requested functionality has been deprecated]" });
    expect(parseReading("")).toEqual({ unavailable: "[empty]" });
    expect(parseGpuQuery("0, GPU-ab, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, Enabled, Weird, Name")[0]!.name).toBe("Weird, Name");
  });

  it("rounds the range inward and clamps into it", () => {
    const [gpu] = parseGpuQuery("0, GPU-ab, 350.00, 350.00, 100.50, 349.99, 350.00, 1.00, Enabled, X");
    const range = settableRange(gpu!)!;
    expect(range).toEqual({ min: 101, max: 349 });
    expect([clampCap(50, range), clampCap(200, range), clampCap(900, range)]).toEqual([101, 200, 349]);
  });

  it("refuses lines that are not GPU rows, naming the line", () => {
    expect(() => parseGpuQuery("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")).toThrow(SmiParseError);
    expect(() => parseGpuQuery(`${H200_590}\nx, GPU-1, 1, 1, 1, 1, 1, 1, Enabled, Y`)).toThrow("nvidia-smi output line 2: index 'x' is not a number");
    expect(() => parseGpuQuery("0, 1, 2")).toThrow("nvidia-smi output line 1 has 3 fields, expected 10");
  });
});
