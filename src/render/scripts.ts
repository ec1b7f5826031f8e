/**
 * Host scripts run over SSH by the HostBootstrap component (`@pulumi/command` remote.Command):
 * the bootstrap (`create`/`update`), the uninstall (`delete`), and the server-side removal of a
 * machine that is gone (run on the first server).
 *
 * Contract with the component:
 * - Every script runs as root. The component runs it through `remoteScriptCommand`
 *   (src/components/remote-script.ts): base64 in the command string, `sudo -n bash -c` for a
 *   non-root SSH user. The script text travels in the command, so STDIN stays free for secrets.
 * - STDIN (the component's secret `stdin`, built by `renderHostStdin`, src/render/k3s.ts):
 *   servers: line 1 the server token, line 2 the agent token; agents: line 1 the agent token,
 *   nothing else (an agent never receives the server token or any kubeconfig; it refuses both).
 *   The bootstrap writes them to 0600 files and never prints them; no secret is ever part of the
 *   rendered text, so the text can be hashed, diffed and kept in golden files.
 * - remote.Command runs `delete` with the stdin stored from the last create/update
 *   (pulumi-command provider/pkg/provider/remote/commandController.go `Delete` runs
 *   `props.run` on the saved state, Stdin included). The uninstall reads none of it.
 *
 * Bounded time: every step has a deadline. k3s is installed without starting it
 * (`INSTALL_K3S_SKIP_START=true`): the installer's own start is `systemctl restart` on a
 * `Type=notify` unit with `TimeoutStartSec=0` (k3s install.sh `create_systemd_service_file`,
 * `systemd_start`), which blocks for as long as k3s does not report ready, i.e. forever on a
 * rig whose join is refused. The script starts it itself under `timeout`
 * (`plan.kubernetes.startTimeoutSeconds`), and on failure prints the journal tail and one hint.
 * Downloads have connect and total timeouts; the installer, the uninstaller, `nvidia-smi`,
 * `journalctl` and every `kubectl` call run under `timeout`; every wait loop has a deadline.
 *
 * The bootstrap is idempotent: files are written only when their content differs, k3s is
 * installed only when it (or its unit) is missing — never replaced: upgrades roll through the
 * system-upgrade-controller (render/upgrade.ts) — and the service restarts
 * only when its config, a token or the registry mirror changed (or the binary was replaced).
 */
import type { FarmPlan, PlannedNode } from "../plan/types.js";
import { apiUrl, clusterInitNode, findK3sNode, renderK3sConfig, K3S_AGENT_TOKEN_PATH, K3S_API_PORT, K3S_CONFIG_PATH, K3S_SECURE_TOKEN_PREFIX, K3S_TOKEN_PATH } from "./k3s.js";
import { k3sArtifacts, renderRegistriesYaml, K3S_AIRGAP_IMAGES_DIR, K3S_AIRGAP_IMAGES_FILE, K3S_REGISTRIES_PATH } from "./mirror.js";

export { K3S_INSTALLER_URL } from "./mirror.js";

/** Deadline for k3s to start (and a server's node to register) when the site sets none, in s. */
export const DEFAULT_START_TIMEOUT_SECONDS = 300;
/** `kubectl drain --timeout` of the uninstall and removal scripts, in s. */
export const DRAIN_TIMEOUT_SECONDS = 300;
/** curl `--connect-timeout` of every download, in s. */
export const DOWNLOAD_CONNECT_TIMEOUT_SECONDS = 20;
/** curl `--max-time` per attempt: the installer and checksums (small files), in s. */
export const DOWNLOAD_SMALL_MAX_SECONDS = 60;
/** curl `--max-time` per attempt: the k3s binary (~70 MB), in s. */
export const DOWNLOAD_BINARY_MAX_SECONDS = 900;
/** curl `--max-time` per attempt: the airgap image archive (~150 MB), in s. */
export const DOWNLOAD_IMAGES_MAX_SECONDS = 1800;
/** Deadline of the k3s installer run (it only writes files with INSTALL_K3S_SKIP_DOWNLOAD/START), in s. */
export const INSTALLER_TIMEOUT_SECONDS = 120;
/** Deadline of the k3s uninstall script the installer left, in s. */
export const UNINSTALL_TIMEOUT_SECONDS = 300;
/** Deadline of one `nvidia-smi` call, in s. */
export const NVIDIA_SMI_TIMEOUT_SECONDS = 30;
/** The kubelet's kubeconfig k3s writes on every node, server or agent: the node's own identity (`system:node:<name>`). */
export const K3S_KUBELET_KUBECONFIG = "/var/lib/rancher/k3s/agent/kubelet.kubeconfig";
/**
 * The most a script waits for another mine2hpc script on the same host to release
 * {@link HOST_LOCK_PATH}, in s (counted in {@link bootstrapMaxSeconds} and in the uninstall's and
 * removal's host-side deadlines). An idempotent re-run takes seconds; a longer holder is a full
 * bootstrap or a stuck run, which the person should see rather than queue behind.
 */
export const HOST_LOCK_WAIT_SECONDS = 60;
/** The lock every mine2hpc script takes on its host (flock(1), util-linux), so two never overlap. */
export const HOST_LOCK_PATH = "/run/mine2hpc.lock";
/**
 * The lock of the publication of agents' files on the first server: its own, so a drain or
 * removal there (which holds {@link HOST_LOCK_PATH} up to 900 s) never holds the publication,
 * and so every agent, back; publications of several stacks still run one at a time.
 */
export const PUBLISH_LOCK_PATH = "/run/mine2hpc-publish.lock";

/** Deadline of one `kubectl label` of the node's planned labels, in s (each try; tries run until the start deadline). */
export const LABEL_TIMEOUT_SECONDS = 30;

/** Where the bootstrap leaves the planned per-GPU cap for the power agent's fail-safe start (issue 8). */
export const GPU_POWER_CAP_FILE = "/etc/mine2hpc/gpu-power-cap";

/**
 * Where an agent's bootstrap installs the agent's uninstall, which HostBootstrap's `delete` runs
 * (so the uninstall text is not kept in Pulumi's state once per machine).
 */
export const INSTALLED_UNINSTALL_PATH = "/usr/local/sbin/mine2hpc-uninstall";

/**
 * k3s serves `<data-dir>/server/static/` without authentication at `https://<server>:6443/static/`
 * (k3s pkg/server/router.go: `router.PathPrefix(staticURL).Handler(serveStatic(staticURL,
 * staticDir))`, `http.FileServer`, ahead of the authenticated routes); it is where k3s's own
 * HelmChart tarballs live. The agents' bootstrap files are published in this folder of it.
 */
export const PUBLISHED_DIR = "/var/lib/rancher/k3s/server/static/mine2hpc";
/** URL path of {@link PUBLISHED_DIR} on a server. */
export const PUBLISHED_URL_PATH = "/static/mine2hpc";
/** The file in {@link PUBLISHED_DIR} that holds the k3s version a new agent installs. */
export const K3S_VERSION_FILE = "k3s-version";

/**
 * The first lines of a script that a non-root SSH user may start: it runs itself again as root
 * (non-interactive sudo) under the host-side deadline `seconds` (coreutils `timeout`, SIGKILL 30 s
 * after SIGTERM), says so when the deadline stopped it, and exits with its status. `stdin`
 * "pass" hands the session's STDIN (the join tokens) on; "none" gives it /dev/null. The file
 * must be readable by root at `$0`.
 */
