#!/usr/bin/env bash
# mine2hpc k3s uninstall for h100-01 (k3s agent) in site permian-hall-2.
# Generated from the site plan by mine2hpc: edit the site, not this script.
# Runs as root (HostBootstrap wraps it in `sudo -n bash -c` for non-root SSH users).
# stdin: not read (remote.Command replays the bootstrap's stdin, the join tokens, which the uninstall does not need).
set -euo pipefail
umask 077

NODE_NAME='h100-01'
UNINSTALL='/usr/local/bin/k3s-agent-uninstall.sh'

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
  rm -f /usr/local/sbin/mine2hpc-uninstall
  log "k3s is not installed (no ${UNINSTALL}): nothing to do"
  exit 0
fi

# An agent holds no admin credentials (kubelet credentials cannot cordon or evict): mine2hpc
# drains and deletes it from the first server before this runs (server-side removal).

# --- GPU power limits back to their defaults ---------------------------------------------
# The power agent keeps caps when it stops (a restarted pod must not put full TDP on a planned
# circuit); leaving the cluster is the one place the defaults come back. Best effort: a GPU
# that does not take it is reported, not fatal. Only when this bootstrap left a cap file, so a
# second uninstall does nothing.
nvsmi() {
  if command -v nvidia-smi >/dev/null 2>&1; then
    timeout 30 nvidia-smi "$@"
  elif [ -x /run/nvidia/driver/usr/bin/nvidia-smi ]; then
    timeout 30 chroot /run/nvidia/driver nvidia-smi "$@"
  else
    echo "nvidia-smi not found (neither on the host nor in the GPU operator's driver root)"
    return 127
  fi
}
if [ -f /etc/mine2hpc/gpu-power-cap ]; then
  if GPU_DEFAULTS="$(nvsmi --query-gpu=index,power.default_limit --format=csv,noheader,nounits </dev/null 2>&1)"; then
    while IFS=', ' read -r gpu_index gpu_default; do
      [ -n "$gpu_index" ] || continue
      gpu_default="${gpu_default%%.*}"
      if nvsmi -i "$gpu_index" -pl "$gpu_default" </dev/null >/dev/null 2>&1; then
        log "GPU ${gpu_index}: power limit back to its default ${gpu_default} W"
      else
        log "warning: GPU ${gpu_index}: could not restore the default power limit ${gpu_default} W: run nvidia-smi -i ${gpu_index} -pl ${gpu_default}"
      fi
    done <<<"$GPU_DEFAULTS"
  else
    log "warning: could not read the GPUs' default power limits (${GPU_DEFAULTS}): restore them by hand with nvidia-smi -pl"
  fi
  rm -f /etc/mine2hpc/gpu-power-cap
fi
if [ -f /etc/systemd/system/mine2hpc-gpu-safe-cap.service ]; then
  timeout 30 systemctl disable mine2hpc-gpu-safe-cap.service >/dev/null 2>&1 || true
  rm -f /etc/systemd/system/mine2hpc-gpu-safe-cap.service
  timeout 30 systemctl daemon-reload || true
  log "removed mine2hpc-gpu-safe-cap.service"
fi

log "uninstalling k3s"
timeout --kill-after=10 300 "$UNINSTALL" || die "the k3s uninstaller failed or ran longer than 300 s"
rm -f /usr/local/sbin/mine2hpc-uninstall
log "done"
