/**
 * `mine2hpc miners` in-process against simulated miners on loopback: JSON and text output,
 * exit codes, credentials from a file and the environment (never printed), flag errors.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import type { FeedTargets } from "../src/runtime/curtail/targets.js";
import { REPO_ROOT } from "./helpers/cli.js";
import { SIM_PASSWORD, startAntminerSim, startLuxosSim, type Fault, type SimMiner, simPorts } from "./helpers/miner-sims.js";

const running: SimMiner[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
  delete process.env.MINE2HPC_MINER_CREDENTIALS;
});

function sink() {
  let text = "";
  const w = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { w, get text() {
    return text;
  } };
}

async function run(args: string[], cwd = REPO_ROOT) {
  const out = sink();
  const err = sink();
  const code = await main(args, { stdout: out.w, stderr: err.w, cwd });
  return { code, stdout: out.text, stderr: err.text };
}

async function setup(faults: Fault[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "miners-cli-"));
  const miners: FeedTargets["miners"] = [];
  for (const [i, fault] of faults.entries()) {
    const s = i % 2 === 0 ? await startLuxosSim({ fault }) : await startAntminerSim({ fault });
    running.push(s);
    miners.push({ hostname: `asic-${i + 1}`, driver: s.kind, host: "127.0.0.1", ...simPorts(s), plannedWatts: 3000 });
  }
  const targets: FeedTargets = { version: 1, feed: "ercot-flex", pue: 1.1, stages: [{ order: 1, action: "asics-off", shedWatts: 3300 * faults.length }], miners, webhookUrl: null, gpuNodes: [], clusterQueues: [] };
  writeFileSync(path.join(dir, "targets.json"), JSON.stringify(targets));
  writeFileSync(path.join(dir, "creds.yaml"), `byDriver:\n  antminer: { user: root, password: ${SIM_PASSWORD} }\n`);
  return dir;
}

describe("mine2hpc miners", () => {
  it("curtail --json: every miner confirmed, confirmed kW = planned kW, exit 0", async () => {
    const dir = await setup(["none", "none"]);
    const r = await run(["miners", "curtail", "--targets", "targets.json", "--credentials", "creds.yaml", "--timeout", "5", "--json"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { op: string; feed: string; counts: unknown; plannedWatts: number; confirmedWatts: number; ok: boolean; results: { hostname: string; outcome: string; hashrateGhs: number }[] };
    expect([j.op, j.feed, j.counts, j.plannedWatts, j.confirmedWatts, j.ok]).toEqual(["curtail", "ercot-flex", { confirmed: 2, failed: 0, unreachable: 0 }, 6600, 6600, true]);
    expect(j.results.map((x) => [x.hostname, x.outcome, x.hashrateGhs])).toEqual([
      ["asic-1", "confirmed", 0],
      ["asic-2", "confirmed", 0],
    ]);
    expect(r.stdout).not.toContain(SIM_PASSWORD);
    expect(running.map((s) => s.sleeping)).toEqual([true, true]);
  });

  it("curtail with a miner that keeps hashing: the text report shows it, exit 1", async () => {
    const dir = await setup(["none", "keeps-hashing"]);
    process.env.MINE2HPC_MINER_CREDENTIALS = `default: { user: root, password: ${SIM_PASSWORD} }`;
    const r = await run(["miners", "curtail", "--targets", "targets.json", "--timeout", "1"], dir);
    expect(r.code).toBe(1);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("mine2hpc miners curtail --feed ercot-flex: 2 miners");
    expect(lines[2]).toBe("  MINER   DRIVER    RESULT      TH/S   W  REASON");
    expect(lines[3]).toBe("  asic-1  luxos     confirmed    0.0  12");
    expect(lines[4]).toMatch(/^ {2}asic-2 {2}antminer {2}failed +100\.0 +- +curtail acknowledged, but the miner still reads 100000 GH\/s, not sleeping after \d\.\d s$/);
    expect(lines.slice(6)).toEqual(["1 confirmed, 1 failed, 0 unreachable.", "confirmed shed: 3.3 kW of 6.6 kW planned (facility, × PUE 1.1).", ""]);
    expect(r.stdout).not.toContain(SIM_PASSWORD);
  });

  it("status and resume", async () => {
    const dir = await setup(["none"]);
    running[0]!.sleeping = true;
    const s = await run(["miners", "status", "--targets", "targets.json", "--json"], dir);
    expect(JSON.parse(s.stdout).results[0]).toMatchObject({ hostname: "asic-1", outcome: "confirmed", hashrateGhs: 0, powerWatts: 12 });
    const r = await run(["miners", "resume", "--targets", "targets.json", "--json", "--timeout", "5"], dir);
    expect([r.code, JSON.parse(r.stdout).results[0].outcome]).toEqual([0, "confirmed"]);
    expect(running[0]!.sleeping).toBe(false);
  });

  it.each([
    // Usage errors (a missing or malformed argument) exit 64; a feed the site lacks is refused input, 2.
    [["miners"], 64, "error: expected one of status, curtail, resume.\n  usage: mine2hpc miners status|curtail|resume [--feed NAME] [--stack NAME | --site FILE | --targets FILE] [--credentials FILE] [--concurrency N] [--timeout S] [-o text|json|yaml|md]\n"],
    [["miners", "curtail"], 64, "error: --feed is required for curtail.\n  fix: name the feed to curtail, e.g. --feed ercot-flex.\n"],
    [["miners", "curtail", "--feed", "nope"], 2, "error: unknown feed 'nope'.\n  fix: one of grid-firm, ercot-flex.\n"],
    [["miners", "status", "--concurrency", "0"], 64, "error: --concurrency must be a whole number ≥ 1, got '0'.\n  fix: e.g. --concurrency 200.\n"],
  ] as const)("%j is refused", async (args, code, stderr) => {
    const r = await run([...args]);
    expect([r.code, r.stderr]).toEqual([code, stderr]);
  });

  it("a bad credentials file is refused before any miner is touched, without its values", async () => {
    const dir = await setup(["none"]);
    writeFileSync(path.join(dir, "bad.yaml"), "default: { user: root, pasword: topsecret }\n");
    const r = await run(["miners", "curtail", "--targets", "targets.json", "--credentials", "bad.yaml"], dir);
    expect([r.code, r.stderr]).toEqual([
      2,
      "error: bad.yaml: 2 problem(s):\n  - default.pasword: unknown key (only user and password)\n  - default.password: expected a string\n",
    ]);
    expect(running[0]!.requests).toEqual({});
  });

  it("the demo site's miners have no automation yet: status says so per miner", async () => {
    const r = await run(["miners", "status", "--feed", "ercot-flex", "--json"]);
    const j = JSON.parse(r.stdout) as { counts: Record<string, number>; results: { reason: string }[] };
    expect(r.code).toBe(1);
    expect(j.counts.failed).toBe(j.results.length);
    expect(new Set(j.results.map((x) => x.reason))).toEqual(new Set(["no automation: the site gives this miner no minerApi and its feed no asicWebhookUrl; the fleet tool must act by hand"]));
  });
});
