/**
 * The real rendered host scripts, run as root over real SSH (OpenSSH on 127.0.0.1, its own host
 * key, pinned) through `remoteScriptCommand` with remote.Command's STDIN handling, against fake
 * k3s, installer, systemctl, journalctl and nvidia-smi (tests/helpers/host-harness.ts).
 *
 * Required under CI=1 (CI installs openssh-server); elsewhere it skips with a message naming
 * what is missing.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { execa } from "execa";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { installedScriptCommand, remoteFetchCommand, remoteScriptCommand } from "../src/components/remote-script.js";
import { bootstrapDeadlineSeconds, PUBLISH_DEADLINE_SECONDS, UNINSTALL_DEADLINE_SECONDS } from "../src/components/host-bootstrap.js";
import { ustarArchive, writePublicationArchive } from "../src/components/publication.js";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { FarmPlan } from "../src/plan/types.js";
import {
  agentPublication,
  agentSteps,
  hostConfigHash,
  installedUninstallText,
  renderAgentHostFile,
  renderBootstrapScript,
  renderHostStdin,
  renderPublicationScript,
  renderUninstallScript,
  secureJoinToken,
  sha256Hex,
  AGENT_BOOTSTRAP_LOG,
  INSTALLED_UNINSTALL_PATH,
  PUBLICATION_LISTS_DIR,
  PUBLISHED_DIR,
  PUBLISHED_URL_PATH,
} from "../src/render/index.js";
import { FAKE_K3S, FirstServerStub, HostHarness, harnessUnavailable, processesHolding } from "./helpers/host-harness.js";
import { samplePlan } from "./helpers/sample-plan.js";
import { REPO_ROOT, runCli } from "./helpers/cli.js";

const missing = harnessUnavailable();
if (missing !== null) {
  if (process.env.CI === "1") throw new Error(`host harness required under CI=1: ${missing}`);
  console.warn(`host harness skipped: ${missing}`);
}

const SERVER_SECRET = "srv5ecret0123456789abcdef";
const AGENT_SECRET = "agt5ecret9876543210fedcba";
const CA_HASH = "4e".repeat(32);
const START_TIMEOUT = 3;

describe.skipIf(missing !== null)("host scripts over real SSH", () => {
  let h: HostHarness;
  let plan: FarmPlan;

  beforeAll(async () => {
    h = await HostHarness.start("v1.33.5+k3s1", ["127.0.50.10", "127.0.50.21"]);
    plan = samplePlan();
    plan.mirror = { artifacts: h.mirrorUrl, registry: "127.0.0.1:5000", charts: null };
    plan.kubernetes.startTimeoutSeconds = START_TIMEOUT;
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
  });

  beforeEach(() => {
    h.reset();
    h.pinHostKey(h.hostPublicKey);
    h.setControl("ok");
  });

  const secrets = { serverToken: SERVER_SECRET, agentToken: AGENT_SECRET };
  // Exactly the command strings HostBootstrap registers (src/components/host-bootstrap.ts):
  // the script under the component's host-side deadline.
  const bootstrap = (host: string) =>
    remoteScriptCommand(renderBootstrapScript(plan, host), "mine2hpc-bootstrap", { timeoutSeconds: bootstrapDeadlineSeconds(plan) });
  const uninstall = (host: string) =>
    remoteScriptCommand(renderUninstallScript(plan, host), "mine2hpc-uninstall", { timeoutSeconds: UNINSTALL_DEADLINE_SECONDS });
  const stdinOf = (host: string) => renderHostStdin(plan, host, secrets, host === "cp-01" ? null : CA_HASH);

  it("bootstraps the first server, and a second run changes nothing: no restart, every file byte-identical", async () => {
    const seen: string[] = [];
    // Positive control: the sampler does see the script's own processes (bash's $0 is the label).
    let scriptSeen = 0;
    const first = await h.run(bootstrap("cp-01"), stdinOf("cp-01"), {
      onTick: () => {
        seen.push(...processesHolding([SERVER_SECRET, AGENT_SECRET]));
        scriptSeen += processesHolding(["mine2hpc-bootstrap"]).length;
      },
    });
    expect(scriptSeen).toBeGreaterThan(0);
    expect(first.stderr).toBe("");
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain("mine2hpc[cp-01]: installing k3s v1.33.5+k3s1 as server (installed: none)\n");
    expect(first.stdout).toContain("mine2hpc[cp-01]: k3s is active\n");
    expect(first.stdout.trimEnd().endsWith("mine2hpc[cp-01]: done")).toBe(true);
    // Installed without the installer starting k3s; started by the script, once.
    expect(h.calls().filter((c) => c.startsWith("installer"))).toEqual(["installer SKIP_DOWNLOAD=true SKIP_START=true EXEC=server"]);
    expect(h.calls().filter((c) => /^systemctl (start|restart)/.test(c))).toEqual(["systemctl restart k3s"]);
    expect(h.read("/etc/rancher/k3s/token")).toBe(`${SERVER_SECRET}\n`);
    expect(h.read("/etc/rancher/k3s/agent-token")).toBe(`${AGENT_SECRET}\n`);
    expect(h.mode("/etc/rancher/k3s/token")).toBe(0o600);
    expect(h.mode("/etc/rancher/k3s/agent-token")).toBe(0o600);
    expect(h.read("/etc/rancher/k3s/registries.yaml")).toContain('      - "https://127.0.0.1:5000"\n');
    expect(h.read("/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst")).toBe("fake airgap image archive\n");
    // No secret in any process's argv or environment, nor in any file but the 0600 token files.
    expect(seen).toEqual([]);
    const snap = h.snapshot();
    const holding = [...snap].filter(([, content]) => content.includes(SERVER_SECRET) || content.includes(AGENT_SECRET)).map(([p]) => p);
    expect(holding.sort()).toEqual(["etc/rancher/k3s/agent-token", "etc/rancher/k3s/token"]);
    expect(first.stdout + first.stderr).not.toContain(SERVER_SECRET);

    const callsBefore = h.calls().length;
    const second = await h.run(bootstrap("cp-01"), stdinOf("cp-01"));
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain("mine2hpc[cp-01]: k3s v1.33.5+k3s1 installed, configuration unchanged\n");
    const secondCalls = h.calls().slice(callsBefore);
    expect(secondCalls.filter((c) => /^systemctl (start|restart)|^installer/.test(c))).toEqual([]);
    const after = h.snapshot();
    expect([...after.keys()].sort()).toEqual([...snap.keys()].sort());
    for (const [p, content] of snap) expect(after.get(p)?.equals(content), p).toBe(true);
  });

  it("joins an agent with the agent token only: no server token, no kubeconfig, the safe cap before the start", async () => {
    const seen: string[] = [];
    const stdin = stdinOf("rig-a01");
    expect(stdin).not.toContain(SERVER_SECRET);
    const run = await h.run(bootstrap("rig-a01"), stdin, { onTick: () => seen.push(...processesHolding([SERVER_SECRET, AGENT_SECRET])) });
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(seen).toEqual([]);
    expect(h.read("/etc/rancher/k3s/token")).toBe(`K10${CA_HASH}::node:${AGENT_SECRET}\n`);
    expect(h.read("/etc/rancher/k3s/agent-token")).toBeNull();
    expect(h.read("/etc/rancher/k3s/k3s.yaml")).toBeNull();
    expect(h.read("/etc/mine2hpc/gpu-power-cap")).toBe("250\n");
    expect(h.mode("/etc/mine2hpc/gpu-power-cap")).toBe(0o644);
    expect(h.read("/etc/rancher/k3s/config.yaml")).toContain("  - mine2hpc.io/power-unverified:NoSchedule\n");
    const snap = h.snapshot();
    expect([...snap].filter(([, c]) => c.includes(SERVER_SECRET)).map(([p]) => p)).toEqual([]);
    expect([...snap].filter(([, c]) => c.includes(AGENT_SECRET)).map(([p]) => p)).toEqual(["etc/rancher/k3s/token"]);
    expect(h.calls().filter((c) => /^systemctl (start|restart)/.test(c))).toEqual(["systemctl restart k3s-agent"]);
    // Its planned labels, applied once it runs, with its own kubelet identity (never an admin kubeconfig).
    expect(h.calls().filter((c) => c.startsWith("k3s kubectl"))).toEqual([
      "k3s kubectl --kubeconfig /var/lib/rancher/k3s/agent/kubelet.kubeconfig --request-timeout=20s apply --server-side --force-conflicts --field-manager=mine2hpc-bootstrap -f -",
    ]);
    const labels = Object.keys(plan.nodes.find((n) => n.hostname === "rig-a01")!.labels);
    expect(run.stdout).toContain(`mine2hpc[rig-a01]: ${labels.length} planned labels set\n`);

    // Handing an agent the server token (or anything more than its one line) is refused before any write.
    h.reset();
    h.setControl("ok");
    const refused = await h.run(bootstrap("rig-a01"), `K10${CA_HASH}::server:${SERVER_SECRET}\n`);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toBe("mine2hpc[rig-a01]: error: refusing a server token: an agent joins with the agent token only (the server token is full admin)");
    expect(h.read("/etc/rancher/k3s/token")).toBeNull();
  });

  it("never downgrades a k3s the system-upgrade-controller upgraded: a bootstrap re-run keeps it and installs nothing", async () => {
    // The host was installed with v1.33.5+k3s1 (the version its install record holds), then the
    // upgrade controller replaced the binary with v1.34.2+k3s1. Any later bootstrap run (a config
    // change, a token) renders K3S_VERSION=v1.33.5+k3s1 and must not reinstall that.
    const first = await h.run(bootstrap("rig-a01"), stdinOf("rig-a01"));
    expect(first.exitCode).toBe(0);
    const upgraded = FAKE_K3S("v1.34.2+k3s1", h.state);
    writeFileSync(path.join(h.root, "usr/local/bin/k3s"), upgraded, { mode: 0o755 });
    const callsBefore = h.calls().length;
    const rerun = await h.run(bootstrap("rig-a01"), stdinOf("rig-a01"));
    expect(rerun.stderr).toBe("");
    expect(rerun.exitCode).toBe(0);
    expect(rerun.stdout).toContain("mine2hpc[rig-a01]: k3s v1.34.2+k3s1 installed, configuration unchanged\n");
    const calls = h.calls().slice(callsBefore);
    expect(calls.filter((c) => /^systemctl (start|restart)|^installer/.test(c))).toEqual([]);
    expect(h.read("/usr/local/bin/k3s")).toBe(upgraded);
  });

  it("fails a start that hangs within the deadline plus a few seconds, with the journal tail and one hint", async () => {
    const journal = [
      'Nov 27 03:00:01 rig-a01 k3s[812]: time="2026-11-27T03:00:01Z" level=info msg="Starting k3s agent v1.33.5+k3s1"',
      'Nov 27 03:00:06 rig-a01 k3s[812]: time="2026-11-27T03:00:06Z" level=info msg="Waiting to retrieve agent configuration; server is not ready: Node password rejected, duplicate hostname or contents of \'/etc/rancher/node/password\' may not match server node-passwd entry, try enabling a unique node name with the --with-node-id flag"',
    ].join("\n");
    h.setControl("hang", journal);
    const run = await h.run(bootstrap("rig-a01"), stdinOf("rig-a01"), { timeoutMs: 60_000 });
    expect(run.exitCode).toBe(1);
    // Deadline START_TIMEOUT s; the rest of the run (SSH, install from the loopback mirror) takes well under 10 s.
    expect(run.ms).toBeLessThan((START_TIMEOUT + 10) * 1000);
    expect(run.stderr).toBe(
      [
        "--- journalctl -u k3s-agent -n 50 ---",
        journal,
        "---",
        "mine2hpc[rig-a01]: hint: the server rejected this node's password (Node password rejected): a machine named rig-a01 registered before, e.g. before a re-image; remove the old registration from the server side (Node object and secret rig-a01.node-password.k3s in kube-system), then run pulumi up again",
        "mine2hpc[rig-a01]: error: k3s-agent did not become ready within 3 s (kubernetes.startTimeoutSeconds); it keeps retrying in the background",
      ].join("\n"),
    );
    expect(h.calls()).toContain("journalctl -u k3s-agent -n 50 --no-pager");
  });

  it("names the cause of a refused start from the journal: token CA hash, 401, unreachable server", async () => {
    const cases: [string, string][] = [
      ['msg="token CA hash does not match the Cluster CA certificate hash: 4e4e != 77aa"', "the join token pins another cluster CA"],
      ['msg="Waiting to retrieve agent configuration; server is not ready: https://127.0.0.1:6444/v1-k3s/serving-kubelet.crt: 401 Unauthorized"', "the server refused the join token (401 Unauthorized)"],
      ['msg="failed to get CA certs: Get \\"https://10.20.0.10:6443/cacerts\\": dial tcp 10.20.0.10:6443: connect: connection refused"', "the k3s server cannot be reached"],
    ];
    for (const [line, hint] of cases) {
      h.reset();
      h.setControl("fail", line);
      const run = await h.run(bootstrap("rig-a02"), stdinOf("rig-a02"));
      expect(run.exitCode, run.stderr).toBe(1);
      const hints = run.stderr.split("\n").filter((l) => l.startsWith("mine2hpc[rig-a02]: hint: "));
      expect(hints, run.stderr).toHaveLength(1);
      expect(hints[0]).toContain(hint);
      expect(run.stderr).toContain("mine2hpc[rig-a02]: error: systemctl restart k3s-agent failed (exit 1)");
    }
  });

  it("uninstalls idempotently, restoring the GPUs' default power limits once", async () => {
    const boot = await h.run(bootstrap("rig-a01"), stdinOf("rig-a01"));
    expect(boot.exitCode, boot.stderr).toBe(0);
    // The boot unit that applies the safe cap before k3s on every reboot.
    expect(h.read("/etc/systemd/system/mine2hpc-gpu-safe-cap.service")).toContain("Before=k3s.service k3s-agent.service\n");
    const before = h.calls().length;
    // remote.Command replays the bootstrap's stdin to `delete`.
    const first = await h.run(uninstall("rig-a01"), stdinOf("rig-a01"));
    expect(first.stderr).toBe("");
    expect(first.exitCode).toBe(0);
    expect(h.calls().slice(before)).toEqual([
      "nvidia-smi --query-gpu=index,power.default_limit --format=csv,noheader,nounits",
      "nvidia-smi -i 0 -pl 350",
      "nvidia-smi -i 1 -pl 350",
      "systemctl disable mine2hpc-gpu-safe-cap.service",
      "systemctl daemon-reload",
      "uninstaller k3s-agent",
    ]);
    expect(h.read("/usr/local/bin/k3s")).toBeNull();
    expect(h.read("/etc/mine2hpc/gpu-power-cap")).toBeNull();
    expect(h.read("/etc/systemd/system/mine2hpc-gpu-safe-cap.service")).toBeNull();
    const mid = h.calls().length;
    const second = await h.run(uninstall("rig-a01"), stdinOf("rig-a01"));
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toBe("mine2hpc[rig-a01]: k3s is not installed (no /usr/local/bin/k3s-agent-uninstall.sh): nothing to do");
    expect(h.calls().slice(mid)).toEqual([]);
  });

  it("waits for another mine2hpc script that holds the host lock, then runs and records itself as the holder", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "m2h-lock-"));
    try {
      const held = path.join(dir, "held");
      const released = path.join(dir, "released");
      // Another run holding /run/mine2hpc.lock for 2 s (flock(1) on the same file: same inode in sshd's namespace).
      const holder = execa("flock", ["/run/mine2hpc.lock", "bash", "-c", `touch ${held}; sleep 2; touch ${released}`]);
      for (let i = 0; i < 100 && !existsSync(held); i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(held)).toBe(true);
      const run = await h.run(uninstall("rig-a01"), stdinOf("rig-a01"));
      // It could only start once the holder had let go.
      expect(existsSync(released)).toBe(true);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toBe("mine2hpc[rig-a01]: k3s is not installed (no /usr/local/bin/k3s-agent-uninstall.sh): nothing to do");
      expect(readFileSync("/run/mine2hpc.lock", "utf8")).toMatch(/^\d+ k3s uninstall of rig-a01\n$/);
      await holder;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a host whose key differs from the pinned one, before anything runs", async () => {
    h.pinHostKey("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWKFJYyLk5Zl8C0xRk2dTSs3QvlMN1Fv1TMTg6SC3bU");
    const run = await h.run(bootstrap("cp-01"), stdinOf("cp-01"));
    expect(run.exitCode).toBe(255);
    expect(run.stderr).toContain("Host key verification failed.");
    expect(h.calls()).toEqual([]);
    expect(h.read("/etc/rancher/k3s/token")).toBeNull();
  });

  it("hosts keyscan pins the keys of the hosts that answer into the inventory CSV and lists the rest", async () => {
    // The demo site moved onto loopback: cp-1 (site file) and rig-s01-1 (inventory) answer, the other nine refuse.
    const dir = mkdtempSync(path.join(tmpdir(), "mine2hpc-keyscan-"));
    try {
      for (const f of ["site.yaml", "inventory.csv"]) {
        writeFileSync(path.join(dir, f), readFileSync(path.join(REPO_ROOT, "stacks/demo", f), "utf8").replaceAll("192.168.50.", "127.0.50."));
      }
      copyFileSync(path.join(dir, "inventory.csv"), path.join(dir, "inventory.before.csv"));
      const r = await runCli(["hosts", "keyscan", "--site", "site.yaml", "--port", String(h.sshPort), "--timeout", "2", "--concurrency", "4", "--write"], { cwd: dir });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(
        [`cp-1 ${h.hostPublicKey}`, `rig-s01-1 ${h.hostPublicKey}`, "# machines written in site.yaml: add these sshHostKey values under each machine", "- hostname: cp-1", `  sshHostKey: "${h.hostPublicKey}"`, ""].join("\n"),
      );
      const refused = r.stderr.split("\n").filter((l) => l.startsWith("no key from "));
      expect(refused).toHaveLength(9);
      expect(refused[0]).toMatch(/^no key from gpu-r01-1 \(127\.0\.50\.\d+:\d+\): /);
      expect(r.stderr).toContain("wrote sshHostKey for 1 machine into inventory.csv\n");
      expect(r.stderr).toContain("9 of 11 hosts did not answer; their keys stay unpinned (a validation warning, an error with --strict)");
      const before = readFileSync(path.join(dir, "inventory.before.csv"), "utf8").split("\n");
      const after = readFileSync(path.join(dir, "inventory.csv"), "utf8").split("\n");
      expect(after[0]).toBe(`${before[0]},sshHostKey`);
      expect(after.find((l) => l.startsWith("rig-s01-1,"))).toBe(`${before.find((l) => l.startsWith("rig-s01-1,"))},${h.hostPublicKey}`);
      expect(after.find((l) => l.startsWith("rig-s01-2,"))).toBe(`${before.find((l) => l.startsWith("rig-s01-2,"))},`);
      // The written site still validates, with the key pinned.
      const plan = await runCli(["plan", "--site", "site.yaml", "--json"], { cwd: dir });
      expect(plan.exitCode).toBe(0);
      expect((JSON.parse(plan.stdout) as FarmPlan).nodes.find((n) => n.hostname === "rig-s01-1")?.sshHostKey).toBe(h.hostPublicKey);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(missing !== null)("an agent's published bootstrap over real SSH, from a loopback first server", () => {
  const AGENT = "rig-a01";
  const VERSION = "v1.33.5+k3s1";
  let h: HostHarness;
  let first: FirstServerStub;
  let plan: FarmPlan;
  let work: string;
  let served: string;

  beforeAll(async () => {
    h = await HostHarness.start(VERSION);
    work = mkdtempSync(path.join(tmpdir(), "mine2hpc-published-"));
    // What the first server's k3s serves at /static/ (a machine apart from the agent's fake root).
    served = path.join(work, "served");
    mkdirSync(served);
    first = await FirstServerStub.start(served);
    plan = samplePlan();
    plan.mirror = { artifacts: h.mirrorUrl, registry: "127.0.0.1:5000", charts: null };
    plan.kubernetes.startTimeoutSeconds = START_TIMEOUT;
    // The first server answers on the stub's loopback address: agents join https://<it>:6443.
    plan.nodes.find((n) => n.hostname === "cp-01")!.ip = first.ip;
  }, 60_000);

  afterAll(async () => {
    await first?.stop();
    await h?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    h.reset();
    h.pinHostKey(h.hostPublicKey);
    h.setControl("ok");
  });

  const servedDir = () => path.join(h.root, PUBLISHED_DIR);
  const listFile = (key: string) => path.join(h.root, PUBLICATION_LISTS_DIR, `${key}.list`);
  // Exactly what HostBootstrap runs: the archive remote.CopyToRemote left in the SSH user's home,
  // put in place by the publication script as root under its deadline.
  async function publish(p: FarmPlan, hosts: string[], key: string, withVersion: boolean, deadline = bootstrapDeadlineSeconds(p)) {
    const files = agentPublication(p, hosts, deadline, withVersion);
    const archive = writePublicationArchive(files, path.join(work, "publish"));
    // A plain file in the home folder: CopyToRemote does not create a parent folder.
    const remoteArchive = `.mine2hpc-publish-${key}.tar.gz`;
    copyFileSync(archive.path, path.join(h.root, "root", remoteArchive));
    const script = renderPublicationScript(p, { sshUser: "root", archive: remoteArchive, archiveSha256: archive.sha256, stackKey: key });
    const run = await h.run(remoteScriptCommand(script, "mine2hpc-publish", { timeoutSeconds: PUBLISH_DEADLINE_SECONDS }), "");
    return { files, run, remoteArchive, archivePath: archive.path };
  }
  /** Publishes the agent's files on the "first server" (the fake root), copies them to what the stub serves, and gives back a fresh machine. */
  async function publishForAgent(deadline?: number): Promise<void> {
    const { run } = await publish(plan, [AGENT], "dev", true, deadline);
    expect(run.exitCode, run.stderr).toBe(0);
    rmSync(served, { recursive: true, force: true });
    cpSync(path.join(h.root, "var/lib/rancher/k3s/server/static"), served, { recursive: true });
    h.reset();
    h.setControl("ok");
    first.requests.length = 0;
  }
  const hostHash = () => hostConfigHash(plan, AGENT);
  const steps = () => agentSteps(plan, true);
  // The agent's command strings, as HostBootstrap registers them.
  const create = (hash = hostHash()) => remoteFetchCommand(`${first.url}${PUBLISHED_URL_PATH}`, hash);
  const destroy = installedScriptCommand(INSTALLED_UNINSTALL_PATH);
  const stdinOf = (caHash = first.caHash) => `${secureJoinToken(caHash, "agent", AGENT_SECRET)}\n`;
  // A success without warnings prints nothing (its output is kept in the state and handed to the next run).
  const doneLine = "";
  const failedLine = `mine2hpc[${AGENT}]: the bootstrap failed (exit 1); the full log is ${AGENT_BOOTSTRAP_LOG} on ${AGENT}`;
  const logTail = () => h.read(AGENT_BOOTSTRAP_LOG)!.split("\n").slice(0, -1).slice(-80).join("\n");
  const sameFiles = (before: Map<string, Buffer>) => {
    const after = h.snapshot();
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [p, content] of before) expect(after.get(p)?.equals(content), p).toBe(true);
  };

  it("publishes the files by name on the first server, lists them per stack, and removes what no stack lists any more", async () => {
    const { files, run, remoteArchive, archivePath } = await publish(plan, [AGENT], "dev", true);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(`mine2hpc[cp-01]: 3 files published in ${PUBLISHED_DIR} for stack dev, 0 old ones removed`);
    const names = files.map((f) => f.name);
    expect(names).toEqual([hostHash(), steps().name, "k3s-version"].sort());
    expect(readdirSync(servedDir()).sort()).toEqual([...names, "index.html"].sort());
    for (const f of files) {
      expect(readFileSync(path.join(servedDir(), f.name), "utf8"), f.name).toBe(f.text);
      expect(h.mode(path.join(PUBLISHED_DIR, f.name)), f.name).toBe(0o644);
    }
    expect(readFileSync(path.join(servedDir(), "k3s-version"), "utf8")).toBe(VERSION);
    expect(readFileSync(path.join(servedDir(), "index.html"), "utf8")).toBe("");
    expect(readFileSync(listFile("dev"), "utf8")).toBe(names.map((n) => `${n}\n`).join(""));
    // The archive stays for a run again (a changed connection or script re-runs the publication without a new copy).
    expect(readFileSync(path.join(h.root, "root", remoteArchive)).equals(readFileSync(archivePath))).toBe(true);
    expect(h.tmpEntries()).toEqual([]);

    // A partition stack publishes its own agent's host file (the same steps), next to them.
    const part = await publish(plan, ["rig-a02"], "part-a", false);
    expect(part.run.exitCode, part.run.stderr).toBe(0);
    expect(part.run.stdout).toBe(`mine2hpc[cp-01]: 2 files published in ${PUBLISHED_DIR} for stack part-a, 0 old ones removed`);
    const partNames = part.files.map((f) => f.name);
    expect(partNames).toEqual([hostConfigHash(plan, "rig-a02"), steps().name].sort());

    // The agent's settings change (its cap): a new host file; the old one goes, the shared steps stay.
    const changed = structuredClone(plan);
    changed.nodes.find((n) => n.hostname === AGENT)!.gpu!.capWatts = 240;
    const second = await publish(changed, [AGENT], "dev", true);
    expect(second.run.stderr).toBe("");
    expect(second.run.exitCode).toBe(0);
    expect(second.run.stdout).toBe(`mine2hpc[cp-01]: 3 files published in ${PUBLISHED_DIR} for stack dev, 1 old ones removed`);
    const secondNames = second.files.map((f) => f.name);
    expect(secondNames).toEqual([hostConfigHash(changed, AGENT), steps().name, "k3s-version"].sort());
    expect(secondNames).not.toContain(hostHash());
    expect(readdirSync(servedDir()).sort()).toEqual([...new Set([...secondNames, ...partNames, "index.html"])].sort());
    expect(readFileSync(listFile("dev"), "utf8")).toBe(secondNames.map((n) => `${n}\n`).join(""));
    expect(readFileSync(listFile("part-a"), "utf8")).toBe(partNames.map((n) => `${n}\n`).join(""));
    expect(h.tmpEntries()).toEqual([]);
  });

  it("refuses an archive that lies (not the tar it names, a file not named by its sha256, a name it does not know) and changes nothing", async () => {
    const good = await publish(plan, [AGENT], "dev", true);
    expect(good.run.exitCode, good.run.stderr).toBe(0);
    const served = () => readdirSync(servedDir()).sort();
    const before = served();
    const list = readFileSync(listFile("dev"), "utf8");
    // Runs the publication of stack "dev" on an archive that claims `claimed` as its tar's sha256.
    const runWith = async (gz: Buffer, claimed: string) => {
      const remoteArchive = ".mine2hpc-publish-dev.tar.gz";
      writeFileSync(path.join(h.root, "root", remoteArchive), gz);
      const script = renderPublicationScript(plan, { sshUser: "root", archive: remoteArchive, archiveSha256: claimed, stackKey: "dev" });
      return h.run(remoteScriptCommand(script, "mine2hpc-publish", { timeoutSeconds: PUBLISH_DEADLINE_SECONDS }), "");
    };
    const tarOf = (files: { name: string; text: string }[]) => ustarArchive(files);
    const shaOf = (b: Buffer) => createHash("sha256").update(b).digest("hex");

    // The copied archive is not the tar the command names.
    const other = tarOf([{ name: "k3s-version", text: "v0.0.1+k3s1" }]);
    const lied = await runWith(gzipSync(other), shaOf(tarOf(good.files)));
    expect(lied.exitCode).toBe(1);
    expect(lied.stderr).toBe(`mine2hpc[cp-01]: error: the archive /root/.mine2hpc-publish-dev.tar.gz does not unpack to the tar of sha256 ${shaOf(tarOf(good.files))}; run pulumi up again`);
    // A file whose name is not the sha256 of its content.
    const misnamed = tarOf([{ name: "a".repeat(64), text: "echo not what the name says\n" }]);
    const bad = await runWith(gzipSync(misnamed), shaOf(misnamed));
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toBe(`mine2hpc[cp-01]: error: ${"a".repeat(64)} in the archive does not match its name (sha256)`);
    // A name the publication does not know.
    const unknown = tarOf([{ name: "evil.sh", text: "rm -rf /\n" }]);
    const odd = await runWith(gzipSync(unknown), shaOf(unknown));
    expect(odd.exitCode).toBe(1);
    expect(odd.stderr).toBe("mine2hpc[cp-01]: error: unexpected file evil.sh in the archive");
    // Nothing was served, listed or removed by any of them, and no temporary folder is left.
    expect(served()).toEqual(before);
    expect(readFileSync(listFile("dev"), "utf8")).toBe(list);
    expect(readdirSync(path.join(h.root, "var/lib/rancher/k3s/server")).filter((n) => n.startsWith(".mine2hpc-publish."))).toEqual([]);
  });

  it("bootstraps an agent without k3s from its host file: the version read over CA-pinned TLS, the same files as the inline script, one line of output", async () => {
    await publishForAgent();
    // The reference: the same agent bootstrapped by the inline script (K3S_VERSION in it).
    const inline = await h.run(
      remoteScriptCommand(renderBootstrapScript(plan, AGENT), "mine2hpc-bootstrap", { timeoutSeconds: bootstrapDeadlineSeconds(plan) }),
      stdinOf(),
    );
    expect(inline.stderr).toBe("");
    expect(inline.exitCode).toBe(0);
    const inlineFiles = h.snapshot();
    const inlineCalls = h.calls();
    expect(first.requests).toEqual([]);
    h.reset();
    h.setControl("ok");

    const seen: string[] = [];
    const tmpSeen = new Set<string>();
    const run = await h.run(create(), stdinOf(), {
      onTick: () => {
        seen.push(...processesHolding([AGENT_SECRET]));
        for (const e of h.tmpEntries()) tmpSeen.add(e);
      },
    });
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(doneLine);
    expect(seen).toEqual([]);
    // The host file and the steps by hash (curl -k), then the CA and, pinned to it, the version.
    expect(first.requests).toEqual([
      `GET ${PUBLISHED_URL_PATH}/${hostHash()}`,
      `GET ${PUBLISHED_URL_PATH}/${steps().name}`,
      "GET /cacerts",
      `GET ${PUBLISHED_URL_PATH}/k3s-version`,
    ]);
    // k3s at the published version, installed from the mirror; then every file and every call the inline script made.
    expect(h.calls()).toEqual(inlineCalls);
    expect(h.calls().filter((c) => c.startsWith("installer"))).toEqual(["installer SKIP_DOWNLOAD=true SKIP_START=true EXEC=agent"]);
    const files = h.snapshot();
    expect([...files.keys()].sort()).toEqual([...inlineFiles.keys(), "var/log/mine2hpc/bootstrap.log"].sort());
    for (const [p, content] of inlineFiles) expect(files.get(p)?.equals(content), p).toBe(true);
    expect(h.read("/etc/rancher/k3s/token")).toBe(`K10${first.caHash}::node:${AGENT_SECRET}\n`);
    expect(h.mode("/etc/rancher/k3s/token")).toBe(0o600);
    expect(h.read("/etc/rancher/k3s/config.yaml")).toContain(`server: https://${first.ip}:6443\n`);
    expect(h.read("/etc/mine2hpc/gpu-power-cap")).toBe("250\n");
    expect(h.read(INSTALLED_UNINSTALL_PATH)).toBe(
      `#!/usr/bin/env bash\n# mine2hpc k3s uninstall of ${AGENT}, installed by its bootstrap.\nNODE_NAME=${AGENT}\n${installedUninstallText(plan, true)}`,
    );
    expect(h.mode(INSTALLED_UNINSTALL_PATH)).toBe(0o755);
    // The full log stays on the host: what the inline script printed, line for line; no secret.
    const log = h.read(AGENT_BOOTSTRAP_LOG)!;
    expect(log).toBe(`${inline.stdout}\n`);
    expect(log).toContain(`mine2hpc[${AGENT}]: installing k3s ${VERSION} as agent (installed: none)\n`);
    expect([...files].filter(([, c]) => c.includes(AGENT_SECRET)).map(([p]) => p)).toEqual(["etc/rancher/k3s/token"]);
    // Its temporary files (the fetched host file, the steps, the download folder) are gone; the
    // positive control: the fetched host file (mktemp's tmp.XXXXXXXXXX) was seen there meanwhile.
    expect([...tmpSeen].filter((e) => /^tmp\.[A-Za-z0-9]{10}$/.test(e))).toHaveLength(1);
    expect(h.tmpEntries()).toEqual([]);

    // Run again (an update): k3s is there, so no version read; the previous log is kept as .1.
    first.requests.length = 0;
    const again = await h.run(create(), stdinOf());
    expect(again.stderr).toBe("");
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe(doneLine);
    expect(first.requests).toEqual([`GET ${PUBLISHED_URL_PATH}/${hostHash()}`, `GET ${PUBLISHED_URL_PATH}/${steps().name}`]);
    expect(h.read(`${AGENT_BOOTSTRAP_LOG}.1`)).toBe(log);
    expect(h.read(AGENT_BOOTSTRAP_LOG)).toContain(`mine2hpc[${AGENT}]: k3s ${VERSION} installed, configuration unchanged\n`);
    expect(h.tmpEntries()).toEqual([]);
  });

  it("refuses a host file that is missing or differs from its sha256, and steps that differ from theirs: the error line, exit 1, nothing run or written", async () => {
    await publishForAgent();
    const before = h.snapshot();
    const cases: { name: string; hash: string; tamper: () => void; stderr: string }[] = [
      {
        name: "host file missing (404)",
        hash: sha256Hex("a host file nobody published\n"),
        tamper: () => {},
        // curl -S says why first.
        stderr: `curl: (22) The requested URL returned error: 404\nmine2hpc: ${first.url}${PUBLISHED_URL_PATH}/${sha256Hex("a host file nobody published\n")} unreadable or altered`,
      },
      {
        name: "host file tampered",
        hash: hostHash(),
        tamper: () => writeFileSync(path.join(served, "mine2hpc", hostHash()), `${renderAgentHostFile(plan, AGENT, bootstrapDeadlineSeconds(plan))}touch /etc/mine2hpc/tampered\n`),
        stderr: `mine2hpc: ${first.url}${PUBLISHED_URL_PATH}/${hostHash()} unreadable or altered`,
      },
      {
        name: "steps tampered",
        hash: hostHash(),
        tamper: () => writeFileSync(path.join(served, "mine2hpc", steps().name), `${steps().text}touch /etc/mine2hpc/tampered\n`),
        stderr: `mine2hpc[${AGENT}]: error: the bootstrap steps read from ${first.url} do not match their sha256 ${steps().name}; nothing was run`,
      },
      {
        name: "steps missing (404)",
        hash: hostHash(),
        tamper: () => rmSync(path.join(served, "mine2hpc", steps().name)),
        stderr: `curl: (22) The requested URL returned error: 404\nmine2hpc[${AGENT}]: error: could not read the bootstrap steps ${first.url}${PUBLISHED_URL_PATH}/${steps().name}: check that the first server runs, that port 6443 is open from here, and that pulumi up published them`,
      },
    ];
    const original = path.join(work, "original");
    rmSync(original, { recursive: true, force: true });
    cpSync(served, original, { recursive: true });
    for (const c of cases) {
      rmSync(served, { recursive: true, force: true });
      cpSync(original, served, { recursive: true });
      c.tamper();
      const run = await h.run(create(c.hash), stdinOf());
      expect(run.stderr, c.name).toBe(c.stderr);
      expect(run.stdout, c.name).toBe("");
      expect(run.exitCode, c.name).toBe(1);
      expect(h.calls(), c.name).toEqual([]);
      // No file written, no temporary file left.
      sameFiles(before);
      expect(h.tmpEntries(), c.name).toEqual([]);
    }
  });

  it("stops before installing k3s when the first server's CA is not the one the join token pins: the steps' error in the log tail", async () => {
    await publishForAgent();
    const pinned = first.caHash;
    // The first server re-installed (or another cluster at its address): a new CA.
    await first.rotateCa();
    expect(first.caHash).not.toBe(pinned);
    const run = await h.run(create(), stdinOf(pinned));
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    const log = h.read(AGENT_BOOTSTRAP_LOG)!;
    expect(log.endsWith(
      `mine2hpc[${AGENT}]: error: the CA served by ${first.url} does not match the CA hash of the join token: another cluster or a re-installed first server answers there; nothing was installed\n`,
    )).toBe(true);
    expect(run.stderr).toBe(`${logTail()}\n${failedLine}`);
    expect(first.requests).toEqual([`GET ${PUBLISHED_URL_PATH}/${hostHash()}`, `GET ${PUBLISHED_URL_PATH}/${steps().name}`, "GET /cacerts"]);
    expect(h.read("/usr/local/bin/k3s")).toBeNull();
    expect(h.calls().filter((c) => /^installer|^systemctl (start|restart)/.test(c))).toEqual([]);
    expect(h.tmpEntries()).toEqual([]);
  });

  it("prints the log's tail (the journal and the hint) and the failure line when k3s does not start", async () => {
    await publishForAgent();
    const journal = 'Nov 27 03:00:06 rig-a01 k3s[812]: time="2026-11-27T03:00:06Z" level=info msg="Waiting to retrieve agent configuration; server is not ready: Node password rejected, duplicate hostname or contents of \'/etc/rancher/node/password\' may not match server node-passwd entry"';
    h.setControl("fail", journal);
    const run = await h.run(create(), stdinOf());
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(`${logTail()}\n${failedLine}`);
    const lines = run.stderr.split("\n");
    const from = lines.indexOf("--- journalctl -u k3s-agent -n 50 ---");
    expect(lines.slice(from)).toEqual([
      "--- journalctl -u k3s-agent -n 50 ---",
      journal,
      "---",
      `mine2hpc[${AGENT}]: hint: the server rejected this node's password (Node password rejected): a machine named ${AGENT} registered before, e.g. before a re-image; remove the old registration from the server side (Node object and secret ${AGENT}.node-password.k3s in kube-system), then run pulumi up again`,
      `mine2hpc[${AGENT}]: error: systemctl restart k3s-agent failed (exit 1)`,
      failedLine,
    ]);
    expect(h.tmpEntries()).toEqual([]);
  });

  it("deletes through the uninstall the bootstrap installed, and a second delete finds nothing to uninstall", async () => {
    await publishForAgent();
    const boot = await h.run(create(), stdinOf());
    expect(boot.exitCode, boot.stderr).toBe(0);
    const before = h.calls().length;
    // remote.Command replays the create's stdin to `delete`.
    const first1 = await h.run(destroy, stdinOf());
    expect(first1.stderr).toBe("");
    expect(first1.exitCode).toBe(0);
    expect(h.calls().slice(before)).toEqual([
      "nvidia-smi --query-gpu=index,power.default_limit --format=csv,noheader,nounits",
      "nvidia-smi -i 0 -pl 350",
      "nvidia-smi -i 1 -pl 350",
      "systemctl disable mine2hpc-gpu-safe-cap.service",
      "systemctl daemon-reload",
      "uninstaller k3s-agent",
    ]);
    expect(first1.stdout).toBe(
      [
        `mine2hpc[${AGENT}]: GPU 0: power limit back to its default 350 W`,
        `mine2hpc[${AGENT}]: GPU 1: power limit back to its default 350 W`,
        `mine2hpc[${AGENT}]: removed mine2hpc-gpu-safe-cap.service`,
        `mine2hpc[${AGENT}]: uninstalling k3s`,
        `mine2hpc[${AGENT}]: done`,
      ].join("\n"),
    );
    expect(h.read("/usr/local/bin/k3s")).toBeNull();
    expect(h.read("/etc/mine2hpc/gpu-power-cap")).toBeNull();
    expect(h.read("/etc/systemd/system/mine2hpc-gpu-safe-cap.service")).toBeNull();
    expect(h.read(INSTALLED_UNINSTALL_PATH)).toBeNull();
    expect(h.tmpEntries()).toEqual([]);
    const mid = h.calls().length;
    const second = await h.run(destroy, stdinOf());
    expect(second.stderr).toBe("");
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toBe("mine2hpc: nothing to uninstall");
    expect(h.calls().slice(mid)).toEqual([]);
  });

  it("stops the host file's root run at its deadline, says so, and leaves no process, lock or temporary file behind", async () => {
    // A 2 s deadline (the host file's own; the site's is over an hour) and a k3s start that hangs.
    await publishForAgent(2);
    h.setControl("hang");
    const hash = sha256Hex(renderAgentHostFile(plan, AGENT, 2));
    // The root run's processes carry M2H_DEADLINE=2 in their environment (the wrapper's `env`).
    const marker = "M2H_DEADLINE=2\0";
    let seenDuring = 0;
    const run = await h.run(create(hash), stdinOf(), { timeoutMs: 60_000, onTick: () => (seenDuring += processesHolding([marker]).length) });
    expect(seenDuring).toBeGreaterThan(0);
    let left = processesHolding([marker]);
    for (let i = 0; i < 20 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = processesHolding([marker]);
    }
    expect(left).toEqual([]);
    expect(run.exitCode).toBe(124);
    expect(run.stdout).toBe("");
    // The run was killed before its own tail: the wrapper prints the log's end and where it is.
    expect(run.stderr).toBe(`${logTail()}\nmine2hpc: mine2hpc-bootstrap did not finish within 2 s and was stopped; the full log is ${AGENT_BOOTSTRAP_LOG} on ${hostname()}`);
    expect(h.tmpEntries()).toEqual([]);
    // The lock is free again: the next run (the site's deadline, k3s starting) goes through.
    await publishForAgent();
    const next = await h.run(create(), stdinOf());
    expect(next.stderr).toBe("");
    expect(next.exitCode).toBe(0);
    expect(next.stdout).toBe(doneLine);
  });
});
