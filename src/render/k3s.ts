/**
 * k3s configuration of one node: `/etc/rancher/k3s/config.yaml`, plus the bits of cluster
 * access (reading and re-pointing the admin kubeconfig) that belong to the host side.
 *
 * Decisions encoded here (they follow from the plan, not from taste per run):
 * - No token is ever in the config: `token-file` (and on servers `agent-token-file`) point at
 *   files the bootstrap script writes from stdin, so the rendered text can be hashed, logged and
 *   stored in golden files.
 * - Least privilege: agents join with the agent token (k3s `--agent-token`, set identically on
 *   every server: docs.k3s.io/cli/server "Critical Configuration Values"), never the server
 *   token, which is full admin (docs.k3s.io/cli/token: "anyone with access to the server token
 *   essentially has full administrator access to the cluster").
 * - GPU nodes register with the `mine2hpc.io/power-unverified:NoSchedule` taint: nothing that
 *   consumes GPUs lands on them before the power agent has read back its caps.
 * - The first server (`clusterInit`) runs `cluster-init` (embedded etcd, so more servers can
 *   join later); every other node joins `https://<first server IP>:6443`. Agents keep talking
 *   to all servers through k3s's client load balancer once joined.
 * - Packaged components disabled on servers: `traefik` always (mine2hpc installs no ingress;
 *   an unmanaged controller grabbing ports 80/443 on GPU nodes is a surprise, add your own
 *   ingress through Helm), `servicelb` when the site has a MetalLB pool (two LoadBalancer
 *   implementations would fight over the same Services). `local-storage`, `coredns` and
 *   `metrics-server` stay.
 * - Cilium: `flannel-backend: none` and `disable-network-policy: true` (Cilium enforces
 *   NetworkPolicy). kube-proxy is kept: Cilium runs next to it by default, while removing it
 *   requires Cilium's kube-proxy replacement with `k8sServiceHost` pointing at the API, a
 *   change that must land together in the Cilium values.
 * - Agents carry only agent flags: k3s agents refuse server-only flags such as `cluster-cidr`.
 */
import { stringify, parseDocument, isMap, isSeq, isScalar } from "yaml";
import { planMirror } from "./mirror.js";
import { LABELS, POWER_UNVERIFIED_TAINT, type FarmPlan, type PlannedNode, type Taint } from "../plan/types.js";

/** Where k3s reads its configuration on every node. */
export const K3S_CONFIG_PATH = "/etc/rancher/k3s/config.yaml";
/**
 * Where the bootstrap script writes the join token (0600, root): the server token on servers,
 * the agent token on agents (k3s `token-file`).
 */
export const K3S_TOKEN_PATH = "/etc/rancher/k3s/token";
/** Where the bootstrap writes the agent token on servers (0600, root; k3s `agent-token-file`). */
export const K3S_AGENT_TOKEN_PATH = "/etc/rancher/k3s/agent-token";
/** Admin kubeconfig k3s writes on servers. */
export const K3S_ADMIN_KUBECONFIG_PATH = "/etc/rancher/k3s/k3s.yaml";
/** Port of the Kubernetes API (and k3s supervisor) on servers. */
export const K3S_API_PORT = 6443;

/**
 * Command the cluster-access code runs over SSH on the first server to print the admin
 * kubeconfig. Works for root logins (no sudo needed, sudo may be absent) and for other users
 * with passwordless sudo (`-n`: fail instead of hanging on a password prompt).
 */
export const KUBECONFIG_READ_COMMAND = `if [ "$(id -u)" -eq 0 ]; then cat ${K3S_ADMIN_KUBECONFIG_PATH}; else sudo -n cat ${K3S_ADMIN_KUBECONFIG_PATH}; fi`;

/**
 * Looks a Kubernetes node up by hostname. Throws a message naming the fix when the host is
 * unknown or is an ASIC miner (power load only: it never gets k3s).
 */
