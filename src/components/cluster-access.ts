/**
 * ClusterAccess: the admin kubeconfig read from the first k3s server, pointed at the API
 * endpoint, and the Kubernetes provider built from it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import type { FarmPlan } from "../plan/types.js";
import { KUBECONFIG_READ_COMMAND, rewriteKubeconfigServer } from "../render/index.js";

/** Arguments of {@link ClusterAccess}. */
export interface ClusterAccessArgs {
  /** The plan: the first server is `plan.kubernetes.servers[0]`, clients use `plan.kubernetes.apiEndpoint`. */
  plan: FarmPlan;
  /** SSH private key for the first server; a Pulumi secret. */
  sshPrivateKey: pulumi.Input<string>;
  /** The first server's bootstrap: the kubeconfig exists only once k3s runs there. */
  firstServerBootstrap: pulumi.Resource;
}

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
      connection: { host: first.ip, user: first.sshUser, privateKey: pulumi.secret(args.sshPrivateKey) },
      create: KUBECONFIG_READ_COMMAND,
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
    },
  );
  const kubeconfig = pulumi.secret(read.stdout.apply((text) => rewriteKubeconfigServer(text, plan.kubernetes.apiEndpoint)));
  const provider = new k8s.Provider(
    name,
    {
      kubeconfig,
      // Server-side apply is what NodePatch needs, and it lets field managers share objects with k3s.
      enableServerSideApply: true,
    },
    { parent },
  );
  return { kubeconfig, provider, read };
}
