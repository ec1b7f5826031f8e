/**
 * The GitHub Actions workflows of a mine2hpc project: `preview.yml` (tests, the offline
 * `mine2hpc diff` of every pull request, `pulumi preview` where the token is, `pulumi up` on
 * main behind an environment) and `preview-comment.yml` (posts the diff; never runs PR code).
 *
 * One source for both kinds of repository: this repository's `.github/workflows/` is this text
 * for stack `demo` (a test keeps them byte-identical), and `mine2hpc new` writes it for the new
 * site's stack. In a site repository `npm test` is `mine2hpc validate` (its package.json).
 * Action majors pinned as in the rest of the project: actions/checkout@v4, setup-node@v4,
 * upload-artifact@v4, download-artifact@v4, github-script@v7, pulumi/actions@v6.
 *
 * A partitioned site (site `partitions`) gets the same PR diff (it compares every stack of the
 * site), and its `pulumi preview` and `pulumi up` run per stack: the cluster stack `<stack>` and
 * one stack `<stack>-<partition>` per partition, listed at run time from the plan (so a new
 * partition needs no workflow edit), as a job matrix in parallel, each entry with its own
 * concurrency group: a job-level `concurrency:` may use the `matrix` context
 * (https://docs.github.com/en/actions/reference/workflows-and-actions/contexts#context-availability:
 * `jobs.<job_id>.concurrency` — github, needs, strategy, matrix, inputs, vars). A matrix runs at
 * most 256 jobs per workflow run, hence `MAX_PARTITIONS` in site/partitions.ts.
 */

/** Options of {@link previewWorkflow}. */
export interface WorkflowOptions {
  /** The site has partitions: preview and up per stack, as job matrices. @default false */
  partitioned?: boolean;
}

/** `.github/workflows/preview.yml` for the stack `stack`. */
export function previewWorkflow(stack: string, opts: WorkflowOptions = {}): string {
  return `# Pull requests: run the tests, compute \`mine2hpc diff\` against the base branch (offline: no
# secrets, no cloud, no cluster) and hand it to preview-comment.yml as an artifact, because a
# pull_request run from a fork gets a read-only token and cannot comment itself. When the
# repository's Pulumi token is available (never on forks), also run the real \`pulumi preview\`.
# Pushes to main: \`pulumi up\`, behind the protected \`production\` environment.
name: preview

on:
  pull_request:
  push:
    branches: [main]

# Least privilege: jobs that need more ask for it themselves.
permissions:
  contents: read

concurrency:
  group: preview-\${{ github.workflow }}-\${{ github.ref }}
  cancel-in-progress: \${{ github.event_name == 'pull_request' }}

jobs:
  test-and-diff:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # mine2hpc diff reads the base branch's commit
      - uses: actions/setup-node@v4
        with:
          node-version-file: .nvmrc
          cache: npm
      - run: npm ci
      - run: npm test
      - name: mine2hpc diff against the base branch
        run: npx mine2hpc diff --base origin/\${{ github.base_ref }} --stack ${stack} --format md > diff.md
      - name: Record the PR number for the comment workflow
        run: echo "\${{ github.event.pull_request.number }}" > pr-number.txt
      - uses: actions/upload-artifact@v4
        with:
          name: mine2hpc-diff
          path: |
            diff.md
            pr-number.txt
          retention-days: 7
${opts.partitioned === true ? partitionedJobs(stack) : singleStackJobs(stack)}`;
}

