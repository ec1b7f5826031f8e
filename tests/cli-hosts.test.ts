/**
 * `mine2hpc hosts script`, `mine2hpc mirror list` and the keyscan helpers (the keyscan itself
 * runs against the harness sshd in tests/host-harness.test.ts).
 */
import { describe, expect, it } from "vitest";
import { loadAndPlan, siteSourceFromArgs } from "../src/cli/site-args.js";
import { pickHostKey, setHostKeysInCsv, sshTargets } from "../src/cli/commands/hosts.js";
import { bootstrapDeadlineSeconds, hostConfigHash, renderAgentHostFile, renderBootstrapScript, renderServerSideRemovalScript, renderUninstallScript, sha256Hex } from "../src/render/index.js";
import { REPO_ROOT, runCli } from "./helpers/cli.js";
import { samplePlan } from "./helpers/sample-plan.js";

const demoPlan = () => loadAndPlan(siteSourceFromArgs({ values: {}, cwd: REPO_ROOT }), REPO_ROOT).plan;

describe("mine2hpc hosts script", () => {
  it("prints exactly the bootstrap, the uninstall or the server-side removal of a host", async () => {
    const plan = demoPlan();
    const boot = await runCli(["hosts", "script", "rig-s01-1"], { cwd: REPO_ROOT });
    expect(boot.exitCode).toBe(0);
    expect(boot.stderr).toBe("");
    expect(boot.stdout).toBe(renderBootstrapScript(plan, "rig-s01-1"));
    const un = await runCli(["hosts", "script", "rig-s01-1", "--uninstall", "--stack", "demo"], { cwd: REPO_ROOT });
    expect(un.stdout).toBe(renderUninstallScript(plan, "rig-s01-1"));
    const rm = await runCli(["hosts", "script", "rig-s01-1", "--removal"], { cwd: REPO_ROOT });
    expect(rm.stdout).toBe(renderServerSideRemovalScript(plan, "rig-s01-1"));
    // An agent's host file as published: its sha256 is what its command carries.
    const pub = await runCli(["hosts", "script", "rig-s01-1", "--published"], { cwd: REPO_ROOT });
    expect(pub.stdout).toBe(renderAgentHostFile(plan, "rig-s01-1", bootstrapDeadlineSeconds(plan)));
    expect(sha256Hex(pub.stdout)).toBe(hostConfigHash(plan, "rig-s01-1"));
    const server = await runCli(["hosts", "script", "cp-1", "--published"], { cwd: REPO_ROOT });
    expect([server.exitCode, server.stderr]).toEqual([2, 'error: node "cp-1" is a k3s server: servers run their bootstrap inline\n']);
  });

  it("refuses an unknown host, a missing host, contradicting flags and an unknown subcommand with the fix", async () => {
    const unknown = await runCli(["hosts", "script", "nope"], { cwd: REPO_ROOT });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toMatch(/^error: host "nope" is not a Kubernetes node of site "demo"\. Use one of: cp-1, /);
    const none = await runCli(["hosts", "script"], { cwd: REPO_ROOT });
    expect(none.exitCode).toBe(64);
    expect(none.stderr).toBe("error: hosts script takes one HOST.\n  usage: mine2hpc hosts script HOST [--uninstall | --removal | --published] [--stack S | --site F]\n");
    const both = await runCli(["hosts", "script", "cp-1", "--uninstall", "--removal"], { cwd: REPO_ROOT });
    expect(both.exitCode).toBe(64);
    expect(both.stderr).toBe("error: --uninstall, --removal and --published contradict each other.\n  fix: pass one of them.\n");
    const sub = await runCli(["hosts", "reboot"], { cwd: REPO_ROOT });
    expect(sub.exitCode).toBe(64);
    expect(sub.stderr).toMatch(/^error: unknown subcommand 'reboot'\.\n  usage: mine2hpc hosts script HOST/);
    const port = await runCli(["hosts", "keyscan", "--port", "0"], { cwd: REPO_ROOT });
    expect(port.exitCode).toBe(64);
    expect(port.stderr).toBe("error: --port '0' is not a whole number from 1 to 65535.\n  fix: e.g. --port 22.\n");
    const timeout = await runCli(["hosts", "keyscan", "--timeout", "5s"], { cwd: REPO_ROOT });
    expect(timeout.stderr).toBe("error: --timeout '5s' is not a whole number from 1 to 600.\n  fix: e.g. --timeout 5.\n");
  });
});