export function deadlineWrapper(label: string, seconds: number, stdin: "pass" | "none", removeSelf = false, logFile?: string): string {
  return `# Runs itself again as root (sudo -n for a non-root SSH user) under a ${seconds} s deadline.
if [ -z "\${M2H_DEADLINE:-}" ]; then
  if [ "$(id -u)" = 0 ]; then set --; else set -- sudo -n; fi
  M2H_RC=0
  "$@" env M2H_DEADLINE=${seconds} timeout -k 30 ${seconds} bash "$0"${stdin === "none" ? " </dev/null" : ""} || M2H_RC=$?
  if [ "$M2H_RC" -eq 124 ] || [ "$M2H_RC" -eq 137 ]; then
${logFile !== undefined ? `    # The run was killed before it could print its log's end: print it here.
    "$@" tail -n 80 ${logFile} >&2 || true
` : ""}    echo "${deadlineStoppedMessage(label, seconds)}${logFile !== undefined ? `; the full log is ${logFile} on $(uname -n)` : ""}" >&2
  fi
${removeSelf ? '  rm -f -- "$0"\n' : ""}  exit "$M2H_RC"
fi
`;
}

/** Oneshot unit that applies the safe cap at every boot, before k3s (see {@link gpuSafeCapUnit}). */
export const GPU_SAFE_CAP_UNIT = "mine2hpc-gpu-safe-cap.service";

/**
 * The boot unit's text. GPU power limits do not survive a reboot or driver unload (NVML
 * `nvmlDeviceSetPowerManagementLimit`: "not persistent across reboots or driver unloads"), and
 * the power agent is a pod: after a reboot the GPUs would run at their default limit until
 * the kubelet has started it. With a driver on the host (driverMode host) this unit applies
 * the safe cap before k3s starts (`Before=` both k3s units: the kubelet, and so any workload
 * pod, comes later); with the GPU operator's driver there is no nvidia-smi before k3s, so it
 * does nothing and the GPUs cannot run work before the operator's driver and the agent are up.
 * A failure is logged in the journal and does not hold k3s back (`Before=` orders, it does not
 * require): the agent applies the cap again and keeps the node tainted until it reads back.
 * `$$` is a literal `$` in a unit's command line (systemd.service, "Command lines").
 */
export function gpuSafeCapUnit(): string[] {
  return [
    "[Unit]",
    "Description=mine2hpc: GPU power limits to the safe cap before k3s starts",
    "After=systemd-modules-load.service nvidia-persistenced.service",
    "Before=k3s.service k3s-agent.service",
    `ConditionPathExists=${GPU_POWER_CAP_FILE}`,
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    "TimeoutStartSec=150",
    `ExecStart=/bin/sh -c 'command -v nvidia-smi >/dev/null 2>&1 || exit 0; cap="$$(cat ${GPU_POWER_CAP_FILE})"; timeout 60 nvidia-smi -pm 1 || true; exec timeout 60 nvidia-smi -pl "$$cap"'`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
  ];
}

/** Heredoc delimiter of the embedded config; quoted in the script so bash expands nothing inside. */
const CONFIG_DELIMITER = "MINE2HPC_K3S_CONFIG";
/** Heredoc delimiter of the embedded registries.yaml. */
const REGISTRIES_DELIMITER = "MINE2HPC_REGISTRIES";

/** Single-quotes a string for POSIX shells (`'` becomes `'\''`). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The site's k3s start deadline, in s (`plan.kubernetes.startTimeoutSeconds`, default 300). */
export function startTimeoutSeconds(plan: FarmPlan): number {
  const value = plan.kubernetes.startTimeoutSeconds ?? DEFAULT_START_TIMEOUT_SECONDS;
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`site "${plan.site.name}": kubernetes.startTimeoutSeconds is ${String(value)}; it must be a whole number of seconds ≥ 1 (default ${DEFAULT_START_TIMEOUT_SECONDS}).`);
  }
  return value;
}

/** curl retries per download (`--retry`), and the pause between tries (`--retry-delay`), in s. */
const DOWNLOAD_RETRIES = 2;
const DOWNLOAD_RETRY_DELAY_SECONDS = 2;
/** curl options of a small read (the cluster CA, a published file): connect and total deadlines, retries. */
export const SMALL_FETCH_OPTIONS = `--connect-timeout ${DOWNLOAD_CONNECT_TIMEOUT_SECONDS} --max-time ${DOWNLOAD_SMALL_MAX_SECONDS} --retry ${DOWNLOAD_RETRIES}`;

/** The line a script run prints when its host-side deadline stopped it (remoteScriptCommand, deadlineWrapper). */
export function deadlineStoppedMessage(label: string, seconds: number): string {
  return `mine2hpc: ${label} did not finish within ${seconds} s and was stopped`;
}

/**
 * The longest a bootstrap of this plan can run when every step uses its whole deadline: each
 * download `(retries + 1) × --max-time` plus the pauses, the installer, the bounded start, the
 * node wait, and a margin for the local steps (modules, sysctl, initramfs). A caller's outer
 * deadline (e.g. `timeout` around the whole script) should exceed it, so the script's own,
 * more precise failure (journal tail and hint) is what a person sees.
 */
export function bootstrapMaxSeconds(plan: FarmPlan): number {
  const download = (max: number): number => (DOWNLOAD_RETRIES + 1) * max + DOWNLOAD_RETRIES * DOWNLOAD_RETRY_DELAY_SECONDS;
  const downloads =
    download(DOWNLOAD_SMALL_MAX_SECONDS) * 2 + download(DOWNLOAD_BINARY_MAX_SECONDS) + (k3sArtifacts(plan).airgapImages !== null ? download(DOWNLOAD_IMAGES_MAX_SECONDS) : 0);
  const start = startTimeoutSeconds(plan);
  // host lock wait, version check 30, is-active 30 ×2, installer +10 kill, start +10 kill, node wait (+ one last 10 s kubectl + 5 s sleep), journalctl 15,
  // labels (tries until the start deadline, one last try of 30 s + 5 kill, 5 s sleep).
  return HOST_LOCK_WAIT_SECONDS + downloads + 30 + 60 + INSTALLER_TIMEOUT_SECONDS + 10 + start + 10 + start + 15 + 15 + start + LABEL_TIMEOUT_SECONDS + 10 + 300;
}

/**
 * Margin of a bootstrap's host-side deadline over the longest the script can run with every
 * step using its own deadline (`bootstrapMaxSeconds`), in s: the outer deadline only ends a
 * step that hangs outside them, and the script's precise failure (journal tail, hint) comes first.
 */
export const BOOTSTRAP_DEADLINE_MARGIN_SECONDS = 300;

/** The host-side deadline of a bootstrap for this plan, in s. */
export function bootstrapDeadlineSeconds(plan: FarmPlan): number {
  return bootstrapMaxSeconds(plan) + BOOTSTRAP_DEADLINE_MARGIN_SECONDS;
}

function serviceName(role: "server" | "agent"): string {
  return role === "server" ? "k3s" : "k3s-agent";
}

function header(plan: FarmPlan, hostname: string, role: string, what: string): string {
  return [
    "#!/usr/bin/env bash",
    `# mine2hpc ${what} for ${hostname} (k3s ${role}) in site ${plan.site.name}.`,
    "# Generated from the site plan by mine2hpc: edit the site, not this script.",
    "# Runs as root (HostBootstrap wraps it in `sudo -n bash -c` for non-root SSH users).",
    "",
  ].join("\n");
}

