/**
 * `mine2hpc init STACK --template NAME`: a new site from a template, as a Pulumi stack.
 *
 * Writes `stacks/Pulumi.STACK.yaml` (pointing at the site), `stacks/STACK/site.yaml` (the
 * template's, renamed to STACK, comments kept) and `stacks/STACK/inventory.csv` (the
 * template's or the one given). The site is loaded and planned before anything is written,
 * and existing files are never overwritten without --force: either every file is written or
 * none is.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isMap, isScalar, parseDocument, type Scalar } from "yaml";
import type { Command } from "../command.js";
import { CliError, EXIT } from "../command.js";
import { outputFormat, outputOptions, printResult } from "../output.js";
import { docMarkdown } from "../format/doc.js";
import { displayPath, findRepoRoot, loadAndPlan } from "../site-args.js";
import { loadStack } from "../../site/stack.js";
import { figureLines, figureTable, findTemplate, templateFigures, type TemplateFigures, type TemplateInfo } from "./templates.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const INVENTORY_FILE = "inventory.csv";

/**
 * The editor-schema line a stack's site file starts with. stacks/STACK/ is two levels below the
 * root, like templates/NAME/; the schema is this repository's schema/, or in a site repository
 * the installed package's (node_modules/mine2hpc/schema/, there once `npm install` has run).
 */
export function schemaLine(repoRoot: string): string {
  const own = existsSync(path.join(repoRoot, "schema", "site.schema.json"));
  return `# yaml-language-server: $schema=../../${own ? "" : "node_modules/mine2hpc/"}schema/site.schema.json`;
}

/** One step the operator takes after `init`, with the exact command. */
export interface NextStep {
  what: string;
  command: string;
}

/**
 * The steps from a fresh stack to `pulumi preview`, in order; mine2hpc commands start with
 * `self`, the way the person runs it (invocation.ts).
 */
export function nextSteps(stack: string, self = "mine2hpc"): NextStep[] {
  return [
    { what: `Edit stacks/${stack}/site.yaml and stacks/${stack}/${INVENTORY_FILE} for your site, then check them`, command: `${self} validate --stack ${stack}` },
    { what: "Create the Pulumi stack (its config file already exists)", command: `pulumi stack init ${stack}` },
    { what: "Store the SSH private key mine2hpc prepares the hosts with (encrypted in the stack file)", command: `pulumi config set --secret mine2hpc:sshPrivateKey < ~/.ssh/id_ed25519` },
    { what: "Optional: choose the k3s join token yourself", command: `pulumi config set --secret mine2hpc:k3sToken "$(openssl rand -hex 32)"` },
    { what: "See what mine2hpc will build: pools, GPU caps, circuit loads, curtailment", command: `${self} plan --stack ${stack}` },
    { what: "Preview the resources", command: `pulumi preview --stack ${stack}` },
  ];
}

/**
 * The template's site text for stack STACK: `metadata.name` set to STACK, `inventory` set to
 * inventory.csv (added when the template has none but an inventory is copied), and the
 * editor-schema line `schema` first. Edits are made on the text at the YAML nodes' offsets, so every
 * comment and blank line of the template survives.
 */
export function siteForStack(templateText: string, stack: string, withInventory: boolean, schema: string): string {
  const doc = parseDocument(templateText);
  if (doc.errors.length > 0 || !isMap(doc.contents)) throw new CliError(`the template's site.yaml cannot be read as YAML.\n  fix: run 'mine2hpc validate --site' on the template.`);
  const edits: Array<{ start: number; end: number; text: string }> = [];
  const nameNode = doc.getIn(["metadata", "name"], true) as Scalar | undefined;
  if (!isScalar(nameNode) || !nameNode.range) throw new CliError("the template's site.yaml has no metadata.name.\n  fix: add metadata.name to the template.");
  edits.push({ start: nameNode.range[0], end: nameNode.range[1], text: stack });
  let text = templateText;
  const invNode = doc.get("inventory", true) as Scalar | undefined;
  if (withInventory && isScalar(invNode) && invNode.range) edits.push({ start: invNode.range[0], end: invNode.range[1], text: INVENTORY_FILE });
  for (const e of edits.sort((a, b) => b.start - a.start)) text = text.slice(0, e.start) + e.text + text.slice(e.end);
  if (withInventory && !isScalar(invNode)) text = `${text.replace(/\n*$/, "\n")}\n# Machines from the inventory CSV beside this file, appended after machines:.\ninventory: ${INVENTORY_FILE}\n`;
  if (!withInventory && isScalar(invNode)) throw new CliError("the template names an inventory that does not exist.\n  fix: pass --inventory FILE.");
  const lines = text.split("\n");
  if (lines[0]?.startsWith("# yaml-language-server:")) lines[0] = schema;
  else lines.unshift(schema);
  return lines.join("\n");
}

