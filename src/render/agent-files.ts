/**
 * Agents' bootstrap files, published once on the first server instead of kept in each machine's
 * command (issue 11: a bootstrap command held its whole script twice in Pulumi's state, ~17 KB
 * per machine, written again at every checkpoint of an `up`).
 *
 * Three kinds of files, all in {@link PUBLISHED_DIR} on the first server, which k3s serves at
 * `https://<first server>:6443/static/mine2hpc/` (the URL agents already join):
 * - the bootstrap steps ({@link renderBootstrapSteps}), one file per variant (agents with or
 *   without GPUs), named by their sha256;
 * - one host file per agent ({@link renderAgentHostFile}): its settings (node name, k3s config,
 *   safe cap, labels) and the sha256 of the steps it runs, named by its own sha256;
 * - {@link K3S_VERSION_FILE}: the k3s version a machine without k3s installs (not part of any
 *   hashed file, so a version change re-runs no bootstrap).
 *
 * An agent's `remote.Command` holds only {@link agentFetchCommand}: the host file's sha256 and
 * URL. It fetches the host file, checks the sha256, and runs it; the host file fetches the steps
 * the same way. Every byte that runs was checked against a hash that came from Pulumi over SSH,
 * so the unauthenticated HTTP(S) read (k3s serves `/static/` to anyone, `curl -k`) cannot change
 * what runs; a wrong or missing file fails the bootstrap, naming the URL. The files hold no secret
 * (tokens travel on STDIN as before); the folder has an empty index.html so it is not listed, and a
 * host file is found only by its 64-hex name. A change to one host's settings changes only that
 * host's file, so only that host's command, so only that host is touched.
 */
import { createHash } from "node:crypto";
import type { FarmPlan, PlannedNode } from "../plan/types.js";
import { apiUrl, clusterInitNode, findK3sNode } from "./k3s.js";
import {
  commonFunctions,
  deadlineWrapper,
  renderBootstrapSteps,
  renderHostSettings,
  shellQuote,
  SMALL_FETCH_OPTIONS,
  K3S_VERSION_FILE,
  PUBLISHED_DIR,
  PUBLISHED_URL_PATH,
  PUBLISH_LOCK_PATH,
} from "./scripts.js";

/** Where an agent's bootstrap log is kept on the host (the previous run's as `.1`). */
export const AGENT_BOOTSTRAP_LOG = "/var/log/mine2hpc/bootstrap.log";
/** Lines of the log an agent's failed bootstrap prints (the journal tail and hint included). */
export const AGENT_LOG_TAIL_LINES = 80;

/** sha256 hex of a text (UTF-8). */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The first server's URL, which agents join and read their files from. */
export function publishingServerUrl(plan: FarmPlan): string {
  return apiUrl(clusterInitNode(plan).ip);
}

/** The bootstrap steps of agents with (or without) GPUs: the text, named by its sha256. */
export function agentSteps(plan: FarmPlan, gpu: boolean): { name: string; text: string } {
  const text = `#!/usr/bin/env bash
# mine2hpc bootstrap steps of every k3s agent ${gpu ? "with" : "without"} GPUs in site ${plan.site.name}.
# Generated from the site plan by mine2hpc: edit the site, not this file. Run as root by each
# agent's host file, with its settings (NODE_NAME, K3S_CONFIG, …) in the environment, once its
# sha256 was checked. stdin: the agent token (see the host file).
set -euo pipefail
umask 077

${renderBootstrapSteps(plan, "agent", gpu)}`;
  return { name: sha256Hex(text), text };
}

/**
 * The host file of agent `hostname`: the bootstrap it runs, apart from the shared steps. Runs as
 * the SSH user (the command fetched it into a temporary file), runs itself again as root under
 * the bootstrap's deadline, fetches the steps by sha256 and runs them with the host's settings.
 * Their output goes to {@link AGENT_BOOTSTRAP_LOG}; the command's output (kept in Pulumi's state)
 * is the warnings only on success (nothing when there are none), and the log's last
 * {@link AGENT_LOG_TAIL_LINES} lines (the journal tail and the hint included) and the log's path
 * on failure.
 */
