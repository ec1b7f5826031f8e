/**
 * Host-side renderers: k3s config.yaml per node, bootstrap and uninstall scripts, the content
 * hash used as remote.Command triggers, and kubeconfig handling.
 *
 * Golden files live in tests/golden/host/<fixture>/<hostname>/; regenerate them with
 * `UPDATE_GOLDEN=1 npx vitest run tests/render-host.test.ts` and review the diff like code.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { FarmPlan } from "../src/plan/types.js";
import { LABELS } from "../src/plan/types.js";
import {
  CA_HASH_SCRIPT,
  bootstrapMaxSeconds,
  KUBECONFIG_READ_COMMAND,
  hostConfigHash,
  parseCaHash,
  renderHostStdin,
  renderServerSideRemovalScript,
  secureJoinToken,
  renderBootstrapScript,
  renderK3sConfig,
  renderUninstallScript,
  rewriteKubeconfigServer,
  agentPublication,
  agentSteps,
  bootstrapDeadlineSeconds,
  installedUninstallText,
  renderAgentHostFile,
  renderPublicationScript,
  INSTALLED_UNINSTALL_PATH,
  HOST_LOCK_PATH,
} from "../src/render/index.js";
import { installedScriptCommand, remoteFetchCommand } from "../src/components/remote-script.js";
import { samplePlan, samplePlanHa } from "./helpers/sample-plan.js";
import { expectGolden as expectGoldenFile } from "./helpers/golden.js";

/** Compares `text` with tests/golden/host/RELPATH (UPDATE_GOLDEN=1 rewrites it). */
const expectGolden = (relPath: string, text: string): void => expectGoldenFile(`host/${relPath}`, text);

const FIXTURES: [string, () => FarmPlan][] = [
  ["single", samplePlan],
  ["ha", samplePlanHa],
];

function configOf(plan: FarmPlan, hostname: string): Record<string, unknown> {
  return parse(renderK3sConfig(plan, hostname)) as Record<string, unknown>;
}

describe("golden files", () => {
  for (const [fixture, make] of FIXTURES) {
    const plan = make();
    for (const node of plan.nodes) {
      it(`${fixture}/${node.hostname}`, () => {
        expectGolden(`${fixture}/${node.hostname}/config.yaml`, renderK3sConfig(plan, node.hostname));
        expectGolden(`${fixture}/${node.hostname}/bootstrap.sh`, renderBootstrapScript(plan, node.hostname));
        expectGolden(`${fixture}/${node.hostname}/uninstall.sh`, renderUninstallScript(plan, node.hostname));
        // What an agent's command fetches from the first server and runs (the steps are per variant, below).
        if (node.k3sRole === "agent") expectGolden(`${fixture}/${node.hostname}/host-file.sh`, renderAgentHostFile(plan, node.hostname, bootstrapDeadlineSeconds(plan)));
      });
    }
    it(`${fixture}/published`, () => {
      for (const gpu of [true, false]) expectGolden(`${fixture}/published/agent-steps-${gpu ? "gpu" : "cpu"}.sh`, agentSteps(plan, gpu).text);
      const agents = plan.nodes.filter((n) => n.k3sRole === "agent").map((n) => n.hostname);
      const files = agentPublication(plan, agents, bootstrapDeadlineSeconds(plan), true);
      expectGolden(`${fixture}/published/files.txt`, files.map((f) => `${f.name} ${Buffer.byteLength(f.text)}\n`).join(""));
      expectGolden(
        `${fixture}/published/publish.sh`,
        renderPublicationScript(plan, { sshUser: "ops", archive: ".mine2hpc-publish/stack.tar.gz", archiveSha256: "0".repeat(64), stackKey: "stack" }),
      );
    });
    it(`${fixture}/hashes.txt`, () => {
      expectGolden(`${fixture}/hashes.txt`, plan.nodes.map((n) => `${n.hostname} ${hostConfigHash(plan, n.hostname)}\n`).join(""));
    });
  }
});

