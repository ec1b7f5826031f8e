#!/usr/bin/env node
// Entry of the `mine2hpc` command. The project ships TypeScript sources; tsx's loader
// compiles them on import, so a clone and an installed package work without a build step.
import { createRequire } from "node:module";

// First, before any dependency loads (on an old Node they fail with obscure errors): stop
// with the fix when this Node is older than package.json's engines.node.
createRequire(import.meta.url)("../scripts/check-node.cjs")();
const { register } = await import("tsx/esm/api");
register();
// `mine2hpc plan | head`: a reader that stops early is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