function stackFileText(stack: string, template: string, by: string): string {
  return [
    `# Stack ${stack}: the site in stacks/${stack}/site.yaml, started from template ${template} by '${by}'.`,
    "# Secrets (mine2hpc:sshPrivateKey, mine2hpc:k3sToken) are added here, encrypted, by 'pulumi config set --secret'.",
    "config:",
    `  mine2hpc:site: stacks/${stack}/site.yaml`,
    "",
  ].join("\n");
}

/** A stack made from a template, checked (loaded and planned) and ready to write. */
export interface StackDraft {
  stack: string;
  repoRoot: string;
  template: TemplateInfo;
  /** Absolute paths: the stack file, the site file and (when there is one) the inventory. */
  files: { stack: string; site: string; inventory?: string };
  siteText: string;
  stackText: string;
  /** The inventory copied into the stack, absolute. */
  inventorySource?: string;
  /** Where the inventory came from, as shown to the person (null: none). */
  inventoryFrom: string | null;
}

/** What `init` and `new` take to make a stack from a template. */
export interface StackRequest {
  /** The person's working directory (flags' paths are relative to it). */
  cwd: string;
  /** Root of the Pulumi project the stack goes into (it may not exist yet, for `new`). */
  repoRoot: string;
  stack: string;
  /** --template NAME (undefined: an error saying how to list them). */
  template: string | undefined;
  /** --inventory FILE, else the template's own inventory. */
  inventory?: string;
  /** The command named in the stack file's comment, e.g. `mine2hpc init`. */
  by: string;
}

/**
 * Checks a new stack without writing anything: the stack name, the template, the inventory,
 * and the template's site with that inventory (loaded and planned: a SiteError stops it here).
 */
export function draftStack(req: StackRequest): StackDraft {
  const { stack, repoRoot } = req;
  if (!DNS_LABEL.test(stack)) throw new CliError(`stack name '${stack}' is not a DNS label.\n  fix: use lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit (it becomes the site's metadata.name).`);
  if (req.template === undefined) throw new CliError("no template given.\n  fix: pass --template NAME (run 'mine2hpc templates' to list them).");
  const template = findTemplate(req.cwd, req.template);
  const templateText = readFileSync(template.siteFile, "utf8");

  // Where the inventory comes from: the flag, else the template's own.
  let inventorySource: string | undefined;
  if (req.inventory !== undefined) {
    inventorySource = path.resolve(req.cwd, req.inventory);
    if (!existsSync(inventorySource)) throw new CliError(`inventory file ${req.inventory} does not exist.\n  fix: check the path (it is relative to the current folder).`);
  } else {
    const doc = parseDocument(templateText);
    const inv = isMap(doc.contents) ? doc.contents.get("inventory") : undefined;
    if (typeof inv === "string" && inv !== "") inventorySource = path.join(template.dir, inv);
  }

  // Check the site before writing anything: the template with the chosen inventory.
  loadAndPlan({ siteFile: template.siteFile, repoRoot, ...(inventorySource ? { inventory: inventorySource } : {}) });

  const stackDir = path.join(repoRoot, "stacks", stack);
  return {
    stack,
    repoRoot,
    template,
    files: {
      stack: path.join(repoRoot, "stacks", `Pulumi.${stack}.yaml`),
      site: path.join(stackDir, "site.yaml"),
      ...(inventorySource ? { inventory: path.join(stackDir, INVENTORY_FILE) } : {}),
    },
    siteText: siteForStack(templateText, stack, inventorySource !== undefined, schemaLine(repoRoot)),
    stackText: stackFileText(stack, template.name, req.by),
    ...(inventorySource ? { inventorySource } : {}),
    inventoryFrom: req.inventory !== undefined ? displayPath(inventorySource!, req.cwd) : inventorySource ? `templates/${template.name}/${path.basename(inventorySource)}` : null,
  };
}

/** A file path relative to the project root, with '/' (as printed and as in --json). */
export function projectPath(repoRoot: string, file: string): string {
  return path.relative(repoRoot, file).split(path.sep).join("/");
}

/**
 * Writes a drafted stack, then loads and plans it as `plan --stack` will; returns the files
 * written (relative to the project root) and the site's figures.
 */
