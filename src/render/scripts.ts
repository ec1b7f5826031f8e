/**
 * Host scripts run over SSH by the HostBootstrap component (`@pulumi/command` remote.Command):
 * the bootstrap (`create`/`update`) and the uninstall (`delete`).
 *
 * Contract with the component:
 * - Both scripts must run as root. The component runs them through `remoteScriptCommand`
 *   (src/components/remote-script.ts): base64 in the command string, `sudo -n bash -c` for a
 *   non-root SSH user (passwordless sudo required; `-n` fails at once instead of hanging on a
 *   prompt). The script text travels in the command, so STDIN stays free for the secret.
 * - STDIN, first line: the k3s cluster token (the component's secret `stdin` input). The
 *   bootstrap writes it to the 0600 token file and never prints it; no secret is ever part of
 *   the rendered text, so the text can be hashed, diffed and kept in golden files.
 * - remote.Command runs `delete` with the stdin stored from the last create/update (the
 *   provider's Delete runs the same function as create on the saved state, Stdin included).
 *   The uninstall script therefore skips line 1 (the token). On agents, lines 2.. may carry
 *   an admin kubeconfig used to drain the node first: an agent has only kubelet credentials,
 *   which cannot cordon or evict. Without that kubeconfig the agent is uninstalled undrained,
 *   with a message saying so.
 *
 * The bootstrap is idempotent: files are written only when their content differs, k3s is
 * installed only when the pinned version (or its unit) is missing, and the service restarts
 * only when its config or token changed.
 */
import type { FarmPlan, PlannedNode } from "../plan/types.js";
import { findK3sNode, renderK3sConfig, K3S_CONFIG_PATH, K3S_TOKEN_PATH } from "./k3s.js";

/** Installer the bootstrap downloads (the official k3s install script). */
export const K3S_INSTALLER_URL = "https://get.k3s.io";
/** How long a server waits for its own node to register or become Ready, in s. */
export const NODE_READY_TIMEOUT_SECONDS = 300;
/** `kubectl drain --timeout` of the uninstall script, in s. */
export const DRAIN_TIMEOUT_SECONDS = 300;

/** Heredoc delimiter of the embedded config; quoted in the script so bash expands nothing inside. */
const CONFIG_DELIMITER = "MINE2HPC_K3S_CONFIG";

/** Single-quotes a string for POSIX shells (`'` becomes `'\''`). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function serviceName(node: PlannedNode): string {
  return node.k3sRole === "server" ? "k3s" : "k3s-agent";
}

function header(plan: FarmPlan, node: PlannedNode, what: string): string {
  return [
    "#!/usr/bin/env bash",
    `# mine2hpc ${what} for ${node.hostname} (k3s ${node.k3sRole}) in site ${plan.site.name}.`,
    "# Generated from the site plan by mine2hpc: edit the site, not this script.",
    "# Runs as root (HostBootstrap wraps it in `sudo -n bash -c` for non-root SSH users).",
    "",
  ].join("\n");
}

const COMMON_FUNCTIONS = `log() { printf 'mine2hpc[%s]: %s\\n' "$NODE_NAME" "$*"; }
die() { printf 'mine2hpc[%s]: error: %s\\n' "$NODE_NAME" "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  die "must run as root: run it as 'sudo -n bash -c <script>' (HostBootstrap does this for non-root SSH users)"
fi
`;

/** A quoted heredoc writing `lines` through write_file. */
function writeFileBlock(path: string, mode: string, lines: string[]): string {
  return `write_file ${path} ${mode} <<'EOF'\n${lines.join("\n")}\nEOF\n`;
}

