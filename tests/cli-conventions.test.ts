/**
 * The conventions every command shares (src/cli/output.ts, src/cli/invocation.ts, main.ts):
 * -o text|json|yaml|md with --json as its alias, --quiet, --color/NO_COLOR, the exit codes, the
 * one-line unknown-flag message, and printed commands in the form the person ran mine2hpc.
 * In-process through `main` (fast), with the environment passed explicitly.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { parse as parseYaml } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { COMMANDS, main } from "../src/cli/main.js";
import { colorEnabled, makeStyle, outputFormat, render, yamlText } from "../src/cli/output.js";
import { colourDiff } from "../src/cli/commands/diff.js";
import { COMMAND_ENV, OWN_BIN, invocationPrefix, withSelf } from "../src/cli/invocation.js";
import { placeholderSecret } from "../src/preview/offline.js";
import { REPO_ROOT } from "./helpers/cli.js";

/** Environment of a run: no colour decided by the tester's terminal, the prefix as if on PATH. */
const ENV: NodeJS.ProcessEnv = { [COMMAND_ENV]: "mine2hpc", PATH: "" };

function sink(isTTY = false) {
  let text = "";
  const w = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  }) as Writable & { isTTY?: boolean };
  w.isTTY = isTTY;
  return { w, get text() {
    return text;
  } };
}

async function run(args: string[], opts: { env?: NodeJS.ProcessEnv; tty?: boolean; cwd?: string } = {}) {
  const out = sink(opts.tty);
  const err = sink(opts.tty);
  const code = await main(args, { stdout: out.w, stderr: err.w, cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? ENV });
  return { code, stdout: out.text, stderr: err.text };
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "mine2hpc-conventions-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("unknown commands and flags: one line, the nearest valid name, --help; exit 64", () => {
  it.each([
    [["plan", "--bogus"], "error: unknown flag '--bogus' for plan; nearest valid flag: '--color'. Run 'mine2hpc plan --help' for its flags.\n"],
    [["plan", "--stak", "demo"], "error: unknown flag '--stak' for plan; did you mean '--stack'? Run 'mine2hpc plan --help' for its flags.\n"],
    [["plan", "-x"], "error: unknown flag '-x' for plan; its short flags are '-o' (--output) and '-q' (--quiet). Run 'mine2hpc plan --help' for its flags.\n"],
    [["kubeconfig", "-x"], "error: unknown flag '-x' for kubeconfig; its only short flag is '-q' (--quiet). Run 'mine2hpc kubeconfig --help' for its flags.\n"],
    [["power-agent", "-x"], "error: unknown flag '-x' for power-agent, which has no short flags. Run 'mine2hpc power-agent --help' for its flags.\n"],
    [["nosuch"], "error: unknown command 'nosuch'; nearest command: 'hosts'. Run 'mine2hpc --help' for the commands.\n"],
    [["valdate"], "error: unknown command 'valdate'; did you mean 'validate'? Run 'mine2hpc --help' for the commands.\n"],
    [["plan", "--stack", "-x"], "error: flag '--stack' needs a value for plan: --stack NAME (a value that starts with '-' is written --stack=-NAME). Run 'mine2hpc plan --help' for its flags.\n"],
    [["plan", "-o"], "error: flag '-o, --output' needs a value for plan: -o FORMAT. Run 'mine2hpc plan --help' for its flags.\n"],
    [["plan", "-o", "-x"], "error: flag '-o' needs a value for plan: -o FORMAT (a value that starts with '-' is written --output=-FORMAT). Run 'mine2hpc plan --help' for its flags.\n"],
    [["plan", "-o", "xml"], "error: unknown output format 'xml' (-o).\n  fix: use -o text, json, yaml or md.\n"],
    [["plan", "-o", "yaml", "--json"], "error: -o yaml and --json contradict each other.\n  fix: pass one output format.\n"],
    [["plan", "--color", "blue"], "error: unknown --color value 'blue'.\n  fix: use --color auto, always or never.\n"],
  ])("%j", async (args, stderr) => {
    const r = await run(args);
    expect([r.code, r.stdout, r.stderr]).toEqual([64, "", stderr]);
  });

  it("every command refuses an unknown flag with 64 and a single line", async () => {
    for (const name of Object.keys(COMMANDS)) {
      const r = await run([name, "--no-such-flag"]);
      expect([name, r.code, r.stderr.split("\n").length]).toEqual([name, 64, 2]);
      expect(r.stderr).toMatch(new RegExp(`^error: unknown flag '--no-such-flag' for ${name}; .*Run 'mine2hpc ${name} --help' for its flags\\.\\n$`));
    }
  });

  it("help lists the global flags and the exit codes", async () => {
    const r = await run(["validate", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").slice(-6)).toEqual([
      "Global flags:",
      "  -q, --quiet              Print only errors, and the data when -o is json or yaml.",
      "  --color WHEN             Colour: auto (default: on a terminal, unless NO_COLOR is set), always or never.",
      "",
      "Exit codes: 0 ok; 1 failure at run time; 2 invalid site or refused input; 64 usage error (unknown command or flag, bad flag value).",
      "",
    ]);
    expect((await run(["--help"])).stdout).toContain("\nExit codes: 0 ok; 1 failure at run time; 2 invalid site or refused input; 64 usage error");
  });
});

