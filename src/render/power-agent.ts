/**
 * The power agent: a DaemonSet on every GPU node that applies the node's planned GPU power
 * cap (`mine2hpc.io/gpu-power-cap` label, in W) with `nvidia-smi -pl` and re-applies it
 * periodically, because NVML power limits do not survive a reboot or a driver reload.
 * Caps differ per node (circuits differ), so the agent reads its own node's label through
 * the API instead of sharing one value.
 */
import { LABELS, type FarmPlan } from "../plan/types.js";
import { IMAGES, NAMESPACES } from "./versions.js";
import { NVIDIA_GPU_TOLERATION, POWER_TIER_TOLERATION, objectMeta, type K8sObject } from "./objects.js";

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

/**
 * The agent's bash script. It chroots into the driver root so nvidia-smi runs with the
 * driver's own (glibc) libraries whatever the agent image is.
 */
export function renderPowerAgentScript(): string {
  return `#!/usr/bin/env bash
# mine2hpc power agent: applies this node's planned GPU power cap.
# The cap comes from the node label ${LABELS.gpuPowerCapOverride} while a curtailment window is
# on, else from ${LABELS.gpuPowerCap} (watts), read through the API with
# the pod's ServiceAccount token; it is clamped to each GPU's settable range and applied
# with nvidia-smi -pl inside the driver root. Power limits do not survive a reboot or a
# driver reload, so the cap is checked and re-applied every INTERVAL_SECONDS.
set -euo pipefail

: "\${NODE_NAME:?NODE_NAME must be set from spec.nodeName}"
DRIVER_ROOT="\${DRIVER_ROOT:-/run/nvidia/driver}"
INTERVAL_SECONDS="\${INTERVAL_SECONDS:-${POWER_AGENT_INTERVAL_SECONDS}}"
SA_DIR=/var/run/secrets/kubernetes.io/serviceaccount
API="https://\${KUBERNETES_SERVICE_HOST}:\${KUBERNETES_SERVICE_PORT}"

log() {
  printf '%s power-agent node=%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$NODE_NAME" "$*"
}

# Prints the node's cap in watts (digits only): the curtailment override label while a
# window is on, else the planned cap label; nothing when neither is set.
read_cap_label() {
  local token body key value
  # Re-read every time: projected ServiceAccount tokens are rotated by the kubelet.
  token="$(cat "$SA_DIR/token")"
  body="$(curl -fsS --max-time 15 --cacert "$SA_DIR/ca.crt" \\
    -H "Authorization: Bearer \${token}" "$API/api/v1/nodes/\${NODE_NAME}")" || return 1
  # Label values are integer numbers of watts, so a pattern match is exact enough.
  for key in 'mine2hpc\\.io/gpu-power-cap-override' 'mine2hpc\\.io/gpu-power-cap'; do
    value="$(printf '%s' "$body" | { grep -o "\\"\${key}\\": *\\"[0-9]*\\"" || true; } \\
      | head -n 1 | sed -e 's/.*: *"//' -e 's/"$//')"
    if [[ -n "$value" ]]; then
      printf '%s' "$value"
      return 0
    fi
  done
}

# "150.00" -> 150, "150.50" -> 151 (a limit below the minimum is rejected).
ceil_watts() {
  local value="$1" int frac
  int="\${value%%.*}"
  frac=0
  if [[ "$value" == *.* ]]; then frac="\${value#*.}"; fi
  if [[ "$frac" =~ ^0*$ ]]; then echo "$int"; else echo $((int + 1)); fi
}

smi() {
  chroot "$DRIVER_ROOT" nvidia-smi "$@"
}

apply_once() {
  local cap gpus idx current min max target
  if ! cap="$(read_cap_label)"; then
    log "cannot read node \${NODE_NAME} from the API; keeping the current limits"
    return 1
  fi
  if [[ -z "$cap" ]]; then
    log "label ${LABELS.gpuPowerCap} is not set; nothing to apply"
    return 0
  fi
  if ! gpus="$(smi --query-gpu=index,power.limit,power.min_limit,power.max_limit --format=csv,noheader,nounits)"; then
    log "nvidia-smi failed in \${DRIVER_ROOT} (driver not ready yet?)"
    return 1
  fi
  while IFS=', ' read -r idx current min max; do
    [[ -n "$idx" ]] || continue
    if ! [[ "$min" =~ ^[0-9]+(\\.[0-9]+)?$ && "$max" =~ ^[0-9]+(\\.[0-9]+)?$ ]]; then
      log "gpu \${idx}: power limits not settable (min=\${min} max=\${max}); skipped"
      continue
    fi
    min="$(ceil_watts "$min")"
    max="\${max%%.*}"
    target="$cap"
    if ((target < min)); then target="$min"; fi
    if ((target > max)); then target="$max"; fi
    if [[ "\${current%%.*}" == "$target" ]]; then
      continue
    fi
    if smi -i "$idx" -pl "$target" >/dev/null; then
      log "gpu \${idx}: power limit \${current} W -> \${target} W (label \${cap} W, range \${min}-\${max} W)"
    else
      log "gpu \${idx}: nvidia-smi -pl \${target} failed"
    fi
  done <<<"$gpus"
}

trap 'log "stopping"; exit 0' TERM INT
log "starting: driver root \${DRIVER_ROOT}, re-applying every \${INTERVAL_SECONDS}s"
while true; do
  apply_once || log "will retry in \${INTERVAL_SECONDS}s"
  sleep "$INTERVAL_SECONDS" &
  wait $!
done
`;
}

