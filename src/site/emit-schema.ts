/**
 * Emits the site's JSON Schema (`schema/site.schema.json`) from the zod schema, so editors
 * (YAML language server: `# yaml-language-server: $schema=...` on a template's first line)
 * validate and complete site files. Run with `npm run schema`; a test fails when the
 * committed file differs from what this produces.
 *
 * `io: "input"` describes the file as written: fields with defaults are optional.
 * Output is stable: zod emits keys in schema order, we add nothing time- or host-dependent,
 * indent by 2 spaces and end with a newline.
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { Site } from "./schema.js";

/** Where the committed schema lives, from the repo root. */
export const SITE_SCHEMA_PATH = "schema/site.schema.json";

/** The JSON Schema text of a site file, exactly as committed. */
export function siteJsonSchema(): string {
  const generated = z.toJSONSchema(Site, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  const doc = {
    $schema,
    title: "mine2hpc site",
    description: "A mining site for mine2hpc: power feeds and circuits, network, Kubernetes, GPU operator and machines. Generated from src/site/schema.ts by `npm run schema`; do not edit.",
    ...rest,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Writes the schema file under `repoRoot`; returns its path. */
export function writeSiteJsonSchema(repoRoot: string): string {
  const file = resolve(repoRoot, SITE_SCHEMA_PATH);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, siteJsonSchema());
  return file;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
  const file = writeSiteJsonSchema(repoRoot);
  console.log(`wrote ${file.slice(repoRoot.length + 1)}`);
}