/** Permissions, token and steps of a `pulumi preview` of `stackName` (a stack or a matrix expression). */
function previewBody(stackName: string): string {
  return `    permissions:
      contents: read
      pull-requests: write # comment-on-pr; forks get a read-only token but never reach the step
    env:
      # Secrets cannot be tested in \`if:\`; an env var mapped from one can. Empty on forks.
      PULUMI_ACCESS_TOKEN: \${{ secrets.PULUMI_ACCESS_TOKEN }}
    steps:
      - name: Skip without the stack's secrets
        if: env.PULUMI_ACCESS_TOKEN == ''
        run: echo "PULUMI_ACCESS_TOKEN is not available (fork or unset); the offline diff is the preview for this PR."
      - uses: actions/checkout@v4
        if: env.PULUMI_ACCESS_TOKEN != ''
      - uses: actions/setup-node@v4
        if: env.PULUMI_ACCESS_TOKEN != ''
        with:
          node-version-file: .nvmrc
          cache: npm
      - run: npm ci
        if: env.PULUMI_ACCESS_TOKEN != ''
      - uses: pulumi/actions@v6
        if: env.PULUMI_ACCESS_TOKEN != ''
        with:
          command: preview
          stack-name: ${stackName}
          work-dir: .
          comment-on-pr: true
          github-token: \${{ secrets.GITHUB_TOKEN }}
`;
}

/** Checkout, Node from `.nvmrc`, `npm ci`: the first steps of the jobs that need no extra options on them. */
const CHECKOUT_AND_INSTALL = `      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version-file: .nvmrc
          cache: npm
      - run: npm ci
`;

/**
 * A stack without \`mine2hpc:sshPrivateKey\` dials hosts through the SSH agent \`pulumi up\` runs
 * with (the key is then in no state): with the repository secret MINE2HPC_SSH_PRIVATE_KEY set, this
 * step starts ssh-agent, adds the key from stdin (never a file or an argument) and hands
 * SSH_AUTH_SOCK to the later steps (GITHUB_ENV). Only this step sees the secret (not `npm ci` or
 * `npm test`, which run the repository's code); without it the step does nothing and the stack's
 * own key is used.
 */
const SSH_AGENT_STEP = `      - name: SSH agent with the fleet's key (stacks without mine2hpc:sshPrivateKey)
        env:
          MINE2HPC_SSH_PRIVATE_KEY: \${{ secrets.MINE2HPC_SSH_PRIVATE_KEY }}
        run: |
          if [ -z "$MINE2HPC_SSH_PRIVATE_KEY" ]; then echo "no MINE2HPC_SSH_PRIVATE_KEY secret: pulumi up uses the stack's mine2hpc:sshPrivateKey"; exit 0; fi
          eval "$(ssh-agent -s)" >/dev/null
          printf '%s\\n' "$MINE2HPC_SSH_PRIVATE_KEY" | ssh-add -
          echo "SSH_AUTH_SOCK=$SSH_AUTH_SOCK" >> "$GITHUB_ENV"
`;

/** Permissions, token and steps of a `pulumi up` of `stackName`; `test`: run `npm test` first. */
function upBody(stackName: string, test: boolean): string {
  return `    permissions:
      contents: read
    env:
      PULUMI_ACCESS_TOKEN: \${{ secrets.PULUMI_ACCESS_TOKEN }}
    steps:
${CHECKOUT_AND_INSTALL}${test ? "      - run: npm test\n" : ""}${SSH_AGENT_STEP}      - uses: pulumi/actions@v6
        with:
          command: up
          stack-name: ${stackName}
          work-dir: .
`;
}

/** `pulumi preview` and `pulumi up` of a site that is one stack. */
function singleStackJobs(stack: string): string {
  return `
  pulumi-preview:
    if: github.event_name == 'pull_request'
    needs: test-and-diff
    runs-on: ubuntu-latest
${previewBody(stack)}
  pulumi-up:
    if: github.event_name == 'push' && github.ref == 'refs/heads/main'
    runs-on: ubuntu-latest
    # Protected: required reviewers and the deployment secrets live on this environment.
    environment: production
    concurrency:
      group: pulumi-up-${stack}
      cancel-in-progress: false # never cancel an update half-way through the hosts
${upBody(stack, true)}`;
}

/**
 * `pulumi preview` and `pulumi up` of a partitioned site: the stacks listed from the plan, the
 * previews as one matrix, `up` on the cluster stack first (the partitions read its outputs),
 * then the partitions as a matrix. \`fail-fast: false\`: one partition's failure must never
 * cancel another partition's update half-way through its hosts.
 */
