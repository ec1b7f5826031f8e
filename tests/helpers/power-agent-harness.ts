/**
 * A power agent on loopback for tests and the benchmark: a {@link FakeKube} with one GPU node,
 * a fake nvidia-smi state file, and the agent run in-process (`runPowerAgentCommand`) or as a
 * child process from the committed bundle. Every wait is bounded.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runPowerAgentCommand } from "../../src/runtime/power-agent/cli.js";
import { FakeKube, gpuNode } from "./fake-kube.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The fake nvidia-smi program. */
export const FAKE_SMI = path.join(HERE, "fake-nvidia-smi.mjs");
/** The committed runtime bundle. */
export const BUNDLE = path.resolve(HERE, "..", "..", "bundle", "runtime.mjs");

/** One simulated GPU (see fake-nvidia-smi.mjs). */
export interface FakeGpu {
  index: number;
  uuid: string;
  name: string;
  limit: number;
  min: number;
  max: number;
  default: number;
  draw: number;
  persistence: boolean;
  enforced?: number;
  notSettable?: boolean;
  ignoresPl?: boolean;
  naValue?: string;
}

/** Fake state. */
export interface FakeSmiState {
  driverReady: boolean;
  log: string;
  gpus: FakeGpu[];
}

/** An H200 as driver 590.48.01 reports it (idle, default limit), index `i`. */
export function h200(i: number, over: Partial<FakeGpu> = {}): FakeGpu {
  return {
    index: i,
    uuid: `GPU-0000000${i}-1111-2222-3333-44444444444${i}`,
    name: "NVIDIA H200",
    limit: 700,
    min: 200,
    max: 700,
    default: 700,
    draw: 77.71,
    persistence: false,
    ...over,
  };
}

/** One logged nvidia-smi call. */
export interface SmiCall {
  at: bigint;
  argv: string[];
}

/** The loopback world of one test. */
export class AgentWorld {
  readonly dir: string;
  readonly kube = new FakeKube();
  readonly stateFile: string;
  readonly safeCapFile: string;
  readonly nodeName: string;
  stderr = "";
  stdout = "";
  private controller: AbortController | null = null;
  private running: Promise<number> | null = null;
  child: ChildProcess | null = null;

  constructor(opts: { node?: string; gpus?: FakeGpu[]; driverReady?: boolean; safeCap?: number | null } = {}) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), "m2h-agent-"));
    this.nodeName = opts.node ?? "gpu-01";
    this.stateFile = path.join(this.dir, "smi-state.json");
    this.safeCapFile = path.join(this.dir, "gpu-power-cap");
    this.writeState({ driverReady: opts.driverReady ?? true, log: path.join(this.dir, "smi-calls.jsonl"), gpus: opts.gpus ?? [h200(0), h200(1)] });
    if (opts.safeCap !== null) writeFileSync(this.safeCapFile, `${opts.safeCap ?? 450}\n`);
  }

  /** Starts the fake API with the node (labels, taints as registered). */
  async startApi(labels: Record<string, string> = { "mine2hpc.io/gpu-power-cap": "500" }, taints?: unknown[]): Promise<void> {
    await this.kube.start();
    this.kube.putNode(gpuNode(this.nodeName, labels, taints as never));
  }

  state(): FakeSmiState {
    return JSON.parse(readFileSync(this.stateFile, "utf8")) as FakeSmiState;
  }

  writeState(s: FakeSmiState): void {
    const tmp = `${this.stateFile}.test.tmp`;
    writeFileSync(tmp, JSON.stringify(s, null, 2));
    renameSync(tmp, this.stateFile);
  }

  /** Changes the fake GPUs (e.g. a driver reload resetting limits to default). */
  mutate(fn: (s: FakeSmiState) => void): void {
    const s = this.state();
    fn(s);
    this.writeState(s);
  }

  calls(): SmiCall[] {
    const log = path.join(this.dir, "smi-calls.jsonl");
    if (!existsSync(log)) return [];
    return readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => {
        const c = JSON.parse(l) as { at: string; argv: string[] };
        return { at: BigInt(c.at), argv: c.argv };
      });
  }

  /** `-pl` calls as [uuid, watts]. */
  plCalls(): Array<{ at: bigint; uuid: string; watts: number }> {
    return this.calls()
      .filter((c) => c.argv.includes("-pl"))
      .map((c) => ({ at: c.at, uuid: c.argv[c.argv.indexOf("-i") + 1]!, watts: Number(c.argv[c.argv.indexOf("-pl") + 1]) }));
  }

  smiCommand(): string {
    return `${process.execPath} ${FAKE_SMI} --state ${this.stateFile}`;
  }

  /** Flags of the agent against this world. */
  flags(extra: Record<string, string | boolean> = {}): Record<string, string | boolean> {
    return {
      node: this.nodeName,
      "kube-api": this.kube.url,
      "nvidia-smi": this.smiCommand(),
      interval: "0.2",
      "metrics-port": "0",
      "safe-cap-file": this.safeCapFile,
      ...extra,
    };
  }

  /** Runs the agent in this process until {@link stopAgent}. */
  startAgent(extra: Record<string, string | boolean> = {}): void {
    this.controller = new AbortController();
    const sink = (key: "stdout" | "stderr") => ({ write: (s: string) => ((this[key] += s), true) });
    this.running = runPowerAgentCommand(this.flags(extra), { stdout: sink("stdout"), stderr: sink("stderr"), signal: this.controller.signal });
  }

  /** Runs `--once` in this process; returns the exit code. */
  runOnce(extra: Record<string, string | boolean> = {}): Promise<number> {
    const sink = (key: "stdout" | "stderr") => ({ write: (s: string) => ((this[key] += s), true) });
    const flags = this.flags({ once: true, ...extra });
    delete flags["metrics-port"];
    return runPowerAgentCommand(flags, { stdout: sink("stdout"), stderr: sink("stderr"), signal: new AbortController().signal });
  }

  async stopAgent(): Promise<number | null> {
    this.controller?.abort();
    const code = this.running ? await this.running : null;
    this.running = null;
    return code;
  }

  /** Runs the committed bundle as a child process (what the DaemonSet runs). */
  spawnBundle(extra: Record<string, string | boolean> = {}): ChildProcess {
    const argv = [BUNDLE, "power-agent"];
    for (const [k, v] of Object.entries(this.flags(extra))) {
      if (v === true) argv.push(`--${k}`);
      else if (v !== false) argv.push(`--${k}`, v);
    }
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d: Buffer) => (this.stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.child = child;
    return child;
  }

  /** Log lines of the agent, parsed. */
  logs(): Array<Record<string, unknown>> {
    return this.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** The metrics port the agent logged. */
  metricsPort(): number | undefined {
    return this.logs().find((l) => l.msg === "metrics listening")?.port as number | undefined;
  }

  hasTaint(): boolean {
    return ((this.kube.node(this.nodeName).spec?.taints ?? []) as Array<{ key: string }>).some((t) => t.key === "mine2hpc.io/power-unverified");
  }

  condition(): { status: string; reason: string; message: string } | undefined {
    return (this.kube.node(this.nodeName).status?.conditions ?? []).find((c: { type: string }) => c.type === "mine2hpc.io/PowerCapsInForce");
  }

  async close(): Promise<void> {
    await this.stopAgent();
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL");
      await new Promise((r) => this.child!.once("exit", r));
    }
    await this.kube.stop();
  }
}

/** Polls `cond` every 20 ms until true or `timeoutMs` passed (then throws with `what`). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
