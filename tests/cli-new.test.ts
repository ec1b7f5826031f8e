/**
 * `mine2hpc new DIR --template NAME`: a site repository of its own, written by the binary into a
 * temporary folder. The files are asserted exactly where they are ours (package.json,
 * Pulumi.yaml, index.ts, .gitignore, workflows) and against the template where they are the
 * site's. The installed-package end to end (npm pack, then every command inside the new
 * repository) is tests/package-e2e.test.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import Ajv2020 from "ajv/dist/2020.js";
import { REPO_ROOT, runCli } from "./helpers/cli.js";
import { previewCommentWorkflow, previewWorkflow } from "../src/cli/workflows.js";
import { execa } from "execa";

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string; dependencies: Record<string, string>; engines: { node: string } };
const PROJECT_SCHEMA = path.join(REPO_ROOT, "..", "shared", "fixtures", "pulumi", "project.json");

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "mine2hpc-new-"));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));
const read = (rel: string): string => readFileSync(path.join(tmp, rel), "utf8");

describe("mine2hpc new", () => {
  it("writes a site repository whose program is the mine2hpc package, and prints the next steps", async () => {
    const r = await runCli(["new", "tx-west-1", "--template", "hybrid-curtailable"], { cwd: tmp });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const out = r.stdout.split("\n");
    expect(out[0]).toBe(`Created site repository tx-west-1 (stack tx-west-1, template hybrid-curtailable, mine2hpc ${pkg.version}):`);
    expect(out.slice(1, 13)).toEqual(
      [
        "package.json",
        "Pulumi.yaml",
        "index.ts",
        ".gitignore",
        ".npmrc",
        ".nvmrc",
        "README.md",
        ".github/workflows/preview.yml",
        ".github/workflows/preview-comment.yml",
        "stacks/Pulumi.tx-west-1.yaml",
        "stacks/tx-west-1/site.yaml",
        "stacks/tx-west-1/inventory.csv",
      ].map((f) => `  ${f}`),
    );
    expect(r.stdout).toContain("  1. Install mine2hpc and the Pulumi SDK into the repository:\n       cd tx-west-1 && npm install\n");
    expect(r.stdout).toContain("       npx mine2hpc validate --stack tx-west-1\n");
    expect(r.stdout).toContain("       pulumi stack init tx-west-1\n");

    expect(JSON.parse(read("tx-west-1/package.json"))).toEqual({
      name: "tx-west-1",
      private: true,
      description: "The tx-west-1 mining site as a Kubernetes GPU cluster, with mine2hpc.",
      type: "module",
      engines: { node: pkg.engines.node },
      scripts: { test: "mine2hpc validate --stack tx-west-1", plan: "mine2hpc plan --stack tx-west-1", preview: "mine2hpc preview --offline --stack tx-west-1" },
      dependencies: { "@pulumi/pulumi": pkg.dependencies["@pulumi/pulumi"], mine2hpc: pkg.version, tsx: pkg.dependencies.tsx },
    });
    expect(read("tx-west-1/index.ts").split("\n")).toEqual([
      "// The mine2hpc program: stack config (mine2hpc:*) → site → plan → FarmCluster; `pulumi up` runs it.",
      'import { run } from "mine2hpc";',
      "// Each key of the default export is a stack output (a cluster stack and a partition stack differ).",
      "export default run();",
      "",
    ]);
    expect(read("tx-west-1/.gitignore")).toContain("node_modules/\n");
    expect(read("tx-west-1/.gitignore")).toContain("\nkubeconfig\n");
    expect(read("tx-west-1/.nvmrc")).toBe("24\n");
    // The same engine-strict as this repository's own .npmrc.
    expect(read("tx-west-1/.npmrc")).toBe(readFileSync(path.join(REPO_ROOT, ".npmrc"), "utf8"));
    expect(read("tx-west-1/.github/workflows/preview.yml")).toBe(previewWorkflow("tx-west-1"));
    expect(read("tx-west-1/.github/workflows/preview-comment.yml")).toBe(previewCommentWorkflow());
    expect(read("tx-west-1/README.md")).toContain("npx mine2hpc diff --base main --stack tx-west-1");

    // The stack: what init writes, with the schema of the installed package.
    expect(read("tx-west-1/stacks/Pulumi.tx-west-1.yaml")).toContain("started from template hybrid-curtailable by 'mine2hpc new'.\n");
    expect(read("tx-west-1/stacks/Pulumi.tx-west-1.yaml")).toContain("\n  mine2hpc:site: stacks/tx-west-1/site.yaml\n");
    const site = read("tx-west-1/stacks/tx-west-1/site.yaml").split("\n");
    expect(site[0]).toBe("# yaml-language-server: $schema=../../node_modules/mine2hpc/schema/site.schema.json");
    const template = readFileSync(path.join(REPO_ROOT, "templates", "hybrid-curtailable", "site.yaml"), "utf8").split("\n");
    expect(site.filter((line, k) => line !== template[k])).toEqual([site[0], "  name: tx-west-1 # REQUIRED: DNS label; prefixes every resource name"]);
    expect(read("tx-west-1/stacks/tx-west-1/inventory.csv")).toBe(readFileSync(path.join(REPO_ROOT, "templates", "hybrid-curtailable", "inventory.csv"), "utf8"));

    // Every command finds the project from inside it, and its only stack without --stack.
    const v = await runCli(["validate"], { cwd: path.join(tmp, "tx-west-1", "stacks") });
    expect(v.stderr).toBe("");
    expect(v.exitCode).toBe(0);
    expect(v.stdout.split("\n")[0]).toMatch(/^tx-west-1\/site\.yaml: site tx-west-1 is valid: /);
  });

  it("names the project after DIR, with mine2hpc's config keys in mine2hpc's namespace (untyped: Pulumi allows types only in the project's)", async () => {
    const r = await runCli(["new", "sites/se1-lulea", "--template", "immersion-container"], { cwd: tmp });
    expect(r.exitCode).toBe(0);
    const text = read("sites/se1-lulea/Pulumi.yaml");
    const project = parse(text) as Record<string, unknown>;
    expect(project).toEqual({
      name: "se1-lulea",
      description: "The se1-lulea mining site as a k3s GPU cluster with power-aware node pools (mine2hpc).",
      runtime: { name: "nodejs", options: { typescript: false, nodeargs: "--import=tsx" } },
      main: "index.ts",
      stackConfigDir: "stacks",
    });
    for (const key of ["mine2hpc:site", "mine2hpc:inventory", "mine2hpc:sshPrivateKey", "mine2hpc:k3sToken"]) expect(text).toContain(`#   ${key} `);
    if (existsSync(PROJECT_SCHEMA)) {
      const validate = new Ajv2020.default({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(PROJECT_SCHEMA, "utf8")) as object);
      expect(validate(project), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it("takes --stack and --inventory, and --json lists what it wrote", async () => {
    const inventory = path.join(tmp, "export.csv");
    writeFileSync(inventory, readFileSync(path.join(REPO_ROOT, "templates", "hpc-hall", "inventory.csv"), "utf8"));
    const r = await runCli(["new", "repo", "--stack", "pjm-1", "--template", "hpc-hall", "--inventory", "export.csv", "--json"], { cwd: tmp });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as { dir: string; stack: string; mine2hpc: string; inventoryFrom: string; files: string[] };
    expect(out).toMatchObject({ dir: "repo", stack: "pjm-1", mine2hpc: pkg.version, inventoryFrom: "export.csv" });
    expect(out.files.slice(-3)).toEqual(["stacks/Pulumi.pjm-1.yaml", "stacks/pjm-1/site.yaml", "stacks/pjm-1/inventory.csv"]);
    expect((parse(read("repo/Pulumi.yaml")) as { name: string }).name).toBe("pjm-1");
    expect(read("repo/stacks/pjm-1/inventory.csv")).toBe(readFileSync(inventory, "utf8"));
  });

  it("writes an imported inventory whose circuits the template lacks, with the fit as the step after npm install", async () => {
    writeFileSync(path.join(tmp, "fleet.csv"), "hostname,ip,rack,circuit,role,asicModel,fleetId\na01-01,10.30.1.11,A01,pdu-a1,asic,s21,1001\n");
    const r = await runCli(["new", "fleet-site", "--template", "hybrid-curtailable", "--inventory", "fleet.csv", "--json"], { cwd: tmp });
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as { figures: unknown; siteProblems: Array<{ file: string; line: number; message: string }>; nextSteps: Array<{ what: string; command: string }> };
    expect(out.figures).toBeNull();
    expect(out.siteProblems.map((p) => `${p.file}:${p.line}: ${p.message}`)).toEqual(["stacks/fleet-site/inventory.csv:2: a01-01 names unknown circuit 'pdu-a1' (did you mean 'pdu-ctl-1'?)"]);
    expect(out.nextSteps.slice(0, 2).map((s) => s.command)).toEqual(["cd fleet-site && npm install", "cd fleet-site && npx mine2hpc validate --stack fleet-site"]);
    expect(out.nextSteps[1]!.what).toMatch(/^Make the site fit the inventory: add circuit pdu-a1 \(named by the inventory\) to power\.circuits in stacks\/fleet-site\/site\.yaml/);
    expect(read("fleet-site/stacks/fleet-site/inventory.csv")).toBe(readFileSync(path.join(tmp, "fleet.csv"), "utf8"));
  });

  it("refuses a folder that is not empty, and a name that is not a DNS label, writing nothing", async () => {
    mkdirSync(path.join(tmp, "busy"));
    writeFileSync(path.join(tmp, "busy", "notes.txt"), "mine\n");
    const a = await runCli(["new", "busy", "--template", "hpc-hall"], { cwd: tmp });
    expect(a.exitCode).toBe(2);
    expect(a.stderr).toBe(
      "error: busy already exists and is not an empty folder; nothing was written.\n  fix: pick a new folder name (mine2hpc new makes it), or add a stack to an existing project with 'mine2hpc init STACK --template NAME' there.\n",
    );
    const b = await runCli(["new", "TX_West", "--template", "hpc-hall"], { cwd: tmp });
    expect(b.exitCode).toBe(2);
    expect(b.stderr.split("\n")[0]).toBe("error: stack name 'TX_West' is not a DNS label.");
    expect(existsSync(path.join(tmp, "TX_West"))).toBe(false);
    const c = await runCli(["new", "x", "--template", "nope"], { cwd: tmp });
    expect(c.exitCode).toBe(2);
    expect(c.stderr.split("\n")[0]).toBe("error: no template named 'nope'.");
    expect(existsSync(path.join(tmp, "x"))).toBe(false);
    const d = await runCli(["new"], { cwd: tmp });
    expect(d.exitCode).toBe(64);
    expect(d.stderr.split("\n")[0]).toBe("error: no folder given.");
  });
});

describe("scripts/check-node.cjs", () => {
  it("stops an older Node with the fix, before anything loads", async () => {
    const fake = "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.20.2' } }); Object.defineProperty(process, 'version', { value: 'v20.20.2' });";
    const r = await execa(process.execPath, ["-e", `${fake} require(${JSON.stringify(path.join(REPO_ROOT, "scripts", "check-node.cjs"))})();`], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n").slice(0, 3)).toEqual([
      `error: mine2hpc needs Node.js 24 or newer; this is Node v20.20.2 (${process.execPath}).`,
      "  fix: install Node 24 and run the command again, e.g. with nvm (the repository's .nvmrc names it):",
      "         nvm install 24 && nvm use 24",
    ]);
    const ok = await execa(process.execPath, [path.join(REPO_ROOT, "scripts", "check-node.cjs")], { reject: false });
    expect([ok.exitCode, ok.stderr]).toEqual([0, ""]);
  });
});
