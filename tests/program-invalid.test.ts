/** An invalid site makes the program throw its SiteError before any resource is registered. */
import { expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setupMocks } from "./mocks.js";
import { SiteError } from "../src/site/problems.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

it("registers nothing and throws the SiteError with file:line problems", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mine2hpc-invalid-"));
  const site = readFileSync(join(repoRoot, "stacks/demo/site.yaml"), "utf8").replace(/nodeSubnet: *\S+/, "nodeSubnet: 10.999.0.0/16");
  const file = join(dir, "site.yaml");
  writeFileSync(file, site);
  writeFileSync(join(dir, "inventory.csv"), readFileSync(join(repoRoot, "stacks/demo/inventory.csv")));
  const rec = await setupMocks({
    stack: "invalid",
    config: { "mine2hpc:site": file, "mine2hpc:sshPrivateKey": "K" },
    secretKeys: ["mine2hpc:sshPrivateKey"],
  });
  process.chdir(repoRoot);
  const err = await import("../src/index.js").then(
    () => null,
    (e: unknown) => e,
  );
  await rec.settle();
  expect(err).toBeInstanceOf(SiteError);
  expect((err as SiteError).problems[0]!.source?.file).toBe(file);
  const line = site.split("\n").findIndex((l) => l.includes("nodeSubnet: 10.999.0.0/16")) + 1;
  expect((err as SiteError).problems.map((p) => p.source?.line)).toContain(line);
  expect(rec.registrations).toEqual([]);
});
