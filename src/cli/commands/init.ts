/**
 * `mine2hpc init STACK --template NAME`: a new site from a template, as a Pulumi stack.
 *
 * Writes `stacks/Pulumi.STACK.yaml` (pointing at the site), `stacks/STACK/site.yaml` (the
 * template's, renamed to STACK, comments kept) and `stacks/STACK/inventory.csv` (the
 * template's or the one given). Before anything is written the template is loaded and planned
 * and a given inventory is checked on its own (CSV, every row against the machine schema);
 * existing files are never overwritten without --force: either every file is written or none
 * is. Whether the inventory fits the site (its circuits in power.circuits, its IPs in the node
 * subnet) is checked once the site is in place, because the site is where that gets fixed: a
 * misfit is reported with the exact first step, not refused.
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
import { loadSite } from "../../site/load.js";
import { parseInventory } from "../../site/inventory.js";
import { formatProblem, SiteError, type Problem } from "../../site/problems.js";
import { resolvePartitions } from "../../site/partitions.js";
import type { Partitions } from "../../site/schema.js";
import type { LoadedSite } from "../../site/load.js";
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

/** Ways `--partition-by` may split a site. */
const PARTITION_KINDS = ["feed", "circuit", "rack"] as const;

/** The stack of partition `partition` of the site whose cluster stack is `stack`. */
export function partitionStackName(stack: string, partition: string): string {
  return `${stack}-${partition}`;
}

/**
 * The config file of a partition stack: the site, the partition, and the cluster stack whose
 * kubeconfig and join secrets it reads (a stack of this project; `org/project/stack` when the
 * cluster stack lives elsewhere).
 */
export function partitionStackText(stack: string, partition: string, by: string): string {
  return [
    `# Stack ${partitionStackName(stack, partition)}: partition ${partition} of site ${stack} (its gpu and cpu machines only), written by '${by}'.`,
    `# It reads the cluster's kubeconfig and agent join secrets from the cluster stack ${stack} (pulumi up there first).`,
    "# Secrets (mine2hpc:sshPrivateKey) are added here, encrypted, by 'pulumi config set --secret'.",
    "config:",
    `  mine2hpc:site: stacks/${stack}/site.yaml`,
    `  mine2hpc:partition: ${partition}`,
    `  mine2hpc:clusterStack: ${stack}`,
    "",
  ].join("\n");
}

/** The steps that create a partitioned site's partition stacks (after its cluster stack's). */
export function partitionSteps(stack: string, partitions: readonly string[]): NextStep[] {
  if (partitions.length === 0) return [];
  const stacks = partitions.map((p) => partitionStackName(stack, p)).join(" ");
  return [
    {
      what: `Create the partition stack${partitions.length === 1 ? "" : "s"} (config files already exist) and give each the SSH key`,
      command: `for s in ${stacks}; do pulumi stack init "$s" && pulumi config set --secret mine2hpc:sshPrivateKey --stack "$s" < ~/.ssh/id_ed25519; done`,
    },
    { what: `After 'pulumi up --stack ${stack}' (the cluster), bring the partitions up, in parallel if you like`, command: `for s in ${stacks}; do pulumi up --stack "$s" --yes & done; wait` },
  ];
}

/**
 * The steps from a fresh stack to `pulumi preview`, in order; mine2hpc commands start with
 * `self`, the way the person runs it (invocation.ts).
 */
