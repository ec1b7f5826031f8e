/**
 * Rolling k3s upgrades with the k3s-native system-upgrade-controller (SUC), and the
 * cluster-side lifecycle scripts that run on a k3s server (drain of a cordoned machine,
 * removal of a retired one).
 *
 * Why SUC and not the host scripts: a version change must never take more than one server
 * and `rollout.agentBatch` agents down at once, each cordoned and drained first and put back
 * when it is Ready. SUC does exactly that from two Plans (docs.k3s.io/upgrades/automated):
 * the server Plan with `concurrency: 1` and `cordon`, the agent Plan with `concurrency` =
 * batch, `drain`, and a `prepare` step that waits for the server Plan to complete. The host
 * bootstrap then never reinstalls k3s on a version bump (its config hash leaves the version
 * out), so `pulumi up` does not reach a single host for an upgrade.
 *
 * The controller objects are transcribed from the upstream release manifests of the pinned
 * version (tests/fixtures/system-upgrade-controller-v0.20.1 holds them, and a test compares).
 */
import type { FarmPlan } from "../plan/types.js";
import { compareStrings, objectMeta, type K8sObject } from "./objects.js";

/** Pinned system-upgrade-controller release (github.com/rancher/system-upgrade-controller tag v0.20.1). */
export const SUC_VERSION = "v0.20.1";

/** Images the upgrade path pulls, pinned: the controller, its kubectl (drain), and k3s's upgrade image. */
export const SUC_IMAGES = {
  /** manifests/system-upgrade-controller.yaml `image:`, tag set to the release as its release workflow does. */
  controller: `rancher/system-upgrade-controller:${SUC_VERSION}`,
  /** `SYSTEM_UPGRADE_JOB_KUBECTL_IMAGE` of the v0.20.1 manifest: runs the cordon and drain of each Job. */
  kubectl: "rancher/kubectl:v1.30.3",
  /** k3s's upgrade image (examples/k3s-upgrade.yaml); SUC appends the Plan's version as the tag (`+` becomes `-`). */
  k3sUpgrade: "rancher/k3s-upgrade",
} as const;

/** Namespace of the controller and its Plans (upstream `system-upgrade`). */
export const SUC_NAMESPACE = "system-upgrade";
/** Service account the controller and its Jobs run as. */
export const SUC_SERVICE_ACCOUNT = "system-upgrade";
/** Name of the server Plan; the agent Plan's `prepare` step waits for it (`prepare k3s-server`). */
export const SERVER_PLAN = "k3s-server";
/** Name of the agent Plan. */
export const AGENT_PLAN = "k3s-agent";

/** `kubectl drain --timeout` of each agent upgrade, in s: a PodDisruptionBudget cannot hold a batch longer. */
export const UPGRADE_DRAIN_TIMEOUT_SECONDS = 300;
/** Deadline of one node's upgrade Job, in s (`jobActiveDeadlineSecs`): prepare, drain and the k3s restart. */
export const UPGRADE_JOB_DEADLINE_SECONDS = 1800;

/**
 * The controller, as upstream ships it for v0.20.1 (`kustomize build` of the repository:
 * manifests/*.yaml with `namespace: system-upgrade`), with mine2hpc's provenance labels.
 * The controller registers the Plan CRD itself when it starts (pkg/upgrade/controller.go
 * `registerCRD`), so no CRD object is rendered here.
 */
