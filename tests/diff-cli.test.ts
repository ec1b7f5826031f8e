/**
 * End-to-end tests of `mine2hpc diff` through the binary, between commits of a temporary git
 * repository: a copy of the project's program (src/, bin/, bundle/, package.json) and the demo stack,
 * with a symlink to the real node_modules (the offline preview runs `src/index.ts` of the
 * tree it previews, and Pulumi's mocks only reach it through the same @pulumi/pulumi).
 *
 * History: (1) a site whose circuit names a feed that does not exist, (2) the valid demo
 * site, (3) rig-s01-1 loses two GPUs and moves to shelf-02, and circuit rig-b goes from 30 A to 40 A.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, expectGolden, runCli } from "./helpers/cli.js";
import type { SiteDiff } from "../src/diff/index.js";

let repo = "";
let tmpRoot = "";
const commits: string[] = [];

const GIT_ENV = {
  GIT_AUTHOR_NAME: "mine2hpc tests",
  GIT_AUTHOR_EMAIL: "tests@mine2hpc.invalid",
  GIT_COMMITTER_NAME: "mine2hpc tests",
  GIT_COMMITTER_EMAIL: "tests@mine2hpc.invalid",
  GIT_AUTHOR_DATE: "2025-01-01T00:00:00Z",
  GIT_COMMITTER_DATE: "2025-01-01T00:00:00Z",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

async function git(...args: string[]): Promise<string> {
  const r = await execa("git", ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", ...args], { cwd: repo, env: GIT_ENV });
  return String(r.stdout);
}

function edit(rel: string, from: string, to: string): void {
  const file = path.join(repo, rel);
  const text = readFileSync(file, "utf8");
  if (!text.includes(from)) throw new Error(`test setup: '${from}' not found in ${rel}`);
  writeFileSync(file, text.replace(from, to));
}

async function commit(message: string): Promise<void> {
  await git("add", "-A");
  await git("commit", "-q", "-m", message);
  commits.push((await git("rev-parse", "HEAD")).trim());
}

/** Runs the diff with TMPDIR pointing at a folder of our own, so leftovers can be seen. */
function diff(args: string[]) {
  return runCli(["diff", ...args], { cwd: repo, env: { TMPDIR: tmpRoot } });
}

/** Temporary base trees the command left behind (it must leave none, on every path). */
const leftovers = () => readdirSync(tmpRoot).filter((n) => n.startsWith("mine2hpc-diff-"));

const RIG_LINE = "rig-s01-1,192.168.50.21,02:4d:32:05:00:14,shelf-01,rig-a,gpu,rtx-3090,6,";
const RIG_B = "{ id: rig-b, feed: grid-firm, volts: 240, amps: 30, phases: 1 }";

beforeAll(async () => {
  const base = mkdtempSync(path.join(os.tmpdir(), "mine2hpc-diff-test-"));
  repo = path.join(base, "repo");
  tmpRoot = path.join(base, "tmp");
  mkdirSync(repo);
  mkdirSync(tmpRoot);
  for (const f of ["src", "bin", "bundle", "scripts", "stacks", "Pulumi.yaml", "package.json", "tsconfig.json"]) cpSync(path.join(REPO_ROOT, f), path.join(repo, f), { recursive: true });
  symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(repo, "node_modules"), "dir");
  writeFileSync(path.join(repo, ".gitignore"), "node_modules\n");
  await git("init", "-q");
  edit("stacks/demo/site.yaml", RIG_B, RIG_B.replace("feed: grid-firm", "feed: grid-nowhere"));
  await commit("invalid site: rig-b on a feed that does not exist");
  edit("stacks/demo/site.yaml", RIG_B.replace("feed: grid-firm", "feed: grid-nowhere"), RIG_B);
  await commit("demo site");
  edit("stacks/demo/inventory.csv", RIG_LINE, RIG_LINE.replace("shelf-01", "shelf-02").replace("rtx-3090,6,", "rtx-3090,4,"));
  edit("stacks/demo/site.yaml", RIG_B, RIG_B.replace("amps: 30", "amps: 40"));
  await commit("rig-s01-1 down to 4 GPUs on shelf-02; rig-b 40 A");
});

afterAll(() => {
  if (repo) rmSync(path.dirname(repo), { recursive: true, force: true });
});

