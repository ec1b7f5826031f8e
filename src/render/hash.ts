/**
 * Content hash of everything rendered for one host: the `triggers` of its remote.Command, so a
 * host is touched exactly when its own rendered text changes and a second `pulumi up` with the
 * same plan changes nothing.
 */
import { createHash } from "node:crypto";
import type { FarmPlan } from "../plan/types.js";
import { renderK3sConfig } from "./k3s.js";
import { renderBootstrapScript, renderUninstallScript } from "./scripts.js";

/**
 * sha256 (hex) over the host's config, bootstrap and uninstall text. Each part is prefixed
 * with its name and byte length so moving text from one part to another changes the hash.
 */
export function hostConfigHash(plan: FarmPlan, hostname: string): string {
  const parts: [string, string][] = [
    ["config.yaml", renderK3sConfig(plan, hostname)],
    ["bootstrap.sh", renderBootstrapScript(plan, hostname)],
    ["uninstall.sh", renderUninstallScript(plan, hostname)],
  ];
  const hash = createHash("sha256");
  for (const [name, text] of parts) {
    hash.update(`${name}\n${Buffer.byteLength(text, "utf8")}\n`);
    hash.update(text, "utf8");
  }
  return hash.digest("hex");
}
