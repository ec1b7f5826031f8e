/**
 * Golden files: rendered text compared byte for byte with a reviewed copy under
 * tests/golden/. `UPDATE_GOLDEN=1` rewrites them; review the diff like code. A missing
 * golden file is a failure (never silently created), so CI cannot pass on an empty baseline.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

/** tests/golden, from this file's location. */
export const GOLDEN_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "golden");

/** Compares `text` with tests/golden/RELPATH, or writes it when UPDATE_GOLDEN=1. */
export function expectGolden(relPath: string, text: string): void {
  const file = path.join(GOLDEN_ROOT, relPath);
  if (process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    return;
  }
  if (!existsSync(file)) {
    throw new Error(`golden file tests/golden/${relPath} is missing: run UPDATE_GOLDEN=1 npx vitest run and review it`);
  }
  expect(text, `tests/golden/${relPath} differs: if the change is intended, regenerate with UPDATE_GOLDEN=1 and review the diff`).toBe(
    readFileSync(file, "utf8"),
  );
}
