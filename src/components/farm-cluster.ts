/**
 * FarmCluster: a mining site as a Kubernetes GPU cluster, composed from the FarmPlan —
 * hosts bootstrapped (HostBootstrap), cluster access (ClusterAccess), cluster software
 * (KubePlatform) and the power-aware pools (PowerPools).
 */
import * as pulumi from "@pulumi/pulumi";
import type { FarmPlan } from "../plan/types.js";
import { ClusterAccess } from "./cluster-access.js";
import { HostBootstrap } from "./host-bootstrap.js";
import { KubePlatform, type KubePlatformArgs } from "./kube-platform.js";
import { PowerPools, type PowerPoolsArgs } from "./power-pools.js";

/** Arguments of {@link FarmCluster}. */
export interface FarmClusterArgs {
  /** The site's plan (from `planFarm`); every decision comes from it. */
  plan: FarmPlan;
  /** SSH private key for every node; a Pulumi secret from stack config. */
  sshPrivateKey: pulumi.Input<string>;
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

/** Summaries the stack exports; plain data taken from the plan. */
export function summarizePlan(plan: FarmPlan): { pools: PoolSummary[]; circuitLoads: CircuitSummary[] } {
  return {
    pools: plan.pools.map((p) => ({ name: p.name, nodes: p.nodes.length, gpus: p.gpus, capWatts: { min: p.capWatts.min, max: p.capWatts.max } })),
    circuitLoads: plan.circuits.map((c) => ({ id: c.id, loadWatts: c.loadWatts, usableWatts: c.usableWatts, loadPercent: c.loadPercent })),
  };
}

/** The whole site. */
export class FarmCluster extends pulumi.ComponentResource {
  /** Address clients use for the Kubernetes API. */
  readonly apiEndpoint: pulumi.Output<string>;
  /** Admin kubeconfig; always a secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** Pools with node count, GPUs and cap range. */
  readonly pools: pulumi.Output<PoolSummary[]>;
  /** Circuit loads against their usable power. */
  readonly circuitLoads: pulumi.Output<CircuitSummary[]>;
  /** The host bootstraps (exposed for ordering checks and for stacks that add host steps). */
  readonly hosts: HostBootstrap;
  readonly access: ClusterAccess;
  readonly platform: KubePlatform;
  readonly powerPools: PowerPools;

  constructor(name: string, args: FarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mine2hpc:index:FarmCluster", name, {}, opts);
    const { plan } = args;
    this.hosts = new HostBootstrap(
      name,
      { plan, sshPrivateKey: args.sshPrivateKey, serverToken: args.k3sToken, agentToken: args.k3sAgentToken },
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
        ...(args.minerCredentials !== undefined ? { minerCredentials: args.minerCredentials } : {}),
      },
      { parent: this },
    );

    const summary = summarizePlan(plan);
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
