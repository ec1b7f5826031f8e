/**
 * Content hash of everything rendered for one host. It leads the host's bootstrap command (as a
 * `: mine2hpc-host-config=<hash>;` no-op), so a host is touched exactly when its own rendered
 * text changes, a second `pulumi up` with the same plan changes nothing, and previews and diffs
 * can name the hosts a change touches. (Not the command's `triggers`: @pulumi/command makes
 * those replaceOnChanges, and replacing a bootstrap would uninstall k3s from the host.)
 */
import { createHash } from "node:crypto";
import type { FarmPlan } from "../plan/types.js";
import { findK3sNode, renderK3sConfig } from "./k3s.js";
import { bootstrapDeadlineSeconds, renderBootstrapScript, renderUninstallScript } from "./scripts.js";
import { renderAgentHostFile, sha256Hex } from "./agent-files.js";

/**
 * Servers: sha256 (hex) over the host's config, bootstrap and uninstall text, and its install
 * generation when above 0 (a bump after re-imaging re-runs the bootstrap although the text is
 * the same; generation 0 adds nothing, so hashes from before generations existed stay). Each
 * part is prefixed with its name and byte length so moving text from one part to another
 * changes the hash.
 */
export function hostConfigHash(plan: FarmPlan, hostname: string): string {
  // An agent runs its published host file, which names the steps it runs by their sha256: the
  // file's own sha256 covers everything the agent runs (render/agent-files.ts).
  if (findK3sNode(plan, hostname).k3sRole === "agent") return sha256Hex(renderAgentHostFile(plan, hostname, bootstrapDeadlineSeconds(plan)));
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

/** The variable an agent's command (components/remote-script.ts `remoteFetchCommand`) starts with: its host file's sha256. */
export const AGENT_CONFIG_HASH_MARKER = "M2H_HOST_CONFIG";

/** Where a bootstrap command carries its host config hash: a server's no-op marker or an agent's variable. */
export const CONFIG_HASH_PATTERN = `(?:: ${CONFIG_HASH_MARKER}|${AGENT_CONFIG_HASH_MARKER})=([0-9a-f]{64});`;

/** The host config hash anywhere in a text (a command, or the preview's summary of one): group 1. */
export const CONFIG_HASH_ANYWHERE = `(?:${CONFIG_HASH_MARKER}|${AGENT_CONFIG_HASH_MARKER})=([0-9a-f]{64})`;

/** The host config hash a bootstrap command string carries, or null. */
export function configHashOf(commandText: string): string | null {
  const m = new RegExp(`^${CONFIG_HASH_PATTERN}`).exec(commandText);
  return m ? m[1]! : null;
}
