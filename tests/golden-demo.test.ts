/**
 * Golden files of everything rendered for the demo stack (stacks/Pulumi.demo.yaml): each
 * node's k3s config, bootstrap and uninstall scripts, and the cluster-side Helm values and
 * objects. Reviewed like code: a change to the demo site or a renderer shows up here.
 */
import { describe, it } from "vitest";
import { stringify } from "yaml";
import { planFarm } from "../src/plan/index.js";
import { renderBootstrapScript, renderK3sConfig, renderUninstallScript } from "../src/render/index.js";
import { loadAndValidate } from "../src/site/load.js";
import { loadStack } from "../src/site/stack.js";
import { REPO_ROOT } from "./helpers/cli.js";
import { expectGolden } from "./helpers/golden.js";
import { renderClusterObjects } from "./helpers/render-all.js";

const stack = loadStack("demo", REPO_ROOT);
const plan = planFarm(loadAndValidate(stack.siteFile).spec);

describe("demo stack: host files", () => {
  for (const node of plan.nodes) {
    it(node.hostname, () => {
      expectGolden(`host/demo/${node.hostname}/config.yaml`, renderK3sConfig(plan, node.hostname));
      expectGolden(`host/demo/${node.hostname}/bootstrap.sh`, renderBootstrapScript(plan, node.hostname));
      expectGolden(`host/demo/${node.hostname}/uninstall.sh`, renderUninstallScript(plan, node.hostname));
    });
  }
});

describe("demo stack: cluster objects and Helm values", () => {
  for (const [name, value] of Object.entries(renderClusterObjects(plan))) {
    it(name, () => {
      const docs = Array.isArray(value) ? value : [value];
      expectGolden(`cluster/demo/${name}.yaml`, docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n"));
    });
  }
});