/**
 * log/die, the root check and the host lock, shared by every script run on a host. `kind` and
 * `$NODE_NAME` name the script in the lock file, so a run that finds the lock held says who holds it.
 *
 * The lock: two scripts on one host at once (a machine moving between partition stacks, two
 * stacks on different site revisions, a re-run `pulumi up` while the previous SSH session still
 * runs) would interleave writes and restarts. flock(1) on fd 9 for the script's lifetime (the
 * kernel releases it when the script ends, killed included); opened with `<>` so a waiting
 * run does not truncate the holder's "pid what" line; the wait is bounded.
 */
export function commonFunctions(kind: string, lockPath: string = HOST_LOCK_PATH): string {
  return `log() { printf 'mine2hpc[%s]: %s\\n' "$NODE_NAME" "$*"; }
die() { printf 'mine2hpc[%s]: error: %s\\n' "$NODE_NAME" "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  die "must run as root: run it as 'sudo -n bash -c <script>' (HostBootstrap does this for non-root SSH users)"
fi

# One mine2hpc script at a time on this host (flock(1), util-linux).
command -v flock >/dev/null 2>&1 || die "flock is required to keep two mine2hpc scripts from running at once on this host: install it (apt-get install util-linux)"
exec 9<>${lockPath}
if ! flock -w ${HOST_LOCK_WAIT_SECONDS} 9; then
  die "another mine2hpc script holds ${lockPath} on $(uname -n) (pid $(cat ${lockPath} 2>/dev/null || echo unknown)) and did not end within ${HOST_LOCK_WAIT_SECONDS} s; wait for it or check for a stuck run; nothing was changed"
fi
printf '%s %s of %s\\n' "$$" ${shellQuote(kind)} "$NODE_NAME" >${lockPath}
`;
}

/** A quoted heredoc writing `lines` through write_file. */
function writeFileBlock(path: string, mode: string, lines: string[]): string {
  return `write_file ${path} ${mode} <<'EOF'\n${lines.join("\n")}\nEOF\n`;
}

function hostPrerequisites(plan: FarmPlan, gpu: boolean): string {
  let text = `
# --- host prerequisites ---------------------------------------------------------------
# The kubelet expects swap off: turn it off now and comment it out of /etc/fstab for reboots.
if [ -n "$(swapon --show --noheadings 2>/dev/null || true)" ]; then
  swapoff -a
  log "swap turned off"
fi
if [ -f /etc/fstab ] && awk '$0 !~ /^[[:space:]]*#/ && $3 == "swap" { found = 1 } END { exit !found }' /etc/fstab; then
  write_file /etc/fstab 0644 < <(awk '$0 !~ /^[[:space:]]*#/ && $3 == "swap" { print "#" $0; next } { print }' /etc/fstab)
  log "swap entries commented out in /etc/fstab"
fi

# Container overlay filesystem and bridged pod traffic through iptables, now and at boot.
${writeFileBlock("/etc/modules-load.d/mine2hpc-k3s.conf", "0644", ["overlay", "br_netfilter"])}modprobe overlay
modprobe br_netfilter

${writeFileBlock("/etc/sysctl.d/90-mine2hpc-k3s.conf", "0644", [
    "net.bridge.bridge-nf-call-ip6tables = 1",
    "net.bridge.bridge-nf-call-iptables = 1",
    "net.ipv4.ip_forward = 1",
  ])}sysctl -q -p /etc/sysctl.d/90-mine2hpc-k3s.conf
`;
  if (gpu && plan.gpuOperator.driverMode === "container") {
    text += `
# The GPU operator installs the NVIDIA driver in a container; nouveau must not hold the GPUs.
${writeFileBlock("/etc/modprobe.d/mine2hpc-blacklist-nouveau.conf", "0644", ["blacklist nouveau", "options nouveau modeset=0"])}if [ "$CHANGED" -eq 1 ]; then
  if command -v update-initramfs >/dev/null 2>&1; then
    update-initramfs -u
  elif command -v dracut >/dev/null 2>&1; then
    dracut --force
  else
    log "warning: neither update-initramfs nor dracut found: rebuild the initramfs so nouveau stays unloaded at boot"
  fi
fi
if grep -qs '^nouveau ' /proc/modules; then
  if modprobe -r nouveau 2>/dev/null; then
    log "nouveau unloaded"
  else
    log "warning: nouveau is loaded and in use: reboot \${NODE_NAME} before the GPU operator can load the NVIDIA driver"
  fi
fi
`;
  } else if (gpu) {
    text += `
# driverMode host: the NVIDIA driver must already be installed on this machine.
if ! command -v nvidia-smi >/dev/null 2>&1; then
  log "warning: nvidia-smi not found: install the NVIDIA driver on \${NODE_NAME} (driverMode host: the GPU operator will not install it)"
fi
`;
  }
  if (gpu) {
    text += `
# Safe cap for the power agent: the planned per-GPU limit in W, on the host before k3s (and so
# the agent) starts, so the agent can apply it before it has read anything from the API. The
# node registers tainted ${"`"}mine2hpc.io/power-unverified:NoSchedule${"`"} until the agent read the caps back.
install -d -m 0755 /etc/mine2hpc
write_file ${GPU_POWER_CAP_FILE} 0644 <<<"$GPU_CAP_WATTS"
if [ "$CHANGED" -eq 1 ]; then log "wrote ${GPU_POWER_CAP_FILE} (\${GPU_CAP_WATTS} W per GPU)"; fi
# After a reboot the limits are back at their defaults until the agent's pod runs: a boot unit
# applies the safe cap before k3s starts (where the host has nvidia-smi).
${writeFileBlock(`/etc/systemd/system/${GPU_SAFE_CAP_UNIT}`, "0644", gpuSafeCapUnit())}if [ "$CHANGED" -eq 1 ]; then
  timeout 30 systemctl daemon-reload
  log "wrote /etc/systemd/system/${GPU_SAFE_CAP_UNIT}"
fi
if ! timeout 30 systemctl is-enabled --quiet ${GPU_SAFE_CAP_UNIT}; then
  timeout 30 systemctl enable ${GPU_SAFE_CAP_UNIT}
  log "enabled ${GPU_SAFE_CAP_UNIT} (safe cap at boot, before k3s)"
fi
`;
  }
  return text;
}

/**
 * Failure reporting shared by every start: the journal tail and one hint line matched from it.
 * The matched strings are k3s's own log messages:
 * - `token CA hash does not match the Cluster CA certificate hash` (pkg/clientaccess/token.go
 *   `validateCAHash`): the token pins another cluster's CA;
 * - `Node password rejected, duplicate hostname or contents of ...` (pkg/agent/config/config.go,
 *   on HTTP 403 from the server's node-password check, pkg/nodepassword/validate.go);
 * - `401 Unauthorized` (the agent's `GET` of its config returns `"<url>: <status>"`,
 *   pkg/clientaccess/token.go `get`): the server does not accept the token;
 * - `failed to get CA certs` (token.go `getCACerts`), with the dial error (`connection refused`,
 *   `i/o timeout`, `no route to host`): the server's supervisor port cannot be reached.
 */
