#!/usr/bin/env node
// Entry of the `mine2hpc` command. The project ships TypeScript sources; tsx's loader
// compiles them on import, so a clone works without a build step.
import { register } from "tsx/esm/api";

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