function hostPrerequisites(plan: FarmPlan, node: PlannedNode): string {
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
  if (node.gpu !== undefined && plan.gpuOperator.driverMode === "container") {
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
if grep -q '^nouveau ' /proc/modules; then
  if modprobe -r nouveau 2>/dev/null; then
    log "nouveau unloaded"
  else
    log "warning: nouveau is loaded and in use: reboot \${NODE_NAME} before the GPU operator can load the NVIDIA driver"
  fi
fi
`;
  } else if (node.gpu !== undefined) {
    text += `
# driverMode host: the NVIDIA driver must already be installed on this machine.
if ! command -v nvidia-smi >/dev/null 2>&1; then
  log "warning: nvidia-smi not found: install the NVIDIA driver on \${NODE_NAME} (driverMode host: the GPU operator will not install it)"
fi
`;
  }
  return text;
}

function waitForNode(plan: FarmPlan, node: PlannedNode): string {
  if (node.k3sRole === "agent") {
    return `
# Agents hold no API credentials; an active service means the agent joined (Type=notify unit).
if ! systemctl is-active --quiet "$K3S_SERVICE"; then
  die "\${K3S_SERVICE} is not running: see journalctl -u \${K3S_SERVICE}"
fi
`;
  }
  if (plan.network.cni === "cilium") {
    return `
# With Cilium the node stays NotReady until KubePlatform installs the CNI, so wait only for
# the node to register.
log "waiting for node \${NODE_NAME} to register (Ready follows once Cilium is installed)"
deadline=$((SECONDS + ${NODE_READY_TIMEOUT_SECONDS}))
until "$K3S_BIN" kubectl get node "$NODE_NAME" >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "node \${NODE_NAME} not registered after ${NODE_READY_TIMEOUT_SECONDS} s: see journalctl -u \${K3S_SERVICE}"
  fi
  sleep 5
done
`;
  }
  return `
log "waiting for node \${NODE_NAME} to be Ready"
deadline=$((SECONDS + ${NODE_READY_TIMEOUT_SECONDS}))
until [ "$("$K3S_BIN" kubectl get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)" = "True" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "node \${NODE_NAME} not Ready after ${NODE_READY_TIMEOUT_SECONDS} s: see journalctl -u \${K3S_SERVICE}"
  fi
  sleep 5
done
`;
}

/**
 * Bootstrap script for `hostname`: host prerequisites, token and config, k3s install pinned
 * to `plan.kubernetes.version`, and a wait for the node. Reads the token from stdin line 1.
 */
export function renderBootstrapScript(plan: FarmPlan, hostname: string): string {
  const node = findK3sNode(plan, hostname);
  const config = renderK3sConfig(plan, hostname);
  if (config.split("\n").includes(CONFIG_DELIMITER)) {
    throw new Error(`node "${hostname}": the k3s config contains the heredoc delimiter line ${CONFIG_DELIMITER}; rename the label or taint that produces it.`);
  }
  return `${header(plan, node, "host bootstrap")}# stdin, first line: the k3s cluster token. It is written to ${K3S_TOKEN_PATH} and never printed.
# Idempotent: with the same plan and token a second run writes nothing and restarts nothing.
set -euo pipefail
umask 077

NODE_NAME=${shellQuote(node.hostname)}
K3S_ROLE=${shellQuote(node.k3sRole)}
K3S_VERSION=${shellQuote(plan.kubernetes.version)}
K3S_SERVICE=${shellQuote(serviceName(node))}
K3S_BIN='/usr/local/bin/k3s'
CONFIG_FILE=${shellQuote(K3S_CONFIG_PATH)}
TOKEN_FILE=${shellQuote(K3S_TOKEN_PATH)}

${COMMON_FUNCTIONS}
K3S_TOKEN=''
IFS= read -r K3S_TOKEN || true
if [ -z "$K3S_TOKEN" ]; then
  die "no k3s token on stdin: pass the cluster token as the first line of standard input (HostBootstrap sets it as the secret stdin of its remote.Command)"
fi
# Agents get the admin kubeconfig on the following lines (for the uninstall's drain): no
# command below may read it, so standard input is closed here.
exec </dev/null

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
${hostPrerequisites(plan, node)}
# --- k3s token and configuration --------------------------------------------------------
RESTART=0
install -d -m 0755 /etc/rancher /etc/rancher/k3s
write_file "$TOKEN_FILE" 0600 <<<"$K3S_TOKEN"
unset K3S_TOKEN
if [ "$CHANGED" -eq 1 ]; then RESTART=1; fi

write_file "$CONFIG_FILE" 0600 <<'${CONFIG_DELIMITER}'
${config}${CONFIG_DELIMITER}
if [ "$CHANGED" -eq 1 ]; then
  RESTART=1
  log "wrote \${CONFIG_FILE}"
fi

# --- k3s install, pinned ----------------------------------------------------------------
CURRENT_VERSION=''
if [ -x "$K3S_BIN" ]; then
  CURRENT_VERSION="$("$K3S_BIN" --version 2>/dev/null | awk 'NR == 1 { print $3 }' || true)"
fi
if [ "$CURRENT_VERSION" != "$K3S_VERSION" ] || [ ! -f "/etc/systemd/system/\${K3S_SERVICE}.service" ]; then
  command -v curl >/dev/null 2>&1 || die "curl is required to download the k3s installer: install it (apt-get install curl)"
  log "installing k3s \${K3S_VERSION} as \${K3S_ROLE} (installed: \${CURRENT_VERSION:-none})"
  # Downloaded first, then run: a truncated download fails here instead of running half a script.
  installer="$(mktemp /tmp/k3s-install.XXXXXX)"
  curl -sfL --retry 3 -o "$installer" ${K3S_INSTALLER_URL}
  INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_EXEC="$K3S_ROLE" sh "$installer"
  rm -f "$installer"
elif [ "$RESTART" -eq 1 ]; then
  log "configuration changed: restarting \${K3S_SERVICE}"
  systemctl restart "$K3S_SERVICE"
elif ! systemctl is-active --quiet "$K3S_SERVICE"; then
  log "starting \${K3S_SERVICE}"
  systemctl start "$K3S_SERVICE"
else
  log "k3s \${K3S_VERSION} installed, configuration unchanged"
fi
${waitForNode(plan, node)}
log "done"
`;
}

const DRAIN_FUNCTION = `
# drain_and_delete: evict the node's pods, then remove the Node object (on servers this also
# removes the etcd member). Skipped with a message when the API does not answer or the node
# never registered; fails, leaving k3s installed, when the drain itself does not finish.
drain_and_delete() {
  if ! kubectl_ get --raw /readyz >/dev/null 2>&1; then
    log "warning: the Kubernetes API does not answer: skipping drain of \${NODE_NAME}"
    return 0
  fi
  if ! kubectl_ get node "$NODE_NAME" >/dev/null 2>&1; then
    log "node \${NODE_NAME} is not registered: nothing to drain"
    return 0
  fi
  log "draining \${NODE_NAME}"
  if ! kubectl_ drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout="$DRAIN_TIMEOUT"; then
    die "drain of \${NODE_NAME} did not finish within \${DRAIN_TIMEOUT} (a PodDisruptionBudget or a stuck pod blocks it); k3s is still installed. Fix the blocker or drain by hand, then run pulumi up again"
  fi
  kubectl_ delete node "$NODE_NAME" --wait=false
}
`;

/**
 * Uninstall script for `hostname`, run by remote.Command `delete`: drain and delete the node
 * where credentials allow (always on servers; on agents only with an admin kubeconfig on
 * stdin lines 2..), then the k3s uninstall script the installer left. A no-op when k3s is
 * not installed.
 */
export function renderUninstallScript(plan: FarmPlan, hostname: string): string {
  const node = findK3sNode(plan, hostname);
  const server = node.k3sRole === "server";
  const uninstaller = server ? "/usr/local/bin/k3s-uninstall.sh" : "/usr/local/bin/k3s-agent-uninstall.sh";
  const stdinDoc = server
    ? "# stdin: remote.Command passes the stdin of the last create/update; line 1 (the token) is skipped.\n"
    : "# stdin: remote.Command passes the stdin of the last create/update; line 1 (the token) is skipped.\n" +
      "# Lines 2.. (optional): an admin kubeconfig to drain this agent with. Agents hold only kubelet\n" +
      "# credentials, which cannot cordon or evict; without it the node is uninstalled undrained.\n";
  const drain = server
    ? `kubectl_() { "$K3S_BIN" kubectl --request-timeout=30s "$@"; }
drain_and_delete
`
    : `ADMIN_KUBECONFIG=''
if [ ! -t 0 ]; then
  ADMIN_KUBECONFIG="$(cat)"
fi
if [ -n "$ADMIN_KUBECONFIG" ]; then
  KUBECONFIG_FILE="$(mktemp /tmp/mine2hpc-kubeconfig.XXXXXX)"
  trap 'rm -f "$KUBECONFIG_FILE"' EXIT
  printf '%s\\n' "$ADMIN_KUBECONFIG" >"$KUBECONFIG_FILE"
  unset ADMIN_KUBECONFIG
  kubectl_() { KUBECONFIG="$KUBECONFIG_FILE" "$K3S_BIN" kubectl --request-timeout=30s "$@"; }
  drain_and_delete
else
  log "warning: no admin kubeconfig on stdin: \${NODE_NAME} is not drained (an agent cannot evict its own pods) and its Node object stays; run 'kubectl delete node \${NODE_NAME}' afterwards"
fi
`;
  return `${header(plan, node, "k3s uninstall")}${stdinDoc}set -euo pipefail
umask 077

NODE_NAME=${shellQuote(node.hostname)}
K3S_BIN='/usr/local/bin/k3s'
UNINSTALL=${shellQuote(uninstaller)}
DRAIN_TIMEOUT='${DRAIN_TIMEOUT_SECONDS}s'

${COMMON_FUNCTIONS}
if [ ! -t 0 ]; then
  IFS= read -r _ || true
fi

if [ ! -x "$UNINSTALL" ]; then
  log "k3s is not installed (no \${UNINSTALL}): nothing to do"
  exit 0
fi
${DRAIN_FUNCTION}
${drain}
log "uninstalling k3s"
"$UNINSTALL"
log "done"
`;
}