const FAILURE_FUNCTIONS = `
# k3s_hint JOURNAL: one line naming the likely cause, matched on k3s's own log messages.
k3s_hint() {
  case "$1" in
    *"token CA hash does not match"*)
      echo "the join token pins another cluster CA (token CA hash does not match): the first server was re-installed or the token belongs to another cluster; re-read the CA hash from the first server and run pulumi up again" ;;
    *"Node password rejected"*)
      echo "the server rejected this node's password (Node password rejected): a machine named \${NODE_NAME} registered before, e.g. before a re-image; remove the old registration from the server side (Node object and secret \${NODE_NAME}.node-password.k3s in kube-system), then run pulumi up again" ;;
    *"401 Unauthorized"*)
      echo "the server refused the join token (401 Unauthorized): the token on stdin is not this cluster's agent (or server) token; check the stack's k3s token secrets" ;;
    *"failed to get CA certs"*|*"connection refused"*|*"i/o timeout"*|*"no route to host"*)
      echo "the k3s server cannot be reached (failed to get CA certs / connection refused / i/o timeout): check that the first server runs and that port 6443 is open from \${NODE_NAME}" ;;
    *)
      echo "no known cause found in the journal above: read it in full with journalctl -u \${K3S_SERVICE} on \${NODE_NAME}" ;;
  esac
}

# fail_start MESSAGE: prints the tail of the k3s journal and one hint, then exits non-zero.
fail_start() {
  local journal
  journal="$(timeout 15 journalctl -u "$K3S_SERVICE" -n 50 --no-pager 2>&1 || true)"
  printf '%s\\n' "--- journalctl -u \${K3S_SERVICE} -n 50 ---" "$journal" "---" >&2
  printf 'mine2hpc[%s]: hint: %s\\n' "$NODE_NAME" "$(k3s_hint "$journal")" >&2
  die "$1"
}

# start_k3s start|restart: the k3s unit is Type=notify with TimeoutStartSec=0, so systemctl
# blocks until k3s reports ready, without end if it never does: bounded by START_TIMEOUT.
start_k3s() {
  local rc=0
  timeout --kill-after=10 "$START_TIMEOUT" systemctl "$1" "$K3S_SERVICE" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    fail_start "\${K3S_SERVICE} did not become ready within \${START_TIMEOUT} s (kubernetes.startTimeoutSeconds); it keeps retrying in the background"
  elif [ "$rc" -ne 0 ]; then
    fail_start "systemctl $1 \${K3S_SERVICE} failed (exit \${rc})"
  fi
  log "\${K3S_SERVICE} is active"
}
`;

function waitForNode(plan: FarmPlan, role: "server" | "agent"): string {
  if (role === "agent") {
    return `
# Agents hold no API credentials; an active service means the agent joined (Type=notify:
# k3s notifies systemd once the kubelet runs, k3s PR #3430).
if ! timeout 30 systemctl is-active --quiet "$K3S_SERVICE"; then
  fail_start "\${K3S_SERVICE} is not running"
fi
`;
  }
  const cilium = plan.network.cni === "cilium";
  const what = cilium ? "register (Ready follows once Cilium is installed)" : "be Ready";
  // With Cilium the node stays NotReady until KubePlatform installs the CNI: wait for registration only.
  const condition = cilium
    ? `"$K3S_BIN" kubectl --request-timeout=10s get node "$NODE_NAME" >/dev/null 2>&1`
    : `[ "$("$K3S_BIN" kubectl --request-timeout=10s get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)" = "True" ]`;
  return `
log "waiting for node \${NODE_NAME} to ${what}"
deadline=$((SECONDS + START_TIMEOUT))
until ${condition}; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    fail_start "node \${NODE_NAME} did not ${cilium ? "register" : "become Ready"} within \${START_TIMEOUT} s (kubernetes.startTimeoutSeconds)"
  fi
  sleep 5
done
`;
}

/** Server-side apply field manager of the labels the bootstrap sets. */
export const LABEL_FIELD_MANAGER = "mine2hpc-bootstrap";

/**
 * The node's planned labels (pool, tier, feed, circuit, rack, GPU cap…), applied with the node's
 * own kubelet credentials once it has registered. k3s applies `node-label` at registration only;
 * every later change (a new cap, pool or rack) changes this text, so the host's config hash, so
 * the bootstrap runs again and applies them here. NodeRestriction lets a kubelet change its own
 * Node's labels outside the kubernetes.io and k8s.io namespaces (render/k3s.ts refuses those),
 * never its taints nor another node (kubernetes plugin/pkg/admission/noderestriction/admission.go
 * `admitNode`). No Pulumi resource holds them: a NodePatch keeps the whole live Node, ~21 KB per
 * machine, in the stack's state (bench/state.ts).
 *
 * Server-side apply (not `kubectl label`): the field manager owns every label it applies even
 * when the value does not change, so a label that leaves the plan is removed, and an old
 * NodePatch's deletion (which gives up pulumi-kubernetes' ownership) cannot take a label with it.
 * `--force-conflicts` takes over labels k3s set at registration, as the NodePatch's force did.
 */
function labelBlock(): string {
  return `
# --- planned labels (k3s sets node-label at registration only; later changes are set here) ---
# Server-side apply with this node's own kubelet credentials: NodeRestriction lets it change its
# own labels outside kubernetes.io/k8s.io, never its taints. The Node may register a little after
# the service is active: tries every 5 s until the start deadline.
if [ -n "$NODE_LABELS" ]; then
  deadline=$((SECONDS + START_TIMEOUT))
  until label_out="$(timeout --kill-after=5 ${LABEL_TIMEOUT_SECONDS} "$K3S_BIN" kubectl --kubeconfig ${K3S_KUBELET_KUBECONFIG} --request-timeout=20s apply --server-side --force-conflicts --field-manager=${LABEL_FIELD_MANAGER} -f - <<<"$NODE_LABELS" 2>&1)"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      die "could not set the planned labels of node \${NODE_NAME} within \${START_TIMEOUT} s (kubernetes.startTimeoutSeconds): \${label_out}"
    fi
    sleep 5
  done
  log "\${NODE_LABEL_COUNT} planned labels set"
fi
`;
}

/**
 * The node's labels as the Node manifest {@link labelBlock} applies (empty when it has none), in
 * a quoted heredoc: part of a host's own settings ({@link renderHostSettings}).
 */
function labelSettings(node: PlannedNode): string {
  const entries = Object.entries(node.labels);
  if (entries.length === 0) return "NODE_LABELS=''\nNODE_LABEL_COUNT=0\n";
  const manifest = JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: node.hostname, labels: node.labels } });
  if (manifest.includes("MINE2HPC_NODE_LABELS")) throw new Error(`node "${node.hostname}": a label contains the heredoc delimiter MINE2HPC_NODE_LABELS`);
  return `NODE_LABELS="$(cat <<'MINE2HPC_NODE_LABELS'
${manifest}
MINE2HPC_NODE_LABELS
)"
NODE_LABEL_COUNT=${entries.length}
`;
}

