/**
 * The files of a site repository, as `mine2hpc new` writes them: a Pulumi project of its own
 * whose program is the packaged mine2hpc program, so upgrading mine2hpc is `npm install
 * mine2hpc@VERSION` in the site's repository instead of a merge into a fork of this one.
 *
 * Pure text from the site's name and this package's package.json (versions are pinned to the
 * ones this mine2hpc was tested with).
 */
import { readFileSync } from "node:fs";
import { partitionSteps, type NextStep } from "./commands/init.js";

/** The fields of mine2hpc's own package.json that a site repository pins. */
export interface OwnPackage {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  engines: { node: string };
}

/** This package's package.json (two folders above src/cli/, in a clone and in node_modules/mine2hpc). */
export function readOwnPackage(): OwnPackage {
  return JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as OwnPackage;
}

/**
 * package.json of a site repository. `mine2hpc` pinned exactly (an upgrade is a reviewed
 * change, previewed by `mine2hpc diff` in its pull request); `@pulumi/pulumi` and `tsx` at
 * mine2hpc's versions because the project itself needs them at the top of node_modules: Pulumi's
 * language host loads `@pulumi/pulumi` from the project folder, and Pulumi.yaml's
 * `--import=tsx` is resolved from there too.
 */
export function sitePackageJson(name: string, own: OwnPackage = readOwnPackage()): string {
  const pkg = {
    name,
    private: true,
    description: `The ${name} mining site as a Kubernetes GPU cluster, with mine2hpc.`,
    type: "module",
    engines: { node: own.engines.node },
    scripts: {
      test: `mine2hpc validate --stack ${name}`,
      plan: `mine2hpc plan --stack ${name}`,
      preview: `mine2hpc preview --offline --stack ${name}`,
    },
    dependencies: {
      "@pulumi/pulumi": own.dependencies["@pulumi/pulumi"],
      [own.name]: own.version,
      tsx: own.dependencies.tsx,
    },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/**
 * Pulumi.yaml of a site repository. The mine2hpc:* keys are not declared under `config:`:
 * Pulumi refuses a type or a default on a key outside the project's own namespace
 * ("Configuration key '…' is not namespaced by the project and should not define a type",
 * pulumi/pulumi sdk/go/common/workspace/project.go), and they keep mine2hpc's namespace so the
 * program (`new pulumi.Config("mine2hpc")`) reads them whatever the project is called.
 */
export function sitePulumiYaml(name: string): string {
  return [
    `# ${name}: one Pulumi project for the site, one stack per site (stacks/Pulumi.<stack>.yaml).`,
    "# The program is mine2hpc's (index.ts); upgrade it with 'npm install mine2hpc@<version>'.",
    `name: ${name}`,
    `description: The ${name} mining site as a k3s GPU cluster with power-aware node pools (mine2hpc).`,
    "runtime:",
    "  name: nodejs",
    "  options:",
    "    # index.ts runs through tsx (a dependency), as mine2hpc's own program and CLI do.",
    "    typescript: false",
    '    nodeargs: "--import=tsx"',
    "main: index.ts",
    "stackConfigDir: stacks",
    "# Stack config, in mine2hpc's namespace (set each key with it: 'pulumi config set mine2hpc:site …'):",
    "#   mine2hpc:site            site file, relative to this folder (required; mine2hpc new sets it)",
    "#   mine2hpc:inventory       inventory CSV replacing the site's own (optional)",
    "#   mine2hpc:sshPrivateKey   SSH private key for every machine (secret): pulumi config set --secret",
    "#                            mine2hpc:sshPrivateKey < KEYFILE; without it, pulumi up uses the SSH agent",
    "#                            (SSH_AUTH_SOCK), which keeps the key out of the state (large sites)",
    "#   mine2hpc:k3sToken        k3s join token (secret, optional: generated once and kept in state)",
    "# They are not declared under config: here, because Pulumi allows a type only on keys of the",
    "# project's own namespace.",
    "",
  ].join("\n");
}

/** index.ts of a site repository: the mine2hpc program, its outputs as the stack's. */
export const SITE_INDEX_TS = [
  "// The mine2hpc program: stack config (mine2hpc:*) → site → plan → FarmCluster; `pulumi up` runs it.",
  'import { run } from "mine2hpc";',
  "// Each key of the default export is a stack output (a cluster stack and a partition stack differ).",
  "export default run();",
  "",
].join("\n");

/** .gitignore of a site repository: nothing that holds secrets or can be rebuilt. */
export const SITE_GITIGNORE = [
  "node_modules/",
  "*.log",
  ".pulumi/",
  "# Written by 'mine2hpc kubeconfig' (mode 0600): an admin credential.",
  "kubeconfig",
  "# The agents' bootstrap files the program writes for remote.CopyToRemote (one archive per content).",
  ".mine2hpc/",
  "",
].join("\n");

/**
 * .npmrc of a site repository (and of this one): `npm install` stops at once on a Node older
 * than engines.node instead of warning, and Pulumi's Node.js host checks engines.node before it
 * runs the program when engine-strict is set (@pulumi/pulumi cmd/run/run.js).
 */
export const SITE_NPMRC = "# npm ci / npm install stop at once on a Node older than package.json engines.node (npm only warns by default).\nengine-strict=true\n";

/** The steps from a fresh site repository to `pulumi up`, in order. */
export function siteNextSteps(dir: string, stack: string, partitions: readonly string[] = []): NextStep[] {
  return [
    { what: "Install mine2hpc and the Pulumi SDK into the repository", command: dir === "." ? "npm install" : `cd ${dir} && npm install` },
    { what: "Start its history (mine2hpc diff compares a pull request with its base commit)", command: `git init && git add -A && git commit -m "Site ${stack} from mine2hpc new"` },
    { what: `Edit stacks/${stack}/site.yaml and the inventory for your site, then check them`, command: `npx mine2hpc validate --stack ${stack}` },
    { what: "See what mine2hpc will build: pools, GPU caps, circuit loads, curtailment", command: `npx mine2hpc plan --stack ${stack}` },
    { what: "List the resources the program registers, with no cloud and no cluster", command: `npx mine2hpc preview --offline --stack ${stack}` },
    { what: "Create the Pulumi stack (its config file already exists)", command: `pulumi stack init ${stack}` },
    { what: "Store the SSH private key mine2hpc prepares the hosts with (encrypted in the stack file)", command: "pulumi config set --secret mine2hpc:sshPrivateKey < ~/.ssh/id_ed25519" },
    { what: "Preview, then apply", command: `pulumi preview --stack ${stack} && pulumi up --stack ${stack}` },
    ...partitionSteps(stack, partitions),
  ];
}

/** README.md of a site repository: what is where, and the next steps. */
export function siteReadme(name: string, stack: string, template: string, version: string, partitions: readonly string[] = []): string {
  const steps = siteNextSteps(".", stack, partitions).map((s, k) => `${k + 1}. ${s.what}:\n   \`\`\`sh\n   ${s.command}\n   \`\`\``);
  return [
    `# ${name}`,
    "",
    `The ${name} mining site as a Kubernetes GPU cluster with power-aware node pools, run by`,
    `[mine2hpc](https://www.npmjs.com/package/mine2hpc) ${version}. Started from the \`${template}\` template by \`mine2hpc new\`.`,
    "",
    "```sh",
    "npm ci && npm test    # install, then validate the site (mine2hpc validate)",
    "```",
    "",
    "| file | what it is |",
    "|---|---|",
    `| \`stacks/${stack}/site.yaml\` | the site: feeds, circuits, network, Kubernetes, machines (schema: node_modules/mine2hpc/schema) |`,
    `| \`stacks/${stack}/inventory.csv\` | the machines, one row each (from \`mine2hpc import\` or by hand) |`,
    `| \`stacks/Pulumi.${stack}.yaml\` | the stack: which site file, and the encrypted secrets |`,
    ...(partitions.length > 0
      ? [`| \`stacks/Pulumi.${stack}-<partition>.yaml\` | one stack per partition (${partitions.join(", ")}): its gpu and cpu machines; reads the cluster from stack ${stack} |`]
      : []),
    "| `index.ts` | the Pulumi program: mine2hpc's `run()`, nothing else |",
    "| `Pulumi.yaml` | the Pulumi project (config keys are `mine2hpc:*`) |",
    "| `.github/workflows/` | every pull request: `npm test`, the offline `mine2hpc diff` as a comment, `pulumi preview` when `PULUMI_ACCESS_TOKEN` is set; `pulumi up` on main behind the `production` environment |",
    "",
    "## Next steps",
    "",
    ...steps,
    "",
    "## Upgrading mine2hpc",
    "",
    "```sh",
    "npm install mine2hpc@<version>",
    `npx mine2hpc diff --base main --stack ${stack}   # what the upgrade changes on the site, before it merges`,
    "```",
    "",
    "Every `mine2hpc` command runs in this folder (it finds `Pulumi.yaml` and `stacks/`); `npx mine2hpc --help` lists them.",
    "",
  ].join("\n");
}