export function nextSteps(stack: string, self = "mine2hpc", partitions: readonly string[] = []): NextStep[] {
  return [
    { what: `Edit stacks/${stack}/site.yaml and stacks/${stack}/${INVENTORY_FILE} for your site, then check them`, command: `${self} validate --stack ${stack}` },
    { what: "Create the Pulumi stack (its config file already exists)", command: `pulumi stack init ${stack}` },
    { what: "Store the SSH private key mine2hpc prepares the hosts with (encrypted in the stack file)", command: `pulumi config set --secret mine2hpc:sshPrivateKey < ~/.ssh/id_ed25519` },
    { what: "Optional: choose the k3s join token yourself", command: `pulumi config set --secret mine2hpc:k3sToken "$(openssl rand -hex 32)"` },
    { what: "See what mine2hpc will build: pools, GPU caps, circuit loads, curtailment", command: `${self} plan --stack ${stack}` },
    { what: "Preview the resources", command: `pulumi preview --stack ${stack}` },
    ...partitionSteps(stack, partitions),
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

function stackFileText(stack: string, template: string, by: string, partitioned = false): string {
  return [
    `# Stack ${stack}: the site in stacks/${stack}/site.yaml, started from template ${template} by '${by}'.`,
    "# Secrets (mine2hpc:sshPrivateKey, mine2hpc:k3sToken) are added here, encrypted, by 'pulumi config set --secret'.",
    ...(partitioned
      ? [
          "# mine2hpc:partitioned: this cluster stack was made for a partitioned site, so its state never held a partition's",
          "# machines (the program refuses a partitioned site's cluster stack without it; README, \"Splitting an existing stack\").",
        ]
      : []),
    "config:",
    `  mine2hpc:site: stacks/${stack}/site.yaml`,
    ...(partitioned ? ['  mine2hpc:partitioned: "true"'] : []),
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
  /** The inventory is the person's (--inventory), not the template's sample: it may not fit the site yet. */
  inventoryGiven: boolean;
  /** The site's partitions, sorted (empty: one stack), and the partition stack files to write (absolute path, text). */
  partitions: string[];
  partitionStacks: Array<{ file: string; text: string }>;
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
  /** --partition-by: split the site's gpu and cpu machines into partitions by feed, circuit or rack. */
  partitionBy?: string;
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

  // The site's machines as they will be (the template's, or the given inventory's): they decide the partitions.
  let loaded: LoadedSite;
  if (req.inventory === undefined) {
    // The template with its own sample inventory: it loads and plans, or the template is broken.
    loaded = loadAndPlan({ siteFile: template.siteFile, repoRoot, ...(inventorySource ? { inventory: inventorySource } : {}) }, req.cwd).loaded;
  } else {
    // The template on its own, then the given inventory on its own: its CSV and every row against the
    // machine schema (loadSite stops before the cross-checks). Whether its circuits and IPs fit the
    // site is checked after writing (writeStack): the site to fit them to does not exist yet.
    loadAndPlan({ siteFile: template.siteFile, repoRoot }, req.cwd);
    try {
      loaded = loadSite(template.siteFile, { inventory: inventorySource! });
    } catch (err) {
      if (!(err instanceof SiteError)) throw err;
      throw new SiteError(err.problems.map((p) => (p.source ? { ...p, source: { ...p.source, file: displayPath(p.source.file, req.cwd) } } : p)));
    }
  }

  const partitions = draftPartitions(loaded, req.partitionBy, req.cwd);

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
    siteText: withPartitionRule(siteForStack(templateText, stack, inventorySource !== undefined, schemaLine(repoRoot)), req.partitionBy),
    stackText: stackFileText(stack, template.name, req.by, partitions.length > 0),
    ...(inventorySource ? { inventorySource } : {}),
    inventoryFrom: req.inventory !== undefined ? displayPath(inventorySource!, req.cwd) : inventorySource ? `templates/${template.name}/${path.basename(inventorySource)}` : null,
    inventoryGiven: req.inventory !== undefined,
    partitions,
    partitionStacks: partitions.map((p) => ({ file: path.join(repoRoot, "stacks", `Pulumi.${partitionStackName(stack, p)}.yaml`), text: partitionStackText(stack, p, req.by) })),
  };
}

/**
 * The partitions the new stack's site will have: the template's own, or those `--partition-by`
 * gives it (checked here, each problem at its line of the template or inventory).
 */
function draftPartitions(loaded: LoadedSite, partitionBy: string | undefined, cwd: string): string[] {
  // The template's own partitions (their problems are the validation's to report).
  if (partitionBy === undefined) return resolvePartitions(loaded.spec)?.names ?? [];
  if (!(PARTITION_KINDS as readonly string[]).includes(partitionBy)) {
    throw new CliError(`--partition-by ${partitionBy} is not a way to split a site.\n  fix: use --partition-by ${PARTITION_KINDS.join(", --partition-by ")}.`);
  }
  if (loaded.spec.partitions !== undefined) throw new CliError("the template already splits its machines into partitions.\n  fix: leave out --partition-by (its partitions get their stacks).");
  const problems: Problem[] = [];
  const assigned = resolvePartitions({ ...loaded.spec, partitions: { by: partitionBy as Partitions["by"] } }, problems);
  if (problems.length > 0) {
    throw new SiteError(
      problems.map((p) => {
        const at = p.path ? loaded.locate(p.path) : undefined;
        return at ? { ...p, source: { ...at, file: displayPath(at.file, cwd) } } : p;
      }),
    );
  }
  return assigned?.names ?? [];
}

/** The site text with `partitions: {by: KIND}` at its end (the rule `--partition-by` chose). */
function withPartitionRule(siteText: string, partitionBy: string | undefined): string {
  if (partitionBy === undefined) return siteText;
  return `${siteText.replace(/\n*$/, "\n")}\n# Partitioned stacks: the cluster stack holds the servers and everything cluster-wide; one stack per\n# ${partitionBy} holds its gpu and cpu machines (stacks/Pulumi.<stack>-<partition>.yaml). See README, "Partitioned stacks".\npartitions:\n  by: ${partitionBy}\n`;
}

/** A file path relative to the project root, with '/' (as printed and as in --json). */
export function projectPath(repoRoot: string, file: string): string {
  return path.relative(repoRoot, file).split(path.sep).join("/");
}

/** A written stack: its files, and either the site's figures or why it does not plan yet. */
export interface WrittenStack {
  /** Files written, relative to the project root. */
  files: string[];
  /** The site's figures; absent when the site does not plan yet with the given inventory. */
  figures?: TemplateFigures;
  /** Why the site does not plan with the given inventory (file:line relative to the project); empty when it does. */
  problems: Problem[];
  /** The step that makes the site fit the inventory, first of the next steps; absent when it fits. */
  fitStep?: NextStep;
}

/** Problems shown under "does not plan yet" before the rest are counted (validate lists them all). */
const FIT_PROBLEMS_SHOWN = 5;

/**
 * Circuits the inventory names that the site's `power.circuits` lacks (inventory order), and
 * the site's own circuit ids, read from the texts as written (the site does not load yet).
 */
export function missingCircuits(siteText: string, inventoryText: string): { missing: string[]; known: string[] } {
  const doc = parseDocument(siteText);
  const circuits = doc.getIn(["power", "circuits"]) as { items?: unknown[] } | undefined;
  const known: string[] = [];
  for (const item of circuits?.items ?? []) {
    const id = isMap(item) ? item.get("id") : undefined;
    if (typeof id === "string") known.push(id);
  }
  const missing: string[] = [];
  for (const m of parseInventory(inventoryText, "inventory.csv").machines) {
    const c = m.circuit;
    if (typeof c === "string" && !known.includes(c) && !missing.includes(c)) missing.push(c);
  }
  return { missing, known };
}

/**
 * Writes a drafted stack, then loads and plans it as `plan --stack` will. With a given
 * inventory the site may not fit it yet (circuits, node subnet): the files stay written and the
 * problems come back with the first step to take, since editing the site is the fix.
 */
export function writeStack(draft: StackDraft, self = "mine2hpc"): WrittenStack {
  const { files, repoRoot, stack } = draft;
  mkdirSync(path.dirname(files.site), { recursive: true });
  writeFileSync(files.site, draft.siteText);
  if (draft.inventorySource && files.inventory) copyFileSync(draft.inventorySource, files.inventory);
  writeFileSync(files.stack, draft.stackText);
  for (const p of draft.partitionStacks) writeFileSync(p.file, p.text);
  const written = loadStack(stack, repoRoot);
  const rel = [files.stack, files.site, ...(files.inventory ? [files.inventory] : []), ...draft.partitionStacks.map((p) => p.file)].map((f) => projectPath(repoRoot, f));
  try {
    const { loaded, plan } = loadAndPlan({ siteFile: written.siteFile, repoRoot, stack }, repoRoot);
    return { files: rel, figures: templateFigures(loaded.spec, plan), problems: [] };
  } catch (err) {
    // Only a person's inventory may misfit; the template with its own inventory was planned in draftStack.
    if (!(err instanceof SiteError) || !draft.inventoryGiven || !files.inventory) throw err;
    const siteRel = projectPath(repoRoot, files.site);
    const { missing, known } = missingCircuits(readFileSync(files.site, "utf8"), readFileSync(files.inventory, "utf8"));
    const circuitProblems = err.problems.filter((p) => p.message.includes("names unknown circuit")).length;
    const subnetProblems = err.problems.filter((p) => p.message.includes("is outside network.nodeSubnet")).length;
    const others = err.problems.length - circuitProblems - subnetProblems;
    const knownShown = known.length > 5 ? `${known.slice(0, 5).join(", ")} and ${known.length - 5} more` : known.join(", ") || "none yet";
    const todo = [
      missing.length > 0
        ? `add circuit${missing.length === 1 ? "" : "s"} ${missing.join(", ")} (named by the inventory) to power.circuits in ${siteRel}, with feed, volts, amps and phases, or write the site's circuit ids (${knownShown}) into your circuit rules and run mine2hpc import again`
        : "",
      subnetProblems > 0 ? `set network.nodeSubnet in ${siteRel} to a range that holds the inventory's node IPs (${subnetProblems} outside it)` : "",
      others > 0 ? `fix the ${others} other problem${others === 1 ? "" : "s"} that validate lists` : "",
    ].filter((t) => t !== "");
    const what = `Make the site fit the inventory: ${todo.join("; ")}; then check`;
    return { files: rel, problems: [...err.problems], fitStep: { what, command: `${self} validate --stack ${stack}` } };
  }
}

/** The Markdown `init` and `new` print with -o md: files, figures (or why the site does not plan yet) and next steps as tables. */
export function createdMarkdown(heading: string, written: WrittenStack, steps: readonly NextStep[]): string {
  const n = written.problems.length;
  const site = written.figures
    ? { title: "The site loads and plans", table: figureTable(written.figures) }
    : {
        title: `The site does not plan yet with this inventory (${n} problem${n === 1 ? "" : "s"})`,
        table: { headers: ["WHERE", "PROBLEM", "FIX"], rows: written.problems.map((p) => [p.source ? `${p.source.file}:${p.source.line}` : "", p.message, p.fix]) },
      };
  return docMarkdown({
    heading,
    summary: [],
    sections: [
      { title: "Files written", table: { headers: ["FILE"], rows: written.files.map((f) => [f]) } },
      site,
      { title: "Next steps", table: { headers: ["#", "STEP", "COMMAND"], align: ["right", "left", "left"], rows: steps.map((s, k) => [String(k + 1), s.what, `\`${s.command}\``]) } },
    ],
  });
}

/** The text `init` and `new` print: what was written, the figures (or why the site does not plan yet), the numbered next steps (the fit step first, when there is one). */
export function createdText(heading: string, written: WrittenStack, steps: readonly NextStep[]): string {
  const out = [heading, ...written.files.map((f) => `  ${f}`), ""];
  if (written.figures) out.push("The site loads and plans:", ...figureLines(written.figures));
  else {
    const n = written.problems.length;
    out.push(`The site does not plan yet with this inventory (${n} problem${n === 1 ? "" : "s"}); the files are written, so fix them there:`);
    for (const p of written.problems.slice(0, FIT_PROBLEMS_SHOWN)) out.push(...formatProblem(p).split("\n").map((l) => `  ${l}`));
    if (n > FIT_PROBLEMS_SHOWN) out.push(`  ... and ${n - FIT_PROBLEMS_SHOWN} more (mine2hpc validate lists them all)`);
  }
  out.push("", "Next steps:");
  steps.forEach((s, k) => out.push(`  ${k + 1}. ${s.what}:`, `       ${s.command}`));
  return out.join("\n") + "\n";
}

/** A problem as --json prints it. */
export function problemJson(p: Problem) {
  return { file: p.source?.file ?? null, line: p.source?.line ?? null, message: p.message, fix: p.fix };
}

const command: Command = {
  name: "init",
  summary: "Start a site from a template: write stacks/Pulumi.STACK.yaml and the site it points to.",
  usage: "STACK --template NAME [--inventory FILE] [--partition-by feed|circuit|rack] [--force] [-o text|json|yaml|md]",
  description: [
    "Checks the template (load and plan) and a given inventory on its own (CSV, each row against the machine schema) before",
    "writing, and refuses to overwrite existing files without --force. Whether the inventory fits the site (its circuits in",
    "power.circuits, its IPs in the node subnet) is checked once the site is written, since the site is where that is fixed:",
    "a misfit is listed with the exact first step (exit 0), e.g. the circuits to add.",
  ].join("\n"),
  options: {
    template: { type: "string", valueName: "NAME", description: "Template to start from (see 'mine2hpc templates')." },
    inventory: { type: "string", valueName: "FILE", description: "Inventory CSV to copy instead of the template's sample (e.g. from 'mine2hpc import')." },
    "partition-by": { type: "string", valueName: "KIND", description: "Split the gpu and cpu machines into partitions, one stack each, by feed, circuit or rack (writes stacks/Pulumi.STACK-PARTITION.yaml too)." },
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
    const partitionBy = ctx.values["partition-by"] as string | undefined;
    const draft = draftStack({
      cwd: ctx.cwd,
      repoRoot,
      stack,
      template: ctx.values.template as string | undefined,
      ...(invFlag !== undefined ? { inventory: invFlag } : {}),
      ...(partitionBy !== undefined ? { partitionBy } : {}),
      by: "mine2hpc init",
    });
    const existing = [...Object.values(draft.files), ...draft.partitionStacks.map((p) => p.file)].filter((f) => existsSync(f));
    if (existing.length > 0 && ctx.values.force !== true) {
      throw new CliError(
        `${existing.map((f) => projectPath(repoRoot, f)).join(", ")} already exist${existing.length === 1 ? "s" : ""}; nothing was written.\n  fix: pass --force to overwrite ${existing.length === 1 ? "it" : "them"}, or pick another stack name.`,
      );
    }
    const written = writeStack(draft, ctx.self);
    const steps = written.fitStep ? [written.fitStep, ...nextSteps(stack, ctx.self, draft.partitions)] : nextSteps(stack, ctx.self, draft.partitions);
    const heading = `Created stack ${stack} from template ${draft.template.name}:`;
    printResult(ctx, format, {
      data: { stack, template: draft.template.name, files: written.files, inventoryFrom: draft.inventoryFrom, figures: written.figures ?? null, siteProblems: written.problems.map(problemJson), nextSteps: steps },
      text: () => createdText(heading, written, steps),
      md: () => createdMarkdown(heading.replace(/:$/, ""), written, steps),
    });
    return 0;
  },
};
export default command;
