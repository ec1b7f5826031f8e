/**
 * The CI workflows' structure, asserted exactly: triggers, least-privilege permissions, the
 * jobs and their key steps, pinned action versions, a privileged comment workflow that never
 * runs pull-request code, and `pulumi up` only on a push to main behind an environment.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "./helpers/cli.js";
import { previewCommentWorkflow, previewWorkflow } from "../src/cli/workflows.js";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  permissions?: Record<string, string>;
  environment?: string;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

const load = (file: string) => parse(readFileSync(path.join(REPO_ROOT, ".github", "workflows", file), "utf8")) as Workflow;
const preview = load("preview.yml");
const comment = load("preview-comment.yml");
const uses = (job: Job) => job.steps.flatMap((s) => (s.uses ? [s.uses] : []));
const runs = (job: Job) => job.steps.flatMap((s) => (s.run ? [s.run.trim()] : []));

describe("preview.yml", () => {
  it("runs on pull requests and on pushes to main, read-only by default", () => {
    expect(preview.on).toEqual({ pull_request: null, push: { branches: ["main"] } });
    expect(preview.permissions).toEqual({ contents: "read" });
    expect(Object.keys(preview.jobs)).toEqual(["test-and-diff", "pulumi-preview", "pulumi-up"]);
  });

  it("tests and diffs a PR without secrets, and hands the diff on as an artifact", () => {
    const job = preview.jobs["test-and-diff"]!;
    expect(job.if).toBe("github.event_name == 'pull_request'");
    expect(job.permissions).toEqual({ contents: "read" });
    expect(uses(job)).toEqual(["actions/checkout@v4", "actions/setup-node@v4", "actions/upload-artifact@v4"]);
    expect(job.steps[0]!.with).toEqual({ "fetch-depth": 0 });
    expect(job.steps[1]!.with).toEqual({ "node-version-file": ".nvmrc", cache: "npm" });
    expect(runs(job)).toEqual([
      "npm ci",
      "npm test",
      "npx mine2hpc diff --base origin/${{ github.base_ref }} --stack demo --format md > diff.md",
      'echo "${{ github.event.pull_request.number }}" > pr-number.txt',
    ]);
    expect(job.steps.at(-1)!.with).toEqual({ name: "mine2hpc-diff", path: "diff.md\npr-number.txt\n", "retention-days": 7 });
    expect(JSON.stringify(job)).not.toContain("secrets.");
  });

  it("runs pulumi preview only when the token is there, tested through env (not secrets in if)", () => {
    const job = preview.jobs["pulumi-preview"]!;
    expect(job.if).toBe("github.event_name == 'pull_request'");
    expect(job.needs).toBe("test-and-diff");
    expect(job.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    expect(job.env).toEqual({ PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}" });
    expect(job.steps[0]!.if).toBe("env.PULUMI_ACCESS_TOKEN == ''");
    for (const step of job.steps.slice(1)) expect(step.if).toBe("env.PULUMI_ACCESS_TOKEN != ''");
    const pulumi = job.steps.find((s) => s.uses?.startsWith("pulumi/actions"))!;
    expect(pulumi.uses).toBe("pulumi/actions@v6");
    expect(pulumi.with).toEqual({ command: "preview", "stack-name": "demo", "work-dir": ".", "comment-on-pr": true, "github-token": "${{ secrets.GITHUB_TOKEN }}" });
  });

  it("runs pulumi up only on a push to main, in the protected production environment", () => {
    const job = preview.jobs["pulumi-up"]!;
    expect(job.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(job.environment).toBe("production");
    expect(job.permissions).toEqual({ contents: "read" });
    expect(uses(job)).toEqual(["actions/checkout@v4", "actions/setup-node@v4", "pulumi/actions@v6"]);
    // An SSH agent with the fleet's key when the repository has the secret (stacks without mine2hpc:sshPrivateKey).
    expect(runs(job)).toEqual([
      "npm ci",
      "npm test",
      'if [ -z "$MINE2HPC_SSH_PRIVATE_KEY" ]; then echo "no MINE2HPC_SSH_PRIVATE_KEY secret: pulumi up uses the stack\'s mine2hpc:sshPrivateKey"; exit 0; fi\n' +
        'eval "$(ssh-agent -s)" >/dev/null\nprintf \'%s\\n\' "$MINE2HPC_SSH_PRIVATE_KEY" | ssh-add -\necho "SSH_AUTH_SOCK=$SSH_AUTH_SOCK" >> "$GITHUB_ENV"',
    ]);
    // Only that step sees the key: not npm ci or npm test, which run the repository's code.
    expect((job as unknown as { env: Record<string, string> }).env).toEqual({ PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}" });
    const agentStep = job.steps.find((st) => st.run?.includes("ssh-agent")) as unknown as { env: Record<string, string> };
    expect(agentStep.env).toEqual({ MINE2HPC_SSH_PRIVATE_KEY: "${{ secrets.MINE2HPC_SSH_PRIVATE_KEY }}" });
    expect(job.steps.at(-1)!.with).toEqual({ command: "up", "stack-name": "demo", "work-dir": "." });
    // No other job may run `up`.
    const ups = Object.entries(preview.jobs).filter(([, j]) => j.steps.some((s) => s.with?.command === "up"));
    expect(ups.map(([name]) => name)).toEqual(["pulumi-up"]);
  });
});

describe("preview.yml of a partitioned site", () => {
  const wf = parse(previewWorkflow("tx", { partitioned: true })) as Workflow & {
    jobs: Record<string, Job & { strategy?: { "fail-fast": boolean; matrix: Record<string, string> }; concurrency?: { group: string; "cancel-in-progress": boolean }; outputs?: Record<string, string> }>;
  };

  it("lists the stacks from the plan, previews them as one matrix and updates the cluster before the partitions", () => {
    expect(Object.keys(wf.jobs)).toEqual(["test-and-diff", "stacks", "pulumi-preview", "pulumi-up-cluster", "pulumi-up-partitions"]);
    expect(wf.jobs.stacks!.outputs).toEqual({ stacks: "${{ steps.list.outputs.stacks }}", partitions: "${{ steps.list.outputs.partitions }}" });
    expect(runs(wf.jobs.stacks!).at(-1)).toBe(
      [
        "npx mine2hpc plan --stack tx --json > plan.json",
        `echo "partitions=$(jq -c '.partitions.names // []' plan.json)" >> "$GITHUB_OUTPUT"`,
        `echo "stacks=$(jq -c --arg s tx '[$s] + [(.partitions.names // [])[] | "\\($s)-\\(.)"]' plan.json)" >> "$GITHUB_OUTPUT"`,
      ].join("\n"),
    );
    const preview = wf.jobs["pulumi-preview"]!;
    expect(preview.needs).toEqual(["test-and-diff", "stacks"]);
    expect(preview.strategy).toEqual({ "fail-fast": false, matrix: { stack: "${{ fromJSON(needs.stacks.outputs.stacks) }}" } });
    expect(preview.steps.at(-1)!.with).toMatchObject({ command: "preview", "stack-name": "${{ matrix.stack }}" });
    const up = wf.jobs["pulumi-up-partitions"]!;
    expect(up.needs).toEqual(["stacks", "pulumi-up-cluster"]);
    expect(up.environment).toBe("production");
    expect(up.strategy).toEqual({ "fail-fast": false, matrix: { partition: "${{ fromJSON(needs.stacks.outputs.partitions) }}" } });
    expect(up.steps.at(-1)!.with).toEqual({ command: "up", "stack-name": "tx-${{ matrix.partition }}", "work-dir": "." });
    expect(wf.jobs["pulumi-up-cluster"]!.steps.at(-1)!.with).toEqual({ command: "up", "stack-name": "tx", "work-dir": "." });
  });

  it("gives every matrix entry its own concurrency group; updates are never cancelled", () => {
    expect(wf.jobs["pulumi-preview"]!.concurrency).toEqual({ group: "pulumi-preview-${{ github.ref }}-${{ matrix.stack }}", "cancel-in-progress": true });
    expect(wf.jobs["pulumi-up-cluster"]!.concurrency).toEqual({ group: "pulumi-up-tx", "cancel-in-progress": false });
    expect(wf.jobs["pulumi-up-partitions"]!.concurrency).toEqual({ group: "pulumi-up-tx-${{ matrix.partition }}", "cancel-in-progress": false });
  });
});

describe("preview-comment.yml", () => {
  it("runs after the preview workflow, with write access only where it comments", () => {
    expect(comment.on).toEqual({ workflow_run: { workflows: ["preview"], types: ["completed"] } });
    expect(comment.permissions).toEqual({ contents: "read" });
    expect(Object.keys(comment.jobs)).toEqual(["comment"]);
    const job = comment.jobs.comment!;
    expect(job.if).toBe("github.event.workflow_run.event == 'pull_request' && github.event.workflow_run.conclusion == 'success'");
    expect(job.permissions).toEqual({ actions: "read", "pull-requests": "write" });
    expect(uses(job)).toEqual(["actions/download-artifact@v4", "actions/github-script@v7"]);
    expect(job.steps[0]!.with).toEqual({ name: "mine2hpc-diff", "run-id": "${{ github.event.workflow_run.id }}", "github-token": "${{ secrets.GITHUB_TOKEN }}" });
  });

  it("never checks out or runs the pull request's code", () => {
    const job = comment.jobs.comment!;
    expect(uses(job).some((u) => u.startsWith("actions/checkout"))).toBe(false);
    expect(runs(job)).toEqual([]);
    const text = readFileSync(path.join(REPO_ROOT, ".github", "workflows", "preview-comment.yml"), "utf8");
    for (const forbidden of ["head_sha", "head_branch", "head.ref", "npm ", "npx "]) expect(text).not.toContain(forbidden);
    const script = String(job.steps[1]!.with!.script);
    expect(script).toContain('const marker = "<!-- mine2hpc-diff -->";');
    expect(script).toContain("github.rest.issues.updateComment");
    expect(script).toContain("github.rest.issues.createComment");
  });
});

describe("every action is pinned to a major version", () => {
  it("uses owner/name@vN everywhere", () => {
    const all = [...Object.values(preview.jobs), ...Object.values(comment.jobs)].flatMap(uses);
    expect(all.length).toBe(11);
    for (const u of all) expect(u).toMatch(/^[a-z-]+\/[a-z-]+@v\d+$/);
  });
});

describe("one source for this repository's workflows and a site repository's", () => {
  it("keeps .github/workflows byte-identical to what mine2hpc new writes, for stack demo", () => {
    const file = (name: string) => readFileSync(path.join(REPO_ROOT, ".github", "workflows", name), "utf8");
    expect(file("preview.yml")).toBe(previewWorkflow("demo"));
    expect(file("preview-comment.yml")).toBe(previewCommentWorkflow());
  });
});
