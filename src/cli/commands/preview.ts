/**
 * `mine2hpc preview --offline`: what the Pulumi program would register for a stack, without
 * the Pulumi CLI, a state backend or a cluster (CI previews every site change this way).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "../command.js";
import { CliError, EXIT } from "../command.js";
import { outputFormat, outputOptions, printResult } from "../output.js";
import type { Doc } from "../format/doc.js";
import type { PreviewResult } from "../../preview/offline.js";
import { defaultStack, findRepoRoot } from "../site-args.js";

/** The preview as tables (for -o md): resources with their parent and protection, outputs, counts by type. */
export function previewDoc(result: PreviewResult): Doc {
  const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  return {
    heading: `Offline preview of stack ${result.stack} (site ${result.siteFile})`,
    summary: [`${result.resources.length} resources under mocks; secrets masked, long text shown as size and hash; \`pulumi preview\` is the source of truth`],
    sections: [
      {
        title: "Resources",
        table: {
          headers: ["TYPE", "NAME", "PARENT", "PROTECT"],
          rows: result.resources.map((r) => [r.type, r.name, r.parent ?? "", r.protect ? "yes" : ""]),
        },
      },
      { title: "Outputs", table: { headers: ["OUTPUT", "VALUE"], rows: Object.entries(result.outputs).map(([k, v]) => [k, show(v)]) } },
      {
        title: "Resources by type",
        table: { headers: ["TYPE", "COUNT"], align: ["left", "right"], rows: [...Object.entries(result.counts).map(([t, n]) => [t, String(n)]), ["total", String(result.resources.length)]] },
      },
    ],
  };
}

const command: Command = {
  name: "preview",
  summary: "List every resource the Pulumi program would register for a stack (offline, under mocks).",
  usage: "--offline [--stack NAME] [--site FILE] [--inventory FILE] [-o text|json|yaml|md]",
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
    ...outputOptions(),
  },
  async run(ctx) {
    const format = outputFormat(ctx);
    const stack = String(ctx.values.stack ?? defaultStack(findRepoRoot(ctx.cwd)));
    if (ctx.values.offline !== true) {
      // A required flag left out: a usage error.
      throw new CliError(
        [
          "only the offline preview is built in; 'pulumi preview' is the source of truth.",
          `  fix: run 'mine2hpc preview --offline --stack ${stack}' (no cloud, no cluster),`,
          `       or with the Pulumi CLI: 'pulumi preview --stack ${stack}'.`,
        ].join("\n"),
        EXIT.usage,
      );
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
    printResult(ctx, format, { data: result, text: () => formatPreview(result), doc: () => previewDoc(result) });
    return 0;
  },
};

export default command;
