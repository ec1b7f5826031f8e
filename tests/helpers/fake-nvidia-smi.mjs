#!/usr/bin/env node
// A fake `nvidia-smi` for the power agent's tests, driven by a JSON state file:
//   node fake-nvidia-smi.mjs --state STATE.json <nvidia-smi arguments>
// Plain JavaScript for any Node ≥ 18 (no TypeScript loader, starts fast).
//
// State: { "driverReady": true, "log": "calls.jsonl",
//          "gpus": [{ "index": 0, "uuid": "GPU-…", "name": "NVIDIA H200", "busId": "00000000:83:00.0",
//                     "limit": 700, "enforced": 700, "min": 200, "max": 700, "default": 700, "draw": 77.71,
//                     "persistence": false,
//                     "notSettable": false,   // limits report [N/A] and -pl is refused as unsupported
//                     "ignoresPl": false,     // -pl says it worked but the limit does not move
//                     "naValue": "[N/A]" }] }
// Every call is appended to `log` as {"at": "<process.hrtime.bigint() ns>", "argv": [...]}.
//
// Output formats are nvidia-smi's (driver 590.48.01, captured in utkuozdemir/nvidia_gpu_exporter
// internal/captures/linux-x86_64__nvidia-h200__590.48.01.txt @ e656cd8): `--format=csv,noheader,nounits`
// rows joined by ", ", numbers with two decimals, unavailable values as bracketed phrases. Exit codes
// from nvidia-smi(1) RETURN VALUE: 0 success, 2 invalid argument, 3 operation not available,
// 6 query unsuccessful, 9 NVIDIA driver not loaded; `Field "…" is not a valid field to query.` (rc 2) and
// `No devices were found` (rc 6) as captured on an H200, driver 580.159.04 (tests/fixtures/nvidia-smi/h200-580.159.04/).
import { appendFileSync, readFileSync, renameSync, writeFileSync } from "node:fs";

const args = process.argv.slice(2);
const si = args.indexOf("--state");
if (si < 0) {
  process.stderr.write("fake-nvidia-smi: --state FILE is required\n");
  process.exit(2);
}
const stateFile = args[si + 1];
args.splice(si, 2);
const state = JSON.parse(readFileSync(stateFile, "utf8"));
if (state.log) appendFileSync(state.log, JSON.stringify({ at: String(process.hrtime.bigint()), argv: args }) + "\n");

function save() {
  const tmp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, stateFile);
}

if (!state.driverReady) {
  process.stdout.write("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n");
  process.exit(9);
}

const w = (v) => v.toFixed(2);
const fields = {
  index: (g) => String(g.index),
  uuid: (g) => g.uuid,
  name: (g) => g.name,
  "power.limit": (g) => (g.notSettable ? g.naValue ?? "[N/A]" : w(g.limit)),
  "enforced.power.limit": (g) => (g.notSettable ? g.naValue ?? "[N/A]" : w(g.enforced ?? g.limit)),
  "power.min_limit": (g) => (g.notSettable ? g.naValue ?? "[N/A]" : w(g.min)),
  "power.max_limit": (g) => (g.notSettable ? g.naValue ?? "[N/A]" : w(g.max)),
  "power.default_limit": (g) => (g.notSettable ? g.naValue ?? "[N/A]" : w(g.default)),
  "power.draw": (g) => w(g.draw),
  persistence_mode: (g) => (g.persistence ? "Enabled" : "Disabled"),
};

const q = args.find((a) => a.startsWith("--query-gpu="));
if (q) {
  const wanted = q.slice("--query-gpu=".length).split(",");
  for (const f of wanted) {
    if (!(f in fields)) {
      process.stdout.write(`Field "${f}" is not a valid field to query.\n\n`);
      process.exit(2);
    }
  }
  const fmt = args.find((a) => a.startsWith("--format="));
  if (fmt !== "--format=csv,noheader,nounits") {
    process.stderr.write(`fake-nvidia-smi: only --format=csv,noheader,nounits is simulated, got ${fmt}\n`);
    process.exit(2);
  }
  for (const g of state.gpus) process.stdout.write(wanted.map((f) => fields[f](g)).join(", ") + "\n");
  process.exit(0);
}

const ii = args.indexOf("-i");
const gpu = ii >= 0 ? state.gpus.find((g) => g.uuid === args[ii + 1] || String(g.index) === args[ii + 1]) : undefined;
if (ii >= 0 && !gpu) {
  process.stdout.write("No devices were found\n");
  process.exit(6);
}
const targets = gpu ? [gpu] : state.gpus;
const bus = (g) => g.busId ?? `00000000:${(0x83 + g.index).toString(16).toUpperCase()}:00.0`;

const pli = args.indexOf("-pl");
if (pli >= 0) {
  const v = Number(args[pli + 1]);
  let code = 0;
  for (const g of targets) {
    if (g.notSettable) {
      process.stdout.write(`Changing power management limit is not supported for GPU: ${bus(g)}.\nTreating as warning and moving on.\n`);
      code = 3;
      continue;
    }
    if (!(v >= g.min && v <= g.max)) {
      process.stdout.write(`Provided power limit ${w(v)} W is not a valid power limit which should be between ${w(g.min)} W and ${w(g.max)} W for GPU ${bus(g)}\n`);
      code = 2;
      continue;
    }
    const from = g.limit;
    if (!g.ignoresPl) {
      g.limit = v;
      g.enforced = v;
    }
    process.stdout.write(`Power limit for GPU ${bus(g)} was set to ${w(v)} W from ${w(from)} W.\n`);
  }
  save();
  process.stdout.write("All done.\n");
  process.exit(code);
}

const pmi = args.indexOf("-pm");
if (pmi >= 0) {
  for (const g of targets) {
    g.persistence = args[pmi + 1] === "1" || args[pmi + 1] === "ENABLED";
    process.stdout.write(`${g.persistence ? "Enabled" : "Disabled"} persistence mode for GPU ${bus(g)}.\n`);
  }
  save();
  process.stdout.write("All done.\n");
  process.exit(0);
}

process.stderr.write(`fake-nvidia-smi: arguments not simulated: ${args.join(" ")}\n`);
process.exit(2);
