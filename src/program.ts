/**
 * The mine2hpc Pulumi program as a function: stack config → site → plan → FarmCluster.
 *
 * This repository's `src/index.ts` calls it, and so does the three-line `index.ts` of a site
 * repository made by `mine2hpc new`, so `pulumi up` runs the same program in both.
 *
 * The only code that reads stack config. It loads, validates and plans the site before creating
 * anything, so an invalid site throws its SiteError (every problem, with file:line and fix) while
 * no resource has been registered.
 *
 * Config is read from the `mine2hpc` namespace, not the project's: a site repository's Pulumi
 * project has its own name, and `new pulumi.Config()` would read `<project>:site` there. Keys set
 * with their namespace (`pulumi config set mine2hpc:site …`) are read by name in any project
 * (https://www.pulumi.com/docs/iac/concepts/config/: "Configuration keys … namespace:key").
 *
 * Partitioned stacks: a stack whose config sets `mine2hpc:partition` holds that partition's
 * machines only, and reads the cluster's join secrets (`clusterJoin`: CA hash and agent token)
 * from the stack `mine2hpc:clusterStack` through a StackReference; every other stack of the site is its cluster
 * stack (the whole site when the site has no partitions).
 */
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { FarmCluster, FarmPartition, summarizePlan, type CircuitSummary, type ClusterJoin, type PoolSummary } from "./components/farm-cluster.js";
import { SSH_AGENT, type SshAuth } from "./components/host-bootstrap.js";
import type { FarmPlan } from "./plan/types.js";
import { planFarm } from "./plan/index.js";
import { loadAndValidate } from "./site/load.js";
import { SiteError } from "./site/problems.js";
import { PARTITIONED_KEY, unsplitClusterStackProblem } from "./site/stack.js";

/** Namespace of every mine2hpc config key (`mine2hpc:site`, `mine2hpc:sshPrivateKey`, …). */
export const CONFIG_NAMESPACE = "mine2hpc";

/** The stack outputs of the program; `index.ts` exports them as named exports. */
export interface FarmOutputs {
  /** Address clients use for the Kubernetes API. */
  apiEndpoint: pulumi.Output<string>;
  /**
   * Admin kubeconfig (secret): `mine2hpc kubeconfig --stack S` writes it to a file of mode 0600.
   * Cluster stacks only: a partition stack does not copy the credential into its own outputs.
   */
  kubeconfig?: pulumi.Output<string>;
  /** Pools: name, nodes, GPUs, cap range in W. */
  pools: pulumi.Output<PoolSummary[]>;
  /**
   * Circuit loads: id, load and usable power in W, load %. Every circuit of a one-stack site; on
   * a partitioned site, each stack's the circuits its own machines are on (see {@link run}).
   */
  circuitLoads: pulumi.Output<CircuitSummary[]>;
  /** What partition stacks read (secret; see {@link ClusterJoin}): the cluster stack of a partitioned site only. */
  clusterJoin?: pulumi.Output<ClusterJoin>;
  /** The partition this stack holds and its machines: partition stacks only. */
  partition?: pulumi.Output<{ name: string; machines: string[] }>;
}

/** Config key naming the partition a stack holds (absent: the cluster stack). */
export const PARTITION_KEY = "partition";
/** Config key naming the cluster stack a partition stack reads (`org/project/stack`, or a stack of this project). */
export const CLUSTER_STACK_KEY = "clusterStack";

/**
 * The StackReference name of the cluster stack: as given when fully qualified
 * (`org/project/stack`), else a stack of this project and organization (a self-managed backend's
 * organization is `organization`: https://www.pulumi.com/docs/iac/concepts/stacks/#stackreferences).
 */
export function clusterStackName(configured: string): string {
  if (configured.split("/").length === 3) return configured;
  if (configured.includes("/")) throw new Error(`mine2hpc:clusterStack '${configured}' must be a stack name or org/project/stack`);
  return `${pulumi.getOrganization()}/${pulumi.getProject()}/${configured}`;
}

/** Options of {@link run}. */
export interface RunOptions {
  /**
   * Folder the config's paths (`mine2hpc:site`, `mine2hpc:inventory`) are relative to.
   * @default process.cwd(): Pulumi runs the program in the project folder (the one holding Pulumi.yaml)
   */
  projectRoot?: string;
}

/**
 * Runs the mine2hpc program for the current stack and returns its outputs.
 *
 * @param config Where the `site`, `inventory`, `sshPrivateKey`, `k3sToken`, `k3sAgentToken` and `minerCredentials` keys are read.
 *   @default new pulumi.Config("mine2hpc")
 * @throws SiteError for an invalid or unplannable site, before any resource is registered.
 */
