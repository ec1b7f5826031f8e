/**
 * How a rendered script travels to a host inside a `remote.Command`.
 *
 * The command string is what `remote.Command` hands to the SSH server, which runs it with the
 * login shell. Scripts contain quotes, heredocs and `$`, so the text is base64-encoded and
 * decoded on the host: no quoting bug can change what runs. The script is the argument of
 * `bash -c` (not piped into bash) so that bash's STDIN stays the SSH session's STDIN, which is
 * where `remote.Command`'s secret `stdin` input (the k3s token) arrives. Scripts need root;
 * `sudo -n` fails at once with "a password is required" instead of hanging on a prompt when
 * the SSH user lacks passwordless sudo, and it is skipped when the user already is root.
 *
 * Size: the script travels gzip-compressed (then base64), because the command string is kept
 * in Pulumi's state twice per machine (as input and as output) and written again at every
 * checkpoint of an `up`: a 10.9 KB bootstrap is 14.5 KB of base64 as plain text and about 5 KB
 * compressed. The host needs `gzip` (essential on Debian/Ubuntu, in every RHEL base image);
 * without it the command fails at once, naming it. Linux limits one argument to 128 KiB
 * (MAX_ARG_STRLEN): the decompressed script is one `bash -c` argument and must stay under it.
 *
 * Deadline: `@pulumi/command` (1.2.1, provider/pkg/provider/remote/commandOutputs.go `run`)
 * waits in `session.Run` without looking at its context, so `customTimeouts` end the dial
 * retries but never a command that hangs on the host. With `timeoutSeconds` the script runs
 * under coreutils `timeout` on the host itself (SIGTERM at the deadline, SIGKILL 30 s later),
 * and the command exits non-zero with a line naming the deadline.
 */
import { gzipSync } from "node:zlib";
import { deadlineStoppedMessage } from "../render/scripts.js";

/** Linux MAX_ARG_STRLEN: the longest single argument `bash -c` can take, in bytes. */
export const MAX_REMOTE_SCRIPT_BYTES = 128 * 1024;

/**
 * The `create`/`update`/`delete` string that runs `script` as root on the host.
 * `label` becomes bash's `$0`, so errors and `ps` name the script (e.g. `mine2hpc-bootstrap`).
 * Pure and deterministic: the same script gives the same string, so an unchanged host shows
 * no diff.
 */
export function remoteScriptCommand(script: string, label: string, options: { timeoutSeconds?: number } = {}): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(label)) {
    throw new Error(`remote script label '${label}' must be lowercase letters, digits and '-'`);
  }
  const bytes = Buffer.byteLength(script, "utf8");
  if (bytes > MAX_REMOTE_SCRIPT_BYTES - 1024) {
    throw new Error(`rendered script '${label}' is ${bytes} bytes, over the ${MAX_REMOTE_SCRIPT_BYTES}-byte argument limit of the host`);
  }
  // Level 9 and zlib's fixed header (no name, mtime 0): the same script gives the same bytes.
  const encoded = gzipSync(Buffer.from(script, "utf8"), { level: 9 }).toString("base64");
  const t = options.timeoutSeconds;
  if (t !== undefined && (!Number.isInteger(t) || t < 1)) {
    throw new Error(`remote script '${label}': timeoutSeconds must be a whole number >= 1, got ${String(t)}`);
  }
  // `[ "$(id -u)" = 0 ]` runs as root directly; everyone else goes through non-interactive sudo.
  const sudo = `set -e; if [ "$(id -u)" = 0 ]; then M2H_SUDO=""; else M2H_SUDO="sudo -n"; fi; `;
  // Decoded into a variable first: a missing gzip (or a corrupt text) must fail here, by name,
  // and not run `bash -c ""`, which would succeed having done nothing.
  const decode =
    `command -v gzip >/dev/null 2>&1 || { echo "mine2hpc: ${label} needs gzip on the host (apt-get install gzip)" >&2; exit 127; }; ` +
    `M2H_SCRIPT="$(printf '%s' '${encoded}' | base64 -d | gzip -dc)"; `;
  const run = `bash -c "$M2H_SCRIPT" ${label}`;
  if (t === undefined) return `${sudo}${decode}$M2H_SUDO ${run}`;
  // 124: timeout's status at the deadline; 137: killed by the SIGKILL that follows 30 s later.
  return (
    `${sudo}${decode}$M2H_SUDO timeout -k 30 ${t} ${run} || { M2H_RC=$?; ` +
    `if [ "$M2H_RC" -eq 124 ] || [ "$M2H_RC" -eq 137 ]; then echo "${deadlineStoppedMessage(label, t)}" >&2; fi; ` +
    `exit "$M2H_RC"; }`
  );
}

/**
 * The `create` of an agent's bootstrap: fetch the host file published at `baseUrl/<sha256>`
 * (render/agent-files.ts), check its sha256, run it. The host file does the rest (root through
 * `sudo -n`, the deadline, the shared steps, checked the same way), so this string, which Pulumi
 * keeps twice per machine, stays about 400 bytes. It starts with the host config marker
 * (`M2H_HOST_CONFIG=<sha256>;`, {@link configHashOf}): a change of the host's files is a change
 * of this string, i.e. an update, which runs it again. POSIX shell (the SSH user's login shell
 * runs it); `curl -k` because the host file is checked by its hash, not by TLS.
 */
export function remoteFetchCommand(baseUrl: string, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`host file hash '${sha256}' is not a sha256 hex digest`);
  if (!/^https:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._-]+)*$/.test(baseUrl)) throw new Error(`'${baseUrl}' is not a URL a host file can be fetched from`);
  // -m 60: the whole read (connect included) within 60 s per try, 2 retries. The host file
  // removes itself once its root run ends; a read that failed or differs is removed here.
  return (
    `M2H_HOST_CONFIG=${sha256};u=${baseUrl}/$M2H_HOST_CONFIG;` +
    `t=$(mktemp)&&curl -fsSk -m 60 --retry 2 -o "$t" $u&&echo "$M2H_HOST_CONFIG  $t"|sha256sum -c --status&&exec bash "$t";` +
    `rm -f "$t";echo "mine2hpc: $u unreadable or altered" >&2;exit 1`
  );
}

/**
 * The `delete` of an agent's bootstrap: runs the uninstall its bootstrap installed at `path`
 * (which runs itself as root under its deadline), or says there is nothing to uninstall.
 */
export function installedScriptCommand(path: string): string {
  if (!/^\/[A-Za-z0-9/._-]+$/.test(path)) throw new Error(`'${path}' is not a plain absolute path`);
  return `f=${path};[ ! -f $f ]||exec bash $f;echo "mine2hpc: nothing to uninstall"`;
}
