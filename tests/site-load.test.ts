import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { loadSite, loadStack, parseCsv, parseInventory, SecretValue, siteJsonSchema, SITE_SCHEMA_PATH } from "../src/site/index.js";
import { problemsOf, siteFixture } from "./helpers/site-problems.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "..");
// Relative to the working directory, as a person would pass it on the command line.
const fixture = siteFixture;

describe("loadSite", () => {
  it("loads a valid site and appends inventory rows after inline machines", () => {
    const site = loadSite(fixture("good.yaml"));
    expect(site.spec.machines.map((m) => m.hostname)).toEqual(["cp-1", "rig-001", "rig-002", "asic-001"]);
    expect(site.spec.machines[2]).toEqual({
      hostname: "rig-002",
      ip: "10.20.0.12",
      rack: "rack 1, row 2",
      circuit: "pdu-a1",
      role: "gpu",
      gpuModel: "rtx-3090",
      gpuCount: 8,
      psuEfficiency: 0.94,
    });
    expect(site.spec.machines[3]).toEqual({ hostname: "asic-001", ip: "10.20.1.10", rack: "r2", circuit: "pdu-b1", role: "asic", asicModel: "s19j-pro" });
    expect(site.spec.network.clusterCidr).toBe("10.42.0.0/16");
  });

  it("locates inline paths at the value, collections at their key, missing paths at the nearest parent", () => {
    const site = loadSite(fixture("good.yaml"));
    const file = fixture("good.yaml");
    expect(site.locate(["machines", 1, "gpuCount"])).toEqual({ file, line: 51, column: 15 });
    expect(site.locate(["network"])).toEqual({ file, line: 34, column: 1 });
    expect(site.locate(["machines"])).toEqual({ file, line: 38, column: 1 });
    expect(site.locate(["machines", 1])).toEqual({ file, line: 44, column: 5 });
    expect(site.locate(["machines", 0, "gpuModel"])).toEqual({ file, line: 39, column: 5 });
    expect(site.locate(["power", "feeds", 1, "curtailment", "windows", 0, "schedule"])).toEqual({ file, line: 21, column: 23 });
  });

  it("locates inventory machines at their CSV row and cell", () => {
    const site = loadSite(fixture("good.yaml"));
    const csv = fixture("good.csv");
    // Line 1 is a comment, line 2 the header, line 4 blank (CRLF file).
    expect(site.locate(["machines", 2, "hostname"])).toEqual({ file: csv, line: 3, column: 1 });
    expect(site.locate(["machines", 2, "rack"])).toEqual({ file: csv, line: 3, column: 20 });
    expect(site.locate(["machines", 3, "asicModel"])).toEqual({ file: csv, line: 5, column: 38 });
    expect(site.locate(["machines", 3])).toEqual({ file: csv, line: 5, column: 1 });
    expect(site.locate(["machines", 9])).toBeUndefined();
  });

  it("opts.inventory overrides the site's inventory", () => {
    const site = loadSite(fixture("good.yaml"), { inventory: fixture("even-cp.csv") });
    expect(site.spec.machines.map((m) => m.hostname)).toEqual(["cp-1", "rig-001", "cp-2"]);
    expect(site.locate(["machines", 2, "role"])).toEqual({ file: fixture("even-cp.csv"), line: 2, column: 26 });
  });

  it("reports a missing site file as a problem", () => {
    const problems = problemsOf(() => loadSite(fixture("nope.yaml")));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toBe(`site file ${fixture("nope.yaml")} does not exist`);
    expect(problems[0]!.source).toEqual({ file: fixture("nope.yaml"), line: 1 });
  });

  it("reports YAML syntax errors with line and column", () => {
    const problems = problemsOf(() => loadSite(fixture("syntax.yaml")));
    expect(problems[0]!.message).toContain('YAML syntax error: Missing closing "quote');
    expect(problems[0]!.fix).toContain("closing quote");
    expect(problems[0]!.source?.file).toBe(fixture("syntax.yaml"));
    expect(problems[0]!.source?.line).toBe(7);
  });

  it("reports duplicate keys at the second key", () => {
    const problems = problemsOf(() => loadSite(fixture("duplicate-key.yaml")));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toBe("YAML syntax error: Map keys must be unique");
    expect(problems[0]!.source).toEqual({ file: fixture("duplicate-key.yaml"), line: 3, column: 1 });
  });

  it("reports every schema problem at once, in document order, each located", () => {
    const problems = problemsOf(() => loadSite(fixture("types.yaml")));
    const file = fixture("types.yaml");
    expect(problems.map((p) => [p.source?.line, p.message])).toEqual([
      [11, "tier must be one of firm, interruptible, curtailable, got 'frim'"],
      [12, "capacityKw must be a number, got 'lots'"],
      [14, "missing required field 'amps'"],
      [17, "unknown field 'ampz' (did you mean 'amps'?)"],
      [18, "phases must be one of 1, 3, got 2"],
      [24, "ip must be an IPv4 address such as 10.20.0.11, got '10.20.0.300'"],
      [28, "missing required field 'rack'"],
      [32, "gpuCount must be a whole number, got 1.5"],
    ]);
    expect(problems.every((p) => p.source?.file === file)).toBe(true);
    expect(problems[0]!.fix).toBe("use 'firm'");
    expect(problems[2]!.fix).toBe("add amps (Breaker rating in amperes)");
    expect(problems[3]!.fix).toBe("rename 'ampz' to 'amps'");
    expect(problems[3]!.source).toEqual({ file, line: 17, column: 7 });
    expect(problems[3]!.path).toEqual(["power", "circuits", 0, "ampz"]);
  });

  it("reports a missing inventory file at the site's inventory line", () => {
    const problems = problemsOf(() => loadSite(fixture("missing-inventory.yaml")));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toBe(`inventory file ${fixture("missing.csv")} does not exist`);
    expect(problems[0]!.source).toEqual({ file: fixture("missing-inventory.yaml"), line: 21, column: 12 });
  });

  it("reports bad inventory cells and schema problems of inventory rows at the CSV line", () => {
    const problems = problemsOf(() => loadSite(fixture("bad-inventory.yaml")));
    const csv = fixture("bad.csv");
    expect(problems.map((p) => [p.source?.file, p.source?.line, p.source?.column, p.message])).toEqual([
      [csv, 3, 43, "gpuCount 'eight' is not a number"],
      [csv, 4, 30, "role must be one of control-plane, gpu, cpu, asic, got 'gpx'"],
    ]);
    expect(problems[1]!.fix).toBe("use 'gpu'");
  });

  it("reports unknown inventory columns, naming them", () => {
    const problems = problemsOf(() => loadSite(fixture("bad-header.yaml")));
    const csv = fixture("bad-header.csv");
    expect(problems.map((p) => [p.source?.file, p.source?.line, p.message])).toEqual([
      [csv, 1, "inventory has unknown column 'gpuModle' (did you mean 'gpuModel'?)"],
      [csv, 1, "inventory has unknown column 'colour'"],
    ]);
  });
});

