/**
 * The power agent's DaemonSet: on every GPU node, `node runtime.mjs power-agent` (the bundled
 * src/runtime/power-agent/, from a ConfigMap, on the pinned stock Node image) applies the node's
 * safe cap before anything else, then keeps each GPU at the node's planned cap
 * (`mine2hpc.io/gpu-power-cap`, or the curtailment override) with `nvidia-smi -pl`, reads it
 * back, and lifts the `mine2hpc.io/power-unverified` taint only on confirmation. Caps differ per
 * node (circuits differ), so each agent watches its own Node.
 */
import { LABELS, POWER_UNVERIFIED_TAINT, type FarmPlan } from "../plan/types.js";
import { IMAGES, NAMESPACES } from "./versions.js";
import { NVIDIA_GPU_TOLERATION, POWER_TIER_TAINT_KEY, objectMeta, type K8sObject } from "./objects.js";
import { RUNTIME_BUNDLE, RUNTIME_MOUNT_PATH, RUNTIME_SHA_ANNOTATION, runtimeCommand, runtimeConfigMap } from "./runtime-bundle.js";
import { DEFAULT_METRICS_PORT, SAFE_CAP_FILE } from "../runtime/power-agent/constants.js";

/** Name of the agent's ServiceAccount, ClusterRole(Binding), ConfigMap and DaemonSet. */
export const POWER_AGENT_NAME = "mine2hpc-power-agent";

/** Seconds between two applications of the cap on a node: decided by the plan (curtailment timing depends on it). */
export { POWER_AGENT_INTERVAL_SECONDS } from "../plan/curtail.js";
import { POWER_AGENT_INTERVAL_SECONDS } from "../plan/curtail.js";

/** Where the driver's root filesystem is mounted in the agent, by driver mode. */
export function driverRootMount(driverMode: FarmPlan["gpuOperator"]["driverMode"]): { hostPath: string; mountPath: string } {
  // container: the operator's driver container exposes its root (nvidia-smi and libs) there.
  // host: the driver is installed on the host, so the host's root is the driver root.
  return driverMode === "container"
    ? { hostPath: "/run/nvidia/driver", mountPath: "/run/nvidia/driver" }
    : { hostPath: "/", mountPath: "/host" };
}

/** Host directory where the host bootstrap writes the node's safe cap (`gpu-power-cap`, watts). */
export const SAFE_CAP_DIR = SAFE_CAP_FILE.slice(0, SAFE_CAP_FILE.lastIndexOf("/"));

/**
 * Namespace, ServiceAccount, ClusterRole (nodes: read, watch and patch; nodes/status: patch;
 * events: create), ClusterRoleBinding, ConfigMap (the runtime bundle) and DaemonSet of the
 * power agent.
 */
