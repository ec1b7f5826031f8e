/** shellcheck on a rendered script, the same way in every test file. */
import { expect } from "vitest";
import { execa } from "execa";

/**
 * Asserts `script` passes `shellcheck -s bash` with no finding. Without shellcheck installed it
 * fails with the package to install, unless MINE2HPC_SKIP_SHELLCHECK=1 (then the test is skipped).
 */
export async function expectShellcheckClean(script: string, ctx: { skip: () => void }): Promise<void> {
  const found = await execa("shellcheck", ["--version"], { reject: false });
  if (found.exitCode !== 0) {
    if (process.env.MINE2HPC_SKIP_SHELLCHECK === "1") return ctx.skip();
    throw new Error("shellcheck is not installed: apt-get install shellcheck (or set MINE2HPC_SKIP_SHELLCHECK=1 to skip)");
  }
  const r = await execa("shellcheck", ["-s", "bash", "-"], { input: script, reject: false });
  expect(r.stdout).toBe("");
  expect(r.exitCode).toBe(0);
}