describe("mine2hpc mirror list", () => {
  it("--json lists the k3s files, the charts and the pinned images of the demo site", async () => {
    const r = await runCli(["mirror", "list", "--json"], { cwd: REPO_ROOT });
    expect(r.exitCode).toBe(0);
    const a = JSON.parse(r.stdout) as { urls: { what: string; source: string; mirror: string | null }[]; images: { image: string }[] };
    expect(a.urls.slice(0, 4).map((u) => u.source)).toEqual([
      "https://get.k3s.io",
      "https://github.com/k3s-io/k3s/releases/download/v1.33.5%2Bk3s1/k3s",
      "https://github.com/k3s-io/k3s/releases/download/v1.33.5%2Bk3s1/sha256sum-amd64.txt",
      "https://github.com/k3s-io/k3s/releases/download/v1.33.5%2Bk3s1/k3s-airgap-images-amd64.tar.zst",
    ]);
    expect(a.urls.every((u) => u.mirror === null)).toBe(true);
    expect(a.images.map((i) => i.image)).toContain("docker.io/library/buildpack-deps:bookworm-curl");
  });

  it("refuses a missing subcommand and a missing values folder", async () => {
    const none = await runCli(["mirror"], { cwd: REPO_ROOT });
    expect(none.exitCode).toBe(64);
    expect(none.stderr).toBe("error: missing subcommand.\n  usage: mine2hpc mirror list [--stack NAME | --site FILE] [--chart-values DIR] [-o text|json|yaml|md]\n");
    const dir = await runCli(["mirror", "list", "--chart-values", "no/such/dir"], { cwd: REPO_ROOT });
    expect(dir.exitCode).toBe(2);
    expect(dir.stderr).toBe("error: --chart-values no/such/dir: no such folder.\n  fix: point it at a folder with <chart>-v<version>/values.yaml files.\n");
  });
});

describe("keyscan helpers", () => {
  it("pins ed25519 over ECDSA over RSA, ignoring comments and junk", () => {
    const out = [
      "# 10.0.0.5:22 SSH-2.0-OpenSSH_9.2p1",
      "10.0.0.5 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7",
      "10.0.0.5 ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=",
      "10.0.0.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWK",
    ].join("\n");
    expect(pickHostKey(out)).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWK");
    expect(pickHostKey("10.0.0.5 ssh-rsa AAAAB3Nza\n")).toBe("ssh-rsa AAAAB3Nza");
    expect(pickHostKey("# only a banner\n")).toBeNull();
    expect(pickHostKey("10.0.0.5 ssh-dss AAAA\n")).toBeNull();
  });

  it("fills an existing sshHostKey column, keeps comments and untouched rows byte for byte, quotes where needed", () => {
    const csv = "# export\r\nhostname,ip,sshHostKey\r\na,10.0.0.1,\r\n\"b\",10.0.0.2,old\r\nc,10.0.0.3,\r\n";
    const { text, written } = setHostKeysInCsv(csv, "inv.csv", new Map([["a", "ssh-ed25519 AAAA"], ["b", "ssh-ed25519 BB,B"]]));
    expect(written).toEqual(["a", "b"]);
    expect(text).toBe('# export\r\nhostname,ip,sshHostKey\r\na,10.0.0.1,ssh-ed25519 AAAA\r\nb,10.0.0.2,"ssh-ed25519 BB,B"\r\nc,10.0.0.3,\r\n');
  });

  it("refuses a CSV without a hostname column", () => {
    expect(() => setHostKeysInCsv("name,ip\na,1\n", "inv.csv", new Map())).toThrow("inv.csv has no hostname column.\n  fix: add one; keys are matched to machines by hostname.");
  });

  it("scans every node that takes SSH, skipping offline ones, and retired ones that are not miners", () => {
    const plan = samplePlan();
    plan.nodes[1]!.state = "offline";
    plan.retired = [
      { hostname: "old-rig", ip: "10.20.1.99", sshUser: "ubuntu", k3sRole: "agent" },
      { hostname: "old-s9", ip: "10.20.9.9", sshUser: "root", k3sRole: "asic" },
    ];
    const { targets, skipped } = sshTargets(plan);
    expect(skipped).toEqual([plan.nodes[1]!.hostname]);
    expect(targets.map((t) => t.hostname)).toEqual([...plan.nodes.filter((_, i) => i !== 1).map((n) => n.hostname), "old-rig"]);
  });
});
