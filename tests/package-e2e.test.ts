/**
 * The npm package end to end, as a site operator uses it: `npm pack` this project (its prepack
 * emits the type declarations), run `mine2hpc new` from the packed package, install the tarball
 * into the new site repository, and run `validate`, `plan`, `preview --offline` and `diff`
 * there through the installed bin (`npx mine2hpc`), with a site change committed for diff.
 *
 * "Install" unpacks the tarball into node_modules/mine2hpc and links each of its dependencies
 * from this repository's node_modules, as a hoisted `npm install` lays them out. A real
 * `npm install <tarball>` would need the registry's package metadata (npm ci caches only the
 * tarballs), so it is not run here; what the package itself ships (files, bin, exports,
 * templates, schema, declarations) is exactly what is tested.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/cli.js";
import { loadAndValidate } from "../src/site/load.js";
import { planFarm } from "../src/plan/index.js";
import type { FarmPlan } from "../src/plan/types.js";

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { name: string; version: string };
const SITE = "tx-west-1";
const REMOVED = "gpu-r01-4";
/** Node 24 first on PATH, for npm, npx and the bin's `#!/usr/bin/env node`. */
const env = { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`, NO_COLOR: "1" };

let tmp: string;
let tarball: string;
let tarFiles: string[];
let site: string;

/** Unpacks the tarball into DIR/node_modules/mine2hpc and links the dependencies and the bin. */
function install(dir: string): void {
  const modules = path.join(dir, "node_modules");
  mkdirSync(path.join(modules, pkg.name), { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", path.join(modules, pkg.name), "--strip-components=1"]);
  const ours = path.join(REPO_ROOT, "node_modules");
  for (const entry of readdirSync(ours)) {
    if (entry === ".bin" || entry === pkg.name || entry.startsWith(".package-lock")) continue;
    symlinkSync(path.join(ours, entry), path.join(modules, entry));
  }
  mkdirSync(path.join(modules, ".bin"));
  symlinkSync(path.join("..", pkg.name, "bin", "mine2hpc.js"), path.join(modules, ".bin", "mine2hpc"));
}

/** `npx mine2hpc ARGS` in the site repository: the installed bin, never a download. */
function mine2hpc(args: readonly string[]) {
  return execa("npx", ["--no", "mine2hpc", ...args], { cwd: site, env, reject: false, stdin: "ignore" });
}

function git(args: readonly string[]): void {
  execFileSync("git", ["-c", "user.name=mine2hpc-test", "-c", "user.email=test@mine2hpc.invalid", "-c", "commit.gpgsign=false", ...args], { cwd: site, stdio: "ignore" });
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "mine2hpc-package-"));
  const packed = await execa("npm", ["pack", "--json", "--pack-destination", tmp], { cwd: REPO_ROOT, env });
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(tmp, info!.filename);
  tarFiles = info!.files.map((f) => f.path).sort();

  // `npx mine2hpc new`: the packed package, installed where npx would put it.
  const npx = path.join(tmp, "npx");
  install(npx);
  const created = await execa(process.execPath, [path.join(npx, "node_modules", pkg.name, "bin", "mine2hpc.js"), "new", SITE, "--template", "hybrid-curtailable"], { cwd: tmp, env });
  expect(created.stdout.split("\n")[0]).toBe(`Created site repository ${SITE} (stack ${SITE}, template hybrid-curtailable, mine2hpc ${pkg.version}):`);
  site = path.join(tmp, SITE);
  install(site);

  // A first commit, then a change for diff to find: one GPU rig leaves the inventory.
  git(["init", "-q"]);
  git(["add", "-A"]);
  git(["commit", "-q", "-m", "site from mine2hpc new"]);
  const inventory = path.join(site, "stacks", SITE, "inventory.csv");
  const rows = readFileSync(inventory, "utf8").split("\n");
  expect(rows.filter((r) => r.startsWith(`${REMOVED},`))).toHaveLength(1);
  writeFileSync(inventory, rows.filter((r) => !r.startsWith(`${REMOVED},`)).join("\n"));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("ships the CLI, the library with its declarations, templates and schema, and nothing of this repository's own", () => {
    for (const f of ["package.json", "README.md", "bin/mine2hpc.js", "scripts/check-node.cjs", "src/lib.ts", "src/program.ts", "src/cli/main.ts", "dist/types/lib.d.ts", "dist/types/program.d.ts", "dist/types/plan/types.d.ts", "schema/site.schema.json", "bundle/runtime.mjs", "templates/hybrid-curtailable/site.yaml", "templates/hybrid-curtailable/inventory.csv"]) {
      expect(tarFiles).toContain(f);
    }
    const top = [...new Set(tarFiles.map((f) => f.split("/")[0]))].sort();
    expect(top).toEqual(["README.md", "bin", "bundle", "dist", "package.json", "schema", "scripts", "src", "templates"]);
    expect(tarFiles.filter((f) => f.startsWith("scripts/"))).toEqual(["scripts/check-node.cjs"]);
    expect(readFileSync(path.join(site, "node_modules", pkg.name, "dist", "types", "lib.d.ts"), "utf8")).toContain("export { run, CONFIG_NAMESPACE");
  });
});

describe(`a site repository made by mine2hpc new, with the package installed`, () => {
  /** The plan of the edited site, computed here with this repository's own code. */
  const expected = (): FarmPlan => planFarm(loadAndValidate(path.join(site, "stacks", SITE, "site.yaml")).spec);

  it("validate, plan, preview --offline and diff run there through the installed bin", async () => {
    const [validate, plan, preview, diff] = await Promise.all([
      mine2hpc(["validate"]),
      mine2hpc(["plan", "--json"]),
      mine2hpc(["preview", "--offline", "--json"]),
      mine2hpc(["diff", "--base", "HEAD", "--json"]),
    ]);
    const want = expected();

    expect(validate.stderr).toBe("");
    expect(validate.exitCode).toBe(0);
    expect(validate.stdout.split("\n")[0]).toMatch(new RegExp(`^stacks/${SITE}/site\\.yaml: site ${SITE} is valid: ${want.totals.machines} machines \\(${want.totals.nodes} nodes, ${want.totals.gpus} GPUs, ${want.totals.asics} ASIC miners\\)`));

    expect(plan.exitCode).toBe(0);
    expect(JSON.parse(plan.stdout)).toEqual(JSON.parse(JSON.stringify(want)));

    // The site's own program (index.ts → run() from the installed package), under mocks.
    expect(preview.stderr).toBe("");
    expect(preview.exitCode).toBe(0);
    const p = JSON.parse(preview.stdout) as { stack: string; siteFile: string; resources: Array<{ type: string; name: string; parent: string | null }>; counts: Record<string, number>; outputs: Record<string, unknown> };
    expect(p.stack).toBe(SITE);
    expect(p.siteFile).toBe(`stacks/${SITE}/site.yaml`);
    expect(p.counts["mine2hpc:index:FarmCluster"]).toBe(1);
    const bootstraps = p.resources.filter((r) => r.type === "command:remote:Command" && r.parent === `mine2hpc:index:HostBootstrap::${SITE}`).map((r) => r.name);
    // One bootstrap per node, the read of the cluster CA hash the joining nodes' tokens pin, and
    // the agents' bootstrap files put in place on the first server.
    expect(bootstraps.sort()).toEqual([...want.nodes.map((n) => `${SITE}-${n.hostname}`), `${SITE}-cluster-ca`, `${SITE}-publish`].sort());
    expect(Object.keys(p.outputs)).toEqual(["apiEndpoint", "circuitLoads", "kubeconfig", "pools"]);
    expect(p.outputs.kubeconfig).toBe("[secret]");
    expect((p.outputs.pools as Array<{ name: string }>).map((x) => x.name)).toEqual(want.pools.map((x) => x.name));

    expect(diff.stderr).toBe("");
    expect(diff.exitCode).toBe(0);
    const d = JSON.parse(diff.stdout) as { stack: string; rebootstraps: Array<{ hostname: string; reason: string }>; resources: { removed: Array<{ type: string; name: string }> } };
    expect(d.stack).toBe(SITE);
    expect(d.rebootstraps.filter((r) => r.reason === "removed").map((r) => r.hostname)).toEqual([REMOVED]);
    // Its bootstrap (whose delete runs the uninstall its bootstrap installed on the host).
    expect(d.resources.removed.map((r) => `${r.type} ${r.name}`).sort()).toEqual([`command:remote:Command ${SITE}-${REMOVED}`]);
  });

  it("imports the library entry and its subpaths under tsx, as the site's index.ts does", async () => {
    writeFileSync(
      path.join(site, "check.ts"),
      [
        'import { planFarm, loadAndValidate, run, FarmCluster, CONFIG_NAMESPACE } from "mine2hpc";',
        'import { planFarm as planFromSubpath } from "mine2hpc/plan";',
        `const plan = planFarm(loadAndValidate("stacks/${SITE}/site.yaml").spec);`,
        "console.log(JSON.stringify([plan.site.name, typeof run, typeof FarmCluster, CONFIG_NAMESPACE, planFromSubpath === planFarm]));",
        "",
      ].join("\n"),
    );
    const r = await execa(process.execPath, ["--import=tsx", "check.ts"], { cwd: site, env, reject: false });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual([SITE, "function", "function", "mine2hpc", true]);
    expect(existsSync(path.join(site, "node_modules", ".bin", "mine2hpc"))).toBe(true);
  });
});