export function renderSystemUpgradeController(): K8sObject[] {
  const ns = SUC_NAMESPACE;
  const sa = { kind: "ServiceAccount", name: SUC_SERVICE_ACCOUNT, namespace: ns };
  const rule = (apiGroups: string[], resources: string[], verbs: string[], resourceNames?: string[]) => ({
    apiGroups,
    resources,
    ...(resourceNames ? { resourceNames } : {}),
    verbs,
  });
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: objectMeta(ns, { labels: { "pod-security.kubernetes.io/enforce": "privileged" } }) },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: objectMeta(SUC_SERVICE_ACCOUNT, { namespace: ns }) },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: objectMeta("default-controller-env", { namespace: ns }),
      // Upstream defaults, except the Job deadline (ours bounds one node's upgrade) and the
      // pull policy (IfNotPresent: an air-gapped site serves the pinned tags from its mirror).
      data: {
        SYSTEM_UPGRADE_CONTROLLER_DEBUG: "false",
        SYSTEM_UPGRADE_CONTROLLER_THREADS: "2",
        SYSTEM_UPGRADE_CONTROLLER_LEADER_ELECT: "true",
        SYSTEM_UPGRADE_JOB_ACTIVE_DEADLINE_SECONDS: String(UPGRADE_JOB_DEADLINE_SECONDS),
        SYSTEM_UPGRADE_JOB_BACKOFF_LIMIT: "99",
        SYSTEM_UPGRADE_JOB_IMAGE_PULL_POLICY: "IfNotPresent",
        SYSTEM_UPGRADE_JOB_KUBECTL_IMAGE: SUC_IMAGES.kubectl,
        SYSTEM_UPGRADE_JOB_KUBECTL_IMAGE_WINDOWS: "",
        SYSTEM_UPGRADE_JOB_PRIVILEGED: "true",
        SYSTEM_UPGRADE_JOB_TTL_SECONDS_AFTER_FINISH: "900",
        SYSTEM_UPGRADE_PLAN_POLLING_INTERVAL: "15m",
      },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: objectMeta("system-upgrade-controller"),
      rules: [
        rule(["batch"], ["jobs"], ["get", "list", "watch"]),
        rule(["apiextensions.k8s.io"], ["customresourcedefinitions"], ["get", "list", "watch", "create", "patch", "update"]),
        rule([""], ["namespaces", "nodes"], ["get", "list", "watch"]),
        rule([""], ["nodes"], ["update"]),
        rule([""], ["events"], ["get", "create", "patch", "update"]),
        rule(["coordination.k8s.io"], ["leases"], ["create"]),
        rule(["coordination.k8s.io"], ["leases"], ["get", "update"], ["system-upgrade-controller"]),
        rule(["upgrade.cattle.io"], ["plans", "plans/status"], ["get", "list", "watch", "create", "patch", "update", "delete"]),
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: objectMeta("system-upgrade-controller", { namespace: ns }),
      rules: [
        rule(["batch"], ["jobs"], ["create", "delete", "deletecollection", "patch", "update", "get", "list", "watch"]),
        rule([""], ["secrets"], ["get", "list", "watch"]),
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: objectMeta("system-upgrade-controller-drainer"),
      rules: [
        rule([""], ["pods/eviction"], ["create"]),
        rule([""], ["pods"], ["get", "list", "delete"]),
        rule([""], ["nodes"], ["get", "patch"]),
        rule(["apps"], ["statefulsets", "daemonsets", "replicasets"], ["get", "list"]),
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: objectMeta("system-upgrade-drainer"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system-upgrade-controller-drainer" },
      subjects: [sa],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: objectMeta("system-upgrade"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system-upgrade-controller" },
      subjects: [sa],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: objectMeta("system-upgrade", { namespace: ns }),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "system-upgrade-controller" },
      subjects: [sa],
    },
    controllerDeployment(),
  ];
}

function controllerDeployment(): K8sObject {
  const selector = { "upgrade.cattle.io/controller": "system-upgrade-controller" };
  const cp = "node-role.kubernetes.io/control-plane";
  const hostPath = (name: string, path: string) => ({ name, hostPath: { path, type: "DirectoryOrCreate" } });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: objectMeta("system-upgrade-controller", { namespace: SUC_NAMESPACE }),
    spec: {
      strategy: { type: "Recreate" },
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels: {
            "app.kubernetes.io/component": "controller",
            "app.kubernetes.io/name": "system-upgrade-controller",
            // Upstream: "necessary to avoid drain" (the controller's own pod is not evicted by its Jobs).
            ...selector,
          },
        },
        spec: {
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: [
                      { key: cp, operator: "Exists" },
                      { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
                    ],
                  },
                ],
              },
            },
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                {
                  topologyKey: "kubernetes.io/hostname",
                  labelSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["system-upgrade-controller"] }] },
                },
              ],
            },
          },
          serviceAccountName: SUC_SERVICE_ACCOUNT,
          tolerations: [
            { key: "CriticalAddonsOnly", operator: "Exists" },
            { key: "node-role.kubernetes.io/master", operator: "Exists", effect: "NoSchedule" },
            { key: "node-role.kubernetes.io/controlplane", operator: "Exists", effect: "NoSchedule" },
            { key: cp, operator: "Exists", effect: "NoSchedule" },
            { key: "node-role.kubernetes.io/etcd", operator: "Exists", effect: "NoExecute" },
          ],
          containers: [
            {
              name: "system-upgrade-controller",
              image: SUC_IMAGES.controller,
              imagePullPolicy: "IfNotPresent",
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 65534,
                runAsGroup: 65534,
                allowPrivilegeEscalation: false,
                seccompProfile: { type: "RuntimeDefault" },
                capabilities: { drop: ["ALL"] },
              },
              envFrom: [{ configMapRef: { name: "default-controller-env" } }],
              env: [
                { name: "SYSTEM_UPGRADE_CONTROLLER_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.labels['upgrade.cattle.io/controller']" } } },
                { name: "SYSTEM_UPGRADE_CONTROLLER_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                { name: "SYSTEM_UPGRADE_CONTROLLER_NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
              ],
              volumeMounts: [
                { name: "etc-ssl", mountPath: "/etc/ssl", readOnly: true },
                { name: "etc-pki", mountPath: "/etc/pki", readOnly: true },
                { name: "etc-ca-certificates", mountPath: "/etc/ca-certificates", readOnly: true },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            hostPath("etc-ssl", "/etc/ssl"),
            hostPath("etc-pki", "/etc/pki"),
            hostPath("etc-ca-certificates", "/etc/ca-certificates"),
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
    },
  };
}

