/**
 * The README's generated blocks (CLI reference, template catalog) match the code: this test
 * fails when a command, flag or template changed without `npm run docs`.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/cli.js";
import { commandReference, regenerateReadme, renderTemplateCatalog, replaceBlock } from "../scripts/gen-cli-reference.js";
import diffCommand from "../src/cli/commands/diff.js";

const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");

describe("README generated blocks", () => {
  it("are up to date (fix: npm run docs)", async () => {
    expect(await regenerateReadme(readme, REPO_ROOT)).toBe(readme);
  });

  it("keep the two commands at the very top", () => {
    expect(readme.split("\n").slice(0, 6)).toEqual([
      "# mine2hpc",
      "",
      "```sh",
      "npm ci && npm start    # install, then plan the embedded demo site (stacks/Pulumi.demo.yaml)",
      "npm ci && npm test     # install, then type-check and run the tests",
      "```",
    ]);
  });

  it("render a command's usage and every flag with its default", () => {
    const md = commandReference(diffCommand);
    expect(md.split("\n").slice(0, 7)).toEqual([
      "### `mine2hpc diff`",
      "",
      diffCommand.summary,
      "",
      "```",
      "mine2hpc diff --base GIT_REF [--stack NAME] [-o text|json|yaml|md]",
      "```",
    ]);
    expect(md).toContain("| `--stack NAME` | Stack to compare (reads stacks/Pulumi.NAME.yaml on both sides; default: demo, or the project's only stack). |");
    expect(md).toContain("| `-o, --output FORMAT` | Output format: text (default), json, yaml or md (Markdown tables). |");
    expect(md).toContain("| `--json` | Same as -o json. |");
  });

  it("list one line per template directory", () => {
    const lines = renderTemplateCatalog(REPO_ROOT).split("\n");
    expect(lines.map((l) => /^- \[`([^`]+)`\]/.exec(l)?.[1])).toEqual(["gpu-rig-retrofit", "hpc-hall", "hybrid-curtailable", "immersion-container"]);
    expect(lines[1]).toBe("- [`hpc-hall`](templates/hpc-hall/README.md) — A former bitcoin hall in the PJM footprint, rebuilt for training.");
  });

  it("refuse a README without the markers", () => {
    expect(() => replaceBlock("# x\n", "cli-reference", "y")).toThrow("README.md has no '<!-- cli-reference:start -->' … '<!-- cli-reference:end -->' block");
    expect(replaceBlock("a\n<!-- cli-reference:start -->\nold\n<!-- cli-reference:end -->\nb\n", "cli-reference", "new")).toBe(
      "a\n<!-- cli-reference:start -->\nnew\n<!-- cli-reference:end -->\nb\n",
    );
  });
});
