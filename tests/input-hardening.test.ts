/**
 * Inputs that cannot leak or pass unchecked (issue 10, section 5): through the CLI, every bad
 * input exits 2 with what is wrong, where (file:line) and the fix, and no message quotes a
 * file's content beyond a short sanitised excerpt: a private key passed as --site, an
 * inventory that names /proc/self/environ, UTF-16 and binary files, secrets in YAML errors.
 * Validation refuses what the Kubernetes API server would refuse: timezones outside the IANA
 * database as Go reads it, an apiEndpoint URL, out-of-range cron fields, credentials in URLs.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { confinedPath, decodeText, excerpt, firstInvalidUtf8, looksSecret, quoted } from "../src/site/input.js";
import { isValidTimeZone } from "../src/site/validate.js";
import { TZ_NAMES } from "../src/site/tz-names.js";
import { REPO_ROOT, runCli } from "./helpers/cli.js";

const FIXTURES = path.join(REPO_ROOT, "tests", "fixtures", "sites");
const GOOD_YAML = readFileSync(path.join(FIXTURES, "good.yaml"), "utf8");
const GOOD_CSV = readFileSync(path.join(FIXTURES, "good.csv"), "utf8");

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A site folder in a fresh temporary directory (the site's own folder is `site/`). */
function siteDir(files: Record<string, string | Buffer> = {}): { root: string; dir: string } {
  const root = mkdtempSync(path.join(tmpdir(), "mine2hpc-input-"));
  dirs.push(root);
  const dir = path.join(root, "site");
  mkdirSync(dir);
  const all = { "site.yaml": GOOD_YAML, "good.csv": GOOD_CSV, ...files };
  for (const [name, content] of Object.entries(all)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return { root, dir };
}

/** good.yaml with one text replacement (asserting the original text is there). */
function siteWith(from: string | RegExp, to: string): string {
  const out = GOOD_YAML.replace(from, to);
  expect(out).not.toBe(GOOD_YAML);
  return out;
}

/** Runs the CLI in-process (what bin/mine2hpc.js does) and captures its output. */
async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, done) {
        append(String(chunk));
        done();
      },
    });
  const code = await main(args, { cwd, stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

/** A fake OpenSSH private key: the PEM frame with random base64, as ssh-keygen writes it. */
function fakePrivateKey(label = "OPENSSH PRIVATE KEY"): { text: string; body: string[] } {
  const body = randomBytes(300).toString("base64").match(/.{1,70}/g)!;
  return { text: `-----BEGIN ${label}-----\n${body.join("\n")}\n-----END ${label}-----\n`, body };
}

/** Asserts that no line of `body` (nor a 12-character piece of one) was printed. */
function expectNoneOf(output: string, body: readonly string[]): void {
  for (const line of body) {
    for (let i = 0; i + 12 <= line.length; i += 12) expect(output).not.toContain(line.slice(i, i + 12));
  }
}

describe("messages never echo file contents", () => {
  it("--site naming a private key: named as a key, nothing of it printed, exit 2", async () => {
    const key = fakePrivateKey();
    const { dir } = siteDir({ id_ed25519: key.text });
    const r = await runCli(["validate", "--site", "id_ed25519"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "error: the site has 1 problem; nothing was planned or applied.\n" +
        `id_ed25519:1: site file ${path.join(dir, "id_ed25519")} is a private key, not a site file; nothing of it is shown\n` +
        "  fix: check the path (it must name the site file); an SSH key belongs in the stack's secrets: pulumi config set --secret mine2hpc:sshPrivateKey < KEYFILE\n",
    );
    expect(r.stderr).not.toContain("BEGIN");
    expectNoneOf(r.stderr, key.body);
  });

  it("--inventory naming an RSA key, and a key as the site's inventory: same, for plan --json too", async () => {
    const key = fakePrivateKey("RSA PRIVATE KEY");
    const { dir } = siteDir({ "key.pem": key.text, "site.yaml": siteWith("inventory: good.csv", "inventory: key.pem") });
    const a = await cli(["plan", "--json", "--site", "site.yaml"], dir);
    expect(a.code).toBe(2);
    expect(a.stdout).toBe("");
    expect(a.stderr).toContain(`site.yaml:37:12: inventory file ${path.join(dir, "key.pem")} is a private key, not an inventory file; nothing of it is shown\n`);
    const b = await cli(["validate", "--site", "site.yaml", "--inventory", "key.pem"], dir);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain(`key.pem:1: inventory file ${path.join(dir, "key.pem")} is a private key, not an inventory file; nothing of it is shown\n`);
    for (const out of [a.stderr, b.stderr]) {
      expect(out).not.toContain("BEGIN");
      expectNoneOf(out, key.body);
    }
  });

  it("an inventory outside the site's folder is refused at its line and never read (/proc/self/environ, ../, a link out)", async () => {
    const secret = `tok-${randomBytes(12).toString("hex")}`;
    const { root, dir } = siteDir({ "site.yaml": siteWith("inventory: good.csv", "inventory: /proc/self/environ") });
    writeFileSync(path.join(root, "outside.csv"), GOOD_CSV);
    writeFileSync(path.join(dir, "up.yaml"), siteWith("inventory: good.csv", "inventory: ../outside.csv"));
    symlinkSync(path.join(root, "outside.csv"), path.join(dir, "link.csv"));
    writeFileSync(path.join(dir, "link.yaml"), siteWith("inventory: good.csv", "inventory: link.csv"));

    const env = await runCli(["validate", "--site", "site.yaml"], { cwd: dir, env: { MINE2HPC_TEST_SECRET: secret } });
    expect(env.exitCode).toBe(2);
    expect(env.stderr).toBe(
      "error: the site has 1 problem; nothing was planned or applied.\n" +
        `site.yaml:37:12: inventory '/proc/self/environ' is outside the site file's folder (${dir}); it was not read\n` +
        "  fix: move the inventory next to the site file (or into a folder below it) and write its relative path, e.g. inventory: inventory.csv; a file elsewhere can only be named on the command line: --inventory FILE\n",
    );
    expect(env.stderr).not.toContain(secret);

    const up = await cli(["validate", "--site", "up.yaml"], dir);
    expect(up.code).toBe(2);
    expect(up.stderr).toContain(`up.yaml:37:12: inventory '../outside.csv' is outside the site file's folder (${dir}); it was not read`);
    const link = await cli(["validate", "--site", "link.yaml"], dir);
    expect(link.code).toBe(2);
    expect(link.stderr).toContain(`link.yaml:37:12: inventory 'link.csv' is outside the site file's folder (${dir}); it was not read`);
    // Inside the folder (a subfolder too) is fine.
    mkdirSync(path.join(dir, "inv"));
    writeFileSync(path.join(dir, "inv", "machines.csv"), GOOD_CSV);
    writeFileSync(path.join(dir, "sub.yaml"), siteWith("inventory: good.csv", "inventory: inv/machines.csv"));
    expect((await cli(["validate", "--site", "sub.yaml"], dir)).code).toBe(0);
  });

  it("--inventory /proc/self/environ (the command line may name any file): binary, not shown", async () => {
    const secret = `tok-${randomBytes(12).toString("hex")}`;
    const { dir } = siteDir();
    const r = await runCli(["validate", "--site", "site.yaml", "--inventory", "/proc/self/environ"], { cwd: dir, env: { MINE2HPC_TEST_SECRET: secret } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      "error: the site has 1 problem; nothing was planned or applied.\n" +
        "/proc/self/environ:1: inventory file /proc/self/environ is binary, not text (a NUL byte at line 1); nothing of it is shown\n" +
        "  fix: check the path: it must name a text file\n",
    );
    expect(r.stderr).not.toContain(secret);
    expect(r.stderr).not.toContain("PATH=");
  });

  it("a stack whose mine2hpc:inventory leaves the project is refused at its line", async () => {
    const { root, dir } = siteDir();
    writeFileSync(path.join(root, "Pulumi.yaml"), "name: mine2hpc\nruntime: nodejs\nstackConfigDir: stacks\n");
    mkdirSync(path.join(root, "stacks"));
    writeFileSync(path.join(root, "stacks", "Pulumi.leak.yaml"), "config:\n  mine2hpc:site: site/site.yaml\n  mine2hpc:inventory: ../../../proc/self/environ\n");
    const r = await cli(["validate", "--stack", "leak"], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(root, "stacks", "Pulumi.leak.yaml")}:3: mine2hpc:inventory '../../../proc/self/environ' is outside the project folder; it was not read`);
    expect(r.stderr).toContain("fix: give a path inside the project, relative to its root (e.g. sites/NAME/inventory.csv), or pass a file elsewhere on the command line with --inventory FILE");
    expect(path.basename(dir)).toBe("site");
    // A stack file's YAML errors are sanitised too.
    const token = `K10${randomBytes(24).toString("hex")}::server:${randomBytes(16).toString("hex")}`;
    writeFileSync(path.join(root, "stacks", "Pulumi.bad.yaml"), `config: |${token}\n  x\n`);
    const bad = await cli(["validate", "--stack", "bad"], root);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${path.join(root, "stacks", "Pulumi.bad.yaml")}:1:10: YAML syntax error: UNEXPECTED_TOKEN (the message quotes the file and is not shown)\n`);
    expect(bad.stderr).not.toContain(token.slice(3, 20));
  });

  it("UTF-16 (with or without a byte-order mark), UTF-32, Latin-1 and binary files are named, not dumped", async () => {
    const utf16le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(GOOD_YAML, "utf16le")]);
    const utf16be = Buffer.from(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(GOOD_CSV, "utf16le").swap16()]));
    const latin1 = Buffer.from("hostname,ip,rack,circuit,role\nrig-\xe9t\xe9,10.20.0.12,r1,pdu-a1,cpu\n", "latin1");
    const { dir } = siteDir({ "sub/x": "", "u16.yaml": utf16le, "be.csv": utf16be, "bare16.csv": Buffer.from(GOOD_CSV, "utf16le"), "latin.csv": latin1, "bin.yaml": Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00]) });
    const cases: [string[], string, string][] = [
      [["--site", "u16.yaml"], `u16.yaml:1: site file ${path.join(dir, "u16.yaml")} is UTF-16 text (byte-order mark FF FE, little-endian), not UTF-8`, "save it as UTF-8"],
      [["--site", "site.yaml", "--inventory", "be.csv"], `be.csv:1: inventory file ${path.join(dir, "be.csv")} is UTF-16 text (byte-order mark FE FF, big-endian), not UTF-8`, "save it as UTF-8 (in a spreadsheet: 'CSV UTF-8'"],
      [["--site", "site.yaml", "--inventory", "bare16.csv"], `bare16.csv:1: inventory file ${path.join(dir, "bare16.csv")} looks like UTF-16 text without a byte-order mark (every other byte is 0), not UTF-8`, "save it as UTF-8"],
      [["--site", "site.yaml", "--inventory", "latin.csv"], `latin.csv:1: inventory file ${path.join(dir, "latin.csv")} is not UTF-8 text (byte 0xE9 at line 2 is not valid UTF-8, e.g. Latin-1 or Windows-1252)`, "save it as UTF-8"],
      [["--site", "bin.yaml"], `bin.yaml:1: site file ${path.join(dir, "bin.yaml")} is binary, not text (a NUL byte at line 1); nothing of it is shown`, "check the path: it must name a text file"],
      [["--site", "/dev/zero"], "/dev/zero:1: site file /dev/zero is not a regular file (a device, pipe or socket)", "name a text file; mine2hpc reads only regular files"],
      [["--site", "sub"], `sub:1: site file ${path.join(dir, "sub")} is a folder, not a file`, "name the file inside it"],
    ];
    for (const [args, message, fix] of cases) {
      const r = await cli(["validate", ...args], dir);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(`\n${message}\n  fix: ${fix}`);
      expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\ufffd]/);
      expect(r.stderr).not.toContain("rig-00");
    }
  });

  it("a file that is not a site (an env file) is not quoted", async () => {
    const secret = `AKIA${randomBytes(8).toString("hex").toUpperCase()}`;
    const { dir } = siteDir({ ".env": `AWS_ACCESS_KEY_ID=${secret}\nDB_URL=postgres://app:hunter2@db/app\n`, "list.yaml": `- ${secret}\n` });
    const r = await cli(["validate", "--site", ".env"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: the site has 1 problem; nothing was planned or applied.\n" +
        `.env:1: site file ${path.join(dir, ".env")} is not a site: its top level is plain text, not a mapping; nothing of it is shown\n` +
        "  fix: check the path; a site file is a YAML mapping starting with apiVersion: mine2hpc.io/v1alpha1 and kind: Site (see templates/)\n",
    );
    const list = await cli(["validate", "--site", "list.yaml"], dir);
    expect(list.code).toBe(2);
    expect(list.stderr).toContain("its top level is a list, not a mapping; nothing of it is shown");
    // The env file as an inventory: its header is not echoed either.
    const inv = await cli(["validate", "--site", "site.yaml", "--inventory", ".env"], dir);
    expect(inv.code).toBe(2);
    expect(inv.stderr).toContain(".env:1:1: inventory has unknown column (not shown: looks like a secret)\n");
    for (const out of [r.stderr, list.stderr, inv.stderr]) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain("hunter2");
    }
  });

  it("YAML parser messages and values are sanitised: no secret, no control character, at most a short excerpt", async () => {
    const token = `K10${randomBytes(24).toString("hex")}::server:${randomBytes(16).toString("hex")}`;
    const { dir } = siteDir({
      "tag.yaml": siteWith("kind: Site", `kind: |${token}\n  Site`),
      "esc.yaml": siteWith("gridRegion: ERCOT", "gridRegion: ERCOT\n  \"col\\u001b[2Jour\": red"),
      "long.yaml": siteWith("role: control-plane", `role: ${"ab ".repeat(200)}`),
      "pw.yaml": siteWith("role: control-plane", "role: password=hunter2"),
    });
    const tag = await cli(["validate", "--site", "tag.yaml"], dir);
    expect(tag.code).toBe(2);
    expect(tag.stderr).toContain("tag.yaml:3:8: YAML syntax error: UNEXPECTED_TOKEN (the message quotes the file and is not shown)\n");
    expect(tag.stderr).not.toContain(token.slice(3, 20));
    const esc = await cli(["validate", "--site", "esc.yaml"], dir);
    expect(esc.code).toBe(2);
    expect(esc.stderr).toContain("esc.yaml:8:3: unknown field 'col?[2Jour' (at metadata['col?[2Jour'])\n  fix: remove 'col?[2Jour'; allowed fields here are name, timezone, gridRegion\n");
    expect(esc.stderr).not.toContain("\u001b");
    const long = await cli(["validate", "--site", "long.yaml"], dir);
    expect(long.code).toBe(2);
    expect(long.stderr).toContain(`got '${"ab ".repeat(20).slice(0, 59)}…'`);
    expect(long.stderr).not.toContain("ab ".repeat(21));
    const pw = await cli(["validate", "--site", "pw.yaml"], dir);
    expect(pw.code).toBe(2);
    expect(pw.stderr).toContain("role must be one of control-plane, gpu, cpu, asic, got (not shown: looks like a secret)");
    expect(pw.stderr).not.toContain("hunter2");
  });

  it("the yaml package prints no warning that quotes the file (a collection as a key), and paths show unknown keys sanitised", async () => {
    const { dir } = siteDir({ "site.yaml": siteWith("gridRegion: ERCOT", "gridRegion: ERCOT\n  ? [password=hunter2, b]\n  : 1\n  \"x\\u0000pass\\u0000word=hunter2\": 1") });
    const r = await runCli(["validate", "--site", "site.yaml"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).not.toContain("Warning");
    expect(r.stderr).not.toContain("hunter2");
    expect(r.stderr).toContain("unknown field (not shown: looks like a secret) (at metadata[(not shown: looks like a secret)])");
  });

  it("inventory cells are quoted as short sanitised excerpts", async () => {
    const csv = `hostname,ip,rack,circuit,role,gpuCount\nrig-9,10.20.0.40,r1,pdu-a1,gpu,${"12 GPUs ".repeat(10)}\nrig-8,10.20.0.41,r1,pdu-a1,gpu,token=abc123\n`;
    const { dir } = siteDir({ "cells.csv": csv });
    const r = await cli(["validate", "--site", "site.yaml", "--inventory", "cells.csv"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cells.csv:2:32: gpuCount '${"12 GPUs ".repeat(10).trim().slice(0, 59)}…' is not a number`);
    expect(r.stderr).toContain("cells.csv:3:32: gpuCount (not shown: looks like a secret) is not a number");
    expect(r.stderr).not.toContain("abc123");
  });
});

describe("files that are no inventory at all", () => {
  it("a header of 200,000 unknown columns: exit 2, 20 named, the rest counted (no stack overflow)", async () => {
    const { dir } = siteDir({ "wide.csv": `hostname,ip,rack,circuit,role${",x".repeat(200_000)}\n` });
    const r = await cli(["validate", "--site", "site.yaml", "--inventory", "wide.csv"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: the site has 21 problems; nothing was planned or applied.\n");
    expect(r.stderr).toContain("wide.csv:1:1: inventory has 199980 more unknown columns (200000 in all); is this file an inventory?\n  fix: check the path;");
    expect(r.stderr.split("\n")).toHaveLength(44);
  });
});

describe("imports never echo file contents", () => {
  it("Hive OS: invalid JSON is located, V8's excerpt of the text is not printed", async () => {
    const secret = `ghp_${randomBytes(18).toString("hex")}`;
    const { dir } = siteDir({ "workers.json": `{"token": ${secret}}`, "rules.yaml": 'rules:\n  - { ip: "10.20.0.0/16", circuit: pdu-a1 }\n' });
    const r = await cli(["import", "--from", "hiveos", "--circuits", "rules.yaml", "workers.json"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("workers.json:1: not valid JSON: Unexpected token 'g'\n");
    expect(r.stderr).not.toContain(secret.slice(4));
  });

  it("Foreman: a file with no usable header lists its columns as short excerpts, secrets hidden", async () => {
    const secret = randomBytes(24).toString("base64");
    const { dir } = siteDir({ "export.csv": `API_KEY=${secret},${"col ".repeat(30)}\n1,2\n` });
    const r = await cli(["import", "--from", "foreman", "--map", "hostname=nope", "export.csv"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`use one of its columns: (not shown: looks like a secret), ${"col ".repeat(30).trim().slice(0, 39)}…`);
    expect(r.stderr).not.toContain(secret);
  });

  it("an export or rules file that is a key, UTF-16 or binary is named, not parsed (exit 2)", async () => {
    const key = fakePrivateKey();
    const token = `K10${randomBytes(24).toString("hex")}::server:${randomBytes(16).toString("hex")}`;
    const { dir } = siteDir({
      "key.csv": key.text,
      "u16.csv": Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("name,apiIp\nm1,10.0.0.1\n", "utf16le")]),
      "rules.yaml": `rules: |${token}\n  x\n`,
      "export.csv": "name,apiIp,circuit\nm1,10.20.1.20,pdu-b1\n",
    });
    const k = await cli(["import", "--from", "foreman", "key.csv"], dir);
    expect(k.code).toBe(2);
    expect(k.stderr).toBe(
      `error: export file key.csv is a private key, not an export file; nothing of it is shown.\n  fix: check the path (it must name the export file); an SSH key belongs in the stack's secrets: pulumi config set --secret mine2hpc:sshPrivateKey < KEYFILE.\n`,
    );
    expectNoneOf(k.stderr, key.body);
    const u = await cli(["import", "--from", "foreman", "u16.csv"], dir);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain("error: export file u16.csv is UTF-16 text (byte-order mark FF FE, little-endian), not UTF-8.\n");
    const r = await cli(["import", "--from", "foreman", "--circuits", "rules.yaml", "export.csv"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("rules.yaml:1: YAML syntax error: UNEXPECTED_TOKEN (the message quotes the file and is not shown)\n");
    expect(r.stderr).not.toContain(token.slice(3, 20));
  });
});

describe("import row messages quote excerpts", () => {
  it("a rack that matches no rule is quoted short, a secret-looking one not at all (exit 2)", async () => {
    const { dir } = siteDir({
      "export.csv": `name,apiIp,rack\nm1,10.20.1.20,${"rack ".repeat(30)}\nm2,10.20.1.21,token=abc123\n`,
      "rules.yaml": 'rules:\n  - { rack: "A01", circuit: pdu-b1 }\n',
    });
    const r = await cli(["import", "--from", "foreman", "--circuits", "rules.yaml", "export.csv"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`export.csv:2: no circuit rule matches this machine (rack ${"rack ".repeat(30).trim().slice(0, 59)}…, ip 10.20.1.20)\n`);
    expect(r.stderr).toContain("export.csv:3: no circuit rule matches this machine (rack (not shown: looks like a secret), ip 10.20.1.21)\n");
    expect(r.stderr).not.toContain("abc123");
  });
});

describe("kubernetes.apiEndpoint is a bare host", () => {
  const cases: [string, string, string][] = [
    ["https://cp.example.com:6443", "is a URL", "write apiEndpoint: cp.example.com (mine2hpc adds https:// and port 6443: clients use https://cp.example.com:6443)"],
    ["cp.example.com:6443", "is a host with a port", "write apiEndpoint: cp.example.com (mine2hpc adds https:// and port 6443"],
    ["10.20.0.5:6443", "is a host with a port", "write apiEndpoint: 10.20.0.5 (mine2hpc adds https:// and port 6443"],
    ["cp.example.com/api", "is a host with a path", "write apiEndpoint: cp.example.com (mine2hpc adds"],
    ["CP.Example.com", "is a name with capital letters", "write apiEndpoint: cp.example.com (mine2hpc adds"],
    ["cp_1", "is neither an IPv4 address nor a DNS name", "write the address clients use for the API, e.g. apiEndpoint: 10.20.0.5 or apiEndpoint: k8s.site.example, without https:// or a port"],
    ["10.20.0.300", "is neither an IPv4 address nor a DNS name", "write the address clients use for the API"],
  ];
  it.each(cases)("%s: refused at its line with the host to write (exit 2)", async (endpoint, why, fix) => {
    const { dir } = siteDir({ "site.yaml": siteWith("network:\n", `kubernetes:\n  apiEndpoint: "${endpoint}"\nnetwork:\n`) });
    const r = await cli(["plan", "--site", "site.yaml"], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      `site.yaml:35:16: kubernetes.apiEndpoint '${endpoint}' ${why}; it must be only a host: an IPv4 address or a DNS name (lowercase letters, digits, '-' and '.') (at kubernetes.apiEndpoint)\n  fix: ${fix}`,
    );
  });

  it("credentials in it are refused without echoing them; hosts and IPs pass", async () => {
    const { dir } = siteDir({
      "site.yaml": siteWith("network:\n", 'kubernetes:\n  apiEndpoint: "https://admin:s3cret@cp.example.com"\nnetwork:\n'),
      "ok.yaml": siteWith("network:\n", "kubernetes:\n  apiEndpoint: k8s.site.example\nnetwork:\n"),
      "ip.yaml": siteWith("network:\n", "kubernetes:\n  apiEndpoint: 10.20.0.5\nnetwork:\n"),
    });
    const r = await cli(["validate", "--site", "site.yaml"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("site.yaml:35:16: kubernetes.apiEndpoint contains credentials (at kubernetes.apiEndpoint)\n  fix: write only the host");
    expect(r.stderr).not.toContain("s3cret");
    expect((await cli(["validate", "--site", "ok.yaml"], dir)).code).toBe(0);
    expect((await cli(["validate", "--site", "ip.yaml"], dir)).code).toBe(0);
  });

  it("preview --offline of such a site exits 2 with the problem, not a stack trace", async () => {
    const { dir } = siteDir({ "site.yaml": siteWith("network:\n", 'kubernetes:\n  apiEndpoint: "https://cp.example.com:6443"\nnetwork:\n') });
    // From the repository (the preview's child runs the program there).
    const r = await runCli(["preview", "--offline", "--site", path.join(dir, "site.yaml")], { cwd: REPO_ROOT });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("kubernetes.apiEndpoint 'https://cp.example.com:6443' is a URL");
    expect(r.stderr).not.toContain("internal error");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("timezones as Kubernetes (Go's time.LoadLocation) reads them", () => {
  const refused: [string, string, string][] = [
    ["CST", "timezone 'CST' is an abbreviation, not an IANA zone name; Kubernetes refuses it for CronJobs, and an abbreviation carries no daylight-saving rule", "use the zone of the site's location, e.g. 'America/Chicago'"],
    ["america/chicago", "timezone 'america/chicago' is not an IANA zone name: names are case-sensitive, and Kubernetes (Go's time.LoadLocation) refuses it although Node accepts it", "write 'America/Chicago'"],
    ["us/central", "timezone 'us/central' is not an IANA zone name: names are case-sensitive", "write 'US/Central'"],
    ["Local", "timezone 'Local' is not allowed: Kubernetes refuses it for CronJobs (it would be the server's own zone)", "name the site's zone, e.g. America/Chicago"],
    ["posix/America/Chicago", "timezone 'posix/America/Chicago' is a copy some systems install, not an IANA zone name; Go's embedded zone database lacks it", "use 'America/Chicago'"],
    ["America/Chicgo", "timezone 'America/Chicgo' is not in the IANA time zone database, so Kubernetes would refuse the curtailment CronJobs", "use 'America/Chicago'"],
    ["Factory", "timezone 'Factory' is not in the IANA time zone database", "use"],
  ];
  it.each(refused)("%s is refused at metadata.timezone (exit 2)", async (zone, message, fix) => {
    const { dir } = siteDir({ "site.yaml": siteWith("timezone: America/Chicago", `timezone: "${zone}"`) });
    const r = await cli(["validate", "--site", "site.yaml"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`site.yaml:6:13: ${message}`);
    expect(r.stderr).toContain(`fix: ${fix}`);
  });

  it("accepts canonical names, backward links and the System V zones tzdata still has", async () => {
    for (const zone of ["America/Chicago", "US/Central", "Asia/Calcutta", "EST", "MST", "HST", "EST5EDT", "CST6CDT", "UTC", "Etc/GMT+6", "GMT"]) {
      expect(isValidTimeZone(zone), zone).toBe(true);
    }
    const { dir } = siteDir({ "site.yaml": siteWith("timezone: America/Chicago", "timezone: US/Central") });
    expect((await cli(["validate", "--site", "site.yaml"], dir)).code).toBe(0);
  });

  it("the list is the tz database's: every canonical zone Node knows is in it, every name passes the API server's character rule", () => {
    for (const zone of Intl.supportedValuesOf("timeZone")) expect(TZ_NAMES.has(zone), zone).toBe(true);
    // kubernetes pkg/apis/batch/validation/validation.go validTimeZoneCharacters, per path part.
    for (const zone of TZ_NAMES) expect(zone.split("/").every((p) => /^[A-Za-z.\-_0-9+]{1,14}$/.test(p) && !p.startsWith("-") && p !== "." && p !== "..")).toBe(true);
    expect(TZ_NAMES.size).toBe(597);
  });
});

describe("curtailment schedules through the robfig/cron rules", () => {
  const cases: [string, string][] = [
    ["0 15 * 13 1-5", 'month field "13": 13 is above the maximum 12'],
    ["0 15 * 6 8", 'day-of-week field "8": 8 is above the maximum 6'],
    ["0 15 0 6 *", 'day-of-month field "0": 0 is below the minimum 1'],
    ["0 15 L 6 *", 'day-of-month field "L": "L" is not a number'],
    ["0 15 * 6 5L", 'day-of-week field "5L": "5L" is not a number or a name'],
  ];
  it.each(cases)("'%s' is refused at the schedule's line (exit 2)", async (schedule, why) => {
    const { dir } = siteDir({ "site.yaml": siteWith('schedule: "0 15 * 6-9 1-5"', `schedule: "${schedule}"`) });
    const r = await cli(["validate", "--site", "site.yaml"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `site.yaml:21:23: curtailment window 4cp-afternoon of feed ercot-flex (schedule "${schedule}") is not a valid CronJob schedule: ${why} (at power.feeds[1].curtailment.windows[0].schedule)\n  fix: write it as 'minute hour day-of-month month day-of-week' (Kubernetes CronJob syntax), e.g. '0 15 * 6-9 1-5'`,
    );
  });
});

describe("credentials in URLs never reach a plan", () => {
  it("asicWebhookUrl with user:password: validate and plan --json exit 2, nothing on stdout, the password nowhere", async () => {
    const { dir } = siteDir({ "site.yaml": siteWith("responseTimeSeconds: 600", "responseTimeSeconds: 600\n        asicWebhookUrl: https://admin:pw-8c1e2f@fleet.example/api/curtail") });
    for (const args of [["validate"], ["plan", "--json"], ["report", "--html", "report.html"]]) {
      const r = await cli([...args, "--site", "site.yaml"], dir);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(
        "site.yaml:19:25: power.feeds[1] (ercot-flex): asicWebhookUrl contains credentials (at power.feeds[1].curtailment.asicWebhookUrl)\n" +
          "  fix: remove user and password from the URL (site files are not secret); put the webhook's credentials in the miner credentials secret: pulumi config set --secret mine2hpc:minerCredentials",
      );
      expect(r.stderr + r.stdout).not.toContain("pw-8c1e2f");
    }
  });

  it("minerApi and mirror URLs with credentials: exit 2, never echoed", async () => {
    const csv = "hostname,ip,rack,circuit,role,asicModel,minerApi\nasic-002,10.20.1.11,r2,pdu-b1,asic,s19j-pro,luxos://root:pw-77aa@10.20.1.11:4028\n";
    const { dir } = siteDir({ "creds.csv": csv, "site.yaml": siteWith("inventory: good.csv", "inventory: creds.csv\nmirror:\n  artifacts: https://u:pw-99bb@mirror.site/k3s") });
    const r = await cli(["plan", "--json", "--site", "site.yaml"], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("site.yaml:39:14: mirror.artifacts contains credentials (at mirror.artifacts)");
    expect(r.stderr).toContain("creds.csv:2:45: asic-002: minerApi contains credentials (at machines[2].minerApi)");
    expect(r.stderr).not.toMatch(/pw-77aa|pw-99bb/);
  });

  it("mirror values the renderer would refuse are refused at their line", async () => {
    const { dir } = siteDir({ "site.yaml": siteWith("inventory: good.csv", "inventory: good.csv\nmirror:\n  artifacts: https://mirror.site/k3s$(id)\n  registry: mirror.site:5000/library") });
    const r = await cli(["validate", "--site", "site.yaml"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("site.yaml:39:14: mirror.artifacts 'https://mirror.site/k3s$(id)' contains a space, quote, '$', backquote or backslash");
    expect(r.stderr).toContain("site.yaml:40:13: mirror.registry 'mirror.site:5000/library' has a path; the registry mirror is a host[:port] (at mirror.registry)\n  fix: write mirror.registry: mirror.site:5000 and serve the mirrored images at that registry's root");
  });

  it("an SSH user that is no Linux user name is refused", async () => {
    const { dir } = siteDir({ "site.yaml": siteWith("inventory: good.csv", 'inventory: good.csv\ndefaults:\n  sshUser: "root; reboot"') });
    const r = await cli(["validate", "--site", "site.yaml"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("site.yaml:39:12: sshUser 'root; reboot' is not a Linux user name (at defaults.sshUser)");
  });
});

describe("input.ts helpers", () => {
  it("excerpt: control and bidi characters replaced, at most 60 characters, secrets hidden", () => {
    expect(excerpt("a\u0000b\u001b[31mc\u202ed")).toBe("a?b?[31mc?d");
    expect(excerpt("rack 1 ".repeat(20))).toBe(`${"rack 1 ".repeat(20).slice(0, 59)}…`);
    expect(excerpt("rack 1, row 2")).toBe("rack 1, row 2");
    expect(quoted("r1")).toBe("'r1'");
    for (const s of [
      "-----BEGIN OPENSSH PRIVATE KEY-----",
      "password=hunter2",
      "my_token",
      "https://admin:pw@fleet.example",
      "K107c3a0b9f1e2d3c4b5a69788796a5b4c3::server:abc",
      "pw: x",
      "dGhpcyBpcyBhIGxvbmcgYmFzZTY0IHN0cmluZyBmb3IgdGVzdA==",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
      "ghp_AbCdEf0123456789AbCdEf0123456789AbCdEf01",
    ]) {
      expect(looksSecret(s), s).toBe(true);
      expect(excerpt(s)).toBe("(not shown: looks like a secret)");
    }
    for (const s of ["America/Chicago", "rtx-3090", "rack 1, row 2", "this-is-a-very-long-but-harmless-rack-name-a-b-c-d"]) expect(looksSecret(s), s).toBe(false);
  });

  it("firstInvalidUtf8 follows RFC 3629 (overlongs, surrogates and > U+10FFFF refused)", () => {
    expect(firstInvalidUtf8(Buffer.from("héllo €𝄞", "utf8"))).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0xaf]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0);
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xe2, 0x82]))).toBe(2);
  });

  it("decodeText strips a UTF-8 byte-order mark and refuses UTF-32", () => {
    expect(decodeText(Buffer.from("\uFEFFa: 1\n", "utf8"), "site file", "s.yaml")).toEqual({ ok: true, text: "a: 1\n" });
    expect(decodeText(Buffer.from([0xff, 0xfe, 0, 0, 0x61, 0, 0, 0]), "site file", "s.yaml")).toMatchObject({ ok: false, code: "UTF32" });
  });

  it("confinedPath follows links and keeps relative paths relative", () => {
    const { root, dir } = siteDir();
    const rel = path.relative(process.cwd(), dir);
    expect(confinedPath(rel, "good.csv")).toBe(path.join(rel, "good.csv"));
    expect(confinedPath(rel, "a/../good.csv")).toBe(path.join(rel, "good.csv"));
    expect(confinedPath(rel, "../x.csv")).toBeUndefined();
    expect(confinedPath(dir, "/etc/passwd")).toBeUndefined();
    expect(confinedPath(dir, ".")).toBeUndefined();
    symlinkSync(root, path.join(dir, "up"));
    expect(confinedPath(dir, "up/site/good.csv")).toBe(path.join(dir, "up/site/good.csv"));
    expect(confinedPath(dir, "up/x.csv")).toBeUndefined();
  });
});