/**
 * Hostnames SUC must leave alone: cordoned machines (an upgrade Job would uncordon them when
 * it completes) and offline ones (their Job could never run and would hold a batch slot
 * until its deadline). Sorted.
 */
export function upgradeExcludedHosts(plan: FarmPlan): string[] {
  return plan.nodes
    .filter((n) => n.state === "cordoned" || n.state === "offline")
    .map((n) => n.hostname)
    .sort(compareStrings);
}

/**
 * The server and agent Plans for `plan.kubernetes.version` (upgrade.cattle.io/v1; fields as in
 * the v0.20.1 CRD and examples/k3s-upgrade.yaml):
 * - servers: `concurrency: 1`, cordoned (not drained: the control plane's own pods stay),
 *   nodes with `node-role.kubernetes.io/control-plane` (k3s labels servers with it);
 * - agents: `concurrency` = `rollout.agentBatch`, drained with a deadline, and a `prepare`
 *   step (`prepare k3s-server`, a mode of the k3s-upgrade image) that waits until the server
 *   Plan is complete, so no agent runs a newer kubelet than the API servers.
 * Both tolerate every taint (an upgrade must reach tainted power tiers and unverified nodes)
 * and skip {@link upgradeExcludedHosts}.
 */
export function renderUpgradePlans(plan: FarmPlan, agentBatch: number): K8sObject[] {
  if (!Number.isInteger(agentBatch) || agentBatch < 1) {
    throw new Error(`rollout agent batch must be an integer >= 1, got ${agentBatch}: check kubernetes.rollout.maxUnavailable`);
  }
  const version = plan.kubernetes.version;
  const excluded = upgradeExcludedHosts(plan);
  const skip = excluded.length > 0 ? [{ key: "kubernetes.io/hostname", operator: "NotIn", values: excluded }] : [];
  const cp = "node-role.kubernetes.io/control-plane";
  const common = {
    version,
    serviceAccountName: SUC_SERVICE_ACCOUNT,
    jobActiveDeadlineSecs: UPGRADE_JOB_DEADLINE_SECONDS,
    tolerations: [{ operator: "Exists" }],
    upgrade: { image: SUC_IMAGES.k3sUpgrade },
  };
  const meta = (name: string, role: string) => objectMeta(name, { namespace: SUC_NAMESPACE, labels: { "k3s-upgrade": role } });
  return [
    {
      apiVersion: "upgrade.cattle.io/v1",
      kind: "Plan",
      metadata: meta(SERVER_PLAN, "server"),
      spec: {
        concurrency: 1,
        nodeSelector: { matchExpressions: [{ key: cp, operator: "Exists" }, ...skip] },
        cordon: true,
        ...common,
      },
    },
    {
      apiVersion: "upgrade.cattle.io/v1",
      kind: "Plan",
      metadata: meta(AGENT_PLAN, "agent"),
      spec: {
        concurrency: agentBatch,
        nodeSelector: { matchExpressions: [{ key: cp, operator: "DoesNotExist" }, ...skip] },
        prepare: { image: SUC_IMAGES.k3sUpgrade, args: ["prepare", SERVER_PLAN] },
        drain: {
          timeout: `${UPGRADE_DRAIN_TIMEOUT_SECONDS}s`,
          ignoreDaemonSets: true,
          deleteEmptydirData: true,
          force: true,
          // Honor PodDisruptionBudgets up to a minute per pod, then move on (upstream example).
          skipWaitForDeleteTimeout: 60,
        },
        ...common,
      },
    },
  ];
}