/** Reads the tokens from stdin per role; agents refuse a server token and any further line. */
function readTokens(role: "server" | "agent"): string {
  const read = `K3S_TOKEN=''
IFS= read -r K3S_TOKEN || true
if [ -z "$K3S_TOKEN" ]; then
  die "no k3s token on stdin: pass the join token as the first line of standard input (HostBootstrap sets it as the secret stdin of its remote.Command)"
fi
`;
  if (role === "server") {
    return `${read}K3S_AGENT_TOKEN=''
IFS= read -r K3S_AGENT_TOKEN || true
if [ -z "$K3S_AGENT_TOKEN" ]; then
  die "no k3s agent token on stdin line 2: servers take the server token on line 1 and the agent token on line 2"
fi
exec </dev/null
`;
  }
  return `${read}case "$K3S_TOKEN" in
  *::server:*) die "refusing a server token: an agent joins with the agent token only (the server token is full admin)" ;;
esac
EXTRA=''
IFS= read -r EXTRA || true
if [ -n "$EXTRA" ]; then
  die "more than one line on stdin: an agent receives only the agent token (never the server token or a kubeconfig); nothing was changed"
fi
unset EXTRA
exec </dev/null
# The CA hash the secure token pins (K10<hash>::…), kept to check the first server before
# reading the cluster's k3s version from it; empty for a bare token.
K3S_CA_HASH=''
case "$K3S_TOKEN" in
  ${K3S_SECURE_TOKEN_PREFIX}*::*) K3S_CA_HASH="\${K3S_TOKEN#${K3S_SECURE_TOKEN_PREFIX}}"; K3S_CA_HASH="\${K3S_CA_HASH%%::*}" ;;
esac
`;
}

/** Stands for the k3s version in artifact URLs rendered once for every version. */
const VERSION_PLACEHOLDER = "MINE2HPCK3SVERSION";

/**
 * A URL for the shell where the k3s version is `$K3S_VERSION_URL` (the version as it appears in
 * a URL path: `+` as `%2B`, what `k3sArtifacts` gets from encodeURIComponent for a k3s version),
 * the rest single-quoted: the script text does not change with the version.
 */
function versionedUrl(url: string): string {
  return url
    .split(VERSION_PLACEHOLDER)
    .map((part) => (part === "" ? "" : shellQuote(part)))
    .join('"$K3S_VERSION_URL"');
}

/**
 * Where an agent that has no k3s yet reads the version to install: a file the cluster stack
 * publishes next to the agents' bootstrap files on the first server (k3s serves its data
 * directory's `static/` at `/static/`). Fetched over TLS checked against the CA the join token
 * pins (docs.k3s.io/cli/token, "TLS Bootstrapping": the sha256 of `/cacerts` as served for a
 * self-signed CA, of the root certificate's DER for a custom one), so the version is as
 * trustworthy as the join itself. Not part of the bootstrap text: a version change then leaves
 * every agent's bootstrap as it is and rolls through the system-upgrade-controller.
 */
function clusterVersionFunction(): string {
  return `
# cluster_k3s_version: prints the k3s version the cluster stack published for new machines.
cluster_k3s_version() {
  local ca="$work/cacerts" got cert v
  [ -n "$K3S_CA_HASH" ] || die "the join token has no CA hash (not in K10 format): the first server cannot be checked before the k3s version is read from it"
  curl -fsSk ${SMALL_FETCH_OPTIONS} -o "$ca" "$M2H_SERVER/cacerts" </dev/null \\
    || die "could not read the cluster CA from \${M2H_SERVER}/cacerts within ${DOWNLOAD_SMALL_MAX_SECONDS} s: check that the first server runs and that port ${K3S_API_PORT} is open from \${NODE_NAME}"
  got="$(sha256sum "$ca" | cut -d ' ' -f 1)"
  if [ "$got" != "$K3S_CA_HASH" ] && command -v openssl >/dev/null 2>&1; then
    # A custom CA: the token pins the sha256 of the root certificate's DER encoding.
    awk -v d="$work" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (d "/cacert." n) }' "$ca"
    for cert in "$work"/cacert.*; do
      [ -f "$cert" ] || continue
      if [ "$(openssl x509 -in "$cert" -outform DER 2>/dev/null | sha256sum | cut -d ' ' -f 1)" = "$K3S_CA_HASH" ]; then got="$K3S_CA_HASH"; fi
    done
  fi
  if [ "$got" != "$K3S_CA_HASH" ] && ! command -v openssl >/dev/null 2>&1; then
    die "the CA served by \${M2H_SERVER} is not the one the join token pins by its sha256; with a custom CA the token pins its root's DER, which needs openssl on this host to check (apt-get install openssl); nothing was installed"
  fi
  [ "$got" = "$K3S_CA_HASH" ] || die "the CA served by \${M2H_SERVER} does not match the CA hash of the join token: another cluster or a re-installed first server answers there; nothing was installed"
  v="$(curl -fsS --cacert "$ca" ${SMALL_FETCH_OPTIONS} "$M2H_SERVER${PUBLISHED_URL_PATH}/${K3S_VERSION_FILE}" </dev/null)" \\
    || die "could not read \${M2H_SERVER}${PUBLISHED_URL_PATH}/${K3S_VERSION_FILE} (the k3s version for new machines): run pulumi up on the cluster stack, then again here"
  [[ "$v" =~ ^v[0-9]+\\.[0-9]+\\.[0-9]+(-rc[0-9]+)?\\+k3s[0-9]+$ ]] || die "\${M2H_SERVER}${PUBLISHED_URL_PATH}/${K3S_VERSION_FILE} does not hold a k3s version; nothing was installed"
  printf '%s' "$v"
}
`;
}

