#!/usr/bin/env node
// Replays a captured nvidia-smi run (tests/fixtures/nvidia-smi/*/: `$ nvidia-smi ARGS`, output,
// `rc=N`): `node replay-nvidia-smi.mjs CAPTURE.txt ARGS…` prints the captured output and exits
// with its status when ARGS are the captured ones, else exits 2. Read-only by construction.
import { readFileSync } from "node:fs";

const [capture, ...args] = process.argv.slice(2);
const lines = readFileSync(capture, "utf8").split("\n");
const captured = lines[0].replace(/^\$ nvidia-smi /, "").trim();
const rc = lines.findIndex((l) => l.startsWith("rc="));
if (args.join(" ") !== captured) {
  process.stderr.write(`replay-nvidia-smi: not captured: ${args.join(" ")}\n`);
  process.exit(2);
}
process.stdout.write(lines.slice(1, rc).join("\n") + "\n");
process.exit(Number(lines[rc].slice(3)));