/**
 * One line saying how a version change rolls, for `plan` and `diff`:
 * `k3s v1.33.5+k3s1 → v1.34.2+k3s1 on 68 hosts, servers one by one, agents 7 at a time`.
 * `hosts` counts the machines SUC upgrades (active ones).
 */
export function versionChangeLine(before: string, after: string, hosts: number, agentBatch: number): string {
  return `k3s ${before} → ${after} on ${hosts} host${hosts === 1 ? "" : "s"}, servers one by one, agents ${agentBatch} at a time`;
}

/** `kubectl --request-timeout` of every cluster-side call, in s. */
const REQUEST_TIMEOUT_SECONDS = 30;
/** `kubectl drain --timeout` of the cluster-side drains, in s. */
export const SERVER_SIDE_DRAIN_TIMEOUT_SECONDS = 300;

const SERVER_SIDE_PRELUDE = `set -euo pipefail
K3S_BIN='/usr/local/bin/k3s'
log() { printf 'mine2hpc[%s]: %s\\n' "$NODE_NAME" "$*"; }
die() { printf 'mine2hpc[%s]: error: %s\\n' "$NODE_NAME" "$*" >&2; exit 1; }
# Every call has a deadline. A 401 or 403 is a hard failure, never a skip: the admin
# kubeconfig (/etc/rancher/k3s/k3s.yaml, renewed by k3s at start when near expiry) is refused.
kubectl_() {
  local out rc=0
  out="$("$K3S_BIN" kubectl --request-timeout=${REQUEST_TIMEOUT_SECONDS}s "$@" 2>&1)" || rc=$?
  if [ "$rc" -ne 0 ]; then
    case "$out" in
      *Unauthorized*|*Forbidden*|*" 401"*|*" 403"*)
        die "the Kubernetes API refused the admin credentials (401/403) for 'kubectl $1': restart k3s on this server to renew its certificates, then run pulumi up again. API said: $out" ;;
    esac
  fi
  printf '%s\\n' "$out"
  return "$rc"
}
# node_exists: 0 when the Node is registered, 1 when it is not; fails on any other error.
node_exists() {
  local out
  if out="$(kubectl_ get node "$NODE_NAME" -o name)"; then return 0; fi
  case "$out" in *NotFound*|*"not found"*) return 1 ;; esac
  die "cannot read node \${NODE_NAME}: $out"
}
`;

