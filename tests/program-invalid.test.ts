/** An invalid site makes the program throw its SiteError before any resource is registered. */
import { expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
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

it("registers nothing when a machine's lifecycle inputs are bad, naming the inventory line of each", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mine2hpc-invalid-lifecycle-"));
  const lines = readFileSync(join(repoRoot, "stacks/demo/inventory.csv"), "utf8").trimEnd().split("\n");
  // Row 2: an unknown state; row 3: a negative generation; row 4: a host key that is not `<type> <base64>`.
  const bad: Record<number, [string, string, string]> = { 1: ["paused", "", ""], 2: ["", "-1", ""], 3: ["", "", "not-a-key"] };
  const edited = lines.map((l, i) => (i === 0 ? `${l},state,generation,sshHostKey` : `${l},${(bad[i] ?? ["", "", ""]).join(",")}`));
  writeFileSync(join(dir, "site.yaml"), readFileSync(join(repoRoot, "stacks/demo/site.yaml")));
  writeFileSync(join(dir, "inventory.csv"), edited.join("\n") + "\n");
  const rec = await setupMocks({
    stack: "invalid-lifecycle",
    config: { "mine2hpc:site": join(dir, "site.yaml"), "mine2hpc:sshPrivateKey": "K" },
    secretKeys: ["mine2hpc:sshPrivateKey"],
  });
  process.chdir(repoRoot);
  // A fresh copy of the program module: the first test already imported (and failed) it.
  const err = await import(`${pathToFileURL(join(repoRoot, "src", "index.ts")).href}?lifecycle`).then(
    () => null,
    (e: unknown) => e,
  );
  await rec.settle();
  expect(err).toBeInstanceOf(SiteError);
  const where = (err as SiteError).problems.map((p) => `${p.source?.file?.endsWith("inventory.csv") ? "inventory.csv" : p.source?.file}:${p.source?.line}`);
  // All three together, each at its row (line 1 is the header).
  expect(where).toEqual(expect.arrayContaining(["inventory.csv:2", "inventory.csv:3", "inventory.csv:4"]));
  expect(rec.registrations).toEqual([]);
});