describe("-o text|json|yaml|md", () => {
  it("json and yaml are the same data; --json is -o json; output is byte-identical run to run", async () => {
    const json = await run(["plan", "-o", "json"]);
    const alias = await run(["plan", "--json"]);
    const yaml = await run(["plan", "-o", "yaml"]);
    const again = await run(["plan", "-o", "yaml"]);
    expect([json.code, yaml.code]).toEqual([0, 0]);
    expect(alias.stdout).toBe(json.stdout);
    expect(again.stdout).toBe(yaml.stdout);
    expect(parseYaml(yaml.stdout)).toEqual(JSON.parse(json.stdout));
    expect(yaml.stdout.split("\n").slice(0, 6)).toEqual(["version: 1", "site:", "  name: demo", "  timezone: America/Chicago", "  gridRegion: ERCOT", "  pue: 1.08"]);
  });

  it("validate in each format", async () => {
    const heading = "stacks/demo/site.yaml: site demo is valid: 31 machines (11 nodes, 68 GPUs, 20 ASIC miners), 2 pools, 4 warnings.";
    const text = await run(["validate"]);
    expect(text.stdout.split("\n")[0]).toBe(heading);
    expect(text.stdout.split("\n").slice(1, 5).every((l) => l.startsWith("warning: "))).toBe(true);
    const md = await run(["validate", "-o", "md"]);
    expect(md.stdout.split("\n").slice(0, 5)).toEqual([`## ${heading}`, "", "### Warnings", "", `- ${JSON.parse((await run(["validate", "--json"])).stdout).warnings[0]}`]);
    const yaml = await run(["validate", "-o", "yaml"]);
    expect(yaml.stdout.split("\n").slice(0, 9)).toEqual(["ok: true", "site: demo", "file: stacks/demo/site.yaml", "machines: 31", "nodes: 11", "gpus: 68", "asics: 20", "pools: 2", "warnings:"]);
  });

  it("Markdown tables: templates, mirror list", async () => {
    const t = await run(["templates", "-o", "md"]);
    expect(t.stdout.split("\n").slice(0, 8)).toEqual([
      "## Site templates",
      "",
      "### Templates",
      "",
      "| TEMPLATE | SUMMARY |",
      "| --- | --- |",
      "| gpu-rig-retrofit | An Ethereum mining farm in central Washington went dark at the Merge in September 2022. |",
      "| hpc-hall | A former bitcoin hall in the PJM footprint, rebuilt for training. |",
    ]);
    const m = await run(["mirror", "list", "-o", "md"]);
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/^## Site demo: \d+ files and \d+ images to mirror\n/);
    expect(m.stdout).toContain("\n### Files\n\n| WHAT | SOURCE | SITE MIRROR |\n| --- | --- | --- |\n");
  });

  it("renders from one implementation: YAML is made from the JSON text (no undefined, secrets' toJSON)", () => {
    const secret = { toJSON: () => "[secret]" };
    expect(yamlText({ a: 1, b: undefined, s: secret, long: "x".repeat(120) })).toBe(`a: 1\ns: "[secret]"\nlong: ${"x".repeat(120)}\n`);
    expect(render("json", { data: { a: [1] } })).toBe('{\n  "a": [\n    1\n  ]\n}\n');
    expect(() => render("md", { data: {} })).toThrow("no md rendering");
    expect(outputFormat({ values: { format: "md" } })).toBe("md");
    expect(outputFormat({ values: {} })).toBe("text");
  });
});

