#!/usr/bin/env bash
# mine2hpc bootstrap steps of every k3s agent without GPUs in site permian-hall-1.
# Generated from the site plan by mine2hpc: edit the site, not this file. Run as root by each
# agent's host file, with its settings (NODE_NAME, K3S_CONFIG, …) in the environment, once its
# sha256 was checked. stdin: the agent token (see the host file).
set -euo pipefail
umask 077

K3S_ROLE='agent'
K3S_SERVICE='k3s-agent'
K3S_BIN='/usr/local/bin/k3s'
CONFIG_FILE='/etc/rancher/k3s/config.yaml'
TOKEN_FILE='/etc/rancher/k3s/token'
START_TIMEOUT=300

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
printf '%s %s of %s\n' "$$" 'host bootstrap' "$NODE_NAME" >/run/mine2hpc.lock

K3S_TOKEN=''
IFS= read -r K3S_TOKEN || true
if [ -z "$K3S_TOKEN" ]; then
  die "no k3s token on stdin: pass the join token as the first line of standard input (HostBootstrap sets it as the secret stdin of its remote.Command)"
fi
case "$K3S_TOKEN" in
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
  K10*::*) K3S_CA_HASH="${K3S_TOKEN#K10}"; K3S_CA_HASH="${K3S_CA_HASH%%::*}" ;;
esac

# write_file PATH MODE: writes stdin to PATH with MODE when the content differs.
# Sets CHANGED=1 when it wrote the file, CHANGED=0 when the file already had this content.
CHANGED=0
write_file() {
  local path="$1" mode="$2" tmp
  tmp="$(mktemp "${path}.mine2hpc.XXXXXX")"
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

# The uninstall HostBootstrap's delete runs on this machine: installed here, not kept in Pulumi's
# state once per machine. No secret in it; readable, so a non-root SSH user can start it (it
# runs itself again through sudo -n).
install -d -m 0755 /usr/local/sbin
write_file /usr/local/sbin/mine2hpc-uninstall 0755 < <(printf '#!/usr/bin/env bash\n# mine2hpc k3s uninstall of %s, installed by its bootstrap.\nNODE_NAME=%q\n' "$NODE_NAME" "$NODE_NAME"; cat <<'MINE2HPC_UNINSTALL'
# Runs itself again as root (sudo -n for a non-root SSH user) under a 960 s deadline.
if [ -z "${M2H_DEADLINE:-}" ]; then
  if [ "$(id -u)" = 0 ]; then set --; else set -- sudo -n; fi
  M2H_RC=0
  "$@" env M2H_DEADLINE=960 timeout -k 30 960 bash "$0" </dev/null || M2H_RC=$?
  if [ "$M2H_RC" -eq 124 ] || [ "$M2H_RC" -eq 137 ]; then
    echo "mine2hpc: mine2hpc-uninstall did not finish within 960 s and was stopped" >&2
  fi
  exit "$M2H_RC"
fi
# stdin: not read.
set -euo pipefail
umask 077

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

log "uninstalling k3s"
timeout --kill-after=10 300 "$UNINSTALL" || die "the k3s uninstaller failed or ran longer than 300 s"
rm -f /usr/local/sbin/mine2hpc-uninstall
log "done"
MINE2HPC_UNINSTALL
)

# k3s_hint JOURNAL: one line naming the likely cause, matched on k3s's own log messages.
k3s_hint() {
  case "$1" in
    *"token CA hash does not match"*)
      echo "the join token pins another cluster CA (token CA hash does not match): the first server was re-installed or the token belongs to another cluster; re-read the CA hash from the first server and run pulumi up again" ;;
    *"Node password rejected"*)
      echo "the server rejected this node's password (Node password rejected): a machine named ${NODE_NAME} registered before, e.g. before a re-image; remove the old registration from the server side (Node object and secret ${NODE_NAME}.node-password.k3s in kube-system), then run pulumi up again" ;;
    *"401 Unauthorized"*)
      echo "the server refused the join token (401 Unauthorized): the token on stdin is not this cluster's agent (or server) token; check the stack's k3s token secrets" ;;
    *"failed to get CA certs"*|*"connection refused"*|*"i/o timeout"*|*"no route to host"*)
      echo "the k3s server cannot be reached (failed to get CA certs / connection refused / i/o timeout): check that the first server runs and that port 6443 is open from ${NODE_NAME}" ;;
    *)
      echo "no known cause found in the journal above: read it in full with journalctl -u ${K3S_SERVICE} on ${NODE_NAME}" ;;
  esac
}

