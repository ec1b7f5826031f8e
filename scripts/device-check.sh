#!/usr/bin/env bash
# Read-only check of the power agent on a real NVIDIA machine: QUERIES ONLY.
# It never runs a setter (no -pl, -pm, -r, -ac, -lgc, -e, -c, ...): every nvidia-smi call below
# is a query, and the agent runs with --dry-run --once (which never runs -pl or -pm and never
# writes to an API) against an API address that refuses connections (127.0.0.1:1), so it uses the
# safe cap (none here: each GPU's minimum) as its target and only reports what it would do.
# Installs nothing; needs no network. Output: stdout, and $OUT/device-check.txt when OUT is set.
#
#   bash scripts/device-check.sh            # from the repository root
set -u
cd "$(dirname "$0")/.." || exit 1
out="${OUT:-.}/device-check.txt"
exec > >(tee "$out") 2>&1

FIELDS="index,uuid,power.limit,enforced.power.limit,power.min_limit,power.max_limit,power.default_limit,power.draw,persistence_mode,name"
run() {
  printf '\n$ %s\n' "$*"
  "$@"
  printf 'rc=%s\n' "$?"
}

date -u
run nvidia-smi --version
# The agent's exact query (src/runtime/power-agent/smi.ts GPU_QUERY_FIELDS).
run nvidia-smi "--query-gpu=$FIELDS" --format=csv,noheader,nounits
run nvidia-smi "--query-gpu=$FIELDS" --format=csv
run nvidia-smi -q -d POWER

NODE_BIN="$(command -v node || true)"
if [ -z "$NODE_BIN" ]; then
  echo "node: not installed; the raw CSV above is what the parser test takes."
  exit 0
fi
run "$NODE_BIN" --version
# The committed bundle has no dependency and runs on Node >= 20.
run "$NODE_BIN" bundle/runtime.mjs power-agent --node "$(hostname)" --dry-run --once \
  --kube-api http://127.0.0.1:1 --safe-cap-file /nonexistent/gpu-power-cap
exit 0
