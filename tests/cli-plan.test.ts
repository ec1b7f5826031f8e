/**
 * End-to-end tests of `mine2hpc validate` and `mine2hpc plan` through the binary: golden
 * outputs for the demo stack in text, Markdown and JSON; bad sites exit 2 with every
 * problem at file:line and print nothing on stdout.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, expectGolden, runCli } from "./helpers/cli.js";
import { loadAndValidate } from "../src/site/load.js";
import { loadStack } from "../src/site/stack.js";
import { planFarm } from "../src/plan/index.js";

const FIXTURES = path.join("tests", "fixtures", "cli");

describe("mine2hpc plan --stack demo", () => {
  it("prints the text plan (golden), byte-identical on every run", async () => {
    const a = await runCli(["plan", "--stack", "demo"], { cwd: REPO_ROOT });
    const b = await runCli(["plan", "--stack", "demo"], { cwd: REPO_ROOT });
    expect(a.exitCode).toBe(0);
    expect(a.stderr).toBe("");
    expect(b.stdout).toBe(a.stdout);
    await expectGolden("demo-plan.txt", a.stdout);
  });

  it("prints Markdown for a ticket (golden)", async () => {
    const r = await runCli(["plan", "--stack", "demo", "--format", "md"], { cwd: REPO_ROOT });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.startsWith("## Site demo — ERCOT, America/Chicago, PUE 1.08\n")).toBe(true);
    await expectGolden("demo-plan.md", r.stdout);
  });

  it("--json is the FarmPlan planFarm returns", async () => {
    const r = await runCli(["plan", "--stack", "demo", "--json"], { cwd: REPO_ROOT });
    expect(r.exitCode).toBe(0);
    const stack = loadStack("demo", REPO_ROOT);
    const plan = planFarm(loadAndValidate(stack.siteFile).spec);
    expect(JSON.parse(r.stdout)).toEqual(plan);
    expect(r.stdout).toBe(JSON.stringify(plan, null, 2) + "\n");
    expect(plan.totals).toMatchObject({ machines: 31, nodes: 11, gpus: 68, asics: 20 });
    await expectGolden("demo-plan.json", r.stdout);
  });

  it("rejects an unknown format", async () => {
    const r = await runCli(["plan", "--stack", "demo", "--format", "html"], { cwd: REPO_ROOT });
    expect(r.exitCode).toBe(64);
    expect(r.stderr).toBe("error: unknown output format 'html' (--format).\n  fix: use -o text, json, yaml or md.\n");
  });
});

describe("mine2hpc validate", () => {
  it("accepts the demo stack", async () => {
    const r = await runCli(["validate", "--stack", "demo"], { cwd: REPO_ROOT });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(
      "stacks/demo/site.yaml: site demo is valid: 31 machines (11 nodes, 68 GPUs, 20 ASIC miners), 2 pools, 4 warnings.",
    );
  });

  it("reports every problem with file:line and a fix, exit 2, nothing on stdout", async () => {
    const r = await runCli(["validate", "--site", path.join(FIXTURES, "two-problems.yaml")], { cwd: REPO_ROOT });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.split("\n");
    expect(lines[0]).toBe("error: the site has 2 problems; nothing was planned or applied.");
    expect(lines.slice(1)).toEqual([
      `${FIXTURES}/two-problems.yaml:17:28: duplicate IP 10.9.0.2 on machines[1] (rig-1): machines[0] (cp-1) already uses it (at machines[1].ip)`,
      "  fix: give rig-1 its own IP",
      `${FIXTURES}/two-problems.yaml:17:85: unknown GPU model 'rtx-3909' on rig-1 (did you mean 'rtx-3090'?) (at machines[1].gpuModel)`,
      "  fix: use gpuModel: rtx-3090 if that is the board, or describe it in the site file under catalog.gpus (key, name, memoryGiB, tdpWatts, minWatts, maxWatts, fp16Tflops; nvidia-smi -q -d POWER shows the limits) and name its key",
      "",
    ]);
  });

  it("names the overloaded circuit, the watts over and the machines, at the circuit's line", async () => {
    const r = await runCli(["plan", "--site", path.join(FIXTURES, "overloaded.yaml")], { cwd: REPO_ROOT });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    const stderr = r.stderr;
    // (120 + 8 × 100) / 0.9 = 1022.2 W per rig at minimum caps; 2 rigs = 2044 W on 1440 W.
    expect(stderr).toContain(
      `${FIXTURES}/overloaded.yaml:20:7: circuit pdu-small needs 2,044 W at minimum GPU caps but can deliver 1,440 W (120 V × 15 A × 0.8): 604 W over; machines: rig-1, rig-2 (at power.circuits[1])\n`,
    );
    const source = readFileSync(path.join(REPO_ROOT, FIXTURES, "overloaded.yaml"), "utf8").split("\n");
    expect(source[19]).toBe("    - id: pdu-small");
  });

  it("refuses --stack and --site together", async () => {
    const r = await runCli(["validate", "--stack", "demo", "--site", "x.yaml"], { cwd: REPO_ROOT });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("error: --stack and --site both given.\n  fix: pass one of them: a stack (stacks/Pulumi.NAME.yaml) or a site file.\n");
  });

  it("explains an unknown command and an unknown flag", async () => {
    const a = await runCli(["frobnicate"], { cwd: REPO_ROOT });
    expect(a.exitCode).toBe(64);
    expect(a.stderr).toBe("error: unknown command 'frobnicate'; nearest command: 'validate'. Run 'mine2hpc --help' for the commands.\n");
    const b = await runCli(["plan", "--stak", "demo"], { cwd: REPO_ROOT });
    expect(b.exitCode).toBe(64);
    expect(b.stderr).toBe("error: unknown flag '--stak' for plan; did you mean '--stack'? Run 'mine2hpc plan --help' for its flags.\n");
    const c = await runCli(["plan", "--stack"], { cwd: REPO_ROOT });
    expect(c.exitCode).toBe(64);
    expect(c.stderr).toBe("error: flag '--stack' needs a value for plan: --stack NAME. Run 'mine2hpc plan --help' for its flags.\n");
    const d = await runCli(["validate", "--json=yes"], { cwd: REPO_ROOT });
    expect(d.exitCode).toBe(64);
    expect(d.stderr).toBe("error: flag '--json' takes no value for validate. Run 'mine2hpc validate --help' for its flags.\n");
  });
});

describe("defaults and help", () => {
  it("plans the demo stack when neither --stack nor --site is given", async () => {
    const a = await runCli(["validate"], { cwd: REPO_ROOT });
    expect(a.exitCode).toBe(0);
    expect(a.stdout.split("\n")[0]).toMatch(/^stacks\/demo\/site\.yaml: site demo is valid: /);
  });

  it("`help plan` prints the command's help; no command prints help on stderr and exits 64 (usage)", async () => {
    const h = await runCli(["help", "plan"], { cwd: REPO_ROOT });
    expect(h.exitCode).toBe(0);
    expect(h.stdout.split("\n")[0]).toBe("mine2hpc plan [--stack NAME | --site FILE] [--inventory FILE] [-o text|json|yaml|md]");
    const none = await runCli([], { cwd: REPO_ROOT });
    expect(none.exitCode).toBe(64);
    expect(none.stdout).toBe("");
    expect(none.stderr.split("\n")[0]).toBe("mine2hpc — turn a mining site into a Kubernetes GPU cluster with power-aware pools");
  });

  it("exits 0 when the reader closes the pipe early (plan | head)", async () => {
    const { execa } = await import("execa");
    const r = await execa("bash", ["-c", `set -o pipefail; "${process.execPath}" bin/mine2hpc.js plan | head -n 1`], { cwd: REPO_ROOT, reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("Site demo — ERCOT, America/Chicago, PUE 1.08");
  });
});

describe("plan output details", () => {
  it("says a stage has nothing to shed instead of printing 0.0 kW", async () => {
    const r = await runCli(["plan", "--site", "templates/gpu-rig-retrofit/site.yaml"], { cwd: REPO_ROOT });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("    1. asics-off        nothing to shed on this feed (no ASIC miners)\n");
    expect(r.stdout).not.toContain("sheds      0.0 kW");
  });

  it("refuses --json with another --format", async () => {
    const r = await runCli(["plan", "--json", "--format", "text"], { cwd: REPO_ROOT });
    expect(r.exitCode).toBe(64);
    expect(r.stderr).toBe("error: --format text and --json contradict each other.\n  fix: pass one output format.\n");
  });
});
