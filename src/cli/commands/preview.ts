/**
 * `mine2hpc preview --offline`: what the Pulumi program would register for a stack, without
 * the Pulumi CLI, a state backend or a cluster (CI previews every site change this way).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "../command.js";
import { CliError } from "../command.js";
import { defaultStack, findRepoRoot } from "../site-args.js";

const command: Command = {
  name: "preview",
  summary: "List every resource the Pulumi program would register for a stack (offline, under mocks).",
  usage: "--offline [--stack NAME] [--site FILE] [--inventory FILE] [--json]",
  description: [
    "Runs the real program (src/index.ts) under Pulumi mocks with the stack's config and prints",
    "each resource (type, name, parent, key inputs; secrets masked) and the counts per type.",
    "An invalid site fails with the same errors as 'mine2hpc validate', before anything is listed.",
    "'pulumi preview --stack NAME' remains the source of truth where the Pulumi CLI is installed.",
  ].join("\n"),
  options: {
    offline: { type: "boolean", description: "Run under mocks (required: the online preview is 'pulumi preview')." },
    stack: { type: "string", valueName: "NAME", description: "Stack to preview (reads stacks/Pulumi.NAME.yaml; default: demo, or the project's only stack)." },
    site: { type: "string", valueName: "FILE", description: "Site file to use instead of the stack's mine2hpc:site." },
    inventory: { type: "string", valueName: "FILE", description: "Inventory CSV to use instead of the one the site names." },
    json: { type: "boolean", description: "Print the preview as JSON (resources, counts, outputs)." },
  },
  async run(ctx) {
    const stack = String(ctx.values.stack ?? defaultStack(findRepoRoot(ctx.cwd)));
    if (ctx.values.offline !== true) {
      ctx.stderr.write(
        [
          "error: only the offline preview is built in; 'pulumi preview' is the source of truth.",
          `  fix: run 'mine2hpc preview --offline --stack ${stack}' (no cloud, no cluster),`,
          `       or with the Pulumi CLI: 'pulumi preview --stack ${stack}'.`,
          "",
        ].join("\n"),
      );
      return 2;
    }
    const site = typeof ctx.values.site === "string" ? ctx.values.site : undefined;
    const inventory = typeof ctx.values.inventory === "string" ? ctx.values.inventory : undefined;
    const repoRoot = findRepoRoot(ctx.cwd);
    if (!existsSync(join(repoRoot, "Pulumi.yaml"))) {
      throw new CliError(`no Pulumi.yaml found in ${ctx.cwd} or above.\n  fix: run mine2hpc preview inside a mine2hpc project.`);
    }
    const { previewOffline, formatPreview } = await import("../../preview/offline.js");
    const result = await previewOffline({
      repoRoot,
      stack,
      ...(site !== undefined ? { siteFile: site } : {}),
      ...(inventory !== undefined ? { inventory } : {}),
    });
    ctx.stdout.write(ctx.values.json === true ? `${JSON.stringify(result, null, 2)}\n` : formatPreview(result));
    return 0;
  },
};

export default command;
