#!/usr/bin/env bash
# mine2hpc k3s uninstall for cp-1 (k3s server) in site demo.
# Generated from the site plan by mine2hpc: edit the site, not this script.
# Runs as root (HostBootstrap wraps it in `sudo -n bash -c` for non-root SSH users).
# stdin: not read (remote.Command replays the bootstrap's stdin, the join tokens, which the uninstall does not need).
set -euo pipefail
umask 077

NODE_NAME='cp-1'
K3S_BIN='/usr/local/bin/k3s'
UNINSTALL='/usr/local/bin/k3s-uninstall.sh'
DRAIN_SECONDS=300

log() { printf 'mine2hpc[%s]: %s\n' "$NODE_NAME" "$*"; }
die() { printf 'mine2hpc[%s]: error: %s\n' "$NODE_NAME" "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  die "must run as root: run it as 'sudo -n bash -c <script>' (HostBootstrap does this for non-root SSH users)"
fi

# One mine2hpc script at a time on this host (flock(1), util-linux).
command -v flock >/dev/null 2>&1 || die "flock is required to keep two mine2hpc scripts from running at once on this host: install it (apt-get install util-linux)"
exec 9<>/run/mine2hpc.lock
if ! flock -w 60 9; then
  die "another mine2hpc script holds /run/mine2hpc.lock on $(uname -n) (pid $(cat /run/mine2hpc.lock 2>/dev/null || echo unknown)) and did not end within 60 s; wait for it or check for a stuck run; nothing was changed"
fi
printf '%s %s of %s\n' "$$" 'k3s uninstall' "$NODE_NAME" >/run/mine2hpc.lock

exec </dev/null

if [ ! -x "$UNINSTALL" ]; then
  log "k3s is not installed (no ${UNINSTALL}): nothing to do"
  exit 0
fi

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
      die "the Kubernetes API refused the admin credentials of this server (${out}): renew them (k3s certificate rotate) and run again; nothing was removed" ;;
    *"(NotFound)"*)
      NODE_READY="absent"
      return 0 ;;
  esac
  API_ERROR="$out"
  return 1
}

# drain_node NAME: evicts its pods (PodDisruptionBudgets respected), bounded by DRAIN_TIMEOUT.
drain_node() {
  if ! timeout --kill-after=5 $((DRAIN_SECONDS + 60)) "$K3S_BIN" kubectl --request-timeout=30s drain "$1" \
      --ignore-daemonsets --delete-emptydir-data --timeout="${DRAIN_SECONDS}s"; then
    die "drain of $1 did not finish within ${DRAIN_SECONDS} s (a PodDisruptionBudget or a stuck pod blocks it); nothing was removed. Fix the blocker or drain by hand, then run pulumi up again"
  fi
}

# A server drains and deletes its own node (which also removes its etcd member) with its own
# admin credentials. When its API does not answer, the node is left for the server-side removal.
if node_status "$NODE_NAME"; then
  if [ "$NODE_READY" = "absent" ]; then
    log "node ${NODE_NAME} is not registered: nothing to drain"
  else
    log "draining ${NODE_NAME}"
    kubectl_ cordon "$NODE_NAME" >/dev/null
    drain_node "$NODE_NAME"
    kubectl_ delete node "$NODE_NAME" --wait=false
  fi
else
  log "warning: the local Kubernetes API does not answer (${API_ERROR}): ${NODE_NAME} is not drained; remove it from another server (mine2hpc's server-side removal)"
fi

log "uninstalling k3s"
timeout --kill-after=10 300 "$UNINSTALL" || die "the k3s uninstaller failed or ran longer than 300 s"
log "done"