function partitionedJobs(stack: string): string {
  return `
  stacks:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    outputs:
      stacks: \${{ steps.list.outputs.stacks }}
      partitions: \${{ steps.list.outputs.partitions }}
    steps:
${CHECKOUT_AND_INSTALL}      - name: List the cluster stack and one stack per partition, from the plan
        id: list
        run: |
          npx mine2hpc plan --stack ${stack} --json > plan.json
          echo "partitions=$(jq -c '.partitions.names // []' plan.json)" >> "$GITHUB_OUTPUT"
          echo "stacks=$(jq -c --arg s ${stack} '[$s] + [(.partitions.names // [])[] | "\\($s)-\\(.)"]' plan.json)" >> "$GITHUB_OUTPUT"

  pulumi-preview:
    if: github.event_name == 'pull_request'
    needs: [test-and-diff, stacks]
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        stack: \${{ fromJSON(needs.stacks.outputs.stacks) }}
    # One group per stack: a new push cancels that stack's older preview only.
    concurrency:
      group: pulumi-preview-\${{ github.ref }}-\${{ matrix.stack }}
      cancel-in-progress: true
${previewBody("${{ matrix.stack }}")}
  pulumi-up-cluster:
    if: github.event_name == 'push' && github.ref == 'refs/heads/main'
    needs: stacks
    runs-on: ubuntu-latest
    # Protected: required reviewers and the deployment secrets live on this environment.
    environment: production
    concurrency:
      group: pulumi-up-${stack}
      cancel-in-progress: false # never cancel an update half-way through the hosts
${upBody(stack, true)}
  pulumi-up-partitions:
    # The partitions read the cluster stack's outputs (the join secrets): it goes first.
    if: github.event_name == 'push' && github.ref == 'refs/heads/main' && needs.stacks.outputs.partitions != '[]'
    needs: [stacks, pulumi-up-cluster]
    runs-on: ubuntu-latest
    environment: production
    strategy:
      fail-fast: false
      matrix:
        partition: \${{ fromJSON(needs.stacks.outputs.partitions) }}
    # One group per partition: two pushes never update one partition at once; partitions run in parallel.
    concurrency:
      group: pulumi-up-${stack}-\${{ matrix.partition }}
      cancel-in-progress: false
${upBody(`${stack}-\${{ matrix.partition }}`, false)}`;
}

/** `.github/workflows/preview-comment.yml` (the same for every stack). */
export function previewCommentWorkflow(): string {
  return `# Posts the diff that preview.yml computed as a PR comment, updating its own earlier comment.
# Runs in the base repository's context with a write token, also for PRs from forks; so it
# never checks out or runs the PR's code: it only downloads the artifact (text) and posts it.
name: preview-comment

on:
  workflow_run:
    workflows: [preview]
    types: [completed]

permissions:
  contents: read

jobs:
  comment:
    if: github.event.workflow_run.event == 'pull_request' && github.event.workflow_run.conclusion == 'success'
    runs-on: ubuntu-latest
    permissions:
      actions: read # download the artifact of the triggering run
      pull-requests: write # create or update the comment
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: mine2hpc-diff
          run-id: \${{ github.event.workflow_run.id }}
          github-token: \${{ secrets.GITHUB_TOKEN }}
      - name: Post or update the diff comment
        uses: actions/github-script@v7
        with:
          script: |
            const fs = require("node:fs");
            // The artifact is untrusted input: a number and text, nothing is executed.
            const pr = Number(fs.readFileSync("pr-number.txt", "utf8").trim());
            if (!Number.isInteger(pr) || pr <= 0) throw new Error("pr-number.txt does not hold a PR number");
            const marker = "<!-- mine2hpc-diff -->";
            const body = \`\${marker}\\n\${fs.readFileSync("diff.md", "utf8").slice(0, 65000)}\`;
            const { owner, repo } = context.repo;
            const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number: pr, per_page: 100 });
            const mine = comments.find((c) => c.user?.type === "Bot" && c.body?.startsWith(marker));
            if (mine) await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
            else await github.rest.issues.createComment({ owner, repo, issue_number: pr, body });
`;
}
