/**
 * Reading a Pulumi stack config file (`stacks/Pulumi.<stack>.yaml`) without the Pulumi CLI,
 * so `mine2hpc validate --stack NAME` and CI work on a machine with no Pulumi login.
 *
 * The Pulumi program itself reads config through `@pulumi/pulumi` (only `src/index.ts` does);
 * this reader exists for the CLI. Secure values (`{ secure: "v1:..." }`) are kept as
 * `SecretValue`s, whose string and JSON forms are `[secret]`, so a log line or a `--json`
 * dump of the config can never print the ciphertext.
 */
import { join } from "node:path";
import { LineCounter, parseDocument, isMap, isScalar } from "yaml";
import { confinedPath, parserMessage, quoted, readInputText } from "./input.js";
import { SiteError, type Problem } from "./problems.js";

/** A Pulumi secure config value; prints as `[secret]` everywhere. */
export class SecretValue {
  readonly #ciphertext: string;
  constructor(ciphertext: string) {
    this.#ciphertext = ciphertext;
  }
  /** The encrypted value as stored in the stack file (only Pulumi can decrypt it). */
  ciphertext(): string {
    return this.#ciphertext;
  }
  toString(): string {
    return "[secret]";
  }
  toJSON(): string {
    return "[secret]";
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[secret]";
  }
}

/** What a stack says about its site. */
export interface StackConfig {
  /** Stack name, e.g. `demo`. */
  stack: string;
  /** The site file: `mine2hpc:site` joined to the repo root. */
  siteFile: string;
  /** The inventory CSV (`mine2hpc:inventory` joined to the repo root), overriding the site's own. */
  inventory?: string;
  /** Every config key of the stack file as written (`mine2hpc:site`, `kubernetes:context`, …); secure values are `SecretValue`s. */
  config: Record<string, unknown>;
  /**
   * The partition this stack holds (`mine2hpc:partition`) and the line of the stack file that
   * says so; absent for a cluster stack (or the whole site).
   */
  partition?: { name: string; line: number };
  /** The cluster stack a partition stack reads (`mine2hpc:clusterStack`), as written. */
  clusterStack?: string;
  /**
   * `mine2hpc:partitioned: "true"`: this cluster stack of a partitioned site was made as one, or its
   * partitions' machines were moved out of its state (see {@link unsplitClusterStackProblem}).
   */
  partitioned: boolean;
  /** The line of the stack file that sets `mine2hpc:partitioned` (else 1). */
  partitionedLine: number;
}

/** Config key (namespace `mine2hpc`) that says a partitioned site's cluster stack holds no partition's machines. */
export const PARTITIONED_KEY = "partitioned";

/**
 * The problem of a partitioned site's cluster stack without `mine2hpc:partitioned: "true"`.
 *
 * Why: the natural cluster stack of a site split into partitions is its old whole-site stack,
 * whose state holds every agent's bootstrap without `retainOnDelete`. On its next `up` those
 * agents are no longer registered, so Pulumi deletes them with the options in state: the stored
 * `delete` (the k3s uninstall) runs on every machine now in a partition.
 * The program and `mine2hpc validate --stack` refuse the stack until the operator says it is safe.
 * The moved resources keep their URNs: FarmPartition registers under FarmCluster's type token
 * (src/components/farm-cluster.ts), and `pulumi state move` rewrites only the stack
 * (https://www.pulumi.com/docs/iac/operations/stack-management/moving-resources-between-stacks/).
 */
