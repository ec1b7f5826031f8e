/**
 * Pulumi.yaml: valid against Pulumi's project schema (../shared/fixtures/pulumi/project.json),
 * and its entry point starts the way the Node language host runs it (tsx named in nodeargs).
 */
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { parse } from "yaml";
import Ajv2020 from "ajv/dist/2020.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const schemaFile = join(repoRoot, "..", "shared", "fixtures", "pulumi", "project.json");
const project = parse(readFileSync(join(repoRoot, "Pulumi.yaml"), "utf8")) as {
  name: string;
  main: string;
  stackConfigDir: string;
  runtime: { name: string; options: { typescript: boolean; nodeargs: string } };
  config: Record<string, { type: string; secret?: boolean; default?: unknown }>;
};

describe("Pulumi.yaml", () => {
  it.skipIf(!existsSync(schemaFile))("validates against Pulumi's project schema (skipped: ../shared/fixtures absent)", () => {
    const ajv = new Ajv2020.default({ strict: false, allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, "utf8")) as object);
    const ok = validate(project);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it("names the project, the stack folder and the typed config keys", () => {
    expect(project.name).toBe("mine2hpc");
    expect(project.stackConfigDir).toBe("stacks");
    expect(existsSync(join(repoRoot, project.stackConfigDir, "Pulumi.demo.yaml"))).toBe(true);
    expect(project.config).toEqual({
      "mine2hpc:site": expect.objectContaining({ type: "string" }),
      "mine2hpc:inventory": expect.objectContaining({ type: "string", default: "" }),
      "mine2hpc:sshPrivateKey": expect.objectContaining({ type: "string", secret: true }),
    });
    expect(project.config["mine2hpc:site"]).not.toHaveProperty("default");
  });

  it("starts src/index.ts through the tsx loader the language host passes to node", () => {
    expect(project.runtime.name).toBe("nodejs");
    expect(project.runtime.options).toEqual({ typescript: false, nodeargs: "--import=tsx" });
    expect(existsSync(join(repoRoot, project.main))).toBe(true);
    const loader = /^--import=(\S+)$/.exec(project.runtime.options.nodeargs)![1]!;
    const require = createRequire(join(repoRoot, "package.json"));
    expect(require.resolve(loader)).toMatch(/node_modules[\\/]tsx[\\/]/);
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    // A runtime dependency: `pulumi up` on a production install must still find it.
    expect(pkg.dependencies[loader]).toBeTypeOf("string");
  });
});