describe("CSV inventory", () => {
  it("parses quoted fields with commas, doubled quotes and line breaks, CRLF, comments and blank lines", () => {
    const text = '\uFEFF# comment, with "quotes"\r\na,b,c\r\n"x, y","say ""hi""", z \r\n\r\n"multi\r\nline",2,\r\n# trailing comment';
    const { records, problems } = parseCsv(text, "inv.csv");
    expect(problems).toEqual([]);
    expect(records).toEqual([
      { line: 2, cells: ["a", "b", "c"], columns: [1, 3, 5] },
      { line: 3, cells: ["x, y", 'say "hi"', "z"], columns: [1, 8, 21] },
      { line: 5, cells: ["multi\nline", "2", ""], columns: [1, 7, 9] },
    ]);
  });

  it("reports an unclosed quote at the opening quote and text after a closing quote", () => {
    expect(parseCsv('a,b\n"x"y,2\n', "inv.csv").problems.map((p) => [p.source, p.message])).toEqual([
      [{ file: "inv.csv", line: 2, column: 4 }, "unexpected 'y' after a closing quote"],
    ]);
    expect(parseCsv('a,b\n1,"open\n', "inv.csv").problems.map((p) => [p.source, p.message])).toEqual([
      [{ file: "inv.csv", line: 2, column: 3 }, "quoted field is never closed"],
    ]);
  });

  it("maps columns by name in any order, leaves empty cells out and parses numbers", () => {
    const inv = parseInventory("Role,GPU Model,gpu_count,hostname,ip,rack,circuit,baseWatts\ngpu,h100-sxm,8,hgx-01,10.0.0.5,r1,pdu-1,\n", "inv.csv");
    expect(inv.problems).toEqual([]);
    expect(inv.machines).toEqual([{ role: "gpu", gpuModel: "h100-sxm", gpuCount: 8, hostname: "hgx-01", ip: "10.0.0.5", rack: "r1", circuit: "pdu-1" }]);
    expect(inv.rows).toEqual([{ line: 2, cellColumns: { role: 1, gpuModel: 5, gpuCount: 14, hostname: 16, ip: 23, rack: 32, circuit: 35, baseWatts: 41 } }]);
  });

  it("requires a header with the required columns and rows of the header's width", () => {
    expect(parseInventory("# only a comment\n", "inv.csv").problems.map((p) => p.message)).toEqual(["inventory has no header row"]);
    expect(parseInventory("rig-001,10.0.0.5\n", "inv.csv").problems.map((p) => p.message)).toEqual([
      "inventory has unknown column 'rig-001'",
      "inventory has unknown column '10.0.0.5'",
      "inventory header lacks required columns hostname, ip, rack, circuit, role",
    ]);
    const short = parseInventory("hostname,ip,rack,circuit,role\nrig-001,10.0.0.5,r1,pdu-1\n", "inv.csv");
    expect(short.problems.map((p) => [p.source?.line, p.message])).toEqual([[2, "row has 4 cells but the header has 5"]]);
    const dup = parseInventory("hostname,ip,rack,circuit,role,ip\n", "inv.csv");
    expect(dup.problems.map((p) => p.message)).toEqual(["inventory column 'ip' appears twice (columns 2 and 6)"]);
  });

  it("reports a bad number with its row line and cell column", () => {
    const inv = parseInventory("hostname,ip,rack,circuit,role,psuEfficiency\n#c\nrig-1,10.0.0.5,r1,pdu-1,gpu,ninety\n", "inv.csv");
    expect(inv.problems.map((p) => [p.source, p.message])).toEqual([[{ file: "inv.csv", line: 3, column: 29 }, "psuEfficiency 'ninety' is not a number"]]);
  });
});