export function writeStack(draft: StackDraft): { files: string[]; figures: TemplateFigures } {
  const { files, repoRoot, stack } = draft;
  mkdirSync(path.dirname(files.site), { recursive: true });
  writeFileSync(files.site, draft.siteText);
  if (draft.inventorySource && files.inventory) copyFileSync(draft.inventorySource, files.inventory);
  writeFileSync(files.stack, draft.stackText);
  const written = loadStack(stack, repoRoot);
  const { loaded, plan } = loadAndPlan({ siteFile: written.siteFile, repoRoot, stack });
  return {
    files: [files.stack, files.site, ...(files.inventory ? [files.inventory] : [])].map((f) => projectPath(repoRoot, f)),
    figures: templateFigures(loaded.spec, plan),
  };
}

/** The Markdown `init` and `new` print with -o md: files, figures and next steps as tables. */
export function createdMarkdown(heading: string, files: readonly string[], figures: TemplateFigures, steps: readonly NextStep[]): string {
  return docMarkdown({
    heading,
    summary: [],
    sections: [
      { title: "Files written", table: { headers: ["FILE"], rows: files.map((f) => [f]) } },
      { title: "The site loads and plans", table: figureTable(figures) },
      { title: "Next steps", table: { headers: ["#", "STEP", "COMMAND"], align: ["right", "left", "left"], rows: steps.map((s, k) => [String(k + 1), s.what, `\`${s.command}\``]) } },
    ],
  });
}

/** The text `init` and `new` print: what was written, the figures, the numbered next steps. */
export function createdText(heading: string, files: readonly string[], figures: TemplateFigures, steps: readonly NextStep[]): string {
  const out = [heading, ...files.map((f) => `  ${f}`), "", "The site loads and plans:", ...figureLines(figures), "", "Next steps:"];
  steps.forEach((s, k) => out.push(`  ${k + 1}. ${s.what}:`, `       ${s.command}`));
  return out.join("\n") + "\n";
}

const command: Command = {
  name: "init",
  summary: "Start a site from a template: write stacks/Pulumi.STACK.yaml and the site it points to.",
  usage: "STACK --template NAME [--inventory FILE] [--force] [-o text|json|yaml|md]",
  description: "Checks the new site (load and plan) before writing, refuses to overwrite existing files without --force, and prints the next steps.",
  options: {
    template: { type: "string", valueName: "NAME", description: "Template to start from (see 'mine2hpc templates')." },
    inventory: { type: "string", valueName: "FILE", description: "Inventory CSV to copy instead of the template's sample (e.g. from 'mine2hpc import')." },
    force: { type: "boolean", description: "Overwrite the stack's files when they exist." },
    ...outputOptions(),
  },
  async run(ctx) {
    const format = outputFormat(ctx);
    const [stack, ...extra] = ctx.positionals;
    if (stack === undefined) throw new CliError("no stack name given.\n  fix: mine2hpc init STACK --template NAME (STACK is the site's name, e.g. tx-west-1).", EXIT.usage);
    if (extra.length > 0) throw new CliError(`one stack at a time, got ${ctx.positionals.join(", ")}.\n  fix: mine2hpc init STACK --template NAME.`, EXIT.usage);
    const repoRoot = findRepoRoot(ctx.cwd);
    if (!existsSync(path.join(repoRoot, "Pulumi.yaml"))) throw new CliError("not inside a mine2hpc project (no Pulumi.yaml here or above).\n  fix: run mine2hpc init from the project folder, the one holding Pulumi.yaml, or start a site repository with 'mine2hpc new DIR --template NAME'.");
    const invFlag = ctx.values.inventory as string | undefined;
    const draft = draftStack({ cwd: ctx.cwd, repoRoot, stack, template: ctx.values.template as string | undefined, ...(invFlag !== undefined ? { inventory: invFlag } : {}), by: "mine2hpc init" });
    const existing = Object.values(draft.files).filter((f) => existsSync(f));
    if (existing.length > 0 && ctx.values.force !== true) {
      throw new CliError(
        `${existing.map((f) => projectPath(repoRoot, f)).join(", ")} already exist${existing.length === 1 ? "s" : ""}; nothing was written.\n  fix: pass --force to overwrite ${existing.length === 1 ? "it" : "them"}, or pick another stack name.`,
      );
    }
    const { files, figures } = writeStack(draft);
    const steps = nextSteps(stack, ctx.self);
    const heading = `Created stack ${stack} from template ${draft.template.name}:`;
    printResult(ctx, format, {
      data: { stack, template: draft.template.name, files, inventoryFrom: draft.inventoryFrom, figures, nextSteps: steps },
      text: () => createdText(heading, files, figures, steps),
      md: () => createdMarkdown(heading.replace(/:$/, ""), files, figures, steps),
    });
    return 0;
  },
};
export default command;