describe("renderK3sConfig", () => {
  it("gives the first server cluster-init and the full server flag set, without a server URL", () => {
    expect(configOf(samplePlan(), "cp-01")).toEqual({
      "node-name": "cp-01",
      "node-ip": "10.20.0.10",
      "token-file": "/etc/rancher/k3s/token",
      "agent-token-file": "/etc/rancher/k3s/agent-token",
      "cluster-init": true,
      "node-label": [
        "mine2hpc.io/circuit=pdu-ctl",
        "mine2hpc.io/feed=grid-firm",
        "mine2hpc.io/power-tier=firm",
        "mine2hpc.io/rack=ctl-r1",
      ],
      "node-taint": ["node-role.kubernetes.io/control-plane:NoSchedule"],
      "write-kubeconfig-mode": "0600",
      "tls-san": ["10.20.0.10"],
      "cluster-cidr": "10.42.0.0/16",
      "service-cidr": "10.43.0.0/16",
      disable: ["traefik"],
    });
  });

  it("joins the other HA servers to the first server and switches flannel off for Cilium", () => {
    const plan = samplePlanHa();
    expect(configOf(plan, "cp-01")["server"]).toBeUndefined();
    expect(configOf(plan, "cp-01")["cluster-init"]).toBe(true);
    for (const host of ["cp-02", "cp-03"]) {
      const cfg = configOf(plan, host);
      expect(cfg["server"]).toBe("https://10.30.0.11:6443");
      expect(cfg["cluster-init"]).toBeUndefined();
      expect(cfg["flannel-backend"]).toBe("none");
      expect(cfg["disable-network-policy"]).toBe(true);
      expect(cfg["disable-kube-proxy"]).toBeUndefined();
      expect(cfg["disable"]).toEqual(["servicelb", "traefik"]);
      expect(cfg["tls-san"]).toEqual(["api.hall2.example.net"]);
      expect(cfg["cluster-cidr"]).toBe("10.52.0.0/16");
    }
  });

  it("keeps flannel on flannel sites", () => {
    const cfg = configOf(samplePlan(), "cp-01");
    expect(cfg["flannel-backend"]).toBeUndefined();
    expect(cfg["disable-network-policy"]).toBeUndefined();
  });

  it("gives agents only agent flags", () => {
    for (const [, make] of FIXTURES) {
      const plan = make();
      for (const node of plan.nodes.filter((n) => n.k3sRole === "agent")) {
        const cfg = configOf(plan, node.hostname);
        expect(Object.keys(cfg).sort(), node.hostname).toEqual(
          ["node-ip", "node-label", "node-name", "server", "token-file", ...(node.taints.length > 0 || node.gpu ? ["node-taint"] : [])].sort(),
        );
        expect(cfg["server"]).toBe(plan.network.cni === "cilium" ? "https://10.30.0.11:6443" : "https://10.20.0.10:6443");
      }
    }
  });

  it("renders a curtailable rig's labels and taint exactly", () => {
    expect(configOf(samplePlan(), "rig-a01")).toEqual({
      "node-name": "rig-a01",
      "node-ip": "10.20.1.11",
      "token-file": "/etc/rancher/k3s/token",
      server: "https://10.20.0.10:6443",
      "node-label": [
        "mine2hpc.io/circuit=pdu-b1",
        "mine2hpc.io/feed=grid-flex",
        "mine2hpc.io/gpu-model=rtx-3090",
        "mine2hpc.io/pool=rtx-3090-x1-riser-curtailable",
        "mine2hpc.io/power-tier=curtailable",
        "mine2hpc.io/rack=hall-r3",
        "mine2hpc.io/workload=inference",
        "nvidia.com/device-plugin.config=rtx-3090-x1-riser-curtailable",
      ],
      "node-taint": ["mine2hpc.io/power-tier=curtailable:NoSchedule", "mine2hpc.io/power-unverified:NoSchedule"],
    });
  });

  it("refuses ASIC miners and unknown hosts with the fix", () => {
    expect(() => renderK3sConfig(samplePlan(), "s21-001")).toThrow(
      'host "s21-001" is an ASIC miner in site "permian-hall-1": ASIC miners are power load only and get no k3s configuration. Render only hosts listed in plan.nodes.',
    );
    expect(() => renderBootstrapScript(samplePlan(), "nope")).toThrow(
      'host "nope" is not a Kubernetes node of site "permian-hall-1". Use one of: cp-01, h100-01, rig-a01, rig-a02.',
    );
  });

  it("refuses labels the kubelet may not set at registration", () => {
    const plan = samplePlan();
    const rig = plan.nodes.find((n) => n.hostname === "rig-a02");
    if (rig === undefined) throw new Error("fixture lost rig-a02");
    rig.labels["node-role.kubernetes.io/gpu"] = "true";
    expect(() => renderK3sConfig(plan, "rig-a02")).toThrow(
      'node "rig-a02": label "node-role.kubernetes.io/gpu" uses the reserved prefix "node-role.kubernetes.io"',
    );
    rig.labels = { "node.kubernetes.io/instance-type": "rig-6x3090", "topology.kubernetes.io/zone": "hall-r3" };
    expect(configOf(plan, "rig-a02")["node-label"]).toEqual([
      "node.kubernetes.io/instance-type=rig-6x3090",
      "topology.kubernetes.io/zone=hall-r3",
    ]);
  });

  it("is deterministic", () => {
    expect(renderK3sConfig(samplePlanHa(), "h100-02")).toBe(renderK3sConfig(samplePlanHa(), "h100-02"));
  });
});

