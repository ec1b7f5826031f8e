#!/usr/bin/env node
// Entry of the `mine2hpc` command. The project ships TypeScript sources; tsx's loader
// compiles them on import, so a clone works without a build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