function serverSideHeader(plan: FarmPlan, hostname: string, what: string): string {
  return [
    "#!/usr/bin/env bash",
    `# mine2hpc ${what} of ${hostname} in site ${plan.site.name}, run on a k3s server with its admin kubeconfig.`,
    "# Generated from the site plan by mine2hpc: edit the site, not this script.",
    `NODE_NAME='${hostname.replace(/'/g, `'\\''`)}'`,
    "",
  ].join("\n");
}

/**
 * Drain of a cordoned machine, run on a server: `kubectl drain` cordons the node first
 * (`spec.unschedulable`), then evicts its pods. Bounded by `--timeout`; a node that never
 * registered has nothing to drain. {@link renderUncordonScript} undoes the cordon when the
 * machine is no longer cordoned (the drain resource's `delete`).
 */
export function renderCordonDrainScript(plan: FarmPlan, hostname: string): string {
  return `${serverSideHeader(plan, hostname, "drain (state: cordoned)")}${SERVER_SIDE_PRELUDE}
if ! node_exists; then
  log "node is not registered: nothing to drain"
  exit 0
fi
log "draining (pods evicted, DaemonSets stay; at most ${SERVER_SIDE_DRAIN_TIMEOUT_SECONDS} s)"
if ! kubectl_ drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout=${SERVER_SIDE_DRAIN_TIMEOUT_SECONDS}s; then
  die "drain did not finish within ${SERVER_SIDE_DRAIN_TIMEOUT_SECONDS} s (a PodDisruptionBudget or a stuck pod holds it): fix the blocker, then run pulumi up again"
fi
log "drained"
`;
}

/**
 * Uncordon of a machine that is no longer `cordoned` (active again, offline, retired or removed
 * from the site), run on a server as the `delete` of its drain. A node that is not registered
 * has nothing to uncordon.
 */
export function renderUncordonScript(plan: FarmPlan, hostname: string): string {
  return `${serverSideHeader(plan, hostname, "uncordon (no longer cordoned)")}${SERVER_SIDE_PRELUDE}
exec </dev/null
if ! node_exists; then
  log "node is not registered: nothing to uncordon"
  exit 0
fi
kubectl_ uncordon "$NODE_NAME" >/dev/null
log "uncordoned"
`;
}

/** How long a chart's admission webhook may take to serve after its release is ready, in s. */
export const WEBHOOK_WAIT_SECONDS = 300;

/**
 * Waits, on a server, until the admission webhooks of a chart accept `objects`: a server-side
 * dry run (`kubectl apply --dry-run=server`) goes through the same admission chain as the real
 * create, webhooks included (they declare `sideEffects: None`), so it succeeds exactly when the
 * webhook serves with a valid certificate and endpoints. Helm's wait (the release's default)
 * only waits for the Deployment to be Ready; the webhook's Service endpoints and CA bundle can
 * lag behind it, which is what "failed calling webhook" on a first `pulumi up` is. Retries
 * every 5 s within {@link WEBHOOK_WAIT_SECONDS}; refused credentials fail at once.
 * Nothing is created. Objects carry no secrets (custom resources of MetalLB and Kueue).
 */
export function renderWebhookWaitScript(plan: FarmPlan, what: string, objects: readonly K8sObject[]): string {
  if (objects.length === 0) throw new Error(`webhook wait for ${what}: no objects to dry-run`);
  const manifest = JSON.stringify({ apiVersion: "v1", kind: "List", items: objects });
  if (manifest.includes("MINE2HPC_MANIFEST")) throw new Error(`webhook wait for ${what}: the objects contain the heredoc delimiter`);
  return `#!/usr/bin/env bash
# mine2hpc: wait until the ${what} admission webhooks serve (site ${plan.site.name}); creates nothing.
# Generated from the site plan by mine2hpc: edit the site, not this script.
set -euo pipefail
NODE_NAME=${JSON.stringify(what)}
${SERVER_SIDE_PRELUDE}
MANIFEST="$(cat <<'MINE2HPC_MANIFEST'
${manifest}
MINE2HPC_MANIFEST
)"
deadline=$((SECONDS + ${WEBHOOK_WAIT_SECONDS}))
until out="$(printf '%s\\n' "$MANIFEST" | kubectl_ apply --dry-run=server -f -)"; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "the admission webhooks did not accept a dry run within ${WEBHOOK_WAIT_SECONDS} s; last answer: $out"
  fi
  sleep 5
done
log "webhooks serve"
`;
}