describe("scripts", () => {
  it("reads the token from stdin and pins the k3s version", () => {
    const script = renderBootstrapScript(samplePlan(), "cp-01");
    expect(script.startsWith("#!/usr/bin/env bash\n")).toBe(true);
    expect(script).toContain("set -euo pipefail\n");
    expect(script).toContain("IFS= read -r K3S_TOKEN || true\n");
    expect(script).toContain("IFS= read -r K3S_AGENT_TOKEN || true\n");
    expect(script).toContain("K3S_VERSION='v1.33.5+k3s1'\n");
    expect(script).toContain("START_TIMEOUT=300\n");
    expect(script).toContain(
      'INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_SKIP_START=true INSTALL_K3S_EXEC="$K3S_ROLE" \\\n    timeout --kill-after=10 120 sh "$work/install.sh" \\\n',
    );
    // The URL is rendered once for every version: the version goes in at run time, '+' as '%2B'.
    expect(script).toContain('  K3S_VERSION_URL="${K3S_VERSION//+/%2B}"\n');
    expect(script).toContain("fetch 'https://github.com/k3s-io/k3s/releases/download/'\"$K3S_VERSION_URL\"'/k3s' \"$work/k3s\" 900\n");
    expect(script).toContain("fetch 'https://get.k3s.io' \"$work/install.sh\" 60\n");
    expect(script).toContain('curl -fsSL --connect-timeout 20 --retry 2 --retry-delay 2 --max-time "$3" -o "$2" "$1"');
    expect(script).toContain('timeout --kill-after=10 "$START_TIMEOUT" systemctl "$1" "$K3S_SERVICE" || rc=$?\n');
    expect(script).toContain("K3S_CONFIG=\"$(cat <<'MINE2HPC_K3S_CONFIG'\n" + renderK3sConfig(samplePlan(), "cp-01") + "MINE2HPC_K3S_CONFIG\n)\"\n");
    expect(script).toContain('write_file "$CONFIG_FILE" 0600 <<<"$K3S_CONFIG"\n');
    expect(script).not.toContain("set -x");
  });

  it("blacklists nouveau only on GPU nodes when the operator installs the driver", () => {
    const single = samplePlan();
    expect(renderBootstrapScript(single, "rig-a01")).toContain("blacklist nouveau\n");
    expect(renderBootstrapScript(single, "h100-01")).toContain("blacklist nouveau\n");
    expect(renderBootstrapScript(single, "cp-01")).not.toContain("nouveau");
    const ha = samplePlanHa();
    expect(renderBootstrapScript(ha, "h100-01")).not.toContain("nouveau");
    expect(renderBootstrapScript(ha, "h100-01")).toContain("command -v nvidia-smi");
  });

  it("waits for Ready on flannel servers, for registration on Cilium servers, for the service on agents", () => {
    expect(renderBootstrapScript(samplePlan(), "cp-01")).toContain('log "waiting for node ${NODE_NAME} to be Ready"');
    expect(renderBootstrapScript(samplePlanHa(), "cp-02")).toContain("to register (Ready follows once Cilium is installed)");
    const agent = renderBootstrapScript(samplePlan(), "rig-a01");
    expect(agent).toContain("K3S_SERVICE='k3s-agent'\n");
    // An agent's one API call is the label step, with its own kubelet identity (no admin credential).
    const calls = agent.split("\n").filter((l) => !l.trimStart().startsWith("#") && l.includes("kubectl"));
    expect(calls).toEqual([
      '  until label_out="$(timeout --kill-after=5 30 "$K3S_BIN" kubectl --kubeconfig /var/lib/rancher/k3s/agent/kubelet.kubeconfig --request-timeout=20s apply --server-side --force-conflicts --field-manager=mine2hpc-bootstrap -f - <<<"$NODE_LABELS" 2>&1)"; do',
    ]);
    const node = samplePlan().nodes.find((n) => n.hostname === "rig-a01")!;
    expect(agent).toContain(`NODE_LABELS="$(cat <<'MINE2HPC_NODE_LABELS'\n${JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: "rig-a01", labels: node.labels } })}\nMINE2HPC_NODE_LABELS\n)"\n`);
    expect(agent).not.toMatch(/k3s\.yaml|KUBECONFIG=/);
  });

  it("drains servers with their own credentials; agents hold none and read nothing from stdin", () => {
    const server = renderUninstallScript(samplePlanHa(), "cp-03");
    expect(server).toContain("UNINSTALL='/usr/local/bin/k3s-uninstall.sh'\n");
    expect(server).toContain('--ignore-daemonsets --delete-emptydir-data --timeout="${DRAIN_SECONDS}s"');
    expect(server).toContain("DRAIN_SECONDS=300\n");
    expect(server).toContain('*"(Unauthorized)"*|*"(Forbidden)"*)');
    expect(server).toContain('timeout --kill-after=10 300 "$UNINSTALL" || die');
    const agent = renderUninstallScript(samplePlan(), "h100-01");
    expect(agent).toContain("UNINSTALL='/usr/local/bin/k3s-agent-uninstall.sh'\n");
    expect(agent).toContain("exec </dev/null\n");
    expect(agent).not.toMatch(/kubectl|KUBECONFIG|\$\(cat\)/);
    // Its one `read` takes the GPU defaults from a here-string, never from stdin.
    expect(agent.split("\n").filter((l) => /\bread -r\b/.test(l))).toEqual(["    while IFS=', ' read -r gpu_index gpu_default; do"]);
    expect(agent).toContain('done <<<"$GPU_DEFAULTS"\n');
    // GPU node: the defaults come back (bounded), only where the bootstrap left a cap file.
    expect(agent).toContain("nvsmi --query-gpu=index,power.default_limit --format=csv,noheader,nounits </dev/null 2>&1");
    expect(agent).toContain('nvsmi -i "$gpu_index" -pl "$gpu_default" </dev/null >/dev/null 2>&1');
    expect(agent).toContain("timeout 30 nvidia-smi \"$@\"");
    expect(renderUninstallScript(samplePlan(), "cp-01")).not.toContain("nvidia-smi");
  });

  it("stops with a clear message before touching the host when stdin is wrong", async () => {
    // A fake `id` reporting root lets the script reach the token checks without real root;
    // each case exits there, before any write.
    const fakeBin = mkdtempSync(join(tmpdir(), "mine2hpc-fake-id-"));
    const hash = "a".repeat(64);
    const cases: [string, string, string][] = [
      ["rig-a01", "", "no k3s token on stdin: pass the join token as the first line of standard input (HostBootstrap sets it as the secret stdin of its remote.Command)"],
      ["rig-a01", `K10${hash}::server:s3cret\n`, "refusing a server token: an agent joins with the agent token only (the server token is full admin)"],
      [
        "rig-a01",
        `K10${hash}::node:agent-s3cret\napiVersion: v1\n`,
        "more than one line on stdin: an agent receives only the agent token (never the server token or a kubeconfig); nothing was changed",
      ],
      ["cp-01", "server-s3cret\n", "no k3s agent token on stdin line 2: servers take the server token on line 1 and the agent token on line 2"],
    ];
    try {
      writeFileSync(join(fakeBin, "id"), "#!/bin/sh\necho 0\n", { mode: 0o755 });
      for (const [host, input, message] of cases) {
        // The host lock in the test's folder: /run is root's, and a test must not take the real one.
        const run = await execa("bash", ["-c", renderBootstrapScript(samplePlan(), host).replaceAll(HOST_LOCK_PATH, join(fakeBin, "lock"))], {
          input,
          reject: false,
          env: { PATH: `${fakeBin}:${process.env.PATH ?? ""}` },
        });
        expect(run.exitCode, message).toBe(1);
        expect(run.stdout).toBe("");
        expect(run.stderr).toBe(`mine2hpc[${host}]: error: ${message}`);
      }
    } finally {
      rmSync(fakeBin, { recursive: true, force: true });
    }
  });

  it("takes the host lock before anything else, bounded, naming the holder; every host script the same way", () => {
    const plan = samplePlan();
    const lock = (what: string) =>
      [
        "# One mine2hpc script at a time on this host (flock(1), util-linux).",
        'command -v flock >/dev/null 2>&1 || die "flock is required to keep two mine2hpc scripts from running at once on this host: install it (apt-get install util-linux)"',
        "exec 9<>/run/mine2hpc.lock",
        "if ! flock -w 60 9; then",
        '  die "another mine2hpc script holds /run/mine2hpc.lock on $(uname -n) (pid $(cat /run/mine2hpc.lock 2>/dev/null || echo unknown)) and did not end within 60 s; wait for it or check for a stuck run; nothing was changed"',
        "fi",
        `printf '%s %s of %s\\n' "$$" '${what}' "$NODE_NAME" >/run/mine2hpc.lock`,
        "",
      ].join("\n");
    const agent = plan.nodes.find((n) => n.k3sRole === "agent")!.hostname;
    const server = plan.nodes.find((n) => n.k3sRole === "server")!.hostname;
    const scripts: [string, string][] = [
      [renderBootstrapScript(plan, agent), "host bootstrap"],
      [renderUninstallScript(plan, server), "k3s uninstall"],
      [renderServerSideRemovalScript(plan, agent), "server-side removal"],
      // The uninstall an agent's bootstrap installs on the host, cut out of the bootstrap.
      [renderBootstrapScript(plan, agent).split("<<'MINE2HPC_UNINSTALL'\n")[1]!.split("MINE2HPC_UNINSTALL\n")[0]!, "k3s uninstall"],
    ];
    for (const [whole, what] of scripts) {
      // An agent's bootstrap carries the uninstall it installs (its own lock) as a quoted heredoc.
      const script = whole.split("<<'MINE2HPC_UNINSTALL'")[0]!;
      expect(script).toContain(`fi\n\n${lock(what)}`);
      // Before stdin is read and before anything on the host is touched.
      const at = script.indexOf("exec 9<>/run/mine2hpc.lock");
      const firstStep = what.startsWith("host bootstrap") ? "IFS= read -r K3S_TOKEN" : "exec </dev/null";
      expect(script.indexOf(firstStep)).toBeGreaterThan(at);
      expect(script.match(/flock -w/g)).toHaveLength(1);
    }
  });

  it("never contains the token", () => {
    const token = "K10fa7e0c0ffee1234567890abcdef::server:s3cr3t-t0ken-value";
    for (const [, make] of FIXTURES) {
      const plan = make();
      for (const n of plan.nodes) {
        for (const text of [
          renderK3sConfig(plan, n.hostname),
          renderBootstrapScript(plan, n.hostname),
          renderUninstallScript(plan, n.hostname),
          hostConfigHash(plan, n.hostname),
        ]) {
          expect(text).not.toContain(token);
          expect(text).not.toContain("s3cr3t");
          expect(text).not.toMatch(/^token:/m);
        }
      }
    }
  });
});