export function findK3sNode(plan: FarmPlan, hostname: string): PlannedNode {
  const node = plan.nodes.find((n) => n.hostname === hostname);
  if (node !== undefined) return node;
  if (plan.asics.some((a) => a.hostname === hostname)) {
    throw new Error(
      `host "${hostname}" is an ASIC miner in site "${plan.site.name}": ASIC miners are power load only and get no k3s configuration. ` +
        "Render only hosts listed in plan.nodes.",
    );
  }
  throw new Error(
    `host "${hostname}" is not a Kubernetes node of site "${plan.site.name}". ` +
      `Use one of: ${plan.nodes.map((n) => n.hostname).join(", ") || "(the plan has no nodes)"}.`,
  );
}

/** The node that runs `cluster-init`; every other node joins it. */
export function clusterInitNode(plan: FarmPlan): PlannedNode {
  const inits = plan.nodes.filter((n) => n.clusterInit);
  const first = inits[0];
  if (inits.length !== 1 || first === undefined || first.k3sRole !== "server") {
    throw new Error(
      `site "${plan.site.name}": the plan must have exactly one server with clusterInit, found ${inits.length} (${inits.map((n) => n.hostname).join(", ") || "none"}). ` +
        "Re-run planFarm: it marks the first control-plane machine.",
    );
  }
  return first;
}

/** `https://host:6443`, with IPv6 literals bracketed. */
export function apiUrl(host: string): string {
  if (!/^[A-Za-z0-9.:-]+$/.test(host) || host.length === 0) {
    throw new Error(`"${host}" is not a valid API address: use an IP address or a DNS name without scheme or port (e.g. 10.20.0.10, api.example.net).`);
  }
  return `https://${host.includes(":") ? `[${host}]` : host}:${K3S_API_PORT}`;
}

/**
 * Label key prefixes the kubelet may set on its own Node at registration (NodeRestriction):
 * everything else under `kubernetes.io` / `k8s.io` is refused and k3s fails to start.
 */
const KUBELET_ALLOWED_LABELS = new Set([
  "kubernetes.io/hostname",
  "kubernetes.io/arch",
  "kubernetes.io/os",
  "beta.kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "topology.kubernetes.io/region",
  "topology.kubernetes.io/zone",
  "failure-domain.beta.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
]);
const KUBELET_ALLOWED_PREFIXES = ["kubelet.kubernetes.io", "node.kubernetes.io"];

function checkRegistrationLabel(node: PlannedNode, key: string): void {
  const slash = key.indexOf("/");
  if (slash < 0) return;
  const prefix = key.slice(0, slash);
  const restricted = /(^|\.)(kubernetes\.io|k8s\.io)$/.test(prefix);
  if (!restricted || KUBELET_ALLOWED_LABELS.has(key)) return;
  if (KUBELET_ALLOWED_PREFIXES.some((p) => prefix === p || prefix.endsWith(`.${p}`))) return;
  throw new Error(
    `node "${node.hostname}": label "${key}" uses the reserved prefix "${prefix}", which the kubelet may not set at registration (NodeRestriction), so k3s would fail to start. ` +
      "Use a mine2hpc.io/ label: the kubelet may not set this one, at registration or later.",
  );
}

/**
 * Labels left out of the registration config. The GPU power cap moves whenever a machine
 * on the same circuit or feed changes; in config.yaml it would change the host's config
 * hash and re-run its bootstrap (and restart k3s) for a label k3s reads only once, at
 * registration. The cap reaches the node through the API instead (the bootstrap's label step,
 * with the node's kubelet credentials, render/scripts.ts), and the power agent, which runs only
 * on nodes with the label, starts once it is there.
 */
export const DAY2_ONLY_LABELS: ReadonlySet<string> = new Set([LABELS.gpuPowerCap]);

/**
 * `key=value:Effect`, or `key:Effect` for an empty value: the forms k3s `node-taint` and kubelet
 * `--register-with-taints` take (k8s.io/kubernetes pkg/util/taints ParseTaint accepts both).
 */
export function formatTaint(t: Taint): string {
  return t.value === "" ? `${t.key}:${t.effect}` : `${t.key}=${t.value}:${t.effect}`;
}

