/**
 * FarmCluster: a mining site as a Kubernetes GPU cluster, composed from the FarmPlan —
 * hosts bootstrapped (HostBootstrap), cluster access (ClusterAccess), cluster software
 * (KubePlatform) and the power-aware pools (PowerPools).
 */
import * as pulumi from "@pulumi/pulumi";
import type { SshAuth } from "./host-bootstrap.js";
import type { FarmPlan } from "../plan/types.js";
import { stackHosts } from "../plan/partitions.js";
import { ClusterAccess } from "./cluster-access.js";
import { HostBootstrap } from "./host-bootstrap.js";
import { KubePlatform, type KubePlatformArgs } from "./kube-platform.js";
import { PowerPools, type PowerPoolsArgs } from "./power-pools.js";

/** Arguments of {@link FarmCluster}. */
export interface FarmClusterArgs {
  /** The site's plan (from `planFarm`); every decision comes from it. */
  plan: FarmPlan;
  /** SSH private key for every node; a Pulumi secret from stack config. */
  sshPrivateKey: SshAuth;
  /** k3s server token (bare secret); a Pulumi secret (from config, or generated). Only servers receive it. */
  k3sToken: pulumi.Input<string>;
  /** k3s agent token (bare secret, k3s `agent-token`); a Pulumi secret. What agents join with. */
  k3sAgentToken: pulumi.Input<string>;
  /**
   * Helm chart overrides (mirror repository, version).
   * @default the pinned `CHARTS` of `render/versions.ts`
   */
  charts?: KubePlatformArgs["charts"];
  /**
   * Miner API credentials for the curtailment jobs (YAML or JSON text); a Pulumi secret.
   * @default none (see {@link PowerPoolsArgs.minerCredentials})
   */
  minerCredentials?: pulumi.Input<string>;
}

/** Plain summary of one pool, as exported by the stack. */
export interface PoolSummary {
  name: string;
  nodes: number;
  gpus: number;
  /** Lowest and highest node GPU cap in the pool, in W. */
  capWatts: { min: number; max: number };
}

/** Plain summary of one circuit's load, as exported by the stack. */
export interface CircuitSummary {
  id: string;
  loadWatts: number;
  usableWatts: number;
  loadPercent: number;
}

/**
 * Summaries the stack exports; plain data taken from the plan.
 *
 * @param hosts With it, `circuitLoads` holds only the circuits one of these machines is on (a
 *   stack of a partitioned site: its own machines' circuits); without it, every circuit.
 */
export function summarizePlan(plan: FarmPlan, hosts?: ReadonlySet<string>): { pools: PoolSummary[]; circuitLoads: CircuitSummary[] } {
  const circuits = hosts === undefined ? plan.circuits : plan.circuits.filter((c) => c.machines.some((m) => hosts.has(m)));
  return {
    pools: plan.pools.map((p) => ({ name: p.name, nodes: p.nodes.length, gpus: p.gpus, capWatts: { min: p.capWatts.min, max: p.capWatts.max } })),
    circuitLoads: circuits.map((c) => ({ id: c.id, loadWatts: c.loadWatts, usableWatts: c.usableWatts, loadPercent: c.loadPercent })),
  };
}

/**
 * What a partition stack needs from the cluster stack, exported by the cluster stack of a
 * partitioned site as one secret output (`clusterJoin`) and read through a StackReference.
 */
export interface ClusterJoin {
  /** The site's name: a partition stack refuses a cluster of another site. */
  site: string;
  /** The API endpoint agents join (`plan.kubernetes.apiEndpoint` where the cluster stack ran). */
  apiEndpoint: string;
  /** Cluster CA hash (64 hex digits) that pins the CA in the agents' secure join token. */
  caHash: string;
  /** k3s agent token (bare secret). Never the server token: that one stays in the cluster stack. */
  agentToken: string;
  /**
   * The first server's host config hash: a partition's publication of its agents' files follows it
   * (a re-imaged first server has lost k3s's data folder, and the files with it). Absent from a
   * cluster stack of an earlier mine2hpc (the publication then follows its own changes only).
   */
  firstServerConfig?: string;
}

