/**
 * k3s configuration of one node: `/etc/rancher/k3s/config.yaml`, plus the bits of cluster
 * access (reading and re-pointing the admin kubeconfig) that belong to the host side.
 *
 * Decisions encoded here (they follow from the plan, not from taste per run):
 * - The token is never in the config: `token-file` points at a file the bootstrap script writes
 *   from stdin, so the rendered text can be hashed, logged and stored in golden files.
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
import { LABELS, type FarmPlan, type PlannedNode, type Taint } from "../plan/types.js";

/** Where k3s reads its configuration on every node. */
export const K3S_CONFIG_PATH = "/etc/rancher/k3s/config.yaml";
/** Where the bootstrap script writes the cluster token (0600, root). */
export const K3S_TOKEN_PATH = "/etc/rancher/k3s/token";
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
      "Use a mine2hpc.io/ label, or set it later through the API (NodePatch).",
  );
}

/**
 * Labels left out of the registration config. The GPU power cap moves whenever a machine
 * on the same circuit or feed changes; in config.yaml it would change the host's config
 * hash and re-run its bootstrap (and restart k3s) for a label k3s reads only once, at
 * registration. The cap reaches the node through the API instead (PowerPools' NodePatch),
 * and the power agent, which runs only on nodes with the label, starts once it is there.
 */
export const DAY2_ONLY_LABELS: ReadonlySet<string> = new Set([LABELS.gpuPowerCap]);

/** `key=value:Effect`, the form k3s `node-taint` and kubelet `--register-with-taints` take. */
export function formatTaint(t: Taint): string {
  return `${t.key}=${t.value}:${t.effect}`;
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
  if (node.clusterInit) cfg["cluster-init"] = true;
  else cfg.server = apiUrl(init.ip);
  if (labelKeys.length > 0) cfg["node-label"] = labelKeys.map((k) => `${k}=${node.labels[k] ?? ""}`);
  if (node.taints.length > 0) {
    cfg["node-taint"] = [...node.taints].sort((a, b) => (formatTaint(a) < formatTaint(b) ? -1 : 1)).map(formatTaint);
  }
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
