/** Shared by the site tests: fixture paths as a person passes them, and the problems a SiteError carries. */
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SiteError, type Problem } from "../../src/site/index.js";

const testsDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** tests/fixtures/sites/NAME, relative to the working directory (as on the command line). */
export function siteFixture(name: string): string {
  return relative(process.cwd(), join(testsDir, "fixtures", "sites", name));
}

/** The problems of the SiteError `fn` throws; fails when it throws something else or nothing. */
export function problemsOf(fn: () => unknown): readonly Problem[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof SiteError) return err.problems;
    throw err;
  }
  throw new Error("expected a SiteError");
}