/**
 * Namespace, ServiceAccount, ClusterRole (read-only on nodes), ClusterRoleBinding,
 * ConfigMap (script) and DaemonSet of the power agent.
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
      rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: meta(false),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: POWER_AGENT_NAME },
      subjects: [{ kind: "ServiceAccount", name: POWER_AGENT_NAME, namespace: ns }],
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(true),
      data: { "power-agent.sh": renderPowerAgentScript() },
    },
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: meta(true),
      spec: {
        selector: { matchLabels: { "app.kubernetes.io/name": POWER_AGENT_NAME } },
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "10%" } },
        template: {
          metadata: { labels: { ...appLabels, "app.kubernetes.io/part-of": "mine2hpc" } },
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
            tolerations: [{ ...NVIDIA_GPU_TOLERATION }, { ...POWER_TIER_TOLERATION }],
            terminationGracePeriodSeconds: 10,
            containers: [
              {
                name: "power-agent",
                image: IMAGES.agent,
                imagePullPolicy: "IfNotPresent",
                command: ["/bin/bash", "/opt/mine2hpc/power-agent.sh"],
                env: [
                  { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                  { name: "DRIVER_ROOT", value: mount.mountPath },
                  { name: "INTERVAL_SECONDS", value: String(POWER_AGENT_INTERVAL_SECONDS) },
                ],
                // Privileged: nvidia-smi -pl needs root and write access to /dev/nvidia*, and
                // chroot into the driver root needs CAP_SYS_CHROOT; no narrower grant covers both.
                securityContext: { privileged: true },
                resources: {
                  requests: { cpu: "10m", memory: "32Mi" },
                  limits: { cpu: "200m", memory: "64Mi" },
                },
                volumeMounts: [
                  { name: "script", mountPath: "/opt/mine2hpc", readOnly: true },
                  // HostToContainer: the driver container may mount its root after the agent starts.
                  { name: "driver-root", mountPath: mount.mountPath, mountPropagation: "HostToContainer" },
                ],
              },
            ],
            volumes: [
              { name: "script", configMap: { name: POWER_AGENT_NAME, defaultMode: 0o555 } },
              { name: "driver-root", hostPath: { path: mount.hostPath, type: "Directory" } },
            ],
          },
        },
      },
    },
  ];
}