/** Taints a node registers with: the plan's, plus the power-unverified taint on GPU nodes. */
export function registrationTaints(node: PlannedNode): Taint[] {
  const taints = [...node.taints];
  if (node.gpu !== undefined && !taints.some((t) => t.key === POWER_UNVERIFIED_TAINT.key)) taints.push({ ...POWER_UNVERIFIED_TAINT });
  return taints.sort((a, b) => (formatTaint(a) < formatTaint(b) ? -1 : formatTaint(a) > formatTaint(b) ? 1 : 0));
}

/** Packaged k3s components to disable on servers, sorted. */
export function disabledComponents(plan: FarmPlan): string[] {
  const disabled = ["traefik"];
  if (plan.network.loadBalancerPool !== null) disabled.push("servicelb");
  return disabled.sort();
}

/** The config object, keys in a fixed order (the YAML keeps insertion order). */
function configObject(plan: FarmPlan, node: PlannedNode): Record<string, unknown> {
  const init = clusterInitNode(plan);
  const labelKeys = Object.keys(node.labels)
    .filter((k) => !DAY2_ONLY_LABELS.has(k))
    .sort();
  for (const key of labelKeys) checkRegistrationLabel(node, key);
  const cfg: Record<string, unknown> = {
    "node-name": node.hostname,
    "node-ip": node.ip,
    "token-file": K3S_TOKEN_PATH,
  };
  // Every server carries the agent token (the same value on all: a "critical configuration
  // value"), so agents join through any server with it while the server token stays on servers.
  if (node.k3sRole === "server") cfg["agent-token-file"] = K3S_AGENT_TOKEN_PATH;
  if (node.clusterInit) cfg["cluster-init"] = true;
  else cfg.server = apiUrl(init.ip);
  if (labelKeys.length > 0) cfg["node-label"] = labelKeys.map((k) => `${k}=${node.labels[k] ?? ""}`);
  const taints = registrationTaints(node);
  if (taints.length > 0) cfg["node-taint"] = taints.map(formatTaint);
  // With a registry mirror, containerd must not fall back to the upstream registries (an
  // air-gapped site has none): k3s `disable-default-registry-endpoint`
  // (docs.k3s.io/installation/private-registry, "Default Endpoint Fallback").
  if (planMirror(plan)?.registry) cfg["disable-default-registry-endpoint"] = true;
  if (node.k3sRole === "server") {
    cfg["write-kubeconfig-mode"] = "0600";
    // k3s adds the node's own IPs and hostname to its certificate; the API endpoint (a VIP or
    // DNS name clients use) must be added, or clients fail TLS verification.
    cfg["tls-san"] = [plan.kubernetes.apiEndpoint];
    cfg["cluster-cidr"] = plan.network.clusterCidr;
    cfg["service-cidr"] = plan.network.serviceCidr;
    cfg.disable = disabledComponents(plan);
    if (plan.network.cni === "cilium") {
      cfg["flannel-backend"] = "none";
      cfg["disable-network-policy"] = true;
    }
  }
  return cfg;
}

/**
 * YAML text of `/etc/rancher/k3s/config.yaml` for `hostname`. Contains no secret.
 * Throws when the host is unknown, an ASIC, or has a label the kubelet cannot register.
 */
export function renderK3sConfig(plan: FarmPlan, hostname: string): string {
  const node = findK3sNode(plan, hostname);
  const header =
    `# /etc/rancher/k3s/config.yaml for ${node.hostname} (${node.k3sRole}) in site ${plan.site.name}.\n` +
    "# Generated by mine2hpc from the site plan: edit the site, not this file.\n" +
    "# Labels and taints apply at registration only; later changes go through the API.\n";
  return header + stringify(configObject(plan, node), { lineWidth: 0 });
}

/**
 * Points the admin kubeconfig k3s writes (`server: https://127.0.0.1:6443`) at the API
 * endpoint clients use. Edits the parsed YAML document rather than the text, so only that
 * value changes (a certificate or user name containing the URL is left alone) and the layout
 * client-go writes is kept. Throws when no cluster entry has a loopback server URL.
 */
