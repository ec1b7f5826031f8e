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
 * Size: Linux limits one argument to 128 KiB (MAX_ARG_STRLEN); a base64 script of up to
 * ~96 KiB fits, far above what the renderers produce.
 */

/** Linux MAX_ARG_STRLEN: the longest single argument `bash -c` can take, in bytes. */
export const MAX_REMOTE_SCRIPT_BYTES = 128 * 1024;

/**
 * The `create`/`update`/`delete` string that runs `script` as root on the host.
 * `label` becomes bash's `$0`, so errors and `ps` name the script (e.g. `mine2hpc-bootstrap`).
 * Pure and deterministic: the same script gives the same string, so an unchanged host shows
 * no diff.
 */
export function remoteScriptCommand(script: string, label: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(label)) {
    throw new Error(`remote script label '${label}' must be lowercase letters, digits and '-'`);
  }
  const encoded = Buffer.from(script, "utf8").toString("base64");
  if (encoded.length > MAX_REMOTE_SCRIPT_BYTES - 1024) {
    throw new Error(
      `rendered script '${label}' is ${encoded.length} bytes in base64, over the ${MAX_REMOTE_SCRIPT_BYTES}-byte argument limit of the host`,
    );
  }
  // `[ "$(id -u)" = 0 ]` runs as root directly; everyone else goes through non-interactive sudo.
  return (
    `set -e; if [ "$(id -u)" = 0 ]; then M2H_SUDO=""; else M2H_SUDO="sudo -n"; fi; ` +
    `$M2H_SUDO bash -c "$(printf '%s' '${encoded}' | base64 -d)" ${label}`
  );
}
