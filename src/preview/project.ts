/**
 * The Pulumi project a command runs in: its name and the program file `pulumi up` would run,
 * found the way Pulumi's Node.js language host finds it, so the offline preview and `diff` run
 * the same program in this repository (`main: src/index.ts`) and in a site repository made by
 * `mine2hpc new` (`main: index.ts`, which calls the packaged program).
 *
 * Entry point rules (@pulumi/pulumi 3.270.0, `cmd/run/run.js`, `run()`): Pulumi.yaml `main`
 * (relative to the project folder) when set; else package.json `exports["."]` (its `default`)
 * or `main`; else the project folder. A folder resolves to the first of index.js, index.mjs,
 * index.ts, index.mts it holds.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

/** What the offline preview needs of a Pulumi project. */
export interface PulumiProject {
  /** `name` of Pulumi.yaml (the project part of every URN). */
  name: string;
  /** Absolute path of the program file, or null when there is none. */
  programFile: string | null;
}

const INDEX_FILES = ["index.js", "index.mjs", "index.ts", "index.mts"];

/** Reads `root/Pulumi.yaml` (which must exist) and resolves the program file. */
export function readPulumiProject(root: string): PulumiProject {
  const project = (parse(readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) ?? {}) as { name?: unknown; main?: unknown };
  const name = typeof project.name === "string" && project.name !== "" ? project.name : "mine2hpc";
  let entry: string | undefined = typeof project.main === "string" && project.main !== "" ? project.main : undefined;
  if (entry === undefined) entry = packageEntry(root);
  return { name, programFile: resolveProgram(path.resolve(root, entry ?? ".")) };
}

function packageEntry(root: string): string | undefined {
  const file = path.join(root, "package.json");
  if (!existsSync(file)) return undefined;
  const pkg = JSON.parse(readFileSync(file, "utf8")) as { exports?: unknown; main?: unknown };
  const dot = typeof pkg.exports === "object" && pkg.exports !== null ? (pkg.exports as Record<string, unknown>)["."] : pkg.exports;
  const fromExports = typeof dot === "string" ? dot : typeof dot === "object" && dot !== null ? ((dot as Record<string, unknown>).default ?? (dot as Record<string, unknown>).import) : undefined;
  const candidate = typeof fromExports === "string" ? fromExports : typeof pkg.main === "string" ? pkg.main : undefined;
  // Pulumi falls back to the folder when the named file does not exist.
  return candidate !== undefined && existsSync(path.join(root, candidate)) ? candidate : undefined;
}

function resolveProgram(p: string): string | null {
  if (!existsSync(p)) return null;
  if (!statSync(p).isDirectory()) return p;
  const index = INDEX_FILES.find((f) => existsSync(path.join(p, f)));
  return index !== undefined ? path.join(p, index) : null;
}
