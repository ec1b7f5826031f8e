/**
 * `mine2hpc diff` of a partitioned site through the binary: every stack of the site is compared,
 * the stacks a change touches are named, and machines that change partition show as moves
 * (never as an uninstall in one stack and an install in another).
 *
 * History of a temporary git repository (tests/helpers/partitioned-repo.ts): (1) the demo site in
 * two partitions, (2) circuit rig-b (rigs rig-s02-1..3) moved from grid-firm to ercot-flex.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { partitionedDemo } from "./helpers/partitioned-repo.js";
import { diffText, type SiteDiff } from "../src/diff/index.js";

const TIMEOUT_MS = 240_000;
let dir = "";
const GIT_ENV = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@mine2hpc.invalid", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@mine2hpc.invalid", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };
const git = (...args: string[]) => execa("git", ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", ...args], { cwd: dir, env: GIT_ENV });
let d: SiteDiff;
let text = "";

beforeAll(async () => {
  dir = partitionedDemo();
  await git("init", "-q");
  await git("add", "-A");
  await git("commit", "-q", "-m", "partitioned demo");
  const site = join(dir, "stacks/demo/site.yaml");
  writeFileSync(site, readFileSync(site, "utf8").replace("grid-firm: [rig-a, rig-b]", "grid-firm: [rig-a]").replace("ercot-flex: [gpu-pdu-01]", "ercot-flex: [gpu-pdu-01, rig-b]"));
  await git("commit", "-qam", "rig-b to ercot-flex");
  const json = await runCli(["diff", "--base", "HEAD~1", "--stack", "demo", "--json"], { cwd: dir });
  expect(json.stderr).toBe("");
  d = JSON.parse(json.stdout) as SiteDiff;
  // The text the command prints, from the same diff (one run of the 6 previews is enough).
  text = diffText(d);
}, TIMEOUT_MS);

const MOVED = ["rig-s02-1", "rig-s02-2", "rig-s02-3"];

describe("diff of a partitioned site", () => {
  it("shows machines that change partition as moves, and nothing as added or removed", () => {
    expect(d.partitions!.moves).toEqual(MOVED.map((hostname) => ({ hostname, from: "grid-firm", to: "ercot-flex" })));
    expect(d.partitions!.movedResources.map((r) => [r.type, r.name, r.fromStack, r.toStack])).toEqual(
      MOVED.map((h) => ["command:remote:Command", `demo-${h}`, "demo-grid-firm", "demo-ercot-flex"]),
    );
    expect(d.resources.added).toEqual([]);
    expect(d.resources.removed).toEqual([]);
    expect(d.rebootstraps).toEqual([]);
  });

  it("names the stacks the change touches, and only those", () => {
    // Each stack publishes its own agents' bootstrap files: both publications change.
    expect(d.partitions!.touched).toEqual([
      { stack: "demo-ercot-flex", partition: "ercot-flex", added: 0, changed: 2, removed: 0, movedIn: 3, movedOut: 0 },
      { stack: "demo-grid-firm", partition: "grid-firm", added: 0, changed: 2, removed: 0, movedIn: 0, movedOut: 3 },
    ]);
    expect(text).toContain("Partitions (stacks):\n  demo-ercot-flex (partition ercot-flex): 2 changed, 3 moved in\n  demo-grid-firm (partition grid-firm): 2 changed, 3 moved out\n");
    expect(text).toContain(
      "  rig-s02-1 moves grid-firm → ercot-flex: demo-ercot-flex bootstraps it (same host config: k3s keeps running), demo-grid-firm forgets it (nothing runs on the host); 'pulumi state move --source demo-grid-firm --dest demo-ercot-flex <its URNs>' first makes both no-ops\n",
    );
    expect(text).toContain("  > command:remote:Command  demo-rig-s02-1: demo-grid-firm → demo-ercot-flex\n");
  });
});