# fail_start MESSAGE: prints the tail of the k3s journal and one hint, then exits non-zero.
fail_start() {
  local journal
  journal="$(timeout 15 journalctl -u "$K3S_SERVICE" -n 50 --no-pager 2>&1 || true)"
  printf '%s\n' "--- journalctl -u ${K3S_SERVICE} -n 50 ---" "$journal" "---" >&2
  printf 'mine2hpc[%s]: hint: %s\n' "$NODE_NAME" "$(k3s_hint "$journal")" >&2
  die "$1"
}

# start_k3s start|restart: the k3s unit is Type=notify with TimeoutStartSec=0, so systemctl
# blocks until k3s reports ready, without end if it never does: bounded by START_TIMEOUT.
start_k3s() {
  local rc=0
  timeout --kill-after=10 "$START_TIMEOUT" systemctl "$1" "$K3S_SERVICE" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    fail_start "${K3S_SERVICE} did not become ready within ${START_TIMEOUT} s (kubernetes.startTimeoutSeconds); it keeps retrying in the background"
  elif [ "$rc" -ne 0 ]; then
    fail_start "systemctl $1 ${K3S_SERVICE} failed (exit ${rc})"
  fi
  log "${K3S_SERVICE} is active"
}

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
write_file /etc/modules-load.d/mine2hpc-k3s.conf 0644 <<'EOF'
overlay
br_netfilter
EOF
modprobe overlay
modprobe br_netfilter

write_file /etc/sysctl.d/90-mine2hpc-k3s.conf 0644 <<'EOF'
net.bridge.bridge-nf-call-ip6tables = 1
net.bridge.bridge-nf-call-iptables = 1
net.ipv4.ip_forward = 1
EOF
sysctl -q -p /etc/sysctl.d/90-mine2hpc-k3s.conf

# --- k3s tokens and configuration -------------------------------------------------------
RESTART=0
install -d -m 0755 /etc/rancher /etc/rancher/k3s
write_file "$TOKEN_FILE" 0600 <<<"$K3S_TOKEN"
unset K3S_TOKEN
if [ "$CHANGED" -eq 1 ]; then RESTART=1; fi

write_file "$CONFIG_FILE" 0600 <<<"$K3S_CONFIG"
if [ "$CHANGED" -eq 1 ]; then
  RESTART=1
  log "wrote ${CONFIG_FILE}"
fi

# No registry mirror: remove a registries.yaml mine2hpc wrote before (a mirror taken out of the site).
if [ -f /etc/rancher/k3s/registries.yaml ] && grep -q '^# Generated by mine2hpc' /etc/rancher/k3s/registries.yaml; then
  rm -f /etc/rancher/k3s/registries.yaml
  RESTART=1
  log "removed /etc/rancher/k3s/registries.yaml (the site has no registry mirror any more)"
fi

# --- k3s install, pinned ----------------------------------------------------------------
# cluster_k3s_version: prints the k3s version the cluster stack published for new machines.
cluster_k3s_version() {
  local ca="$work/cacerts" got cert v
  [ -n "$K3S_CA_HASH" ] || die "the join token has no CA hash (not in K10 format): the first server cannot be checked before the k3s version is read from it"
  curl -fsSk --connect-timeout 20 --max-time 60 --retry 2 -o "$ca" "$M2H_SERVER/cacerts" </dev/null \
    || die "could not read the cluster CA from ${M2H_SERVER}/cacerts within 60 s: check that the first server runs and that port 6443 is open from ${NODE_NAME}"
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
    die "the CA served by ${M2H_SERVER} is not the one the join token pins by its sha256; with a custom CA the token pins its root's DER, which needs openssl on this host to check (apt-get install openssl); nothing was installed"
  fi
  [ "$got" = "$K3S_CA_HASH" ] || die "the CA served by ${M2H_SERVER} does not match the CA hash of the join token: another cluster or a re-installed first server answers there; nothing was installed"
  v="$(curl -fsS --cacert "$ca" --connect-timeout 20 --max-time 60 --retry 2 "$M2H_SERVER/static/mine2hpc/k3s-version" </dev/null)" \
    || die "could not read ${M2H_SERVER}/static/mine2hpc/k3s-version (the k3s version for new machines): run pulumi up on the cluster stack, then again here"
  [[ "$v" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-rc[0-9]+)?\+k3s[0-9]+$ ]] || die "${M2H_SERVER}/static/mine2hpc/k3s-version does not hold a k3s version; nothing was installed"
  printf '%s' "$v"
}

