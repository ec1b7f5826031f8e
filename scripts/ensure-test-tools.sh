#!/usr/bin/env bash
# npm's pretest hook: the programs the tests call, present before a single test runs.
#   - shellcheck: lints every rendered host script (render-*.test.ts)
#   - chromium: renders the HTML report in the browser test (report-browser.test.ts)
#   - openssh-server: sshd for the host harness (bootstraps run over real SSH on loopback)
#   - curl: the rendered bootstrap downloads with it, also inside the host harness
# Missing ones are installed from the distribution's packages when we may (root, or
# passwordless sudo as on CI runners); otherwise this fails at once with the one command to
# run, instead of tests failing or skipping one by one later.
# MINE2HPC_SKIP_TOOL_CHECK=1 skips the check (the tests that need a tool then fail or skip).
set -euo pipefail

[ "${MINE2HPC_SKIP_TOOL_CHECK:-}" = "1" ] && { echo "pretest: tool check skipped (MINE2HPC_SKIP_TOOL_CHECK=1)"; exit 0; }

chromium_bin="${MINE2HPC_CHROMIUM:-/usr/bin/chromium}"
# shellcheck disable=SC1091 # a system file, read for its ID only
distro="$( (. /etc/os-release 2>/dev/null && echo "${ID:-}") || true)"

missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
[ -x "$chromium_bin" ] || missing+=(chromium)
{ command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ]; } || missing+=(openssh-server)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ ${#missing[@]} -eq 0 ] && exit 0

# Ubuntu's chromium package is a snap wrapper, which does not run in containers or CI images.
if [ "$distro" = "ubuntu" ] && [[ " ${missing[*]} " == *" chromium "* ]] && [ -z "${MINE2HPC_CHROMIUM:-}" ]; then
  echo "pretest: $chromium_bin is missing, and Ubuntu packages Chromium only as a snap." >&2
  echo "  fix: npx playwright-core install --with-deps chromium, then run the tests with" >&2
  echo "       MINE2HPC_CHROMIUM=\"\$(ls -d ~/.cache/ms-playwright/chromium-*/chrome-linux/chrome | tail -1)\" npm test" >&2
  exit 1
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "pretest: programs the tests need are not installed (${missing[*]}), and installing them needs root." >&2
    echo "  fix: sudo apt-get install -y ${missing[*]}" >&2
    echo "       (then run npm test again; MINE2HPC_SKIP_TOOL_CHECK=1 npm test runs without them, and the tests that need them fail or skip)" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "pretest: programs the tests need are not installed (${missing[*]}), and there is no apt-get to install them with." >&2
  echo "  fix: install ${missing[*]} with the system's package manager, then run npm test again." >&2
  exit 1
fi
echo "pretest: installing ${missing[*]} with apt-get (the tests call them)"
"${as_root[@]}" apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