function installK3s(plan: FarmPlan, role: "server" | "agent"): string {
  const a = k3sArtifacts({ ...plan, kubernetes: { ...plan.kubernetes, version: VERSION_PLACEHOLDER } });
  const fetchOpts = `--connect-timeout ${DOWNLOAD_CONNECT_TIMEOUT_SECONDS} --retry ${DOWNLOAD_RETRIES} --retry-delay ${DOWNLOAD_RETRY_DELAY_SECONDS}`;
  const images =
    a.airgapImages === null
      ? ""
      : `  # Air-gapped: k3s imports this archive at start instead of pulling its system images
  # (docs.k3s.io/installation/airgap, "Manually Deploy Images").
  fetch ${versionedUrl(a.airgapImages)} "$work/${K3S_AIRGAP_IMAGES_FILE}" ${DOWNLOAD_IMAGES_MAX_SECONDS}
  verify_sha256 "$work/${K3S_AIRGAP_IMAGES_FILE}" ${K3S_AIRGAP_IMAGES_FILE}
  install -d -m 0755 ${K3S_AIRGAP_IMAGES_DIR}
  install -m 0644 "$work/${K3S_AIRGAP_IMAGES_FILE}" ${K3S_AIRGAP_IMAGES_DIR}/${K3S_AIRGAP_IMAGES_FILE}
`;
  return `
# --- k3s install, pinned ----------------------------------------------------------------${role === "agent" ? clusterVersionFunction() : ""}
# fetch URL FILE MAX_SECONDS: bounded download (connect and per-attempt total timeouts, two retries).
fetch() {
  curl -fsSL ${fetchOpts} --max-time "$3" -o "$2" "$1" \\
    || die "download of $1 failed or took longer than $3 s: check this host's route to it"
}
# verify_sha256 FILE NAME: the checksum of NAME in the release's checksum file (install.sh verify_binary).
verify_sha256() {
  local expected actual
  expected="$(awk -v f="$2" '$2 == f { print $1 }' "$work/sha256sums")"
  actual="$(sha256sum "$1" | cut -d ' ' -f 1)"
  if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
    die "sha256 of $2 is \${actual}, the release's checksum file says '\${expected}': the download or the mirror is corrupt"
  fi
}

CURRENT_VERSION=''
if [ -x "$K3S_BIN" ]; then
  CURRENT_VERSION="$(timeout 30 "$K3S_BIN" --version 2>/dev/null | awk 'NR == 1 { print $3 }' || true)"
fi
# Installed only where k3s is missing: an installed k3s is never replaced here. Version changes
# roll through the system-upgrade-controller (one server at a time, agents in batches): a
# server's bootstrap carries the version it was first installed with, an agent reads the version
# for new machines from the first server, and replacing a binary the controller already upgraded
# would be a downgrade.
if [ -z "$CURRENT_VERSION" ] || [ ! -f "/etc/systemd/system/\${K3S_SERVICE}.service" ]; then
  command -v curl >/dev/null 2>&1 || die "curl is required to download k3s: install it (apt-get install curl)"
  work="$(mktemp -d /tmp/mine2hpc-k3s.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
${role === "agent" ? `  if [ -z "\${K3S_VERSION:-}" ]; then K3S_VERSION="$(cluster_k3s_version)"; fi
` : ""}  K3S_VERSION_URL="\${K3S_VERSION//+/%2B}"
  log "installing k3s \${K3S_VERSION} as \${K3S_ROLE} (installed: \${CURRENT_VERSION:-none})"
  # The binary is downloaded and checked here, with deadlines; the installer then only writes
  # the unit and helper scripts (INSTALL_K3S_SKIP_DOWNLOAD=true, k3s install.sh) and does not
  # start k3s (INSTALL_K3S_SKIP_START=true): its own start would block without a deadline.
  fetch ${versionedUrl(a.checksums)} "$work/sha256sums" ${DOWNLOAD_SMALL_MAX_SECONDS}
  fetch ${versionedUrl(a.binary)} "$work/k3s" ${DOWNLOAD_BINARY_MAX_SECONDS}
  verify_sha256 "$work/k3s" k3s
${images}  fetch ${versionedUrl(a.installer)} "$work/install.sh" ${DOWNLOAD_SMALL_MAX_SECONDS}
  install -m 0755 "$work/k3s" "$K3S_BIN"
  INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_SKIP_START=true INSTALL_K3S_EXEC="$K3S_ROLE" \\
    timeout --kill-after=10 ${INSTALLER_TIMEOUT_SECONDS} sh "$work/install.sh" \\
    || die "the k3s installer failed or ran longer than ${INSTALLER_TIMEOUT_SECONDS} s"
  rm -rf "$work"
  trap - EXIT
  RESTART=1
fi

if [ "$RESTART" -eq 1 ]; then
  log "starting \${K3S_SERVICE} (configuration, token or binary changed; deadline \${START_TIMEOUT} s)"
  start_k3s restart
elif ! timeout 30 systemctl is-active --quiet "$K3S_SERVICE"; then
  log "starting \${K3S_SERVICE} (deadline \${START_TIMEOUT} s)"
  start_k3s start
else
  log "k3s \${CURRENT_VERSION} installed, configuration unchanged"
fi
`;
}

function registriesBlock(plan: FarmPlan): string {
  const registries = renderRegistriesYaml(plan);
  if (registries === null) {
    return `
# No registry mirror: remove a registries.yaml mine2hpc wrote before (a mirror taken out of the site).
if [ -f ${K3S_REGISTRIES_PATH} ] && grep -q '^# Generated by mine2hpc' ${K3S_REGISTRIES_PATH}; then
  rm -f ${K3S_REGISTRIES_PATH}
  RESTART=1
  log "removed ${K3S_REGISTRIES_PATH} (the site has no registry mirror any more)"
fi
`;
  }
  if (registries.split("\n").includes(REGISTRIES_DELIMITER)) throw new Error("registries.yaml contains its heredoc delimiter");
  return `
# Every image pull goes through the site's registry mirror (docs.k3s.io/installation/private-registry).
write_file ${K3S_REGISTRIES_PATH} 0600 <<'${REGISTRIES_DELIMITER}'
${registries}${REGISTRIES_DELIMITER}
if [ "$CHANGED" -eq 1 ]; then
  RESTART=1
  log "wrote ${K3S_REGISTRIES_PATH}"
fi
`;
}

/**
 * What differs between two hosts of one role, as shell assignments: the node name, the k3s
 * config (quoted heredoc), the GPU safe cap, the planned labels, and where the first server
 * answers. With `version` (servers, and agents whose bootstrap runs inline) also the k3s version
 * a missing k3s is installed at; without it an agent reads that version from the first server.
 */
export function renderHostSettings(plan: FarmPlan, hostname: string, version?: string): string {
  const node = findK3sNode(plan, hostname);
  const config = renderK3sConfig(plan, hostname);
  if (config.split("\n").includes(CONFIG_DELIMITER)) {
    throw new Error(`node "${hostname}": the k3s config contains the heredoc delimiter line ${CONFIG_DELIMITER}; rename the label or taint that produces it.`);
  }
  // `$(…)` drops trailing newlines and `<<<` adds one: the file is written byte for byte only
  // when the text ends with exactly one.
  if (!config.endsWith("\n") || config.endsWith("\n\n")) throw new Error(`node "${hostname}": the rendered k3s config must end with exactly one newline`);
  return (
    `NODE_NAME=${shellQuote(node.hostname)}\n` +
    (version !== undefined ? `K3S_VERSION=${shellQuote(version)}\n` : "") +
    (node.gpu !== undefined ? `GPU_CAP_WATTS=${node.gpu.capWatts}\n` : "") +
    (node.k3sRole === "agent" ? `M2H_SERVER=${shellQuote(apiUrl(clusterInitNode(plan).ip))}\n` : "") +
    `K3S_CONFIG="$(cat <<'${CONFIG_DELIMITER}'\n${config}${CONFIG_DELIMITER}\n)"\n` +
    labelSettings(node)
  );
}

/**
 * The steps of a bootstrap, the same text for every host of one role with (or without) GPUs:
 * everything host-specific comes from {@link renderHostSettings}. Reads the tokens from stdin
 * (see the module doc for the contract).
 */
export function renderBootstrapSteps(plan: FarmPlan, role: "server" | "agent", gpu: boolean): string {
  const server = role === "server";
  const agentTokenFile = server
    ? `write_file "$AGENT_TOKEN_FILE" 0600 <<<"$K3S_AGENT_TOKEN"
unset K3S_AGENT_TOKEN
if [ "$CHANGED" -eq 1 ]; then RESTART=1; fi
`
    : "";
  return `K3S_ROLE=${shellQuote(role)}
K3S_SERVICE=${shellQuote(serviceName(role))}
K3S_BIN='/usr/local/bin/k3s'
CONFIG_FILE=${shellQuote(K3S_CONFIG_PATH)}
TOKEN_FILE=${shellQuote(K3S_TOKEN_PATH)}
${server ? `AGENT_TOKEN_FILE=${shellQuote(K3S_AGENT_TOKEN_PATH)}\n` : ""}START_TIMEOUT=${startTimeoutSeconds(plan)}

${commonFunctions("host bootstrap")}
${readTokens(role)}
# write_file PATH MODE: writes stdin to PATH with MODE when the content differs.
# Sets CHANGED=1 when it wrote the file, CHANGED=0 when the file already had this content.
CHANGED=0
write_file() {
  local path="$1" mode="$2" tmp
  tmp="$(mktemp "\${path}.mine2hpc.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    CHANGED=0
  else
    mv -f "$tmp" "$path"
    CHANGED=1
  fi
}
${server ? "" : installedUninstallBlock(plan, gpu)}${FAILURE_FUNCTIONS}${hostPrerequisites(plan, gpu)}
# --- k3s tokens and configuration -------------------------------------------------------
RESTART=0
install -d -m 0755 /etc/rancher /etc/rancher/k3s
write_file "$TOKEN_FILE" 0600 <<<"$K3S_TOKEN"
unset K3S_TOKEN
if [ "$CHANGED" -eq 1 ]; then RESTART=1; fi
${agentTokenFile}
write_file "$CONFIG_FILE" 0600 <<<"$K3S_CONFIG"
if [ "$CHANGED" -eq 1 ]; then
  RESTART=1
  log "wrote \${CONFIG_FILE}"
fi
${registriesBlock(plan)}${installK3s(plan, role)}${waitForNode(plan, role)}${labelBlock()}
log "done"
`;
}

