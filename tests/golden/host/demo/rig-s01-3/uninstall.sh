#!/usr/bin/env bash
# mine2hpc k3s uninstall for rig-s01-3 (k3s agent) in site demo.
# Generated from the site plan by mine2hpc: edit the site, not this script.
# Runs as root (HostBootstrap wraps it in `sudo -n bash -c` for non-root SSH users).
# stdin: remote.Command passes the stdin of the last create/update; line 1 (the token) is skipped.
# Lines 2.. (optional): an admin kubeconfig to drain this agent with. Agents hold only kubelet
# credentials, which cannot cordon or evict; without it the node is uninstalled undrained.
set -euo pipefail
umask 077

NODE_NAME='rig-s01-3'
K3S_BIN='/usr/local/bin/k3s'
UNINSTALL='/usr/local/bin/k3s-agent-uninstall.sh'
DRAIN_TIMEOUT='300s'

log() { printf 'mine2hpc[%s]: %s\n' "$NODE_NAME" "$*"; }
die() { printf 'mine2hpc[%s]: error: %s\n' "$NODE_NAME" "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  die "must run as root: run it as 'sudo -n bash -c <script>' (HostBootstrap does this for non-root SSH users)"
fi

if [ ! -t 0 ]; then
  IFS= read -r _ || true
fi

if [ ! -x "$UNINSTALL" ]; then
  log "k3s is not installed (no ${UNINSTALL}): nothing to do"
  exit 0
fi

# drain_and_delete: evict the node's pods, then remove the Node object (on servers this also
# removes the etcd member). Skipped with a message when the API does not answer or the node
# never registered; fails, leaving k3s installed, when the drain itself does not finish.
drain_and_delete() {
  if ! kubectl_ get --raw /readyz >/dev/null 2>&1; then
    log "warning: the Kubernetes API does not answer: skipping drain of ${NODE_NAME}"
    return 0
  fi
  if ! kubectl_ get node "$NODE_NAME" >/dev/null 2>&1; then
    log "node ${NODE_NAME} is not registered: nothing to drain"
    return 0
  fi
  log "draining ${NODE_NAME}"
  if ! kubectl_ drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout="$DRAIN_TIMEOUT"; then
    die "drain of ${NODE_NAME} did not finish within ${DRAIN_TIMEOUT} (a PodDisruptionBudget or a stuck pod blocks it); k3s is still installed. Fix the blocker or drain by hand, then run pulumi up again"
  fi
  kubectl_ delete node "$NODE_NAME" --wait=false
}

ADMIN_KUBECONFIG=''
if [ ! -t 0 ]; then
  ADMIN_KUBECONFIG="$(cat)"
fi
if [ -n "$ADMIN_KUBECONFIG" ]; then
  KUBECONFIG_FILE="$(mktemp /tmp/mine2hpc-kubeconfig.XXXXXX)"
  trap 'rm -f "$KUBECONFIG_FILE"' EXIT
  printf '%s\n' "$ADMIN_KUBECONFIG" >"$KUBECONFIG_FILE"
  unset ADMIN_KUBECONFIG
  kubectl_() { KUBECONFIG="$KUBECONFIG_FILE" "$K3S_BIN" kubectl --request-timeout=30s "$@"; }
  drain_and_delete
else
  log "warning: no admin kubeconfig on stdin: ${NODE_NAME} is not drained (an agent cannot evict its own pods) and its Node object stays; run 'kubectl delete node ${NODE_NAME}' afterwards"
fi

log "uninstalling k3s"
"$UNINSTALL"
log "done"