/**
 * The site's cluster: every machine of an unpartitioned site, or on a partitioned one the
 * cluster stack's part (servers, platform, cluster-wide objects of the pools; `stackHosts(plan, null)`).
 */
export class FarmCluster extends pulumi.ComponentResource {
  /** Address clients use for the Kubernetes API. */
  readonly apiEndpoint: pulumi.Output<string>;
  /** Admin kubeconfig; always a secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** Pools with node count, GPUs and cap range. */
  readonly pools: pulumi.Output<PoolSummary[]>;
  /**
   * Circuit loads against their usable power: every circuit of the site, or on a partitioned
   * site those of this stack's machines (see `run` in program.ts).
   */
  readonly circuitLoads: pulumi.Output<CircuitSummary[]>;
  /** The host bootstraps (exposed for ordering checks and for stacks that add host steps). */
  readonly hosts: HostBootstrap;
  readonly access: ClusterAccess;
  readonly platform: KubePlatform;
  readonly powerPools: PowerPools;
  /** What partition stacks join with (secret); exported as `clusterJoin` by a partitioned site's cluster stack. */
  readonly clusterJoin: pulumi.Output<ClusterJoin>;

  constructor(name: string, args: FarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mine2hpc:index:FarmCluster", name, {}, opts);
    const { plan } = args;
    // Unpartitioned: every machine; partitioned: the servers (each partition's stack holds its agents).
    const hosts = stackHosts(plan, null);
    this.hosts = new HostBootstrap(
      name,
      { plan, sshPrivateKey: args.sshPrivateKey, serverToken: args.k3sToken, agentToken: args.k3sAgentToken, hosts },
      { parent: this },
    );
    const firstServer = this.hosts.commands[this.hosts.controlServer];
    if (firstServer === undefined) throw new Error(`plan of site '${plan.site.name}' has no k3s server`);
    this.access = new ClusterAccess(name, { plan, sshPrivateKey: args.sshPrivateKey, firstServerBootstrap: firstServer }, { parent: this });
    this.platform = new KubePlatform(
      name,
      // The servers only, never the agents: a dead rig fails its own bootstrap and nothing else.
      // Node agents (driver, device plugin) are DaemonSets that reach each rig when it joins.
      { plan, provider: this.access.provider, charts: args.charts, dependsOn: [...this.hosts.servers], sshPrivateKey: args.sshPrivateKey },
      { parent: this },
    );
    const kueueRelease = this.platform.releases.kueue;
    if (kueueRelease === undefined) throw new Error("KubePlatform did not install Kueue");
    this.powerPools = new PowerPools(
      name,
      {
        plan,
        provider: this.access.provider,
        nodeBootstraps: this.hosts.commands,
        kueueRelease,
        kueueReady: this.platform.webhooksReady.kueue,
        sshPrivateKey: args.sshPrivateKey,
        hosts,
        ...(args.minerCredentials !== undefined ? { minerCredentials: args.minerCredentials } : {}),
      },
      { parent: this },
    );
    this.clusterJoin = pulumi.secret(
      pulumi
        .all([this.hosts.caHash, args.k3sAgentToken, this.hosts.firstServerConfig])
        .apply(([caHash, agentToken, firstServerConfig]) => ({
          site: plan.site.name,
          apiEndpoint: plan.kubernetes.apiEndpoint,
          caHash,
          agentToken,
          ...(firstServerConfig !== "" ? { firstServerConfig } : {}),
        })),
    );

    const summary = summarizePlan(plan, plan.partitions === undefined ? undefined : hosts);
    this.apiEndpoint = pulumi.output(plan.kubernetes.apiEndpoint);
    this.kubeconfig = this.access.kubeconfig;
    this.pools = pulumi.output(summary.pools);
    this.circuitLoads = pulumi.output(summary.circuitLoads);
    this.registerOutputs({
      apiEndpoint: this.apiEndpoint,
      kubeconfig: this.kubeconfig,
      pools: this.pools,
      circuitLoads: this.circuitLoads,
    });
  }
}