describe("-o on the commands with their own text", () => {
  it("curtail --dry-run: -o yaml is -o json's data; text is the Job as YAML; md fences it", async () => {
    const args = ["curtail", "start", "--feed", "ercot-flex", "--dry-run"];
    const json = await run([...args, "-o", "json"]);
    const yaml = await run([...args, "-o", "yaml"]);
    expect([json.code, yaml.code]).toEqual([0, 0]);
    const data = JSON.parse(json.stdout) as { job: string; manifest: unknown };
    // The Job's name carries the time it was made (manualJobName): compare all but that.
    const parsed = parseYaml(yaml.stdout) as typeof data;
    expect({ ...parsed, job: "", manifest: null, followCommand: "" }).toEqual({ ...data, job: "", manifest: null, followCommand: "" });
    const text = await run(args);
    expect(text.stdout.split("\n")[0]).toBe("# mine2hpc curtail start --feed ercot-flex --dry-run: the Job it would create; nothing was sent to a cluster.");
    const md = await run([...args, "-o", "md"]);
    expect(md.stdout.split("\n").slice(1, 4)).toEqual(["", "```yaml", "apiVersion: batch/v1"]);
  });

  it("diff text is coloured by mark only when colour is on", () => {
    const text = "Pools:\n  + a\n  - b\n  ~ c: gpus 1 → 2\nSite totals:\n";
    expect(colourDiff(text, makeStyle(false))).toBe(text);
    expect(colourDiff(text, makeStyle(true))).toBe("Pools:\n\x1b[32m  + a\x1b[0m\n\x1b[31m  - b\x1b[0m\n\x1b[33m  ~ c: gpus 1 → 2\x1b[0m\nSite totals:\n");
  });
});