describe("hostConfigHash", () => {
  it("is a sha256 hex digest, stable for the same plan", () => {
    const hash = hostConfigHash(samplePlan(), "rig-a01");
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hostConfigHash(samplePlan(), "rig-a01")).toBe(hash);
  });

  it("changes only for the node whose registration labels changed", () => {
    for (const [, make] of FIXTURES) {
      const before = make();
      const after = make();
      const target = after.nodes.find((n) => n.pool?.startsWith("rtx-3090") === true);
      if (target === undefined) throw new Error("fixture has no rig");
      target.labels[LABELS.rack] = "moved-rack";
      const changed = before.nodes.filter((n) => hostConfigHash(before, n.hostname) !== hostConfigHash(after, n.hostname)).map((n) => n.hostname);
      expect(changed).toEqual([target.hostname]);
    }
  });

  it("keeps a GPU cap label out of the k3s config: a cap change re-runs the bootstrap's label step, never a k3s restart", () => {
    for (const [, make] of FIXTURES) {
      const before = make();
      const after = make();
      for (const n of after.nodes) if (n.gpu) n.labels[LABELS.gpuPowerCap] = String(n.gpu.minWatts);
      const changed = before.nodes.filter((n) => hostConfigHash(before, n.hostname) !== hostConfigHash(after, n.hostname)).map((n) => n.hostname);
      // Exactly the GPU nodes whose label moved: their bootstrap sets it (with the node's kubelet credentials).
      expect(changed).toEqual(before.nodes.filter((n) => n.gpu && n.labels[LABELS.gpuPowerCap] !== String(n.gpu.minWatts)).map((n) => n.hostname));
      for (const n of after.nodes) {
        expect(renderK3sConfig(after, n.hostname)).toBe(renderK3sConfig(before, n.hostname));
        expect(renderK3sConfig(after, n.hostname)).not.toContain(LABELS.gpuPowerCap);
        if (n.gpu) expect(renderBootstrapScript(after, n.hostname)).toContain(`"${LABELS.gpuPowerCap}":"${n.gpu.minWatts}"`);
      }
    }
  });
});