export function run(config: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE), opts: RunOptions = {}): FarmOutputs {
  const projectRoot = opts.projectRoot ?? process.cwd();
  const siteFile = resolve(projectRoot, config.require("site"));
  const inventory = config.get("inventory");
  const sshPrivateKey = sshAuth(config);

  // Throws SiteError for an invalid or unplannable site: nothing below has run yet.
  // The stack's inventory path must stay inside the project: a pull request can change it.
  const site = loadAndValidate(siteFile, inventory ? { inventory: resolve(projectRoot, inventory), inventoryRoot: projectRoot } : {});
  const plan = planFarm(site.spec);
  const partition = config.get(PARTITION_KEY);
  // A partitioned site's cluster stack may be its old whole-site stack, whose state still holds the
  // partitions' agents (without retainOnDelete): refused until it says otherwise, before any resource.
  if (partition === undefined && plan.partitions !== undefined && config.get(PARTITIONED_KEY) !== "true") {
    const stack = pulumi.getStack();
    const stackFile = resolve(projectRoot, "stacks", `Pulumi.${stack}.yaml`);
    throw new SiteError([unsplitClusterStackProblem(stack, plan.site.name, plan.partitions.names, { file: stackFile, line: 1 }, config.get(PARTITIONED_KEY))]);
  }
  if (partition !== undefined) return runPartition(plan, { partition, clusterStack: config.require(CLUSTER_STACK_KEY), sshPrivateKey });

  // Presence only (the value stays inside the secret Output): a missing token is generated once
  // and kept in state, so every later `up` joins nodes with the same one.
  const hasConfiguredToken = (pulumi.runtime.getConfig(`${config.name}:k3sToken`) ?? "") !== "";
  const k3sToken: pulumi.Output<string> = hasConfiguredToken
    ? config.requireSecret("k3sToken")
    : new random.RandomPassword(`${plan.site.name}-k3s-token`, { length: 48, special: false }).result;

  // The agent token (k3s `agent-token`) is a second secret, so no agent ever holds the server
  // token (full admin: docs.k3s.io/cli/token). Configured, or generated once and kept in state.
  const hasConfiguredAgentToken = (pulumi.runtime.getConfig(`${config.name}:k3sAgentToken`) ?? "") !== "";
  const k3sAgentToken: pulumi.Output<string> = hasConfiguredAgentToken
    ? config.requireSecret("k3sAgentToken")
    : new random.RandomPassword(`${plan.site.name}-k3s-agent-token`, { length: 48, special: false }).result;

  // Miner API credentials for the curtailment jobs: a secret, written only into a Kubernetes Secret.
  const minerCredentials = config.getSecret("minerCredentials");
  const farm = new FarmCluster(plan.site.name, { plan, sshPrivateKey, k3sToken, k3sAgentToken, ...(minerCredentials !== undefined ? { minerCredentials } : {}) });
  return {
    apiEndpoint: farm.apiEndpoint,
    kubeconfig: farm.kubeconfig,
    pools: farm.pools,
    // Partitioned: the circuits of the cluster stack's own machines only (FarmCluster). Every
    // partition stack's StackReference keeps ALL of this stack's outputs in its checkpoint (the
    // engine's `pulumi:pulumi:StackReference` read returns `outputs` whole), and it is the
    // partition's first resource, so it is rewritten with every checkpoint write of the
    // partition's `up`. The whole site's list is one row per circuit (63 KB at 835 circuits, 5,000
    // GPU nodes: bench/partitions.ts) that no partition reads; each stack exports its own
    // machines' circuits instead, and `mine2hpc plan` prints every circuit from the same site file.
    circuitLoads: farm.circuitLoads,
    // Only partitioned sites export the join secrets: nothing else reads them.
    ...(plan.partitions !== undefined ? { clusterJoin: farm.clusterJoin } : {}),
  };
}

/** What a partition stack is, besides the site's plan (from its stack config). */
export interface PartitionStackArgs {
  /** The partition it holds (`mine2hpc:partition`). */
  partition: string;
  /** The cluster stack it reads (`mine2hpc:clusterStack`: a stack of this project, or org/project/stack). */
  clusterStack: string;
  /** SSH private key for its machines (a Pulumi secret), or the SSH agent. */
  sshPrivateKey: SshAuth;
}

/**
 * How the stack's commands authenticate over SSH: `mine2hpc:sshPrivateKey` (a secret, kept in the
 * state of every command that dials a host), or, without it, the SSH agent the Pulumi CLI runs
 * with (`SSH_AUTH_SOCK`; ssh-agent + ssh-add locally, an ssh-agent step in CI), which keeps the
 * fleet's key out of the state. A `pulumi up` without either fails here, before any host is
 * dialled; a preview dials nothing and needs neither.
 */
export function sshAuth(config: pulumi.Config): SshAuth {
  const key = config.getSecret("sshPrivateKey");
  if (key !== undefined) return key;
  if (!pulumi.runtime.isDryRun() && (process.env["SSH_AUTH_SOCK"] ?? "") === "") {
    throw new Error(
      `stack ${pulumi.getStack()}: no SSH credentials: set ${config.name}:sshPrivateKey (pulumi config set --secret ${config.name}:sshPrivateKey < key) ` +
        "or run pulumi up with an SSH agent holding the fleet's key (eval \"$(ssh-agent)\"; ssh-add key), which keeps the key out of the stack's state",
    );
  }
  return SSH_AGENT;
}

/**
 * A partition stack: its machines only, joined to the cluster stack's cluster through a
 * StackReference. Exported for the bench, which builds partition stacks the way `pulumi up` does.
 */
export function runPartition(plan: FarmPlan, args: PartitionStackArgs): FarmOutputs {
  const { partition, sshPrivateKey } = args;
  const cluster = new pulumi.StackReference(`${plan.site.name}-cluster`, { name: clusterStackName(args.clusterStack) });
  const farm = new FarmPartition(plan.site.name, {
    plan,
    partition,
    sshPrivateKey,
    // requireOutput keeps the secret flag of the referenced outputs (the SDK's secretOutputNames).
    cluster: { join: cluster.requireOutput("clusterJoin") as pulumi.Output<ClusterJoin> },
  });
  // The circuits of this partition's machines, not the whole site's (see `circuitLoads` in run).
  const summary = summarizePlan(plan, new Set(farm.machines));
  return {
    apiEndpoint: farm.apiEndpoint,
    pools: pulumi.output(summary.pools),
    circuitLoads: pulumi.output(summary.circuitLoads),
    partition: pulumi.output({ name: partition, machines: farm.machines }),
  };
}