/**
 * Bootstrap script for `hostname`, whole: its settings ({@link renderHostSettings}, with the k3s
 * version to install where k3s is missing) and the steps of its role ({@link renderBootstrapSteps}):
 * host prerequisites, the GPU safe cap, tokens and config, k3s installed (pinned, verified)
 * without starting, then started and awaited under the site's deadline. Servers run it inline;
 * agents run the same steps from the first server ({@link renderAgentHostFile}).
 */
export function renderBootstrapScript(plan: FarmPlan, hostname: string): string {
  const node = findK3sNode(plan, hostname);
  return `${header(plan, node.hostname, node.k3sRole, "host bootstrap")}${stdinDoc(node.k3sRole)}# Idempotent: with the same plan and tokens a second run writes nothing and restarts nothing.
set -euo pipefail
umask 077

${renderHostSettings(plan, hostname, plan.kubernetes.version)}
${renderBootstrapSteps(plan, node.k3sRole, node.gpu !== undefined)}`;
}

function stdinDoc(role: "server" | "agent"): string {
  return role === "server"
    ? "# stdin: line 1 the k3s server token, line 2 the agent token. Written to 0600 files, never printed.\n"
    : "# stdin: one line, the k3s agent token (never the server token, never a kubeconfig: both are refused).\n# Written to a 0600 file, never printed.\n";
}

/**
 * API helpers of the scripts that use admin credentials on a server (`k3s kubectl`): every call
 * bounded (`--request-timeout` and `timeout`); 401/403 always a hard failure, never a skip.
 * kubectl prints `error: You must be logged in to the server (Unauthorized)` for 401 and
 * `Error from server (Forbidden): …` for 403, `Error from server (NotFound): …` for a missing object.
 */
const API_FUNCTIONS = `
kubectl_() { timeout --kill-after=5 60 "$K3S_BIN" kubectl --request-timeout=30s "$@"; }

# node_status NAME: sets NODE_READY to the node's Ready status (True/False/Unknown, empty when
# not reported) or to "absent"; returns 1 with API_ERROR set when the API does not answer.
# Refused credentials (401/403) end the script: skipping the drain would hide them.
node_status() {
  local out rc=0
  out="$(kubectl_ get node "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>&1)" || rc=$?
  if [ "$rc" -eq 0 ]; then
    NODE_READY="$out"
    return 0
  fi
  case "$out" in
    *"(Unauthorized)"*|*"(Forbidden)"*)
      die "the Kubernetes API refused the admin credentials of this server (\${out}): renew them (k3s certificate rotate) and run again; nothing was removed" ;;
    *"(NotFound)"*)
      NODE_READY="absent"
      return 0 ;;
  esac
  API_ERROR="$out"
  return 1
}

# drain_node NAME: evicts its pods (PodDisruptionBudgets respected), bounded by DRAIN_TIMEOUT.
drain_node() {
  if ! timeout --kill-after=5 $((DRAIN_SECONDS + 60)) "$K3S_BIN" kubectl --request-timeout=30s drain "$1" \\
      --ignore-daemonsets --delete-emptydir-data --timeout="\${DRAIN_SECONDS}s"; then
    die "drain of $1 did not finish within \${DRAIN_SECONDS} s (a PodDisruptionBudget or a stuck pod blocks it); nothing was removed. Fix the blocker or drain by hand, then run pulumi up again"
  fi
}
`;

/**
 * Uninstall script for `hostname`, run by remote.Command `delete`: on servers, drain and delete
 * the node with the server's own credentials; on agents nothing that needs the API (the server
 * side drains and deletes them: {@link renderServerSideRemovalScript}); on GPU nodes the GPUs'
 * default power limits restored (the only place they are); then the k3s uninstaller, bounded.
 * A no-op when k3s is not installed, so a second run changes nothing.
 */
export function renderUninstallScript(plan: FarmPlan, hostname: string): string {
  const node = findK3sNode(plan, hostname);
  return `${header(plan, node.hostname, node.k3sRole, "k3s uninstall")}# stdin: not read (remote.Command replays the bootstrap's stdin, the join tokens, which the uninstall does not need).
set -euo pipefail
umask 077

NODE_NAME=${shellQuote(node.hostname)}
${uninstallSteps(plan, node.k3sRole, node.gpu !== undefined)}`;
}

/** Host-side deadline of an uninstall, in s (the host lock wait, drain, GPU limits, the k3s uninstaller, each bounded inside). */
export const UNINSTALL_DEADLINE_SECONDS = 900 + HOST_LOCK_WAIT_SECONDS;

/**
 * The agent's uninstall as its bootstrap installs it at {@link INSTALLED_UNINSTALL_PATH}: the
 * node name, then {@link deadlineWrapper} (HostBootstrap's `delete` runs it as the SSH user), then
 * the uninstall steps. The text written is the one {@link renderUninstallScript} renders for the
 * host, but for the first lines.
 */
export function installedUninstallText(plan: FarmPlan, gpu: boolean): string {
  return `${deadlineWrapper("mine2hpc-uninstall", UNINSTALL_DEADLINE_SECONDS, "none")}# stdin: not read.
set -euo pipefail
umask 077

${uninstallSteps(plan, "agent", gpu)}`;
}

/** The bootstrap step that installs the agent's uninstall ({@link installedUninstallText}), with the node name on its second line. */
function installedUninstallBlock(plan: FarmPlan, gpu: boolean): string {
  const text = installedUninstallText(plan, gpu);
  if (text.split("\n").includes("MINE2HPC_UNINSTALL")) throw new Error("the agent uninstall contains its heredoc delimiter");
  return `
# The uninstall HostBootstrap's delete runs on this machine: installed here, not kept in Pulumi's
# state once per machine. No secret in it; readable, so a non-root SSH user can start it (it
# runs itself again through sudo -n).
install -d -m 0755 /usr/local/sbin
write_file ${INSTALLED_UNINSTALL_PATH} 0755 < <(printf '#!/usr/bin/env bash\\n# mine2hpc k3s uninstall of %s, installed by its bootstrap.\\nNODE_NAME=%q\\n' "$NODE_NAME" "$NODE_NAME"; cat <<'MINE2HPC_UNINSTALL'
${text}MINE2HPC_UNINSTALL
)
`;
}