describe("install generation", () => {
  it("a bumped generation changes only that host's hash; generation 0 adds nothing", () => {
    const before = samplePlan();
    const after = samplePlan();
    after.nodes.find((n) => n.hostname === "rig-a02")!.generation = 1;
    const changed = before.nodes.filter((n) => hostConfigHash(before, n.hostname) !== hostConfigHash(after, n.hostname)).map((n) => n.hostname);
    expect(changed).toEqual(["rig-a02"]);
    expect(renderBootstrapScript(after, "rig-a02")).toBe(renderBootstrapScript(before, "rig-a02"));
    // The golden hashes (generation 0 everywhere) are those of the rendered text alone.
    expect(before.nodes.every((n) => n.generation === 0)).toBe(true);
  });
});

describe("kubeconfig", () => {
  const k3sYaml = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIyZ0F3SUJBZ0lCQURBS0JnZ3Foa2pPUFFRREFqQWpNU0V3SHdZRFZRUUREQmhyTTNNdGMyVnkK
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
`;

  it("points the server URL at the API endpoint and keeps everything else", () => {
    expect(rewriteKubeconfigServer(k3sYaml, "api.hall2.example.net")).toBe(
      k3sYaml.replace("server: https://127.0.0.1:6443", "server: https://api.hall2.example.net:6443"),
    );
    expect(rewriteKubeconfigServer(k3sYaml, "fd00::10")).toContain("server: https://[fd00::10]:6443\n");
  });

  it("refuses a kubeconfig without a loopback server and a malformed endpoint", () => {
    const elsewhere = k3sYaml.replace("https://127.0.0.1:6443", "https://10.1.1.1:6443");
    expect(() => rewriteKubeconfigServer(elsewhere, "10.20.0.10")).toThrow("the kubeconfig has no cluster with a loopback server URL");
    expect(() => rewriteKubeconfigServer(k3sYaml, "https://10.20.0.10")).toThrow('"https://10.20.0.10" is not a valid API address');
  });

  it("reads the admin kubeconfig with or without sudo", () => {
    expect(KUBECONFIG_READ_COMMAND).toBe(
      'if [ "$(id -u)" -eq 0 ]; then cat /etc/rancher/k3s/k3s.yaml; else sudo -n cat /etc/rancher/k3s/k3s.yaml; fi',
    );
  });
});


describe("published agent files", () => {
  it("run the steps strictly, with every setting the host file exports, checked by sha256", () => {
    const plan = samplePlan();
    const file = renderAgentHostFile(plan, "h100-01", bootstrapDeadlineSeconds(plan));
    const steps = agentSteps(plan, true);
    // The steps run in their own bash: strict mode is theirs, not inherited.
    expect(steps.text.split("\n").slice(4, 7)).toEqual(["# sha256 was checked. stdin: the agent token (see the host file).", "set -euo pipefail", "umask 077"]);
    expect(file).toContain(`\nM2H_STEPS_SHA256=${steps.name}\n`);
    expect(file).toContain("\nexport NODE_NAME GPU_CAP_WATTS M2H_SERVER K3S_CONFIG NODE_LABELS NODE_LABEL_COUNT\n");
    expect(file).toContain("\nM2H_SERVER='https://10.20.0.10:6443'\n");
    // Every setting the steps read is exported (K3S_VERSION: the steps read it from the first server).
    for (const name of ["NODE_NAME", "GPU_CAP_WATTS", "M2H_SERVER", "K3S_CONFIG", "NODE_LABELS", "NODE_LABEL_COUNT"]) expect(steps.text).toMatch(new RegExp(`\\$\\{?${name}\\b`));
    expect(file).not.toContain("K3S_VERSION=");
    expect(renderAgentHostFile(plan, "rig-a01", bootstrapDeadlineSeconds(plan))).toContain("\nexport NODE_NAME GPU_CAP_WATTS M2H_SERVER");
    expect(() => renderAgentHostFile(plan, "cp-01", 1)).toThrow('node "cp-01" is a k3s server: servers run their bootstrap inline');
  });
});

describe("shellcheck", () => {
  // MINE2HPC_SKIP_SHELLCHECK=1 skips (visibly) on machines without shellcheck; otherwise a
  // missing shellcheck fails the test, so CI cannot pass without running it.
  it.skipIf(process.env.MINE2HPC_SKIP_SHELLCHECK === "1")("passes on every rendered script", async () => {
    const probe = await execa("shellcheck", ["--version"], { reject: false });
    if (probe.exitCode !== 0) {
      throw new Error("shellcheck is not available: install shellcheck (apt-get install shellcheck), or set MINE2HPC_SKIP_SHELLCHECK=1 to skip");
    }
    const failures: string[] = [];
    for (const [fixture, make] of FIXTURES) {
      const plan = make();
      for (const n of plan.nodes) {
        for (const [name, text] of [
          ["bootstrap.sh", renderBootstrapScript(plan, n.hostname)],
          ["uninstall.sh", renderUninstallScript(plan, n.hostname)],
          ["removal.sh", renderServerSideRemovalScript(plan, n.hostname)],
          ["ca-hash.sh", CA_HASH_SCRIPT],
          ...(n.k3sRole === "agent" ? ([["host-file.sh", renderAgentHostFile(plan, n.hostname, bootstrapDeadlineSeconds(plan))]] as const) : []),
        ] as const) {
          const result = await execa("shellcheck", ["-s", "bash", "-"], { input: text, reject: false });
          if (result.exitCode !== 0) failures.push(`${fixture}/${n.hostname}/${name}:\n${result.stdout}${result.stderr}`);
        }
      }
      // The published steps, the uninstall the agents' steps install (as written on the host),
      // the publication, and the agents' commands (POSIX sh: the SSH user's login shell runs them).
      const published: [string, string, "bash" | "sh"][] = [
        ["agent-steps-gpu.sh", agentSteps(plan, true).text, "bash"],
        ["agent-steps-cpu.sh", agentSteps(plan, false).text, "bash"],
        ["installed-uninstall-gpu.sh", `#!/usr/bin/env bash\nNODE_NAME=rig\n${installedUninstallText(plan, true)}`, "bash"],
        ["publish.sh", renderPublicationScript(plan, { sshUser: "ops", archive: "a.tar.gz", archiveSha256: "0".repeat(64), stackKey: "s" }), "bash"],
        ["agent-create.sh", remoteFetchCommand("https://10.20.0.10:6443/static/mine2hpc", "0".repeat(64)), "sh"],
        ["agent-delete.sh", installedScriptCommand(INSTALLED_UNINSTALL_PATH), "sh"],
      ];
      for (const [name, text, shell] of published) {
        const result = await execa("shellcheck", ["-s", shell, "-"], { input: text, reject: false });
        if (result.exitCode !== 0) failures.push(`${fixture}/${name}:\n${result.stdout}${result.stderr}`);
      }
    }
    expect(failures.join("\n")).toBe("");
  }, 60_000);
});