describe("mine2hpc diff between two commits", () => {
  it("--json: the changed bootstraps, the moved caps, the circuit and feed loads", async () => {
    const r = await diff(["--base", "HEAD~1", "--stack", "demo", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const d = JSON.parse(r.stdout) as SiteDiff;
    expect(d.base).toEqual({ ref: "HEAD~1", commit: commits[1], stackExists: true });
    expect(d.stack).toBe("demo");
    expect(d.summary).toEqual({
      resourcesAdded: 0,
      resourcesRemoved: 0,
      resourcesChanged: 8, // the six bootstraps (labels travel in them: no NodePatch), and the publication of their files (copy, put in place)
      rebootstraps: 6,
      poolsChanged: 1,
      statesChanged: 0,
      capsMoved: 6,
      circuitsMoved: 1,
      feedsMoved: 1,
      secretsChanged: 0,
    });
    // Caps are day-2 labels, set by each node's bootstrap with its kubelet credentials, which
    // also keeps the planned cap in the safe-cap file (/etc/mine2hpc/gpu-power-cap), without a
    // k3s restart; so the six rigs whose cap moved are bootstrapped again; rig-s01-1 also moved
    // shelves (a registration label in its k3s config).
    expect(d.rebootstraps.map((b) => [b.hostname, b.reason, b.resource])).toEqual(
      ["rig-s01-1", "rig-s01-2", "rig-s01-3", "rig-s02-1", "rig-s02-2", "rig-s02-3"].map((h) => [h, "changed", `demo-${h}`]),
    );
    for (const b of d.rebootstraps) {
      expect(b.configBefore).toMatch(/^[0-9a-f]{64}$/);
      expect(b.configAfter).toMatch(/^[0-9a-f]{64}$/);
      expect(b.configAfter).not.toBe(b.configBefore);
    }
    expect(d.plan.caps).toEqual([
      { hostname: "rig-s01-1", pool: "rtx-3090-x1-riser-firm", gpusBefore: 6, gpusAfter: 4, capWattsBefore: 268, capWattsAfter: 306 },
      { hostname: "rig-s01-2", pool: "rtx-3090-x1-riser-firm", gpusBefore: 6, gpusAfter: 6, capWattsBefore: 268, capWattsAfter: 300 },
      { hostname: "rig-s01-3", pool: "rtx-3090-x1-riser-firm", gpusBefore: 6, gpusAfter: 6, capWattsBefore: 268, capWattsAfter: 300 },
      { hostname: "rig-s02-1", pool: "rtx-3090-x1-riser-firm", gpusBefore: 6, gpusAfter: 6, capWattsBefore: 268, capWattsAfter: 364 },
      { hostname: "rig-s02-2", pool: "rtx-3090-x1-riser-firm", gpusBefore: 6, gpusAfter: 6, capWattsBefore: 268, capWattsAfter: 364 },
      { hostname: "rig-s02-3", pool: "rtx-3090-x1-riser-firm", gpusBefore: 6, gpusAfter: 6, capWattsBefore: 268, capWattsAfter: 364 },
    ]);
    expect(d.plan.circuits).toEqual({
      added: [],
      removed: [],
      moved: [{ id: "rig-b", feed: "grid-firm", usableWatts: { before: 5760, after: 7680 }, loadWatts: { before: 5760, after: 7680 }, loadPercent: { before: 100, after: 100 } }],
    });
    expect(d.plan.feeds.moved).toEqual([
      {
        name: "grid-firm",
        capacityWatts: { before: 20000, after: 20000 },
        itWatts: { before: 11792, after: 13712 },
        facilityWatts: { before: 12735, after: 14809 },
        loadPercent: { before: 63.7, after: 74 },
      },
    ]);
    expect(d.plan.pools.changed).toEqual([
      {
        name: "rtx-3090-x1-riser-firm",
        changes: [
          { field: "gpus", before: 36, after: 34 },
          { field: "capWatts.min", before: 268, after: 300 },
          { field: "capWatts.max", before: 268, after: 364 },
          { field: "throughputTflops", before: 2377.4, after: 2388.4 },
        ],
      },
    ]);
    // No NodePatch: the labels travel in the bootstrap (whose host config hash moves).
    expect(d.resources.changed.filter((c) => c.type === "kubernetes:core/v1:NodePatch")).toEqual([]);
    const cmd = d.resources.changed.find((c) => c.name === "demo-rig-s01-1" && c.type === "command:remote:Command");
    expect(cmd?.inputs.map((c) => c.key)).toEqual(["create"]);
    // A rig whose cap alone moved: its bootstrap re-runs for the safe-cap file and the cap label.
    const other = d.resources.changed.find((c) => c.name === "demo-rig-s01-2" && c.type === "command:remote:Command");
    expect(other?.inputs.map((c) => c.key)).toEqual(["create"]);
    // Secrets never show up: connection and stdin are masked on both sides and so never differ.
    expect(r.stdout).not.toContain("PRIVATE KEY");
    expect(r.stdout).not.toContain("mine2hpc-offline-placeholder-secret");
    // 48 + the suspended manual start/end CronJobs of ercot-flex (the same on both sides) + 27
    // lifecycle resources (the upgrade controller's 10 objects and 2 Plans, 11 install records,
    // the CA read, the Kueue and MetalLB webhook checks, the agent token) + the curtailment's
    // Role, RoleBinding and runtime ConfigMap; the rigs re-bootstrapped for their safe-cap file
    // are changed, not unchanged; minus the 5 unchanged nodes' NodePatches this count once held
    // (labels now travel in each node's bootstrap); minus the 10 agents' install records (agents
    // read the version for new machines from the first server); minus the curtailment jobs' own
    // runtime ConfigMap (they mount the power agent's).
    expect(d.resources.unchanged).toBe(64);
    expect(leftovers()).toEqual([]);
  });

  it("--format md: a PR comment starting with the counts (golden)", async () => {
    const r = await diff(["--base", "HEAD~1", "--format", "md"]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(
      "**mine2hpc diff** · stack `demo` · `HEAD~1` → working tree: 0 added, 8 changed, 0 removed resources · 6 machines re-bootstrapped · 1 pool changed · 6 node caps moved · 1 circuit and 1 feed moved",
    );
    expect(r.stdout.length).toBeLessThan(64_000);
    await expectGolden("diff-demo.md", r.stdout);
    expect(leftovers()).toEqual([]);
  });

  it("the same commit on both sides: no changes, exit 0", async () => {
    const r = await diff(["--base", "HEAD"]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      [
        `mine2hpc diff: stack demo, HEAD (${commits[2]!.slice(0, 12)}) → working tree`,
        "0 added, 0 changed, 0 removed resources · 0 machines re-bootstrapped · 0 pools changed · 0 node caps moved · 0 circuits and 0 feeds moved",
        "",
        "No changes: the working tree plans and previews the same as HEAD.",
        "",
      ].join("\n"),
    );
    expect(leftovers()).toEqual([]);
  });

  it("a bad ref: exit 2, names the ref and the fix, prints nothing on stdout", async () => {
    const r = await diff(["--base", "origin/no-such-branch"]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      [
        "error: base ref 'origin/no-such-branch' is not a commit in this repository.",
        "  fix: pass a branch, tag or commit that exists here ('git log --oneline', 'git branch -a');",
        "       for a remote branch fetch it first ('git fetch origin no-such-branch');",
        "       in GitHub Actions check out with 'fetch-depth: 0' so that origin/<base branch> exists.",
        "",
      ].join("\n"),
    );
    expect(leftovers()).toEqual([]);
  });

  it("an invalid base site: exit 2, the problems say it is the base", async () => {
    const r = await diff(["--base", "HEAD~2"]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.split("\n");
    expect(lines[0]).toBe(`error: the base HEAD~2 (${commits[0]!.slice(0, 12)}) site of stack demo is invalid; nothing was compared.`);
    expect(lines[1]).toBe("  (file paths are inside HEAD~2; fix them in a new commit, or diff against another base)");
    expect(r.stderr).toMatch(/stacks\/demo\/site\.yaml:\d+/);
    expect(r.stderr).toContain("grid-nowhere");
    expect(leftovers()).toEqual([]);
  });

  it("an invalid working-tree site: exit 2, the problems say it is the working tree", async () => {
    const good = RIG_B.replace("amps: 30", "amps: 40");
    const bad = good.replace("feed: grid-firm", "feed: grid-nowhere");
    edit("stacks/demo/site.yaml", good, bad);
    try {
      const r = await diff(["--base", "HEAD~1"]);
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe("");
      const lines = r.stderr.split("\n");
      expect(lines[0]).toBe("error: the working-tree site of stack demo is invalid; nothing was compared.");
      expect(lines[1]).toMatch(/^\s*stacks\/demo\/site\.yaml:\d+/);
      expect(r.stderr).toContain("grid-nowhere");
      expect(leftovers()).toEqual([]);
    } finally {
      edit("stacks/demo/site.yaml", bad, good);
    }
  });

  it("a bad format or a missing --base: a usage error (64) with the fix", async () => {
    const f = await diff(["--base", "HEAD", "--format", "html"]);
    expect(f.exitCode).toBe(64);
    expect(f.stderr).toBe("error: unknown output format 'html' (--format).\n  fix: use -o text, json, yaml or md.\n");
    const o = await diff(["--base", "HEAD", "-o", "xml"]);
    expect(o.exitCode).toBe(64);
    expect(o.stderr).toBe("error: unknown output format 'xml' (-o).\n  fix: use -o text, json, yaml or md.\n");
    const b = await diff([]);
    expect(b.exitCode).toBe(64);
    expect(b.stderr).toBe("error: no base given.\n  fix: pass --base GIT_REF, e.g. --base origin/main or --base HEAD~1.\n");
  });
});

// Last in the file: it adds a commit (the stack with a k3s token) that the tests above must not see.
describe("mine2hpc diff of a rotated k3s token", () => {
  // Shaped like Pulumi's passphrase ciphertexts (v1:<nonce>:<ciphertext>, base64); nothing decrypts them here.
  const TOKEN_A = "v1:3vPZqk4H0V2qS0RB:cJx7uQm0b5fOQbq9m2B5l8g1Zr0S8y1p6mJq0Yc0rB8=";
  const TOKEN_B = "v1:Hq1m9V6x2LkP0s7E:8W2nY4pQe1Lr3sT0v9Kx5dJ7hZb1Qm4Fc6Ng0Tu2Aw8=";
  const STACK = "stacks/Pulumi.demo.yaml";

  it("names the secret and what it breaks, exit 0, never a ciphertext; -o yaml and --quiet", async () => {
    const original = readFileSync(path.join(repo, STACK), "utf8");
    writeFileSync(path.join(repo, STACK), original.replace("config:\n", `config:\n  mine2hpc:k3sToken:\n    secure: ${TOKEN_A}\n`));
    await commit("stack with a configured k3s token");
    edit(STACK, TOKEN_A, TOKEN_B);
    try {
      const r = await diff(["--base", "HEAD"]);
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(
        [
          `mine2hpc diff: stack demo, HEAD (${commits[3]!.slice(0, 12)}) → working tree`,
          "0 added, 0 changed, 0 removed resources · 0 machines re-bootstrapped · 1 secret changed · 0 pools changed · 0 node caps moved · 0 circuits and 0 feeds moved",
          "",
          "Secrets (names only; values never read):",
          "  mine2hpc:k3sToken: k3s server token set again (its encrypted value differs): every server's bootstrap runs again with it, but a running cluster refuses a new server token (k3s encrypts its bootstrap data with it), so servers fail to restart and server joins break (agents join with the agent token). Rotate it on the cluster first: 'k3s token rotate --token OLD --new-token NEW' on one server, then merge this change so pulumi up gives every server the new token (snapshots taken before need the old one; docs.k3s.io/cli/token). If it was set again with the same value, nothing breaks.",
          "",
          "71 resources unchanged. 'pulumi preview' is the source of truth.",
          "",
        ].join("\n"),
      );
      const y = await diff(["--base", "HEAD", "-o", "yaml", "--quiet"]);
      expect(y.exitCode).toBe(0);
      expect(y.stderr).toBe("");
      expect(y.stdout).toContain("secrets:\n  reencrypted: false\n  changed:\n    - key: mine2hpc:k3sToken\n      change: changed\n");
      expect(y.stdout).toContain("  secretsChanged: 1\n");
      for (const out of [r.stdout, y.stdout]) {
        expect(out).not.toContain(TOKEN_A.slice(3));
        expect(out).not.toContain(TOKEN_B.slice(3));
      }
      // --quiet with text output: nothing but the exit code.
      const q = await diff(["--base", "HEAD", "--quiet"]);
      expect([q.exitCode, q.stdout, q.stderr]).toEqual([0, "", ""]);
      expect(leftovers()).toEqual([]);
    } finally {
      writeFileSync(path.join(repo, STACK), original.replace("config:\n", `config:\n  mine2hpc:k3sToken:\n    secure: ${TOKEN_A}\n`));
    }
  });
});
