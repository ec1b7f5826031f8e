/**
 * `mine2hpc kubeconfig` against a fake `pulumi` on PATH: a shell script that records its
 * arguments and answers as `pulumi stack output --json` does (a JSON string on stdout), or fails
 * with Pulumi's own error lines. The kubeconfig is never printed unless the file is '-', and
 * the file is created with mode 0600 even under umask 000.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_BIN } from "./helpers/cli.js";

/** What the fake cluster's kubeconfig looks like (k3s.yaml, server rewritten to the API endpoint). */
const KUBECONFIG = [
  "apiVersion: v1",
  "kind: Config",
  "clusters:",
  "- cluster:",
  "    certificate-authority-data: Q0EtREFUQS1GQUtF",
  "    server: https://10.20.0.10:6443",
  "  name: default",
  "contexts:",
  "- context:",
  "    cluster: default",
  "    user: default",
  "  name: default",
  "current-context: default",
  "users:",
  "- name: default",
  "  user:",
  "    client-key-data: U0VDUkVULUNMSUVOVC1LRVk=",
  "",
].join("\n");

let dir = "";
let bin = "";
let argsFile = "";

/** The fake pulumi: FAKE_PULUMI_MODE picks the answer; every call's arguments go to FAKE_PULUMI_ARGS. */
const FAKE = `#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_PULUMI_ARGS"
case "$FAKE_PULUMI_MODE" in
  ok) cat "$FAKE_PULUMI_ANSWER" ;;
  not-logged-in) echo "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions" >&2; exit 255 ;;
  passphrase) echo "error: constructing secrets manager of type \\"passphrase\\": passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables" >&2; exit 255 ;;
  no-stack) echo "error: no stack named 'tx-west' found" >&2; exit 255 ;;
  no-output) echo "error: current stack does not have output property 'kubeconfig'" >&2; exit 255 ;;
  not-kubeconfig) echo '"just some text"' ;;
  hang) exec sleep 30 ;;
  *) echo "error: unexpected mode" >&2; exit 3 ;;
esac
`;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "mine2hpc-kubeconfig-"));
  bin = path.join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(path.join(bin, "pulumi"), FAKE);
  chmodSync(path.join(bin, "pulumi"), 0o755);
  writeFileSync(path.join(dir, "answer.json"), `${JSON.stringify(KUBECONFIG.trimEnd())}\n`);
  argsFile = path.join(dir, "args.txt");
  mkdirSync(path.join(dir, "project", "stacks"), { recursive: true });
  writeFileSync(path.join(dir, "project", "Pulumi.yaml"), "name: tx-west\nruntime: nodejs\nstackConfigDir: stacks\n");
  writeFileSync(path.join(dir, "project", "stacks", "Pulumi.tx-west.yaml"), "config:\n  mine2hpc:site: stacks/tx-west/site.yaml\n");
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs `mine2hpc kubeconfig ARGS` under umask 000, with only the fake's folder (or none) on PATH. */
async function kubeconfig(args: string[], mode: string, opts: { path?: string } = {}) {
  const r = await execa("/bin/sh", ["-c", 'umask 000; exec "$@"', "sh", process.execPath, CLI_BIN, "kubeconfig", ...args], {
    cwd: path.join(dir, "project"),
    env: { PATH: opts.path ?? `${bin}:/usr/bin:/bin`, FAKE_PULUMI_MODE: mode, FAKE_PULUMI_ARGS: argsFile, FAKE_PULUMI_ANSWER: path.join(dir, "answer.json"), NO_COLOR: "1", MINE2HPC_COMMAND: "mine2hpc" },
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
    stdin: "ignore",
  });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const file = () => path.join(dir, "project", "kubeconfig");

describe("mine2hpc kubeconfig", () => {
  it("writes the stack's kubeconfig output to ./kubeconfig, created 0600, and prints none of it", async () => {
    const r = await kubeconfig([], "ok");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("wrote the kubeconfig of stack tx-west to kubeconfig (mode 0600, API server https://10.20.0.10:6443).\nnext: kubectl --kubeconfig kubeconfig get nodes\n");
    expect(readFileSync(file(), "utf8")).toBe(KUBECONFIG);
    expect(statSync(file()).mode & 0o777).toBe(0o600);
    // The default stack is the project's only one; no prompt, no colour, the value as JSON.
    expect(readFileSync(argsFile, "utf8").split("\n")).toEqual(["stack", "output", "kubeconfig", "--show-secrets", "--json", "--non-interactive", "--color", "never", "--stack", "tx-west", ""]);
  });

  it("refuses to replace an existing file without --force, and replaces it (0600) with it", async () => {
    writeFileSync(file(), "other clusters\n");
    chmodSync(file(), 0o644);
    const r = await kubeconfig(["--stack", "tx-west"], "ok");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("error: kubeconfig already exists; nothing was written (it may hold other clusters' credentials).\n  fix: pass --force to replace it, or another --output-file.\n");
    expect(readFileSync(file(), "utf8")).toBe("other clusters\n");
    const f = await kubeconfig(["--stack", "tx-west", "--force", "--quiet"], "ok");
    expect([f.exitCode, f.stdout, f.stderr]).toEqual([0, "", ""]);
    expect(readFileSync(file(), "utf8")).toBe(KUBECONFIG);
    expect(statSync(file()).mode & 0o777).toBe(0o600);
  });

  it("prints it to stdout only with --output-file -", async () => {
    const r = await kubeconfig(["--output-file", "-", "--quiet"], "ok");
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, KUBECONFIG, ""]);
  });

  it.each([
    [
      "not-logged-in",
      "error: pulumi is not logged in to a backend, so it cannot read the stack's outputs; nothing was written.\n  fix: run 'pulumi login' (Pulumi Cloud; or 'pulumi login s3://…' / 'file://…' for the backend that holds this stack), or set PULUMI_ACCESS_TOKEN in CI.\n",
    ],
    [
      "passphrase",
      "error: stack tx-west encrypts its secrets with a passphrase, and pulumi could not use it; nothing was written.\n  fix: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the stack's passphrase and run again.\n",
    ],
    [
      "no-stack",
      "error: the Pulumi backend you are logged in to has no stack named 'tx-west'; nothing was written.\n  fix: list them with 'pulumi stack ls' and pass --stack NAME (ORG/NAME for another Pulumi Cloud organisation).\n",
    ],
    [
      "no-output",
      "error: stack tx-west has no 'kubeconfig' output: it was never deployed, or it is a partition stack (the cluster stack holds the kubeconfig); nothing was written.\n  fix: run 'pulumi up --stack tx-west' first, or pass the cluster's stack with --stack.\n",
    ],
    [
      "not-kubeconfig",
      "error: stack tx-west's 'kubeconfig' output is not a kubeconfig (kind: Config with clusters and users); nothing was written.\n  fix: run 'pulumi up --stack tx-west' again; the output is read from the first server's /etc/rancher/k3s/k3s.yaml.\n",
    ],
  ])("pulumi answering %s: exit 1 with the fix, nothing written", async (mode, stderr) => {
    rmSync(file(), { force: true });
    const r = await kubeconfig([], mode);
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([1, "", stderr]);
    expect(existsSync(file())).toBe(false);
  });

  it("without a pulumi on PATH: exit 1, says how to install it", async () => {
    const r = await kubeconfig([], "ok", { path: path.join(dir, "project") });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(
      "error: the Pulumi CLI is not installed (no 'pulumi' on PATH); the kubeconfig is a secret stack output only Pulumi can decrypt.\n  fix: install it (https://www.pulumi.com/docs/iac/download-install/: curl -fsSL https://get.pulumi.com | sh), then 'pulumi login'.\n",
    );
  });

  it("a pulumi that does not answer is killed after --timeout", async () => {
    const r = await kubeconfig(["--timeout", "1"], "hang");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe("error: pulumi stack output did not answer within 1 s (stack tx-west); nothing was written.\n  fix: check the connection to the Pulumi backend ('pulumi whoami'), or pass a longer --timeout.\n");
  });

  it("a partition stack's kubeconfig is its cluster stack's (mine2hpc:clusterStack)", async () => {
    writeFileSync(path.join(dir, "project", "stacks", "Pulumi.tx-west-b.yaml"), "config:\n  mine2hpc:site: stacks/tx-west/site.yaml\n  mine2hpc:partition: hall-b\n  mine2hpc:clusterStack: tx-west\n");
    try {
      const r = await kubeconfig(["--stack", "tx-west-b", "--output-file", "-"], "ok");
      expect([r.exitCode, r.stdout]).toEqual([0, KUBECONFIG]);
      expect(r.stderr).toBe("stack tx-west-b is a partition stack: reading the kubeconfig of its cluster stack tx-west (mine2hpc:clusterStack).\n");
      expect(readFileSync(argsFile, "utf8").split("\n").slice(-3)).toEqual(["--stack", "tx-west", ""]);
    } finally {
      rmSync(path.join(dir, "project", "stacks", "Pulumi.tx-west-b.yaml"));
    }
  });

  it("usage errors exit 64", async () => {
    const r = await kubeconfig(["--timeout", "soon"], "ok");
    expect([r.exitCode, r.stderr]).toEqual([64, "error: --timeout 'soon' is not a whole number of seconds from 1 to 3600.\n  fix: e.g. --timeout 60.\n"]);
    const p = await kubeconfig(["tx-west"], "ok");
    expect([p.exitCode, p.stderr]).toEqual([64, "error: kubeconfig takes no arguments, got 'tx-west'.\n  fix: pass the stack with --stack NAME.\n"]);
  });
});
