/** Everything the cluster-side renderers produce for a plan, by golden-file name. */
import type { FarmPlan } from "../../src/plan/types.js";
import {
  renderCiliumValues,
  renderCurtailment,
  renderDevicePluginConfig,
  renderGpuOperatorValues,
  renderKueueObjects,
  renderMetalLbObjects,
  renderNetworkOperator,
  renderPowerAgent,
} from "../../src/render/index.js";
import { renderKueueValues } from "../../src/render/kueue-values.js";
import type { K8sObject } from "../../src/render/objects.js";
import { RUNTIME_BUNDLE, RUNTIME_FILE } from "../../src/render/runtime-bundle.js";

export function renderClusterObjects(plan: FarmPlan): Record<string, unknown> {
  return {
    "gpu-operator-values": renderGpuOperatorValues(plan),
    "device-plugin-config": renderDevicePluginConfig(plan),
    "cilium-values": renderCiliumValues(plan),
    metallb: renderMetalLbObjects(plan),
    "network-operator": renderNetworkOperator(plan),
    "kueue-values": renderKueueValues(plan),
    kueue: renderKueueObjects(plan),
    "power-agent": renderPowerAgent(plan).map(withBundleDigest),
    curtailment: renderCurtailment(plan).map(withBundleDigest),
  };
}

/** Goldens show the runtime bundle by digest, not its text (bundle/runtime.mjs is compared on its own). */
function withBundleDigest(o: K8sObject): K8sObject {
  const data = o.data as Record<string, string> | undefined;
  if (o.kind !== "ConfigMap" || data?.[RUNTIME_FILE] !== RUNTIME_BUNDLE.text) return o;
  return { ...o, data: { ...data, [RUNTIME_FILE]: `<bundle/runtime.mjs: ${RUNTIME_BUNDLE.bytes} bytes, sha256 ${RUNTIME_BUNDLE.sha256}>` } };
}