export function rewriteKubeconfigServer(kubeconfig: string, apiEndpoint: string): string {
  const target = apiUrl(apiEndpoint);
  const doc = parseDocument(kubeconfig);
  if (doc.errors.length > 0) {
    throw new Error(`the kubeconfig read from the first server is not valid YAML: ${doc.errors[0]?.message ?? "parse error"}. Check ${K3S_ADMIN_KUBECONFIG_PATH} on that host.`);
  }
  const clusters = doc.get("clusters");
  let rewritten = 0;
  if (isSeq(clusters)) {
    for (const item of clusters.items) {
      if (!isMap(item)) continue;
      const cluster = item.get("cluster");
      if (!isMap(cluster)) continue;
      const server = cluster.get("server", true);
      if (isScalar(server) && typeof server.value === "string" && /^https:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+\/?$/.test(server.value)) {
        server.value = target;
        rewritten += 1;
      }
    }
  }
  if (rewritten === 0) {
    throw new Error(
      `the kubeconfig has no cluster with a loopback server URL (https://127.0.0.1:${K3S_API_PORT}) to point at ${target}. ` +
        `Check that ${K3S_ADMIN_KUBECONFIG_PATH} on the first server is the one k3s wrote.`,
    );
  }
  // indentSeq false: client-go writes `- cluster:` at the parent's indentation; keep its layout.
  return doc.toString({ lineWidth: 0, indentSeq: false });
}

// --- join tokens ------------------------------------------------------------------------------

/** Prefix of k3s's secure token format (k3s pkg/clientaccess/token.go `tokenPrefix`). */
export const K3S_SECURE_TOKEN_PREFIX = "K10";

/**
 * Where k3s writes the server token in secure format, `K10<CA hash>::server:<secret>`
 * (docs.k3s.io/cli/token: "The server token is always written ... in secure format").
 */
export const K3S_SERVER_TOKEN_FILE = "/var/lib/rancher/k3s/server/token";
/** The cluster CA k3s serves at `/cacerts` and hashes into secure tokens. */
export const K3S_SERVER_CA_PATH = "/var/lib/rancher/k3s/server/tls/server-ca.crt";

/**
 * Script (run as root on the first server, through `remoteScriptCommand`) that prints the
 * cluster CA hash and nothing else: 64 hex characters. It takes the hash from the secure token
 * k3s itself wrote (so it is exactly the hash k3s validates against, also for a custom CA
 * bundle, where k3s hashes the root's DER instead of the file), and falls back to the sha256 of
 * the PEM file for a self-signed CA (docs.k3s.io/cli/token, "cluster CA hash"). The secret part
 * of the token never leaves `sed`: only the capture group is printed. The hash is public (it
 * pins the CA's certificate, not a key), so the command output may be logged.
 */
export const CA_HASH_SCRIPT = `#!/usr/bin/env bash
# mine2hpc: print the k3s cluster CA hash of this server (the <hash> of K10<hash>::...).
set -euo pipefail
hash=''
if [ -r ${K3S_SERVER_TOKEN_FILE} ]; then
  hash="$(sed -n 's/^${K3S_SECURE_TOKEN_PREFIX}\\([0-9a-f]\\{64\\}\\)::.*$/\\1/p' ${K3S_SERVER_TOKEN_FILE})"
fi
if [ -z "$hash" ] && [ -r ${K3S_SERVER_CA_PATH} ]; then
  hash="$(sha256sum ${K3S_SERVER_CA_PATH} | cut -d ' ' -f 1)"
fi
if [ -z "$hash" ]; then
  echo "mine2hpc: no k3s server token or CA on this host: is it the first server, and did its bootstrap finish?" >&2
  exit 1
fi
printf '%s\\n' "$hash"
`;

/** Parses the output of {@link CA_HASH_SCRIPT}; throws unless it is one sha256 hex digest. */
export function parseCaHash(stdout: string): string {
  const hash = stdout.trim();
  if (!/^[0-9a-f]{64}$/.test(hash)) {
    throw new Error(
      `the cluster CA hash read from the first server is not a sha256 hex digest (got ${hash.length} characters). ` +
        `Check that k3s runs there and that ${K3S_SERVER_TOKEN_FILE} exists.`,
    );
  }
  return hash;
}