# fetch URL FILE MAX_SECONDS: bounded download (connect and per-attempt total timeouts, two retries).
fetch() {
  curl -fsSL --connect-timeout 20 --retry 2 --retry-delay 2 --max-time "$3" -o "$2" "$1" \
    || die "download of $1 failed or took longer than $3 s: check this host's route to it"
}
# verify_sha256 FILE NAME: the checksum of NAME in the release's checksum file (install.sh verify_binary).
verify_sha256() {
  local expected actual
  expected="$(awk -v f="$2" '$2 == f { print $1 }' "$work/sha256sums")"
  actual="$(sha256sum "$1" | cut -d ' ' -f 1)"
  if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
    die "sha256 of $2 is ${actual}, the release's checksum file says '${expected}': the download or the mirror is corrupt"
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
if [ -z "$CURRENT_VERSION" ] || [ ! -f "/etc/systemd/system/${K3S_SERVICE}.service" ]; then
  command -v curl >/dev/null 2>&1 || die "curl is required to download k3s: install it (apt-get install curl)"
  work="$(mktemp -d /tmp/mine2hpc-k3s.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  if [ -z "${K3S_VERSION:-}" ]; then K3S_VERSION="$(cluster_k3s_version)"; fi
  K3S_VERSION_URL="${K3S_VERSION//+/%2B}"
  log "installing k3s ${K3S_VERSION} as ${K3S_ROLE} (installed: ${CURRENT_VERSION:-none})"
  # The binary is downloaded and checked here, with deadlines; the installer then only writes
  # the unit and helper scripts (INSTALL_K3S_SKIP_DOWNLOAD=true, k3s install.sh) and does not
  # start k3s (INSTALL_K3S_SKIP_START=true): its own start would block without a deadline.
  fetch 'https://github.com/k3s-io/k3s/releases/download/'"$K3S_VERSION_URL"'/sha256sum-amd64.txt' "$work/sha256sums" 60
  fetch 'https://github.com/k3s-io/k3s/releases/download/'"$K3S_VERSION_URL"'/k3s' "$work/k3s" 900
  verify_sha256 "$work/k3s" k3s
  fetch 'https://get.k3s.io' "$work/install.sh" 60
  install -m 0755 "$work/k3s" "$K3S_BIN"
  INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_SKIP_START=true INSTALL_K3S_EXEC="$K3S_ROLE" \
    timeout --kill-after=10 120 sh "$work/install.sh" \
    || die "the k3s installer failed or ran longer than 120 s"
  rm -rf "$work"
  trap - EXIT
  RESTART=1
fi

if [ "$RESTART" -eq 1 ]; then
  log "starting ${K3S_SERVICE} (configuration, token or binary changed; deadline ${START_TIMEOUT} s)"
  start_k3s restart
elif ! timeout 30 systemctl is-active --quiet "$K3S_SERVICE"; then
  log "starting ${K3S_SERVICE} (deadline ${START_TIMEOUT} s)"
  start_k3s start
else
  log "k3s ${CURRENT_VERSION} installed, configuration unchanged"
fi

# Agents hold no API credentials; an active service means the agent joined (Type=notify:
# k3s notifies systemd once the kubelet runs, k3s PR #3430).
if ! timeout 30 systemctl is-active --quiet "$K3S_SERVICE"; then
  fail_start "${K3S_SERVICE} is not running"
fi

# --- planned labels (k3s sets node-label at registration only; later changes are set here) ---
# Server-side apply with this node's own kubelet credentials: NodeRestriction lets it change its
# own labels outside kubernetes.io/k8s.io, never its taints. The Node may register a little after
# the service is active: tries every 5 s until the start deadline.
if [ -n "$NODE_LABELS" ]; then
  deadline=$((SECONDS + START_TIMEOUT))
  until label_out="$(timeout --kill-after=5 30 "$K3S_BIN" kubectl --kubeconfig /var/lib/rancher/k3s/agent/kubelet.kubeconfig --request-timeout=20s apply --server-side --force-conflicts --field-manager=mine2hpc-bootstrap -f - <<<"$NODE_LABELS" 2>&1)"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      die "could not set the planned labels of node ${NODE_NAME} within ${START_TIMEOUT} s (kubernetes.startTimeoutSeconds): ${label_out}"
    fi
    sleep 5
  done
  log "${NODE_LABEL_COUNT} planned labels set"
fi

log "done"