describe("--quiet", () => {
  it("prints nothing for text and md, the data for json and yaml, and errors always", async () => {
    expect(await run(["--quiet", "validate"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect((await run(["--color", "always", "-q", "plan", "--bogus"])).stderr).toMatch(/^\x1b\[31m/);
    expect(await run(["validate", "--quiet"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await run(["plan", "-q", "-o", "md"])).toEqual({ code: 0, stdout: "", stderr: "" });
    const json = await run(["validate", "-q", "-o", "json"]);
    expect([json.code, JSON.parse(json.stdout).ok, json.stderr]).toEqual([0, true, ""]);
    const bad = await run(["validate", "--quiet", "--site", "no/such/site.yaml"]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toMatch(/^error: the site has 1 problem; nothing was planned or applied\.\n/);
  });
});

describe("colour: --color auto|always|never and NO_COLOR", () => {
  it("auto colours a terminal only, without NO_COLOR (set and non-empty) or TERM=dumb", () => {
    expect(colorEnabled(undefined, { isTTY: true }, {})).toBe(true);
    expect(colorEnabled("auto", { isTTY: false }, {})).toBe(false);
    expect(colorEnabled(undefined, { isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    // no-color.org: only a non-empty NO_COLOR counts.
    expect(colorEnabled(undefined, { isTTY: true }, { NO_COLOR: "" })).toBe(true);
    expect(colorEnabled(undefined, { isTTY: true }, { TERM: "dumb" })).toBe(false);
    // A command-line argument overrides NO_COLOR.
    expect(colorEnabled("always", { isTTY: false }, { NO_COLOR: "1" })).toBe(true);
    expect(colorEnabled("never", { isTTY: true }, {})).toBe(false);
  });

  it("colours the verdict, warnings and errors; data formats never", async () => {
    const always = await run(["validate", "--color", "always"], { env: { ...ENV, NO_COLOR: "1" } });
    const first = always.stdout.split("\n")[0]!;
    expect(first).toBe("stacks/demo/site.yaml: \x1b[32msite demo is valid: 31 machines (11 nodes, 68 GPUs, 20 ASIC miners), 2 pools, 4 warnings.\x1b[0m");
    expect(always.stdout.split("\n")[1]).toMatch(/^\x1b\[33mwarning:\x1b\[0m feed ercot-flex: /);
    const tty = await run(["validate"], { tty: true, env: { ...ENV, NO_COLOR: "1" } });
    expect(tty.stdout).not.toContain("\x1b[");
    const ttyColour = await run(["validate"], { tty: true });
    expect(ttyColour.stdout).toContain("\x1b[32m");
    expect((await run(["validate", "--color", "always", "-o", "json"])).stdout).not.toContain("\x1b[");
    const err = await run(["plan", "--bogus", "--color", "always"]);
    expect(err.stderr.startsWith("\x1b[31m\x1b[1merror:\x1b[0m\x1b[0m unknown flag '--bogus' for plan;")).toBe(true);
  });
});

describe("printed commands say how the person runs mine2hpc", () => {
  const ownReal = OWN_BIN;
  const facts = (env: NodeJS.ProcessEnv, onPath?: string) => ({ env, binFile: OWN_BIN, resolveExecutable: (f: string) => (onPath !== undefined && f === path.join("/usr/local/bin", "mine2hpc") ? onPath : undefined) });

  it("decides once: npm run, npx, on PATH (this very package), else npx; MINE2HPC_COMMAND wins", () => {
    expect(invocationPrefix(facts({ npm_lifecycle_event: "mine2hpc", PATH: "/usr/local/bin" }, ownReal))).toBe("npm run mine2hpc --");
    expect(invocationPrefix(facts({ npm_command: "exec", PATH: "/usr/local/bin" }, ownReal))).toBe("npx mine2hpc");
    expect(invocationPrefix(facts({ npm_lifecycle_event: "npx", PATH: "/usr/local/bin" }))).toBe("npx mine2hpc");
    expect(invocationPrefix(facts({ PATH: "/usr/local/bin" }, ownReal))).toBe("mine2hpc");
    // Another mine2hpc on PATH (an older global install) is not the one that ran.
    expect(invocationPrefix(facts({ PATH: "/usr/local/bin" }, "/opt/old/mine2hpc/bin/mine2hpc.js"))).toBe("npx mine2hpc");
    expect(invocationPrefix(facts({ PATH: "/usr/local/bin" }))).toBe("npx mine2hpc");
    expect(invocationPrefix(facts({ [COMMAND_ENV]: "docker run mine2hpc", npm_command: "exec" }))).toBe("docker run mine2hpc");
  });

  it("rewrites quoted commands only", () => {
    expect(withSelf("run 'mine2hpc plan --help'; mine2hpc plans sites; `mine2hpc validate`", "npx mine2hpc")).toBe("run 'npx mine2hpc plan --help'; mine2hpc plans sites; `npx mine2hpc validate`");
  });

  it("end to end: the templates footer, init's next steps and an error's fix", async () => {
    const linkDir = path.join(tmp, "bin");
    mkdirSync(linkDir);
    symlinkSync(OWN_BIN, path.join(linkDir, "mine2hpc"));
    const footer = async (env: NodeJS.ProcessEnv) => (await run(["templates"], { env: { PATH: "", ...env } })).stdout.trimEnd().split("\n").pop();
    expect(await footer({ PATH: linkDir })).toBe("Run 'mine2hpc templates show NAME' for a template's story and figures, 'mine2hpc init STACK --template NAME' to start a site from it.");
    expect(await footer({})).toBe("Run 'npx mine2hpc templates show NAME' for a template's story and figures, 'npx mine2hpc init STACK --template NAME' to start a site from it.");
    expect(await footer({ npm_lifecycle_event: "mine2hpc" })).toBe(
      "Run 'npm run mine2hpc -- templates show NAME' for a template's story and figures, 'npm run mine2hpc -- init STACK --template NAME' to start a site from it.",
    );
    const e = await run(["plan", "--stak"], { env: { npm_command: "exec" } });
    expect(e.stderr).toBe("error: unknown flag '--stak' for plan; did you mean '--stack'? Run 'npx mine2hpc plan --help' for its flags.\n");
    const project = path.join(tmp, "project");
    mkdirSync(project);
    const { writeFileSync, cpSync } = await import("node:fs");
    writeFileSync(path.join(project, "Pulumi.yaml"), "name: mine2hpc\nruntime: nodejs\nstackConfigDir: stacks\n");
    cpSync(path.join(REPO_ROOT, "templates"), path.join(project, "templates"), { recursive: true });
    const init = await run(["init", "tx-west", "--template", "hpc-hall", "-o", "json"], { cwd: project, env: { npm_command: "exec" } });
    expect(init.code).toBe(0);
    expect((JSON.parse(init.stdout) as { nextSteps: { command: string }[] }).nextSteps.map((s) => s.command)).toEqual([
      "npx mine2hpc validate --stack tx-west",
      "pulumi stack init tx-west",
      "pulumi config set --secret mine2hpc:sshPrivateKey < ~/.ssh/id_ed25519",
      'pulumi config set --secret mine2hpc:k3sToken "$(openssl rand -hex 32)"',
      "npx mine2hpc plan --stack tx-west",
      "pulumi preview --stack tx-west",
    ]);
  });
});

describe("exit codes: 0 ok, 1 run time, 2 invalid site or refused input, 64 usage", () => {
  it.each([
    [["validate"], 0],
    [["validate", "--site", "no/such.yaml"], 2],
    [["plan", "--stack", "nope"], 2],
    [["templates", "show", "nope"], 2],
    [["templates", "show"], 64],
    [["preview"], 64],
    [["report"], 64],
    [["curtail", "start"], 64],
    [["curtail", "stop", "--feed", "x"], 64],
    [["miners"], 64],
    [["hosts"], 64],
    [["hosts", "script", "cp-1", "-o", "json"], 64],
    [["mirror"], 64],
    [["init"], 64],
    [["new"], 64],
    [["diff"], 64],
    [["kubeconfig", "--timeout", "0"], 64],
    [["power-agent"], 64],
  ])("%j exits %i", async (args, code) => {
    const r = await run(args);
    expect(r.code).toBe(code);
    if (code !== 0) expect(r.stderr).toMatch(/^error: /);
  });

  it("the offline preview's secret placeholders pass the program's token check (no ':' or whitespace)", () => {
    expect(placeholderSecret("mine2hpc:k3sToken")).toBe("mine2hpc-offline-placeholder-secret-mine2hpc-k3sToken");
  });
});