/**
 * A join token in k3s's secure format: `K10<CA hash>::<user>:<secret>`, user `server` for the
 * server token and `node` for the agent token (k3s pkg/clientaccess/token.go `String`/`parseToken`;
 * pkg/daemons/control/deps/deps.go `genUsers`: `EnsureUser("node", "k3s:agent", …)` and
 * `EnsureUser("server", "k3s:server", …)`). With the hash, the joining node checks the CA it
 * downloads from `/cacerts` before it sends the secret (docs.k3s.io/cli/token, "TLS Bootstrapping").
 */
export function secureJoinToken(caHash: string, kind: "server" | "agent", secret: string): string {
  parseCaHash(caHash);
  checkTokenSecret(secret, kind);
  return `${K3S_SECURE_TOKEN_PREFIX}${caHash}::${kind === "server" ? "server" : "node"}:${secret}`;
}

/** The two secrets of a cluster, each the bare password (short format), never the K10 form. */
export interface JoinSecrets {
  /** Server token secret: joins servers; full admin. Only servers ever receive it. */
  serverToken: string;
  /** Agent token secret (k3s `agent-token`): joins agents only. Must differ from the server token. */
  agentToken: string;
}

function checkTokenSecret(secret: string, kind: "server" | "agent"): void {
  const what = kind === "server" ? "k3s server token" : "k3s agent token";
  if (secret.length === 0) throw new Error(`the ${what} is empty: set it in the stack's secret config.`);
  if (secret.startsWith(K3S_SECURE_TOKEN_PREFIX) && secret.includes("::")) {
    throw new Error(`the ${what} is in K10 secure format: give the bare secret; mine2hpc adds the CA hash itself once the first server exists.`);
  }
  // k3s splits a bare token at its first ':' into user and password (clientaccess parseToken),
  // and the token is one line of the hosts' stdin.
  if (/[\s:]/.test(secret)) throw new Error(`the ${what} contains whitespace or ':'; use letters, digits and punctuation other than ':' (e.g. openssl rand -hex 32).`);
}

/**
 * STDIN of a host's bootstrap (and, as `remote.Command` replays it, of its uninstall):
 * - the first server: line 1 the bare server token, line 2 the bare agent token (the CA does not
 *   exist before it starts, so only the short format is possible: docs.k3s.io/cli/token);
 * - other servers: line 1 the secure server token (needs `caHash`), line 2 the bare agent token
 *   (a server-side setting, the same value on every server);
 * - agents: one line, the secure agent token. Never the server token, never a kubeconfig.
 * Throws when a secret is malformed, both secrets are equal (an agent would hold the server's
 * credentials), or the CA hash is missing for a joining node.
 */
export function renderHostStdin(plan: FarmPlan, hostname: string, secrets: JoinSecrets, caHash: string | null): string {
  const node = findK3sNode(plan, hostname);
  checkTokenSecret(secrets.serverToken, "server");
  checkTokenSecret(secrets.agentToken, "agent");
  if (secrets.serverToken === secrets.agentToken) {
    throw new Error("the k3s agent token equals the server token: every agent would hold full admin credentials. Set a different agent token secret.");
  }
  if (node.clusterInit) return `${secrets.serverToken}\n${secrets.agentToken}\n`;
  if (caHash === null) {
    throw new Error(`node "${hostname}" joins the cluster: its token needs the cluster CA hash of the first server (read with CA_HASH_SCRIPT once that server's bootstrap finished).`);
  }
  if (node.k3sRole === "server") return `${secureJoinToken(caHash, "server", secrets.serverToken)}\n${secrets.agentToken}\n`;
  return renderAgentStdin(plan, hostname, secrets.agentToken, caHash);
}

/**
 * STDIN of an agent's bootstrap where only the agent token is at hand (a partition stack reads
 * it, and the CA hash, from the cluster stack; the server token never leaves that stack): one
 * line, the secure agent token. Throws for a server or a malformed token.
 */
export function renderAgentStdin(plan: FarmPlan, hostname: string, agentToken: string, caHash: string): string {
  const node = findK3sNode(plan, hostname);
  if (node.k3sRole !== "agent") throw new Error(`node "${hostname}" is a k3s server: it joins with the server token, which only the cluster stack holds.`);
  return `${secureJoinToken(caHash, "agent", agentToken)}\n`;
}