/** Arguments of {@link FarmPartition}. */
export interface FarmPartitionArgs {
  /** The whole site's plan (power is shared); the stack registers only `partition`'s machines. */
  plan: FarmPlan;
  /** The partition this stack holds (one of `plan.partitions.names`). */
  partition: string;
  /** SSH private key for the partition's machines; a Pulumi secret from this stack's config. */
  sshPrivateKey: SshAuth;
  /**
   * The cluster stack's {@link ClusterJoin}, through a StackReference (`requireOutput` keeps it
   * secret). Nothing else: a partition stack talks to no Kubernetes API (see {@link FarmPartition}).
   */
  cluster: { join: pulumi.Input<ClusterJoin> };
}

/**
 * One partition of a partitioned site: its gpu and cpu machines' bootstraps, the publication of
 * their bootstrap files on the first server, and drains or removals, and nothing cluster-wide.
 * Agents join the cluster the cluster stack built, with the CA hash and agent token it exports.
 *
 * No Kubernetes provider and no admin kubeconfig: each node's bootstrap sets its planned labels
 * itself with the node's kubelet credentials (render/scripts.ts `labelBlock`), the publication
 * and the drain of a cordoned machine run on the first server over SSH; nothing in a partition stack calls the
 * API server from Pulumi, so it neither reads the cluster-admin credential nor keeps it in its
 * state (a provider's inputs are stored in the checkpoint).
 *
 * Registered under FarmCluster's type token on purpose: a machine's resources then have the same
 * URN (`…FarmCluster$HostBootstrap$command:remote:Command::<site>-<host>`) in a whole-site stack
 * and in any partition stack, so `pulumi state move` carries them between stacks without a diff.
 */
export class FarmPartition extends pulumi.ComponentResource {
  /** Address clients use for the Kubernetes API. */
  readonly apiEndpoint: pulumi.Output<string>;
  /** The partition's machines by hostname, sorted (planned and retired). */
  readonly machines: string[];
  readonly hosts: HostBootstrap;
  readonly powerPools: PowerPools;

  constructor(name: string, args: FarmPartitionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mine2hpc:index:FarmCluster", name, {}, opts);
    const { plan, partition } = args;
    const names = plan.partitions?.names ?? [];
    if (!names.includes(partition)) {
      throw new Error(
        plan.partitions === undefined
          ? `site '${plan.site.name}' has no partitions, but this stack is for partition '${partition}': remove mine2hpc:partition from the stack, or partition the site (partitions: {by: feed})`
          : `site '${plan.site.name}' has no partition '${partition}' (it has ${names.join(", ")}): fix mine2hpc:partition in the stack's config`,
      );
    }
    const hosts = stackHosts(plan, partition);
    this.machines = [...hosts].sort();
    // Every join waits on this check: a cluster stack of another site (or of the same site at
    // another API address) fails the partition's `up` before any host is reached.
    const join = pulumi.output(args.cluster.join).apply((j) => {
      if (j.site !== plan.site.name || j.apiEndpoint !== plan.kubernetes.apiEndpoint) {
        throw new Error(
          `partition '${partition}': the cluster stack serves site '${j.site}' at ${j.apiEndpoint}, this stack's site is '${plan.site.name}' at ${plan.kubernetes.apiEndpoint}; ` +
            "point mine2hpc:clusterStack at the cluster stack of this site, and run it (pulumi up) from the same site file first",
        );
      }
      return j;
    });
    this.hosts = new HostBootstrap(
      name,
      {
        plan,
        sshPrivateKey: args.sshPrivateKey,
        agentToken: pulumi.secret(join.apply((j) => j.agentToken)),
        hosts,
        // The first server's hash is public (it names text, not a secret): unsecret, so the publication shows in previews.
        join: { caHash: join.apply((j) => j.caHash), firstServerConfig: pulumi.unsecret(join.apply((j) => j.firstServerConfig ?? "")) },
        forgetOnRemoval: true,
      },
      { parent: this },
    );
    this.powerPools = new PowerPools(
      name,
      { plan, nodeBootstraps: this.hosts.commands, sshPrivateKey: args.sshPrivateKey, hosts, clusterObjects: false },
      { parent: this },
    );
    this.apiEndpoint = pulumi.output(plan.kubernetes.apiEndpoint);
    this.registerOutputs({ apiEndpoint: this.apiEndpoint, machines: this.machines });
  }
}