export function renderPowerAgent(plan: FarmPlan): K8sObject[] {
  const ns = NAMESPACES.mine2hpc;
  const appLabels = { "app.kubernetes.io/name": POWER_AGENT_NAME, "app.kubernetes.io/component": "power-agent" };
  const mount = driverRootMount(plan.gpuOperator.driverMode);
  const meta = (namespaced: boolean) => objectMeta(POWER_AGENT_NAME, { ...(namespaced ? { namespace: ns } : {}), labels: appLabels });

  return [
    { apiVersion: "v1", kind: "Namespace", metadata: objectMeta(ns) },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(true) },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: meta(false),
      rules: [
        // Watch its own Node's labels; patch its taints (JSON patch with a test, never a blind write).
        { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch", "patch"] },
        // The mine2hpc.io/PowerCapsInForce condition.
        { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch"] },
        // A Warning Event on the Node when caps are not in force.
        { apiGroups: [""], resources: ["events"], verbs: ["create"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: meta(false),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: POWER_AGENT_NAME },
      subjects: [{ kind: "ServiceAccount", name: POWER_AGENT_NAME, namespace: ns }],
    },
    runtimeConfigMap(POWER_AGENT_NAME, ns, appLabels),
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: objectMeta(POWER_AGENT_NAME, {
        namespace: ns,
        labels: appLabels,
        // Pulumi's DaemonSet await would hold `pulumi up` (10 minutes, then fail) while the GPU
        // operator's driver container builds and the agent keeps its node tainted. The provider
        // skips await logic for any resource with this annotation (pulumi/pulumi-kubernetes
        // provider/pkg/await/await.go, `metadata.SkipAwaitLogic` in Creation and Update; PR #417).
        annotations: { "pulumi.com/skipAwait": "true" },
      }),
      spec: {
        selector: { matchLabels: { "app.kubernetes.io/name": POWER_AGENT_NAME } },
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "10%" } },
        template: {
          metadata: {
            labels: { ...appLabels, "app.kubernetes.io/part-of": "mine2hpc" },
            // A new bundle rolls the pods (a ConfigMap change alone restarts nothing); SIGTERM keeps the caps.
            annotations: { [RUNTIME_SHA_ANNOTATION]: RUNTIME_BUNDLE.sha256 },
          },
          spec: {
            serviceAccountName: POWER_AGENT_NAME,
            // A cap that is not applied can overload a circuit: keep the agent scheduled first.
            priorityClassName: "system-node-critical",
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [{ key: LABELS.gpuPowerCap, operator: "Exists" }] }],
                },
              },
            },
            tolerations: [
              { ...NVIDIA_GPU_TOLERATION },
              // Every effect of the power-tier taint: the agent must run on every tier, curtailable included.
              { key: POWER_TIER_TAINT_KEY, operator: "Exists" },
              // The agent is what lifts this taint.
              { key: POWER_UNVERIFIED_TAINT.key, operator: "Exists", effect: POWER_UNVERIFIED_TAINT.effect },
            ],
            // SIGTERM: the agent stops without touching the limits, within a second.
            terminationGracePeriodSeconds: 10,
            containers: [
              {
                name: "power-agent",
                image: IMAGES.runtime,
                imagePullPolicy: "IfNotPresent",
                command: runtimeCommand("power-agent"),
                args: [
                  "--node",
                  "$(NODE_NAME)",
                  // nvidia-smi runs with the driver's own libraries, inside the driver root.
                  "--nvidia-smi",
                  `chroot ${mount.mountPath} nvidia-smi`,
                  "--interval",
                  String(POWER_AGENT_INTERVAL_SECONDS),
                  "--metrics-port",
                  String(DEFAULT_METRICS_PORT),
                  "--safe-cap-file",
                  SAFE_CAP_FILE,
                ],
                env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
                ports: [{ name: "metrics", containerPort: DEFAULT_METRICS_PORT, protocol: "TCP" }],
                // /healthz answers 200 while the control loop ticks, whatever the caps: a restart
                // would not make a driver ready, and the taint already keeps GPU work away.
                livenessProbe: { httpGet: { path: "/healthz", port: "metrics" }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 4 },
                readinessProbe: { httpGet: { path: "/healthz", port: "metrics" }, periodSeconds: 10, timeoutSeconds: 5 },
                // Privileged: nvidia-smi -pl needs root and write access to /dev/nvidia*, and
                // chroot into the driver root needs CAP_SYS_CHROOT; no narrower grant covers both.
                securityContext: { privileged: true },
                resources: {
                  requests: { cpu: "10m", memory: "48Mi" },
                  limits: { cpu: "200m", memory: "128Mi" },
                },
                volumeMounts: [
                  { name: "runtime", mountPath: RUNTIME_MOUNT_PATH, readOnly: true },
                  { name: "safe-cap", mountPath: SAFE_CAP_DIR, readOnly: true },
                  // HostToContainer: the driver container mounts its root after the agent starts.
                  { name: "driver-root", mountPath: mount.mountPath, mountPropagation: "HostToContainer" },
                ],
              },
            ],
            volumes: [
              { name: "runtime", configMap: { name: POWER_AGENT_NAME, defaultMode: 0o444 } },
              // The bootstrap writes the file; DirectoryOrCreate so a node without it still starts (then: each GPU's minimum).
              { name: "safe-cap", hostPath: { path: SAFE_CAP_DIR, type: "DirectoryOrCreate" } },
              // DirectoryOrCreate, not Directory: /run/nvidia/driver exists only once the operator's
              // driver container runs, and the agent must start before (it keeps the node tainted
              // meanwhile). The GPU operator mounts it the same way (NVIDIA/gpu-operator
              // assets/state-device-plugin/0500_daemonset.yaml, volume driver-install-dir).
              { name: "driver-root", hostPath: { path: mount.hostPath, type: "DirectoryOrCreate" } },
            ],
          },
        },
      },
    },
  ];
}