export function unsplitClusterStackProblem(stack: string, site: string, partitions: readonly string[], source: { file: string; line: number }, value?: unknown): Problem {
  const set = value === undefined || value === null ? `does not set mine2hpc:${PARTITIONED_KEY}` : `does not set mine2hpc:${PARTITIONED_KEY} to "true"`;
  return {
    message:
      `stack ${stack} is the cluster stack of partitioned site ${site} (partitions ${partitions.join(", ")}) but ${set}: ` +
      `if it ran the site before it was partitioned, its state still holds the bootstraps of the machines that now belong to partitions, ` +
      `and running it would uninstall k3s from every one of them`,
    fix:
      `if this stack ran the site before, first move each partition's machines into that partition's stack, once per partition: ` +
      `'pulumi state move --source ${stack} --dest <partition stack> <URNs>' (URNs from 'pulumi stack --stack ${stack} --show-urns': ` +
      `every resource named ${site}-<host> or ${site}-<host>-… of the partition's machines; they are the same in both layouts); a brand-new site has nothing to move. ` +
      `Then run 'pulumi config set mine2hpc:${PARTITIONED_KEY} true --stack ${stack}'`,
    source,
  };
}

/** Partition names as the site allows them (DNS labels). */
const PARTITION_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A stack of this project (`name`) or a fully qualified one (`org/project/name`). */
const STACK_REF = /^([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/)?[A-Za-z0-9_.-]+$/;

/** Stack names as Pulumi allows them; also keeps a name from reaching outside `stacks/`. */
const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

/** Reads `stacks/Pulumi.<stackName>.yaml` under `repoRoot`; throws `SiteError` with a fix when it cannot name a site. */
export function loadStack(stackName: string, repoRoot: string): StackConfig {
  const rel = join("stacks", `Pulumi.${stackName}.yaml`);
  const file = join(repoRoot, rel);
  const setSite = `pulumi config set mine2hpc:site templates/<template>/site.yaml --stack ${stackName}`;
  if (!STACK_NAME.test(stackName) || stackName.startsWith(".")) {
    throw new SiteError([
      { message: `'${stackName}' is not a valid stack name`, fix: "use letters, digits, '-', '_' and '.', e.g. --stack demo", source: { file: rel, line: 1 } },
    ]);
  }
  const read = readInputText(file, "stack file", file);
  if (!read.ok && read.code !== "ENOENT") throw new SiteError([{ message: read.message, fix: read.fix, source: { file, line: 1 } }]);
  if (!read.ok) {
    throw new SiteError([
      {
        message: `stack file ${file} does not exist`,
        fix: `start it from a template with 'mine2hpc init ${stackName} --template NAME' (see 'mine2hpc templates'), or create it with 'pulumi stack init ${stackName}' and '${setSite}', or pick an existing stack under stacks/`,
        source: { file, line: 1 },
      },
    ]);
  }
  const text = read.text;

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: "error" });
  if (doc.errors.length > 0) {
    throw new SiteError(
      doc.errors.map((err) => {
        const pos = lineCounter.linePos(err.pos[0]);
        return {
          message: `YAML syntax error: ${parserMessage(err.message, err.code)}`,
          fix: "fix the YAML at this position: check indentation, ':' after keys and matching quotes",
          source: { file, line: pos.line, column: pos.col },
        };
      }),
    );
  }

  const configNode = isMap(doc.contents) ? doc.contents.get("config", true) : undefined;
  const problems: Problem[] = [];
  const config: Record<string, unknown> = {};
  if (isMap(configNode)) {
    for (const pair of configNode.items) {
      if (!isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      const value = (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? null;
      config[key] = isSecure(value) ? new SecretValue(value.secure) : value;
    }
  }
  const lineOf = (key: string): number => {
    if (!isMap(configNode)) return 1;
    const pair = configNode.items.find((p) => isScalar(p.key) && p.key.value === key);
    const range = (pair?.value as { range?: [number, number, number] } | null)?.range ?? (pair?.key as { range?: [number, number, number] } | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : 1;
  };

  const site = config["mine2hpc:site"];
  if (site === undefined || site === null || site === "") {
    problems.push({
      message: `stack ${stackName} does not name a site (no mine2hpc:site in its config)`,
      fix: `run '${setSite}' or add 'mine2hpc:site: <path relative to the repo root>' under config: in ${rel}`,
      source: { file, line: lineOf("mine2hpc:site") },
    });
  } else if (typeof site !== "string") {
    // Never echo the value: it may be a SecretValue set by mistake with --secret.
    problems.push({
      message: "mine2hpc:site must be a plain string path",
      fix: `run '${setSite}' (without --secret)`,
      source: { file, line: lineOf("mine2hpc:site") },
    });
  }
  const inventory = config["mine2hpc:inventory"];
  if (inventory !== undefined && inventory !== null && typeof inventory !== "string") {
    problems.push({
      message: "mine2hpc:inventory must be a plain string path",
      fix: `run 'pulumi config set mine2hpc:inventory <path relative to the repo root> --stack ${stackName}'`,
      source: { file, line: lineOf("mine2hpc:inventory") },
    });
  }
  // A stack file is changed in pull requests like any other: its paths may not leave the
  // project, or CI would read (and quote) whatever they name (/proc/self/environ, ~/.ssh/...).
  for (const key of ["mine2hpc:site", "mine2hpc:inventory"] as const) {
    const value = config[key];
    if (typeof value !== "string" || value === "" || confinedPath(repoRoot, value) !== undefined) continue;
    problems.push({
      message: `${key} ${quoted(value)} is outside the project folder; it was not read`,
      fix: `give a path inside the project, relative to its root (e.g. ${key === "mine2hpc:site" ? "sites/NAME/site.yaml" : "sites/NAME/inventory.csv"})${key === "mine2hpc:inventory" ? ", or pass a file elsewhere on the command line with --inventory FILE" : ", or pass a file elsewhere on the command line with --site FILE"}`,
      source: { file, line: lineOf(key) },
    });
  }
  const partition = config["mine2hpc:partition"];
  const clusterStack = config["mine2hpc:clusterStack"];
  if (partition !== undefined && partition !== null) {
    if (typeof partition !== "string" || !PARTITION_NAME.test(partition)) {
      problems.push({
        message: "mine2hpc:partition must name one of the site's partitions (a DNS label)",
        fix: `run 'pulumi config set mine2hpc:partition <partition> --stack ${stackName}' with a name from the site's partitions ('mine2hpc plan' lists them)`,
        source: { file, line: lineOf("mine2hpc:partition") },
      });
    }
    if (typeof clusterStack !== "string" || !STACK_REF.test(clusterStack)) {
      problems.push({
        message: `partition stack ${stackName} names no cluster stack (mine2hpc:clusterStack), or not as a stack name`,
        fix: `run 'pulumi config set mine2hpc:clusterStack <cluster stack> --stack ${stackName}': the stack of this project that holds the servers (e.g. the site's name), or org/project/stack`,
        source: { file, line: lineOf(clusterStack === undefined ? "mine2hpc:partition" : "mine2hpc:clusterStack") },
      });
    }
  } else if (clusterStack !== undefined && clusterStack !== null) {
    problems.push({
      message: "mine2hpc:clusterStack is set but mine2hpc:partition is not: only a partition stack reads a cluster stack",
      fix: `add 'mine2hpc:partition: <partition>' to ${rel}, or remove mine2hpc:clusterStack`,
      source: { file, line: lineOf("mine2hpc:clusterStack") },
    });
  }
  const partitioned = config[`mine2hpc:${PARTITIONED_KEY}`];
  if (problems.length > 0) throw new SiteError(problems);

  return {
    stack: stackName,
    siteFile: join(repoRoot, site as string),
    ...(typeof inventory === "string" && inventory !== "" ? { inventory: join(repoRoot, inventory) } : {}),
    config,
    ...(typeof partition === "string" ? { partition: { name: partition, line: lineOf("mine2hpc:partition") } } : {}),
    ...(typeof clusterStack === "string" ? { clusterStack } : {}),
    // `pulumi config set mine2hpc:partitioned true` writes the string "true"; a hand-written `true` is a boolean.
    partitioned: partitioned === "true" || partitioned === true,
    partitionedLine: lineOf(`mine2hpc:${PARTITIONED_KEY}`),
  };
}

function isSecure(v: unknown): v is { secure: string } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as { secure?: unknown }).secure === "string" && Object.keys(v).length === 1;
}
