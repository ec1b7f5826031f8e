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

export function renderClusterObjects(plan: FarmPlan): Record<string, unknown> {
  return {
    "gpu-operator-values": renderGpuOperatorValues(plan),
    "device-plugin-config": renderDevicePluginConfig(plan),
    "cilium-values": renderCiliumValues(plan),
    metallb: renderMetalLbObjects(plan),
    "network-operator": renderNetworkOperator(plan),
    "kueue-values": renderKueueValues(plan),
    kueue: renderKueueObjects(plan),
    "power-agent": renderPowerAgent(plan),
    curtailment: renderCurtailment(plan),
  };
}