describe("stdin after the tokens", () => {
  it("is closed right after the tokens are read, so no command sees stdin", () => {
    for (const plan of [samplePlan(), samplePlanHa()]) {
      for (const n of plan.nodes) {
        const script = renderBootstrapScript(plan, n.hostname);
        const read = script.indexOf("IFS= read -r K3S_TOKEN || true");
        const close = script.indexOf("\nexec </dev/null\n");
        expect(read).toBeGreaterThan(0);
        expect(close).toBeGreaterThan(read);
        // Between the first read and the close: only the token reads (servers: the agent token;
        // agents: the check that nothing follows), no other command reading stdin.
        const between = script.slice(read, close).split("\n").filter((l) => !l.trimStart().startsWith("#"));
        const reads = between.filter((l) => /\bread\b|\bcat\b/.test(l));
        expect(reads).toEqual(
          n.k3sRole === "server"
            ? ["IFS= read -r K3S_TOKEN || true", "IFS= read -r K3S_AGENT_TOKEN || true"]
            : ["IFS= read -r K3S_TOKEN || true", "IFS= read -r EXTRA || true"],
        );
      }
    }
  });
});

describe("join tokens and stdin", () => {
  const hash = "3f".repeat(32);
  const secrets = { serverToken: "srv-0123456789abcdef", agentToken: "agt-fedcba9876543210" };

  it("gives the first server bare secrets, joining servers the secure server token, agents only the secure agent token", () => {
    const plan = samplePlanHa();
    expect(renderHostStdin(plan, "cp-01", secrets, null)).toBe("srv-0123456789abcdef\nagt-fedcba9876543210\n");
    expect(renderHostStdin(plan, "cp-02", secrets, hash)).toBe(`K10${hash}::server:srv-0123456789abcdef\nagt-fedcba9876543210\n`);
    const agent = renderHostStdin(plan, "rig-b01", secrets, hash);
    expect(agent).toBe(`K10${hash}::node:agt-fedcba9876543210\n`);
    expect(agent).not.toContain(secrets.serverToken);
  });

  it("refuses bad secrets and a missing CA hash with the fix", () => {
    const plan = samplePlan();
    expect(() => renderHostStdin(plan, "rig-a01", secrets, null)).toThrow(
      'node "rig-a01" joins the cluster: its token needs the cluster CA hash of the first server (read with CA_HASH_SCRIPT once that server\'s bootstrap finished).',
    );
    expect(() => renderHostStdin(plan, "cp-01", { serverToken: "same", agentToken: "same" }, null)).toThrow(
      "the k3s agent token equals the server token: every agent would hold full admin credentials. Set a different agent token secret.",
    );
    expect(() => renderHostStdin(plan, "cp-01", { ...secrets, agentToken: "" }, null)).toThrow("the k3s agent token is empty");
    expect(() => renderHostStdin(plan, "cp-01", { ...secrets, serverToken: "a:b" }, null)).toThrow("the k3s server token contains whitespace or ':'");
    expect(() => renderHostStdin(plan, "cp-01", { ...secrets, serverToken: "two\nlines" }, null)).toThrow("contains whitespace or ':'");
    expect(() => renderHostStdin(plan, "cp-01", { ...secrets, serverToken: `K10${hash}::server:x` }, null)).toThrow(
      "the k3s server token is in K10 secure format: give the bare secret",
    );
    expect(() => secureJoinToken("abc", "agent", "x")).toThrow("the cluster CA hash read from the first server is not a sha256 hex digest (got 3 characters)");
  });

  it("reads the CA hash from k3s's own token file without printing the secret", async () => {
    expect(parseCaHash(`${hash}\n`)).toBe(hash);
    const dir = mkdtempSync(join(tmpdir(), "mine2hpc-cahash-"));
    try {
      const tokenFile = join(dir, "token");
      writeFileSync(tokenFile, `K10${hash}::server:very-secret\n`);
      const script = CA_HASH_SCRIPT.replaceAll("/var/lib/rancher/k3s/server/token", tokenFile);
      const run = await execa("bash", ["-c", script], { reject: false });
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toBe(hash);
      const missing = await execa("bash", ["-c", CA_HASH_SCRIPT.replaceAll("/var/lib/rancher/k3s/server", dir + "/none")], { reject: false });
      expect(missing.exitCode).toBe(1);
      expect(missing.stderr).toBe("mine2hpc: no k3s server token or CA on this host: is it the first server, and did its bootstrap finish?");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("deadlines", () => {
  it("uses the site's start deadline for the start and for the node wait", () => {
    const plan = samplePlan();
    plan.kubernetes.startTimeoutSeconds = 42;
    const script = renderBootstrapScript(plan, "cp-01");
    expect(script).toContain("START_TIMEOUT=42\n");
    expect(script).toContain("deadline=$((SECONDS + START_TIMEOUT))\n");
    expect(script).not.toMatch(/\b300\b.*SECONDS|SECONDS \+ 300/);
  });

  it("states the longest a bootstrap can run, for an outer deadline to exceed", () => {
    // 60 (host lock) + 2 × (3 × 60 + 4) + (3 × 900 + 4) + 30 + 60 + 120 + 10 + 300 + 10 + 300 + 15 + 15 + (300 + 30 + 10) + 300
    expect(bootstrapMaxSeconds(samplePlan())).toBe(4632);
    const mirrored = samplePlan();
    mirrored.mirror = { artifacts: "https://mirror.site/k3s", registry: null, charts: null };
    expect(bootstrapMaxSeconds(mirrored)).toBe(4632 + 3 * 1800 + 4);
  });

  it("refuses a start deadline that is not a positive whole number", () => {
    for (const bad of [0, -5, 2.5]) {
      const plan = samplePlan();
      plan.kubernetes.startTimeoutSeconds = bad;
      expect(() => renderBootstrapScript(plan, "cp-01")).toThrow(
        `site "permian-hall-1": kubernetes.startTimeoutSeconds is ${bad}; it must be a whole number of seconds ≥ 1 (default 300).`,
      );
    }
  });

  it("bounds every curl, systemctl start, installer, uninstaller, journalctl and kubectl call", () => {
    for (const [, make] of FIXTURES) {
      const plan = make();
      for (const n of plan.nodes) {
        const lines = [renderBootstrapScript(plan, n.hostname), renderUninstallScript(plan, n.hostname), renderServerSideRemovalScript(plan, n.hostname)]
          .join("\n")
          .split("\n")
          .filter((l) => !l.trimStart().startsWith("#") && !l.includes("log ") && !l.includes("die ") && !l.includes("echo "));
        for (const l of lines) {
          if (/\bcurl -/.test(l)) expect(l, l).toMatch(/--connect-timeout \d+ .*--max-time/);
          if (/systemctl "\$1"|systemctl (start|restart) /.test(l)) expect(l, l).toMatch(/timeout /);
          if (/journalctl -u "/.test(l)) expect(l, l).toMatch(/timeout 15 journalctl/);
          if (/sh "\$work\/install.sh"|"\$UNINSTALL"$|"\$UNINSTALL" \|\|/.test(l)) expect(l, l).toMatch(/timeout --kill-after=10 \d+/);
          if (/"\$K3S_BIN" kubectl/.test(l)) expect(l, l).toMatch(/--request-timeout=/);
        }
      }
    }
  });
});

describe("GPU safe cap", () => {
  it("writes the planned cap before k3s starts and registers the power-unverified taint", () => {
    const plan = samplePlan();
    const script = renderBootstrapScript(plan, "h100-01");
    expect(script).toContain("\nGPU_CAP_WATTS=700\n");
    const cap = script.indexOf('write_file /etc/mine2hpc/gpu-power-cap 0644 <<<"$GPU_CAP_WATTS"\n');
    expect(cap).toBeGreaterThan(0);
    expect(cap).toBeLessThan(script.indexOf("start_k3s restart\n"));
    expect(configOf(plan, "h100-01")["node-taint"]).toEqual(["mine2hpc.io/power-unverified:NoSchedule"]);
    expect(renderBootstrapScript(plan, "cp-01")).not.toContain("gpu-power-cap");
    expect(configOf(plan, "cp-01")["node-taint"]).toEqual(["node-role.kubernetes.io/control-plane:NoSchedule"]);
  });

  it("installs a boot unit that applies the safe cap before k3s on every boot, and the uninstall removes it", () => {
    const plan = samplePlan();
    const script = renderBootstrapScript(plan, "h100-01");
    const unit = [
      "write_file /etc/systemd/system/mine2hpc-gpu-safe-cap.service 0644 <<'EOF'",
      "[Unit]",
      "Description=mine2hpc: GPU power limits to the safe cap before k3s starts",
      "After=systemd-modules-load.service nvidia-persistenced.service",
      "Before=k3s.service k3s-agent.service",
      "ConditionPathExists=/etc/mine2hpc/gpu-power-cap",
      "",
      "[Service]",
      "Type=oneshot",
      "RemainAfterExit=yes",
      "TimeoutStartSec=150",
      `ExecStart=/bin/sh -c 'command -v nvidia-smi >/dev/null 2>&1 || exit 0; cap="$$(cat /etc/mine2hpc/gpu-power-cap)"; timeout 60 nvidia-smi -pm 1 || true; exec timeout 60 nvidia-smi -pl "$$cap"'`,
      "",
      "[Install]",
      "WantedBy=multi-user.target",
      "EOF",
      'if [ "$CHANGED" -eq 1 ]; then',
      "  timeout 30 systemctl daemon-reload",
      '  log "wrote /etc/systemd/system/mine2hpc-gpu-safe-cap.service"',
      "fi",
      "if ! timeout 30 systemctl is-enabled --quiet mine2hpc-gpu-safe-cap.service; then",
      "  timeout 30 systemctl enable mine2hpc-gpu-safe-cap.service",
      '  log "enabled mine2hpc-gpu-safe-cap.service (safe cap at boot, before k3s)"',
      "fi",
    ].join("\n");
    const at = script.indexOf(unit);
    expect(at).toBeGreaterThan(script.indexOf("write_file /etc/mine2hpc/gpu-power-cap 0644"));
    expect(at).toBeLessThan(script.indexOf("start_k3s restart\n"));
    expect(renderBootstrapScript(plan, "cp-01")).not.toContain("mine2hpc-gpu-safe-cap");
    const uninstall = renderUninstallScript(plan, "h100-01");
    expect(uninstall).toContain(
      [
        "if [ -f /etc/systemd/system/mine2hpc-gpu-safe-cap.service ]; then",
        "  timeout 30 systemctl disable mine2hpc-gpu-safe-cap.service >/dev/null 2>&1 || true",
        "  rm -f /etc/systemd/system/mine2hpc-gpu-safe-cap.service",
        "  timeout 30 systemctl daemon-reload || true",
        '  log "removed mine2hpc-gpu-safe-cap.service"',
        "fi",
      ].join("\n"),
    );
  });

  it("re-runs only the bootstrap of a node whose planned cap moved, without touching its k3s config", () => {
    const before = samplePlan();
    const after = samplePlan();
    after.nodes.find((n) => n.hostname === "rig-a02")!.gpu!.capWatts = 200;
    const changed = before.nodes.filter((n) => hostConfigHash(before, n.hostname) !== hostConfigHash(after, n.hostname)).map((n) => n.hostname);
    expect(changed).toEqual(["rig-a02"]);
    expect(renderK3sConfig(after, "rig-a02")).toBe(renderK3sConfig(before, "rig-a02"));
  });
});

describe("server-side removal", () => {
  it("drains a Ready node, leaves a NotReady one undrained, deletes the Node and its node-password secret; 401/403 and a silent API fail", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mine2hpc-removal-"));
    try {
      const calls = join(dir, "calls");
      // Fake k3s: `kubectl get node` answers per $FAKE_GET, every call is recorded.
      const fakeK3s = join(dir, "k3s");
      writeFileSync(
        fakeK3s,
        `#!/bin/bash
shift
printf '%s\\n' "$*" >>${calls}
case "$FAKE_GET:$*" in
  ready:*"get node"*) printf True ;;
  notready:*"get node"*) printf Unknown ;;
  absent:*"get node"*) echo 'Error from server (NotFound): nodes "rig-a02" not found' >&2; exit 1 ;;
  unauthorized:*"get node"*) echo 'error: You must be logged in to the server (Unauthorized)' >&2; exit 1 ;;
  forbidden:*"get node"*) echo 'Error from server (Forbidden): nodes "rig-a02" is forbidden: User "x" cannot get resource' >&2; exit 1 ;;
  down:*"get node"*) echo 'The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?' >&2; exit 1 ;;
esac
`,
        { mode: 0o755 },
      );
      writeFileSync(join(dir, "id"), "#!/bin/sh\necho 0\n", { mode: 0o755 });
      // The host lock in the test's folder: /run is root's, and a test must not take the real one.
      const script = renderServerSideRemovalScript(samplePlan(), "rig-a02")
        .replace("K3S_BIN='/usr/local/bin/k3s'", `K3S_BIN='${fakeK3s}'`)
        .replaceAll(HOST_LOCK_PATH, join(dir, "lock"));
      const run = async (mode: string) => {
        writeFileSync(calls, "");
        const r = await execa("bash", ["-c", script], { reject: false, env: { PATH: `${dir}:${process.env.PATH ?? ""}`, FAKE_GET: mode } });
        return { code: r.exitCode, out: r.stdout, err: r.stderr, calls: readFileSync(calls, "utf8").trim().split("\n").filter((l) => l !== "") };
      };
      const getNode = `--request-timeout=30s get node rig-a02 -o jsonpath={.status.conditions[?(@.type=="Ready")].status}`;
      const deleteSecret = "--request-timeout=30s -n kube-system delete secret rig-a02.node-password.k3s --ignore-not-found";
      const ready = await run("ready");
      expect(ready.code).toBe(0);
      expect(ready.calls).toEqual([
        getNode,
        "--request-timeout=30s cordon rig-a02",
        "--request-timeout=30s drain rig-a02 --ignore-daemonsets --delete-emptydir-data --timeout=300s",
        "--request-timeout=30s delete node rig-a02 --wait=false --ignore-not-found",
        deleteSecret,
      ]);
      const notReady = await run("notready");
      expect(notReady.code).toBe(0);
      expect(notReady.calls).toEqual([getNode, "--request-timeout=30s cordon rig-a02", "--request-timeout=30s delete node rig-a02 --wait=false --ignore-not-found", deleteSecret]);
      expect(notReady.out).toContain("mine2hpc[rig-a02]: node rig-a02 is not Ready (Unknown): not drained (its kubelet cannot confirm evictions); its pods go with the Node object");
      const absent = await run("absent");
      expect(absent.code).toBe(0);
      expect(absent.calls).toEqual([getNode, deleteSecret]);
      for (const [mode, text] of [
        ["unauthorized", "error: You must be logged in to the server (Unauthorized)"],
        ["forbidden", 'Error from server (Forbidden): nodes "rig-a02" is forbidden: User "x" cannot get resource'],
      ]) {
        const refused = await run(mode!);
        expect(refused.code, mode).toBe(1);
        expect(refused.calls).toEqual([getNode]);
        expect(refused.err).toBe(
          `mine2hpc[rig-a02]: error: the Kubernetes API refused the admin credentials of this server (${text}): renew them (k3s certificate rotate) and run again; nothing was removed`,
        );
      }
      const down = await run("down");
      expect(down.code).toBe(1);
      expect(down.err).toBe(
        "mine2hpc[rig-a02]: error: the Kubernetes API on this server does not answer (The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?); nothing was removed",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses ASIC miners and unknown hosts", () => {
    expect(() => renderServerSideRemovalScript(samplePlan(), "s21-001")).toThrow('host "s21-001" is an ASIC miner');
    expect(() => renderServerSideRemovalScript(samplePlan(), "nope")).toThrow('host "nope" is not a Kubernetes node of site "permian-hall-1"');
  });
});
