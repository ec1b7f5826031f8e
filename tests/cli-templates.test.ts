/** `mine2hpc templates` end to end: the built binary against a temporary project. */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectGolden, runCli, tempProject } from "./helpers/cli.js";

let project: string;
beforeAll(async () => {
  project = await tempProject();
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

describe("mine2hpc templates", () => {
  it("lists every template with its one-line story", async () => {
    const r = await runCli(["templates"], { cwd: project });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n").slice(0, 4).map((l) => l.split(" ")[0])).toEqual(["gpu-rig-retrofit", "hpc-hall", "hybrid-curtailable", "immersion-container"]);
    await expectGolden("templates-list.txt", r.stdout);
  });

  it("lists as JSON", async () => {
    const r = await runCli(["templates", "--json"], { cwd: project });
    expect(r.exitCode).toBe(0);
    const list = JSON.parse(r.stdout) as Array<{ name: string; summary: string; story: string }>;
    expect(list.map((t) => t.name)).toEqual(["gpu-rig-retrofit", "hpc-hall", "hybrid-curtailable", "immersion-container"]);
    expect(list[1]!.summary).toBe("A former bitcoin hall in the PJM footprint, rebuilt for training.");
    await expectGolden("templates-list.json", r.stdout);
  });

  it("shows a template's story and figures planned from it", async () => {
    const r = await runCli(["templates", "show", "hpc-hall"], { cwd: project });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.startsWith("# hpc-hall\n")).toBe(true);
    expect(r.stdout).toContain("\nKey figures (planned from templates/hpc-hall/site.yaml):\n  feed capacity    1.500 MW\n");
    expect(r.stdout).toContain("  GPUs             1024 (768 × h100-sxm, 256 × h200-sxm)\n");
    expect(r.stdout).toContain("  power tiers      firm\n");
    await expectGolden("templates-show-hpc-hall.txt", r.stdout);
  });

  it("shows figures as JSON", async () => {
    const r = await runCli(["templates", "show", "hybrid-curtailable", "--json"], { cwd: project });
    expect(r.exitCode).toBe(0);
    const t = JSON.parse(r.stdout) as { name: string; figures: { feedCapacityMw: number; gpus: number; gpusByModel: Record<string, number>; asics: number; tiers: string[] } };
    expect(t.name).toBe("hybrid-curtailable");
    expect(t.figures.feedCapacityMw).toBe(1.225);
    expect(t.figures.gpus).toBe(288);
    expect(t.figures.gpusByModel).toEqual({ "h100-pcie": 96, l40s: 192 });
    expect(t.figures.asics).toBe(280);
    expect(t.figures.tiers).toEqual(["firm", "curtailable"]);
    await expectGolden("templates-show-hybrid-curtailable.json", r.stdout);
  });

  it("names the templates when asked for one that does not exist", async () => {
    const r = await runCli(["templates", "show", "hpc-hal"], { cwd: project });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "error: no template named 'hpc-hal'.\n  fix: use one of gpu-rig-retrofit, hpc-hall, hybrid-curtailable, immersion-container (run 'mine2hpc templates' to see them).\n",
    );
  });

  it("rejects an unknown action", async () => {
    const r = await runCli(["templates", "list"], { cwd: project });
    expect(r.exitCode).toBe(64);
    expect(r.stderr).toBe("error: unknown templates action 'list'.\n  fix: run 'mine2hpc templates' to list them or 'mine2hpc templates show NAME'.\n");
  });
});