/** The steps of an uninstall, the same text for every host of one role with (or without) GPUs; `$NODE_NAME` names the host. */
function uninstallSteps(plan: FarmPlan, role: "server" | "agent", hasGpu: boolean): string {
  const server = role === "server";
  const uninstaller = server ? "/usr/local/bin/k3s-uninstall.sh" : "/usr/local/bin/k3s-agent-uninstall.sh";
  const drain = server
    ? `${API_FUNCTIONS}
# A server drains and deletes its own node (which also removes its etcd member) with its own
# admin credentials. When its API does not answer, the node is left for the server-side removal.
if node_status "$NODE_NAME"; then
  if [ "$NODE_READY" = "absent" ]; then
    log "node \${NODE_NAME} is not registered: nothing to drain"
  else
    log "draining \${NODE_NAME}"
    kubectl_ cordon "$NODE_NAME" >/dev/null
    drain_node "$NODE_NAME"
    kubectl_ delete node "$NODE_NAME" --wait=false
  fi
else
  log "warning: the local Kubernetes API does not answer (\${API_ERROR}): \${NODE_NAME} is not drained; remove it from another server (mine2hpc's server-side removal)"
fi
`
    : `
# An agent holds no admin credentials (kubelet credentials cannot cordon or evict): mine2hpc
# drains and deletes it from the first server before this runs (server-side removal).
`;
  const gpu = !hasGpu
      ? ""
      : `
# --- GPU power limits back to their defaults ---------------------------------------------
# The power agent keeps caps when it stops (a restarted pod must not put full TDP on a planned
# circuit); leaving the cluster is the one place the defaults come back. Best effort: a GPU
# that does not take it is reported, not fatal. Only when this bootstrap left a cap file, so a
# second uninstall does nothing.
nvsmi() {
  if command -v nvidia-smi >/dev/null 2>&1; then
    timeout ${NVIDIA_SMI_TIMEOUT_SECONDS} nvidia-smi "$@"
  elif [ -x /run/nvidia/driver/usr/bin/nvidia-smi ]; then
    timeout ${NVIDIA_SMI_TIMEOUT_SECONDS} chroot /run/nvidia/driver nvidia-smi "$@"
  else
    echo "nvidia-smi not found (neither on the host nor in the GPU operator's driver root)"
    return 127
  fi
}
if [ -f ${GPU_POWER_CAP_FILE} ]; then
  if GPU_DEFAULTS="$(nvsmi --query-gpu=index,power.default_limit --format=csv,noheader,nounits </dev/null 2>&1)"; then
    while IFS=', ' read -r gpu_index gpu_default; do
      [ -n "$gpu_index" ] || continue
      gpu_default="\${gpu_default%%.*}"
      if nvsmi -i "$gpu_index" -pl "$gpu_default" </dev/null >/dev/null 2>&1; then
        log "GPU \${gpu_index}: power limit back to its default \${gpu_default} W"
      else
        log "warning: GPU \${gpu_index}: could not restore the default power limit \${gpu_default} W: run nvidia-smi -i \${gpu_index} -pl \${gpu_default}"
      fi
    done <<<"$GPU_DEFAULTS"
  else
    log "warning: could not read the GPUs' default power limits (\${GPU_DEFAULTS}): restore them by hand with nvidia-smi -pl"
  fi
  rm -f ${GPU_POWER_CAP_FILE}
fi
if [ -f /etc/systemd/system/${GPU_SAFE_CAP_UNIT} ]; then
  timeout 30 systemctl disable ${GPU_SAFE_CAP_UNIT} >/dev/null 2>&1 || true
  rm -f /etc/systemd/system/${GPU_SAFE_CAP_UNIT}
  timeout 30 systemctl daemon-reload || true
  log "removed ${GPU_SAFE_CAP_UNIT}"
fi
`;
  // An agent's bootstrap installs this uninstall on the host (HostBootstrap's delete runs it
  // there): it goes once k3s is gone, so a second delete finds nothing to run.
  const forget = server ? "" : `rm -f ${INSTALLED_UNINSTALL_PATH}\n`;
  return `${server ? "K3S_BIN='/usr/local/bin/k3s'\n" : ""}UNINSTALL=${shellQuote(uninstaller)}
${server ? `DRAIN_SECONDS=${DRAIN_TIMEOUT_SECONDS}\n` : ""}
${commonFunctions("k3s uninstall")}
exec </dev/null

if [ ! -x "$UNINSTALL" ]; then
${forget ? `  ${forget}` : ""}  log "k3s is not installed (no \${UNINSTALL}): nothing to do"
  exit 0
fi
${drain}${gpu}
log "uninstalling k3s"
timeout --kill-after=10 ${UNINSTALL_TIMEOUT_SECONDS} "$UNINSTALL" || die "the k3s uninstaller failed or ran longer than ${UNINSTALL_TIMEOUT_SECONDS} s"
${forget}log "done"
`;
}

/** The machine a server-side removal targets: a planned node, or a retired machine (`plan.retired`). */
function removalTarget(plan: FarmPlan, hostname: string): { hostname: string; k3sRole: string } {
  const node = plan.nodes.find((n) => n.hostname === hostname);
  if (node !== undefined) return node;
  const retired = (plan.retired ?? []).find((r) => r.hostname === hostname);
  if (retired !== undefined && retired.k3sRole !== "asic") return retired;
  return findK3sNode(plan, hostname);
}

/**
 * Removal of `hostname` from the cluster, run as root on the first server with its own admin
 * credentials (`k3s kubectl`), so no agent ever holds them: cordon; drain when the node is
 * Ready (evictions respect PodDisruptionBudgets, bounded by `--timeout`); delete the Node
 * object and k3s's `<hostname>.node-password.k3s` secret in kube-system (without it, a
 * re-imaged machine of the same name is refused: "Node password rejected").
 *
 * A node that is not Ready is not drained: its kubelet cannot confirm an eviction, so the
 * drain could only run into its timeout; deleting the Node object lets the pod garbage
 * collector remove its pods. `--disable-eviction` is not used: on a Ready node it would bypass
 * PodDisruptionBudgets, and on a dead one it does not help either. Refused credentials (401/403)
 * and an API that does not answer are hard failures: nothing is skipped silently.
 */
export function renderServerSideRemovalScript(plan: FarmPlan, hostname: string): string {
  const target = removalTarget(plan, hostname);
  const first = plan.nodes.find((n) => n.clusterInit);
  const on = first?.hostname ?? "the first server";
  return `${header(plan, target.hostname, target.k3sRole, `server-side removal (run on ${on})`)}# stdin: not read.
set -euo pipefail
umask 077

NODE_NAME=${shellQuote(target.hostname)}
K3S_BIN='/usr/local/bin/k3s'
DRAIN_SECONDS=${DRAIN_TIMEOUT_SECONDS}

${commonFunctions("server-side removal")}
exec </dev/null
[ -x "$K3S_BIN" ] || die "k3s is not installed on this host: run the removal on a k3s server"
${API_FUNCTIONS}
if ! node_status "$NODE_NAME"; then
  die "the Kubernetes API on this server does not answer (\${API_ERROR}); nothing was removed"
fi
if [ "$NODE_READY" = "absent" ]; then
  log "node \${NODE_NAME} is not registered"
else
  kubectl_ cordon "$NODE_NAME" >/dev/null
  if [ "$NODE_READY" = "True" ]; then
    log "draining \${NODE_NAME}"
    drain_node "$NODE_NAME"
  else
    log "node \${NODE_NAME} is not Ready (\${NODE_READY:-Unknown}): not drained (its kubelet cannot confirm evictions); its pods go with the Node object"
  fi
  kubectl_ delete node "$NODE_NAME" --wait=false --ignore-not-found
  log "deleted node \${NODE_NAME}"
fi
kubectl_ -n kube-system delete secret "\${NODE_NAME}.node-password.k3s" --ignore-not-found
log "done"
`;
}
