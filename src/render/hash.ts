/**
 * Content hash of everything rendered for one host. It leads the host's bootstrap command (as a
 * `: mine2hpc-host-config=<hash>;` no-op), so a host is touched exactly when its own rendered
 * text changes, a second `pulumi up` with the same plan changes nothing, and previews and diffs
 * can name the hosts a change touches. (Not the command's `triggers`: @pulumi/command makes
 * those replaceOnChanges, and replacing a bootstrap would uninstall k3s from the host.)
 */
import { createHash } from "node:crypto";
import type { FarmPlan } from "../plan/types.js";
import { renderK3sConfig } from "./k3s.js";
import { renderBootstrapScript, renderUninstallScript } from "./scripts.js";

/**
 * sha256 (hex) over the host's config, bootstrap and uninstall text, and its install
 * generation when above 0 (a bump after re-imaging re-runs the bootstrap although the text is
 * the same; generation 0 adds nothing, so hashes from before generations existed stay). Each
 * part is prefixed with its name and byte length so moving text from one part to another
 * changes the hash.
 */
export function hostConfigHash(plan: FarmPlan, hostname: string): string {
  const parts: [string, string][] = [
    ["config.yaml", renderK3sConfig(plan, hostname)],
    ["bootstrap.sh", renderBootstrapScript(plan, hostname)],
    ["uninstall.sh", renderUninstallScript(plan, hostname)],
  ];
  const generation = nodeGeneration(plan, hostname);
  if (generation > 0) parts.push(["generation", String(generation)]);
  const hash = createHash("sha256");
  for (const [name, text] of parts) {
    hash.update(`${name}\n${Buffer.byteLength(text, "utf8")}\n`);
    hash.update(text, "utf8");
  }
  return hash.digest("hex");
}

/** The node's install generation (site `generation`, default 0). */
function nodeGeneration(plan: FarmPlan, hostname: string): number {
  return plan.nodes.find((n) => n.hostname === hostname)?.generation ?? 0;
}

/**
 * Name of the no-op marker (`: mine2hpc-host-config=<hash>;`) that leads each bootstrap
 * command, so previews and diffs can tell which hosts a change touches.
 */
export const CONFIG_HASH_MARKER = "mine2hpc-host-config";

/** The host config hash a bootstrap command string carries, or null. */
export function configHashOf(commandText: string): string | null {
  const m = new RegExp(`^: ${CONFIG_HASH_MARKER}=([0-9a-f]{64});`).exec(commandText);
  return m ? m[1]! : null;
}
