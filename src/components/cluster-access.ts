/**
 * ClusterAccess: the admin kubeconfig read from the first k3s server, pointed at the API
 * endpoint, and the Kubernetes provider built from it.
 *
 * Freshness: k3s client certificates are valid for 365 days and renewed when k3s starts within
 * 90 days of expiry (docs.k3s.io/advanced, "Certificate Management"), rewriting
 * /etc/rancher/k3s/k3s.yaml. A kubeconfig read once would keep a dead certificate in state; so
 * the read runs again on every `pulumi up`: its `triggers` carry the run's start time, and a
 * changed trigger replaces the command (create the new read, then delete the old one, which has
 * no `delete` command: nothing runs on the host but the `cat`). The provider keeps its identity
 * across the re-read through `clusterIdentifier`: without it, the kubeconfig being unknown
 * during a preview would plan a replacement of the provider and of every Kubernetes resource
 * (pulumi-kubernetes provider/pkg/provider/provider.go `DiffConfig`).
 */
import * as pulumi from "@pulumi/pulumi";
import type { SshAuth } from "./host-bootstrap.js";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import type { FarmPlan } from "../plan/types.js";
import { KUBECONFIG_READ_COMMAND, rewriteKubeconfigServer } from "../render/index.js";
import { commandTimeouts, READ_DEADLINE_SECONDS, sshConnection } from "./host-bootstrap.js";
import { hostKeyOf } from "./lifecycle.js";

/** Arguments of {@link ClusterAccess}. */
export interface ClusterAccessArgs {
  /** The plan: the first server is `plan.kubernetes.servers[0]`, clients use `plan.kubernetes.apiEndpoint`. */
  plan: FarmPlan;
  /** SSH private key for the first server; a Pulumi secret. */
  sshPrivateKey: SshAuth;
  /**
   * The first server's bootstrap: the kubeconfig exists only once k3s runs there. (Only the
   * cluster stack builds a ClusterAccess: a partition stack needs no Kubernetes provider.)
   */
  firstServerBootstrap: pulumi.Resource;
  /**
   * Changes on every run so the read runs again (see the module comment).
   * @default the time this process started the program
   */
  readStamp?: string;
}

/** Started once per program run: every `pulumi up` re-reads the kubeconfig. */
const PROGRAM_START = new Date().toISOString();

/** The admin kubeconfig (secret) and a provider that uses it. */
export class ClusterAccess extends pulumi.ComponentResource {
  /** Admin kubeconfig whose `server:` is `https://<apiEndpoint>:6443`. Always a secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** Provider for every Kubernetes resource of the site. */
  readonly provider: k8s.Provider;

  constructor(name: string, args: ClusterAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mine2hpc:index:ClusterAccess", name, {}, opts);
    const built = createClusterAccess(name, this, args);
    this.kubeconfig = built.kubeconfig;
    this.provider = built.provider;
    this.registerOutputs({ kubeconfig: this.kubeconfig });
  }
}

/** Builds the read command and the provider under `parent`. */
export function createClusterAccess(name: string, parent: pulumi.Resource, args: ClusterAccessArgs) {
  const { plan } = args;
  const firstHostname = plan.kubernetes.servers[0];
  const first = plan.nodes.find((n) => n.hostname === firstHostname);
  if (first === undefined) {
    throw new Error(`plan of site '${plan.site.name}' names server '${String(firstHostname)}' but has no such node`);
  }
  const read = new command.remote.Command(
    `${name}-kubeconfig`,
    {
      connection: sshConnection({ ip: first.ip, sshUser: first.sshUser, sshHostKey: hostKeyOf(first) }, args.sshPrivateKey),
      // `timeout` bounds a `cat` that hangs (a stuck filesystem); the read is tiny otherwise.
      create: `timeout ${READ_DEADLINE_SECONDS} sh -c '${KUBECONFIG_READ_COMMAND.replace(/'/g, `'\\''`)}'`,
      // A new value every run replaces this read: the kubeconfig is re-read on every up.
      triggers: [args.readStamp ?? PROGRAM_START],
      // The kubeconfig holds the cluster-admin client key: nothing of it may reach the logs.
      logging: "none",
      addPreviousOutputInEnv: false,
    },
    {
      parent,
      // /etc/rancher/k3s/k3s.yaml is written by the k3s install the bootstrap runs.
      dependsOn: [args.firstServerBootstrap],
      // stdout is the admin kubeconfig: encrypted in state like any other secret.
      additionalSecretOutputs: ["stdout"],
      customTimeouts: commandTimeouts(READ_DEADLINE_SECONDS),
    },
  );
  const kubeconfig = pulumi.secret(read.stdout.apply((text) => rewriteKubeconfigServer(text, plan.kubernetes.apiEndpoint)));
  return { kubeconfig, provider: clusterProvider(name, parent, plan, kubeconfig), read };
}

/** The Kubernetes provider of the site's cluster. */
function clusterProvider(name: string, parent: pulumi.Resource, plan: FarmPlan, kubeconfig: pulumi.Output<string>): k8s.Provider {
  return new k8s.Provider(
    name,
    {
      kubeconfig,
      // Server-side apply lets field managers share objects with k3s and the charts.
      enableServerSideApply: true,
      // The cluster's identity is the site, not the kubeconfig text: a re-read (unknown while
      // previewing, a renewed certificate after) must never replace the provider and with it
      // every release and object of the site.
      clusterIdentifier: plan.site.name,
    },
    { parent },
  );
}
