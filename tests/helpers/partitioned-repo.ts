/**
 * A throwaway Pulumi project holding the demo site split into two partitions by circuit groups
 * (grid-firm: the x1 rigs on rig-a and rig-b; ercot-flex: the L40S servers on gpu-pdu-01), with
 * its cluster stack `demo` and one stack per partition (`demo-grid-firm`, `demo-ercot-flex`).
 * Its index.ts runs this checkout's program, so previews run today's code.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** The partitions of the demo site split by feed, sorted. */
export const DEMO_PARTITIONS = ["ercot-flex", "grid-firm"] as const;

/** Writes the project; `edit` may change the site text (e.g. move a machine). Returns its root. */
export function partitionedDemo(edit: (siteText: string) => string = (t) => t): string {
  const dir = mkdtempSync(join(tmpdir(), "mine2hpc-partitions-"));
  mkdirSync(join(dir, "stacks", "demo"), { recursive: true });
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
  writeFileSync(join(dir, "Pulumi.yaml"), "name: mine2hpc\nruntime: nodejs\nmain: index.ts\nstackConfigDir: stacks\n");
  writeFileSync(join(dir, "index.ts"), `import { run } from ${JSON.stringify(join(repoRoot, "src", "program.ts"))};\nexport default run();\n`);
  writeDemoSite(dir, edit);
  writeFileSync(join(dir, "stacks", "Pulumi.demo.yaml"), 'config:\n  mine2hpc:site: stacks/demo/site.yaml\n  mine2hpc:partitioned: "true"\n');
  for (const p of DEMO_PARTITIONS) {
    writeFileSync(join(dir, "stacks", `Pulumi.demo-${p}.yaml`), `config:\n  mine2hpc:site: stacks/demo/site.yaml\n  mine2hpc:partition: ${p}\n  mine2hpc:clusterStack: demo\n`);
  }
  return dir;
}

/** The partitions block the demo site gets: moving rig-b's line to ercot-flex moves three rigs. */
export const DEMO_PARTITIONS_BLOCK = "partitions:\n  by: circuit\n  groups:\n    grid-firm: [rig-a, rig-b]\n    ercot-flex: [gpu-pdu-01]\n";

/** (Re)writes the demo site of a project made by {@link partitionedDemo}, partitioned, through `edit`. */
export function writeDemoSite(dir: string, edit: (siteText: string) => string = (t) => t): void {
  const site = readFileSync(join(repoRoot, "stacks", "demo", "site.yaml"), "utf8");
  writeFileSync(join(dir, "stacks", "demo", "site.yaml"), edit(`${site.trimEnd()}\n${DEMO_PARTITIONS_BLOCK}`));
  copyFileSync(join(repoRoot, "stacks", "demo", "inventory.csv"), join(dir, "stacks", "demo", "inventory.csv"));
}