describe("schema/site.schema.json", () => {
  it("is up to date with src/site/schema.ts (run npm run schema)", () => {
    const committed = readFileSync(join(repoRoot, SITE_SCHEMA_PATH), "utf8");
    expect(committed, "schema/site.schema.json is out of date: run npm run schema").toBe(siteJsonSchema());
  });

  it("describes the file as written: defaulted fields are optional", () => {
    const schema = JSON.parse(siteJsonSchema()) as { required: string[]; title: string };
    expect(schema.title).toBe("mine2hpc site");
    expect(schema.required).toEqual(["apiVersion", "kind", "metadata", "power", "network"]);
  });
});

describe("loadStack", () => {
  const root = mkdtempSync(join(tmpdir(), "mine2hpc-stack-"));
  mkdirSync(join(root, "stacks"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("reads the site and inventory paths and hides secure values", () => {
    writeFileSync(
      join(root, "stacks", "Pulumi.demo.yaml"),
      "config:\n  mine2hpc:site: templates/gpu-rig-retrofit/site.yaml\n  mine2hpc:inventory: inv/rigs.csv\n  mine2hpc:sshUser: miner\n  mine2hpc:k3sToken:\n    secure: v1:abcdefSECRET\n",
    );
    const stack = loadStack("demo", root);
    expect(stack.stack).toBe("demo");
    expect(stack.siteFile).toBe(join(root, "templates/gpu-rig-retrofit/site.yaml"));
    expect(stack.inventory).toBe(join(root, "inv/rigs.csv"));
    expect(stack.config["mine2hpc:sshUser"]).toBe("miner");
    const token = stack.config["mine2hpc:k3sToken"];
    expect(token).toBeInstanceOf(SecretValue);
    expect((token as SecretValue).ciphertext()).toBe("v1:abcdefSECRET");
    expect(JSON.stringify(stack.config)).not.toContain("SECRET");
    expect(String(token)).toBe("[secret]");
  });

  it("fails with the pulumi config command when mine2hpc:site is missing", () => {
    writeFileSync(join(root, "stacks", "Pulumi.nosite.yaml"), "config:\n  mine2hpc:sshUser: miner\n");
    const problems = problemsOf(() => loadStack("nosite", root));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toBe("stack nosite does not name a site (no mine2hpc:site in its config)");
    expect(problems[0]!.fix).toContain("pulumi config set mine2hpc:site templates/<template>/site.yaml --stack nosite");
    expect(problems[0]!.fix).toContain(join("stacks", "Pulumi.nosite.yaml"));
  });

  it("never prints a secret set as the site by mistake", () => {
    writeFileSync(join(root, "stacks", "Pulumi.secret.yaml"), "config:\n  mine2hpc:site:\n    secure: v1:TOPSECRET\n");
    const problems = problemsOf(() => loadStack("secret", root));
    expect(problems.map((p) => [p.source?.line, p.message])).toEqual([[3, "mine2hpc:site must be a plain string path"]]);
    expect(JSON.stringify(problems)).not.toContain("TOPSECRET");
  });

  it("fails with a fix when the stack file does not exist or the name is not a stack name", () => {
    const problems = problemsOf(() => loadStack("prod", root));
    expect(problems[0]!.message).toBe(`stack file ${join(root, "stacks", "Pulumi.prod.yaml")} does not exist`);
    expect(problems[0]!.fix).toContain("pulumi config set mine2hpc:site");
    expect(problemsOf(() => loadStack("../etc", root))[0]!.message).toBe("'../etc' is not a valid stack name");
  });
});
