/** `mine2hpc init` end to end: the built binary writing a stack into a temporary project. */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectGolden, REPO_ROOT, runCli, tempProject } from "./helpers/cli.js";

let project: string;
beforeEach(async () => {
  project = await tempProject();
});
afterEach(() => rmSync(project, { recursive: true, force: true }));

const read = (rel: string): string => readFileSync(path.join(project, rel), "utf8");

describe("mine2hpc init", () => {
  it("writes the stack, the renamed site and its inventory, and prints the next steps", async () => {
    const r = await runCli(["init", "tx-west", "--template", "hybrid-curtailable"], { cwd: project });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    await expectGolden("init-hybrid-curtailable.txt", r.stdout);
    expect(r.stdout).toContain("       pulumi config set --secret mine2hpc:sshPrivateKey < ~/.ssh/id_ed25519\n");
    expect(r.stdout).toContain("       pulumi stack init tx-west\n");

    expect(read("stacks/Pulumi.tx-west.yaml")).toBe(
      [
        "# Stack tx-west: the site in stacks/tx-west/site.yaml, started from template hybrid-curtailable by 'mine2hpc init'.",
        "# Secrets (mine2hpc:sshPrivateKey, mine2hpc:k3sToken) are added here, encrypted, by 'pulumi config set --secret'.",
        "config:",
        "  mine2hpc:site: stacks/tx-west/site.yaml",
        "",
      ].join("\n"),
    );
    const template = read("templates/hybrid-curtailable/site.yaml");
    const site = read("stacks/tx-west/site.yaml");
    expect(site.split("\n")[0]).toBe("# yaml-language-server: $schema=../../schema/site.schema.json");
    // Only metadata.name differs: every comment of the template is kept.
    const changed = site.split("\n").filter((line, k) => line !== template.split("\n")[k]);
    expect(changed).toEqual(["  name: tx-west # REQUIRED: DNS label; prefixes every resource name"]);
    expect(read("stacks/tx-west/inventory.csv")).toBe(read("templates/hybrid-curtailable/inventory.csv"));

    // The stack plans as written.
    const plan = await runCli(["plan", "--stack", "tx-west", "--json"], { cwd: project });
    expect(plan.exitCode).toBe(0);
    expect((JSON.parse(plan.stdout) as { site: { name: string }; totals: { gpus: number } }).site).toMatchObject({ name: "tx-west" });
  });

  it("--partition-by rack: the rule in the site, one stack file per partition, and the steps to create them", async () => {
    const r = await runCli(["init", "tx-west", "--template", "hybrid-curtailable", "--partition-by", "rack", "--json"], { cwd: project });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as { files: string[]; nextSteps: { what: string; command: string }[] };
    const racks = ["gpu-r01", "gpu-r02", "gpu-r03", "gpu-r04", "gpu-r05", "gpu-r06", "gpu-r07", "gpu-r08", "gpu-r09"];
    expect(out.files).toEqual([
      "stacks/Pulumi.tx-west.yaml",
      "stacks/tx-west/site.yaml",
      "stacks/tx-west/inventory.csv",
      ...racks.map((p) => `stacks/Pulumi.tx-west-${p}.yaml`),
    ]);
    expect(read("stacks/Pulumi.tx-west-gpu-r01.yaml")).toBe(
      [
        "# Stack tx-west-gpu-r01: partition gpu-r01 of site tx-west (its gpu and cpu machines only), written by 'mine2hpc init'.",
        "# It reads the cluster's kubeconfig and agent join secrets from the cluster stack tx-west (pulumi up there first).",
        "# Secrets (mine2hpc:sshPrivateKey) are added here, encrypted, by 'pulumi config set --secret'.",
        "config:",
        "  mine2hpc:site: stacks/tx-west/site.yaml",
        "  mine2hpc:partition: gpu-r01",
        "  mine2hpc:clusterStack: tx-west",
        "",
      ].join("\n"),
    );
    expect(read("stacks/tx-west/site.yaml").endsWith("partitions:\n  by: rack\n")).toBe(true);
    expect(out.nextSteps.at(-2)!.command).toBe(
      `for s in ${racks.map((p) => `tx-west-${p}`).join(" ")}; do pulumi stack init "$s" && pulumi config set --secret mine2hpc:sshPrivateKey --stack "$s" < ~/.ssh/id_ed25519; done`,
    );
    // The cluster stack says it was made for a partitioned site, so it validates (and the program runs it).
    expect(read("stacks/Pulumi.tx-west.yaml")).toBe(
      [
        "# Stack tx-west: the site in stacks/tx-west/site.yaml, started from template hybrid-curtailable by 'mine2hpc init'.",
        "# Secrets (mine2hpc:sshPrivateKey, mine2hpc:k3sToken) are added here, encrypted, by 'pulumi config set --secret'.",
        "# mine2hpc:partitioned: this cluster stack was made for a partitioned site, so its state never held a partition's",
        '# machines (the program refuses a partitioned site\'s cluster stack without it; README, "Splitting an existing stack").',
        "config:",
        "  mine2hpc:site: stacks/tx-west/site.yaml",
        '  mine2hpc:partitioned: "true"',
        "",
      ].join("\n"),
    );
    expect((await runCli(["validate", "--stack", "tx-west"], { cwd: project })).exitCode).toBe(0);
    // The offline preview runs this checkout's program on it (a site repository's index.ts does the same).
    writeFileSync(path.join(project, "index.ts"), `import { run } from ${JSON.stringify(path.join(REPO_ROOT, "src", "program.ts"))};\nexport default run();\n`);
    const preview = await runCli(["preview", "--offline", "--stack", "tx-west", "--json"], { cwd: project });
    expect([preview.exitCode, preview.stderr]).toEqual([0, ""]);
    // A partition stack validates against its site; the plan lists the partitions.
    const v = await runCli(["validate", "--stack", "tx-west-gpu-r05"], { cwd: project });
    expect(v.exitCode).toBe(0);
    const plan = JSON.parse((await runCli(["plan", "--stack", "tx-west", "--json"], { cwd: project })).stdout) as { partitions: unknown };
    expect(plan.partitions).toEqual({ by: "rack", names: racks });
  });

  it("--partition-by refuses an unknown kind, writing nothing", async () => {
    const r = await runCli(["init", "tx-west", "--template", "hybrid-curtailable", "--partition-by", "row"], { cwd: project });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--partition-by row is not a way to split a site.\n  fix: use --partition-by feed, --partition-by circuit, --partition-by rack.");
    expect(existsSync(path.join(project, "stacks", "Pulumi.tx-west.yaml"))).toBe(false);
  });

  it("refuses to overwrite an existing file, names it and writes nothing", async () => {
    mkdirSync(path.join(project, "stacks", "tx-west"), { recursive: true });
    writeFileSync(path.join(project, "stacks", "tx-west", "site.yaml"), "# my edits\n");
    const r = await runCli(["init", "tx-west", "--template", "hpc-hall"], { cwd: project });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("error: stacks/tx-west/site.yaml already exists; nothing was written.\n  fix: pass --force to overwrite it, or pick another stack name.\n");
    expect(read("stacks/tx-west/site.yaml")).toBe("# my edits\n");
    expect(existsSync(path.join(project, "stacks", "Pulumi.tx-west.yaml"))).toBe(false);
    expect(existsSync(path.join(project, "stacks", "tx-west", "inventory.csv"))).toBe(false);
  });

  it("overwrites with --force", async () => {
    mkdirSync(path.join(project, "stacks", "tx-west"), { recursive: true });
    writeFileSync(path.join(project, "stacks", "tx-west", "site.yaml"), "# my edits\n");
    const r = await runCli(["init", "tx-west", "--template", "hpc-hall", "--force", "--json"], { cwd: project });
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as { files: string[]; figures: { gpus: number }; nextSteps: Array<{ command: string }> };
    expect(out.files).toEqual(["stacks/Pulumi.tx-west.yaml", "stacks/tx-west/site.yaml", "stacks/tx-west/inventory.csv"]);
    expect(out.figures.gpus).toBe(1024);
    expect(out.nextSteps.map((s) => s.command)).toEqual([
      "mine2hpc validate --stack tx-west",
      "pulumi stack init tx-west",
      "pulumi config set --secret mine2hpc:sshPrivateKey < ~/.ssh/id_ed25519",
      'pulumi config set --secret mine2hpc:k3sToken "$(openssl rand -hex 32)"',
      "mine2hpc plan --stack tx-west",
      "pulumi preview --stack tx-west",
    ]);
    expect(read("stacks/tx-west/site.yaml")).toContain("  name: tx-west ");
  });

  it("copies the given inventory instead of the template's", async () => {
    const rows = read("templates/gpu-rig-retrofit/inventory.csv").split("\n").slice(0, 5).join("\n") + "\n";
    writeFileSync(path.join(project, "mine.csv"), rows);
    const r = await runCli(["init", "rigs", "--template", "gpu-rig-retrofit", "--inventory", "mine.csv", "--json"], { cwd: project });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(read("stacks/rigs/inventory.csv")).toBe(rows);
    expect((JSON.parse(r.stdout) as { inventoryFrom: string }).inventoryFrom).toBe("mine.csv");
  });

  it("checks the site before writing: a broken inventory writes nothing", async () => {
    writeFileSync(path.join(project, "bad.csv"), "hostname,ip,rack,circuit,role\nrig-1,10.20.1.999,shelf-01,ckt-01,gpu\n");
    const r = await runCli(["init", "rigs", "--template", "gpu-rig-retrofit", "--inventory", "bad.csv"], { cwd: project });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^error: the site has \d+ problems?; nothing was planned or applied\.\n/);
    expect(r.stderr).toContain("bad.csv:2:");
    expect(existsSync(path.join(project, "stacks"))).toBe(false);
  });

  it("writes an inventory that does not fit the template yet, and says exactly what to change first", async () => {
    // An import's output: its circuits come from the operator's rules, its IPs from the fleet, neither from the template.
    writeFileSync(path.join(project, "fleet.csv"), "hostname,ip,rack,circuit,role,gpuModel,gpuCount,pcieLink\nrig-1,10.99.0.5,r1,pdu-zz,gpu,rtx-3090,6,x1\nrig-2,10.20.1.7,r1,pdu-yy,gpu,rtx-3090,6,x1\n");
    const r = await runCli(["init", "rigs", "--template", "gpu-rig-retrofit", "--inventory", "fleet.csv"], { cwd: project });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    expect(read("stacks/rigs/inventory.csv")).toBe(read("fleet.csv"));
    const out = r.stdout.split("\n");
    expect(out.slice(5, 13)).toEqual([
      "The site does not plan yet with this inventory (3 problems); the files are written, so fix them there:",
      "  stacks/rigs/inventory.csv:2:7: rig-1 IP 10.99.0.5 is outside network.nodeSubnet 10.20.0.0/22 (at machines[1].ip)",
      "    fix: use an address inside 10.20.0.0/22, or widen nodeSubnet",
      "  stacks/rigs/inventory.csv:2:20: rig-1 names unknown circuit 'pdu-zz' (did you mean 'ckt-01'?) (at machines[1].circuit)",
      "    fix: set circuit to an id under power.circuits, or add that circuit",
      "  stacks/rigs/inventory.csv:3:20: rig-2 names unknown circuit 'pdu-yy' (did you mean 'ckt-01'?) (at machines[2].circuit)",
      "    fix: set circuit to an id under power.circuits, or add that circuit",
      "",
    ]);
    expect(out.slice(13, 16)).toEqual([
      "Next steps:",
      "  1. Make the site fit the inventory: add circuits pdu-zz, pdu-yy (named by the inventory) to power.circuits in stacks/rigs/site.yaml, with feed, volts, amps and phases, or write the site's circuit ids (ckt-ops, ckt-01, ckt-02, ckt-03, ckt-04 and 26 more) into your circuit rules and run mine2hpc import again; set network.nodeSubnet in stacks/rigs/site.yaml to a range that holds the inventory's node IPs (1 outside it); then check:",
      "       mine2hpc validate --stack rigs",
    ]);
    const json = await runCli(["init", "rigs", "--template", "gpu-rig-retrofit", "--inventory", "fleet.csv", "--force", "--json"], { cwd: project });
    const parsed = JSON.parse(json.stdout) as { figures: unknown; siteProblems: Array<{ file: string; line: number }>; nextSteps: Array<{ command: string }> };
    expect(parsed.figures).toBeNull();
    expect(parsed.siteProblems.map((p) => `${p.file}:${p.line}`)).toEqual(["stacks/rigs/inventory.csv:2", "stacks/rigs/inventory.csv:2", "stacks/rigs/inventory.csv:3"]);
    expect(parsed.nextSteps[0]!.command).toBe("mine2hpc validate --stack rigs");
  });

  it("wants a DNS label for the stack", async () => {
    const r = await runCli(["init", "TX_West", "--template", "hpc-hall"], { cwd: project });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      "error: stack name 'TX_West' is not a DNS label.\n  fix: use lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit (it becomes the site's metadata.name).\n",
    );
  });

  it("needs a project folder", async () => {
    rmSync(path.join(project, "Pulumi.yaml"));
    const r = await runCli(["init", "x", "--template", "hpc-hall"], { cwd: project });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("error: not inside a mine2hpc project (no Pulumi.yaml here or above).\n  fix: run mine2hpc init from the project folder, the one holding Pulumi.yaml, or start a site repository with 'mine2hpc new DIR --template NAME'.\n");
  });

  it("never writes into the repository", () => {
    expect(existsSync(path.join(REPO_ROOT, "stacks", "Pulumi.tx-west.yaml"))).toBe(false);
  });
});