export function renderAgentHostFile(plan: FarmPlan, hostname: string, deadlineSeconds: number): string {
  const node = findK3sNode(plan, hostname);
  if (node.k3sRole !== "agent") throw new Error(`node "${hostname}" is a k3s server: servers run their bootstrap inline`);
  const steps = agentSteps(plan, node.gpu !== undefined);
  const generation = node.generation;
  const stepsUrl = `"$M2H_SERVER"${shellQuote(`${PUBLISHED_URL_PATH}/`)}"$M2H_STEPS_SHA256"`;
  return `#!/usr/bin/env bash
# mine2hpc host bootstrap of ${node.hostname} (k3s agent) in site ${plan.site.name}: this host's settings, then
# the bootstrap steps every agent ${node.gpu !== undefined ? "with" : "without"} GPUs runs, read from the first server and checked.
# Generated from the site plan by mine2hpc: edit the site, not this file.
# stdin: one line, the k3s agent token (handed on to the steps, never printed).
${deadlineWrapper("mine2hpc-bootstrap", deadlineSeconds, "pass", true, AGENT_BOOTSTRAP_LOG)}set -euo pipefail
umask 077
${generation > 0 ? `# install generation ${generation}: a new generation runs the bootstrap again.\n` : ""}
${renderHostSettings(plan, hostname)}M2H_STEPS_SHA256=${steps.name}
# The steps run in their own bash (below), with these settings in their environment.
export NODE_NAME${node.gpu !== undefined ? " GPU_CAP_WATTS" : ""} M2H_SERVER K3S_CONFIG NODE_LABELS NODE_LABEL_COUNT

# The steps, checked against their sha256 before anything runs (k3s serves /static/ to anyone).
M2H_STEPS="$(mktemp /tmp/mine2hpc-steps.XXXXXX)"
if ! curl -fsSk ${SMALL_FETCH_OPTIONS} -o "$M2H_STEPS" ${stepsUrl} </dev/null; then
  rm -f "$M2H_STEPS"
  echo "mine2hpc[$NODE_NAME]: error: could not read the bootstrap steps $M2H_SERVER${PUBLISHED_URL_PATH}/$M2H_STEPS_SHA256: check that the first server runs, that port 6443 is open from here, and that pulumi up published them" >&2
  exit 1
fi
if [ "$(sha256sum "$M2H_STEPS" | cut -d ' ' -f 1)" != "$M2H_STEPS_SHA256" ]; then
  rm -f "$M2H_STEPS"
  echo "mine2hpc[$NODE_NAME]: error: the bootstrap steps read from $M2H_SERVER do not match their sha256 $M2H_STEPS_SHA256; nothing was run" >&2
  exit 1
fi
exec 8<"$M2H_STEPS"
rm -f "$M2H_STEPS"

# The full log stays on the host; what Pulumi keeps is its end.
install -d -m 0755 /var/log/mine2hpc
if [ -f ${AGENT_BOOTSTRAP_LOG} ]; then mv -f ${AGENT_BOOTSTRAP_LOG} ${AGENT_BOOTSTRAP_LOG}.1; fi
M2H_RC=0
bash /dev/fd/8 >${AGENT_BOOTSTRAP_LOG} 2>&1 || M2H_RC=$?
if [ "$M2H_RC" -ne 0 ]; then
  tail -n ${AGENT_LOG_TAIL_LINES} ${AGENT_BOOTSTRAP_LOG} >&2
  echo "mine2hpc[$NODE_NAME]: the bootstrap failed (exit $M2H_RC); the full log is ${AGENT_BOOTSTRAP_LOG} on $NODE_NAME" >&2
  exit "$M2H_RC"
fi
# Success prints the warnings only (nothing when there are none): what a command prints is kept
# in Pulumi's state, and handed to its next run as environment variables the SSH server usually
# refuses (pulumi-command addPreviousOutputInEnv, on by default).
grep -F ': warning: ' ${AGENT_BOOTSTRAP_LOG} || true
`;
}

/** A published file: its name in {@link PUBLISHED_DIR} and its text. */
export interface PublishedFile {
  name: string;
  text: string;
}

/**
 * Every file a stack publishes for `hostnames` (its agents that are not offline), sorted by
 * name: each host file, the steps they name, and (`withVersion`: the cluster stack) the k3s
 * version for new machines. Deterministic.
 */
export function agentPublication(plan: FarmPlan, hostnames: readonly string[], deadlineSeconds: number, withVersion: boolean): PublishedFile[] {
  const files = new Map<string, string>();
  for (const hostname of hostnames) {
    const node = findK3sNode(plan, hostname);
    const steps = agentSteps(plan, node.gpu !== undefined);
    files.set(steps.name, steps.text);
    const text = renderAgentHostFile(plan, hostname, deadlineSeconds);
    files.set(sha256Hex(text), text);
  }
  if (withVersion) files.set(K3S_VERSION_FILE, plan.kubernetes.version);
  return [...files].map(([name, text]) => ({ name, text })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Agents a stack publishes files for: those it holds that are not offline. */
export function publishedAgents(plan: FarmPlan, holds: (hostname: string) => boolean): PlannedNode[] {
  return plan.nodes.filter((n) => n.k3sRole === "agent" && holds(n.hostname) && n.state !== "offline");
}

/** Where an agent's command fetches its host file (`<this>/<sha256>`): the published folder on the first server. */
export function publishedBaseUrl(plan: FarmPlan): string {
  return `${publishingServerUrl(plan)}${PUBLISHED_URL_PATH}`;
}

/** Where the server keeps each stack's list of the files it published (outside what k3s serves). */
export const PUBLICATION_LISTS_DIR = "/var/lib/mine2hpc/publications";

/**
 * The script (run as root on the first server, through `remoteScriptCommand`) that puts a
 * stack's published files in place: the archive `archive` (in the SSH user's home, where
 * `remote.CopyToRemote` left it) is checked against the sha256 of its tar, unpacked, every file checked
 * (a 64-hex name must be the sha256 of its content; the only other names are
 * {@link K3S_VERSION_FILE} and index.html), installed in {@link PUBLISHED_DIR}, and listed as
 * this stack's. Files that no stack lists any more are removed. Takes its own lock
 * ({@link PUBLISH_LOCK_PATH}). Idempotent: the archive is kept for a run again.
 */
export function renderPublicationScript(plan: FarmPlan, opts: { sshUser: string; archive: string; archiveSha256: string; stackKey: string }): string {
  if (!/^[A-Za-z0-9._-]+$/.test(opts.stackKey)) throw new Error(`publication key '${opts.stackKey}' must be letters, digits, '.', '_' or '-'`);
  if (!/^[0-9a-f]{64}$/.test(opts.archiveSha256)) throw new Error("archive sha256 must be 64 hex digits");
  const first = clusterInitNode(plan);
  return `#!/usr/bin/env bash
# mine2hpc: the agents' bootstrap files of stack ${opts.stackKey} in site ${plan.site.name}, put in place on ${first.hostname}.
# Generated by mine2hpc. stdin: not read.
set -euo pipefail
umask 022

NODE_NAME=${shellQuote(first.hostname)}
${commonFunctions("publication", PUBLISH_LOCK_PATH)}exec </dev/null

home="$(getent passwd ${shellQuote(opts.sshUser)} | cut -d: -f6)"
archive="$home/"${shellQuote(opts.archive)}
[ -f "$archive" ] || die "the archive \${archive} is missing (remote.CopyToRemote copies it first); run pulumi up again"
[ "$(timeout 60 gzip -dc "$archive" | sha256sum | cut -d ' ' -f 1)" = ${shellQuote(opts.archiveSha256)} ] || die "the archive \${archive} does not unpack to the tar of sha256 ${opts.archiveSha256}; run pulumi up again"
install -d -m 0755 ${PUBLISHED_DIR} ${PUBLICATION_LISTS_DIR}
work="$(mktemp -d ${PUBLISHED_DIR}/../../.mine2hpc-publish.XXXXXX)"
trap 'rm -rf "$work"' EXIT
timeout 120 tar -xzf "$archive" -C "$work" --no-same-owner --no-same-permissions || die "could not unpack \${archive}"
list="$work/.list"
: >"$list"
count=0
for f in "$work"/*; do
  [ -f "$f" ] || continue
  name="\${f##*/}"
  case "$name" in
    ${K3S_VERSION_FILE}|index.html) ;;
    *)
      [[ "$name" =~ ^[0-9a-f]{64}$ ]] || die "unexpected file \${name} in the archive"
      [ "$(sha256sum "$f" | cut -d ' ' -f 1)" = "$name" ] || die "\${name} in the archive does not match its name (sha256)" ;;
  esac
  chmod 0644 "$f"
  mv -f "$f" ${PUBLISHED_DIR}/"$name"
  printf '%s\\n' "$name" >>"$list"
  count=$((count + 1))
done
# An empty index.html: the folder is not listed (http.FileServer serves index.html for a folder).
[ -f ${PUBLISHED_DIR}/index.html ] || install -m 0644 /dev/null ${PUBLISHED_DIR}/index.html
mv -f "$list" ${PUBLICATION_LISTS_DIR}/${opts.stackKey}.list
# Files no stack lists any more (an old version of a host file or of the steps) go.
find ${PUBLISHED_DIR} -maxdepth 1 -type f ! -name index.html -printf '%f\\n' | LC_ALL=C sort >"$work/present"
LC_ALL=C sort -u ${PUBLICATION_LISTS_DIR}/*.list >"$work/listed"
removed=0
while IFS= read -r name; do
  rm -f ${PUBLISHED_DIR}/"$name"
  removed=$((removed + 1))
done < <(LC_ALL=C comm -23 "$work/present" "$work/listed")
# The archive stays (overwritten by the next copy): a run again with the same files needs it.
log "\${count} files published in ${PUBLISHED_DIR} for stack ${opts.stackKey}, \${removed} old ones removed"
`;
}
