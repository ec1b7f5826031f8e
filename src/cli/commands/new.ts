/**
 * `mine2hpc new DIR --template NAME [--inventory FILE]`: a site repository of its own.
 *
 * DIR becomes a Pulumi project named after it, whose three-line index.ts runs the packaged
 * mine2hpc program, with the site as stack DIR (the same stack files `init` writes), the PR
 * preview workflows, a .gitignore and a README with the next steps. Every mine2hpc command
 * works inside it. The template and a given inventory are checked before anything is written
 * (as `init` does; whether the inventory fits the site is checked once the site is in place),
 * and DIR must be new or empty: either every file is written or none is.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "../command.js";
import { CliError, EXIT } from "../command.js";
import { outputFormat, outputOptions, printResult } from "../output.js";
import { createdMarkdown, createdText, draftStack, problemJson, projectPath, writeStack } from "./init.js";
import { previewCommentWorkflow, previewWorkflow } from "../workflows.js";
import { readOwnPackage, SITE_GITIGNORE, SITE_INDEX_TS, SITE_NPMRC, siteNextSteps, sitePackageJson, sitePulumiYaml, siteReadme } from "../site-repo.js";

const command: Command = {
  name: "new",
  summary: "Start a site repository from a template: its own Pulumi project running the mine2hpc package.",
  usage: "DIR --template NAME [--stack NAME] [--inventory FILE] [--partition-by feed|circuit|rack] [-o text|json|yaml|md]",
  description: [
    "Writes package.json (mine2hpc pinned to this version), Pulumi.yaml, index.ts, the stack",
    "(stacks/Pulumi.NAME.yaml, stacks/NAME/site.yaml and inventory.csv), the PR preview workflows,",
    ".gitignore, .npmrc, .nvmrc and README.md. DIR must not exist or be empty. The template (load and plan) and a",
    "given inventory on its own (CSV, each row against the machine schema) are checked before anything is written;",
    "whether the inventory fits the site (circuits, node subnet) once the site is written, with the exact first step.",
  ].join("\n"),
  options: {
    template: { type: "string", valueName: "NAME", description: "Template to start from (see 'mine2hpc templates')." },
    stack: { type: "string", valueName: "NAME", description: "Site, stack and project name (a DNS label). Default: DIR's folder name." },
    inventory: { type: "string", valueName: "FILE", description: "Inventory CSV to copy instead of the template's sample (e.g. from 'mine2hpc import')." },
    "partition-by": { type: "string", valueName: "KIND", description: "Split the gpu and cpu machines into partitions, one stack each, by feed, circuit or rack; the CI workflow previews and updates them as a job matrix." },
    ...outputOptions(),
  },
  async run(ctx) {
    const format = outputFormat(ctx);
    const [dirArg, ...extra] = ctx.positionals;
    if (dirArg === undefined) throw new CliError("no folder given.\n  fix: mine2hpc new DIR --template NAME (DIR is the new repository, e.g. tx-west-1).", EXIT.usage);
    if (extra.length > 0) throw new CliError(`one folder at a time, got ${ctx.positionals.join(", ")}.\n  fix: mine2hpc new DIR --template NAME.`, EXIT.usage);
    const root = path.resolve(ctx.cwd, dirArg);
    if (existsSync(root) && (!statSync(root).isDirectory() || readdirSync(root).length > 0)) {
      throw new CliError(`${dirArg} already exists and is not an empty folder; nothing was written.\n  fix: pick a new folder name (mine2hpc new makes it), or add a stack to an existing project with 'mine2hpc init STACK --template NAME' there.`);
    }
    const stack = (ctx.values.stack as string | undefined) ?? path.basename(root);
    const invFlag = ctx.values.inventory as string | undefined;
    const partitionBy = ctx.values["partition-by"] as string | undefined;
    const draft = draftStack({
      cwd: ctx.cwd,
      repoRoot: root,
      stack,
      template: ctx.values.template as string | undefined,
      ...(invFlag !== undefined ? { inventory: invFlag } : {}),
      ...(partitionBy !== undefined ? { partitionBy } : {}),
      by: "mine2hpc new",
    });
    const partitioned = draft.partitions.length > 0;

    const own = readOwnPackage();
    const projectFiles: Array<[string, string]> = [
      ["package.json", sitePackageJson(stack, own)],
      ["Pulumi.yaml", sitePulumiYaml(stack)],
      ["index.ts", SITE_INDEX_TS],
      [".gitignore", SITE_GITIGNORE],
      [".npmrc", SITE_NPMRC],
      // The workflows' setup-node reads it; the same major mine2hpc needs.
      [".nvmrc", `${own.engines.node.replace(/^>=\s*/, "")}\n`],
      ["README.md", siteReadme(stack, stack, draft.template.name, own.version, draft.partitions)],
      [".github/workflows/preview.yml", previewWorkflow(stack, { partitioned })],
      [".github/workflows/preview-comment.yml", previewCommentWorkflow()],
    ];
    for (const [rel, text] of projectFiles) {
      const file = path.join(root, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
    }
    const shown = projectPath(ctx.cwd, root) || ".";
    // Always `npx mine2hpc` here, however this run was started: the steps run inside the new
    // repository, whose pinned mine2hpc (after `npm install`) is in its node_modules/.bin, not
    // on PATH; a global `mine2hpc` could be another version.
    const stackFiles = writeStack(draft, `${shown === "." ? "" : `cd ${shown} && `}npx mine2hpc`);
    const written = { ...stackFiles, files: [...projectFiles.map(([rel]) => rel), ...stackFiles.files] };
    // The fit step comes after `npm install` (validate needs the package).
    const [install, ...rest] = siteNextSteps(shown, stack, draft.partitions);
    const steps = [install!, ...(stackFiles.fitStep ? [stackFiles.fitStep] : []), ...rest];
    const heading = `Created site repository ${shown} (stack ${stack}, template ${draft.template.name}, mine2hpc ${own.version}):`;
    printResult(ctx, format, {
      data: { dir: shown, stack, template: draft.template.name, mine2hpc: own.version, files: written.files, inventoryFrom: draft.inventoryFrom, figures: written.figures ?? null, siteProblems: written.problems.map(problemJson), nextSteps: steps },
      text: () => createdText(heading, written, steps),
      md: () => createdMarkdown(heading.replace(/:$/, ""), written, steps),
    });
    return 0;
  },
};
export default command;
