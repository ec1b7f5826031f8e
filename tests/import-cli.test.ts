/** `mine2hpc import` end to end: sample Foreman, Hive OS and generic exports, good and broken. */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseInventory } from "../src/site/inventory.js";
import { parse } from "yaml";
import { expectGolden, REPO_ROOT, runCli } from "./helpers/cli.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "mine2hpc-import-"));
  cpSync(path.join(REPO_ROOT, "tests", "fixtures", "import"), dir, { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("mine2hpc import --from foreman", () => {
  it("writes inventory rows in input order, circuits from the rules, and lists renamed hostnames", async () => {
    const r = await runCli(["import", "--from", "foreman", "foreman-miners.csv", "--circuits", "circuits.yaml", "--out", "inventory.csv"], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("");
    await expectGolden("import-foreman.stderr.txt", r.stderr);
    const csv = readFileSync(path.join(dir, "inventory.csv"), "utf8");
    await expectGolden("import-foreman.csv", csv);
    // What import writes, the site loader reads without a problem.
    const inv = parseInventory(csv, "inventory.csv");
    expect(inv.problems).toEqual([]);
    expect(inv.machines.map((m) => [m.hostname, m.circuit, m.asicModel])).toEqual([
      ["a01-01", "pdu-a1", "s19j-pro"],
      ["a01-02", "pdu-a1", "s19j-pro"],
      ["a02-01", "pdu-a1", "s21"],
      ["a04-07", "pdu-a1", "s21"],
      ["b01-01", "pdu-b1", "m50s"],
      ["bay-3-miner-1", "pdu-c1", "s19-xp"],
    ]);
  });

  it("lists every unusable row with file:line and the reason, and writes nothing", async () => {
    const r = await runCli(["import", "--from", "foreman", "foreman-broken.csv", "--circuits", "circuits.yaml", "--out", "broken-out.csv"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(existsSync(path.join(dir, "broken-out.csv"))).toBe(false);
    const errors = r.stderr.slice(r.stderr.indexOf("error:"));
    expect(errors).toBe(
      [
        "error: 7 problems in 7 lines of foreman-broken.csv; nothing was written.",
        "foreman-broken.csv:3: hostname 'a01-01' is already used on line 2",
        "  fix: give each machine its own name in the fleet tool (node names must be unique)",
        "foreman-broken.csv:4: IP '10.30.1.300' is not an IPv4 address",
        "  fix: write it as 10.20.0.11",
        "foreman-broken.csv:5: ASIC model 'Antminer L7' is not in the hardware catalog (closest: s19)",
        "  fix: use a catalog ASIC, or describe the model under catalog.asics in the site file and import with --site SITE",
        "foreman-broken.csv:6: machine has no hostname",
        "  fix: give the machine a name in the fleet tool, or map a column to hostname with --map hostname=COLUMN",
        "foreman-broken.csv:7: no circuit rule matches this machine (rack Z09, row 9, ip 10.99.0.11)",
        "  fix: add a rule for it to the circuit rules file (rules checked: rack A01-A04; row 2; ip 10.30.3.0/24; ip 10.40.1.10-10.40.1.19; ip 10.40.1.20-10.40.1.29)",
        "foreman-broken.csv:8: row has 7 cells but the header has 10",
        "  fix: add or remove commas so each row has one cell per header column (quote cells that contain commas)",
        "foreman-broken.csv:9: MAC 'zz:4d:32:05:00:08' is not a MAC address",
        "  fix: write it as 3c:ec:ef:01:02:03, or leave it empty",
        "",
      ].join("\n"),
    );
  });

  it("reports the problems as JSON too", async () => {
    const r = await runCli(["import", "--from", "foreman", "foreman-broken.csv", "--circuits", "circuits.yaml", "--json"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    const out = JSON.parse(r.stdout) as { ok: boolean; records: number; imported: number; problems: Array<{ line: number }>; machines: unknown[] };
    expect(out.ok).toBe(false);
    expect(out.records).toBe(8);
    expect(out.imported).toBe(0);
    expect(out.machines).toEqual([]);
    expect(out.problems.map((p) => p.line)).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  it("needs circuit rules when the export has no circuit column", async () => {
    const r = await runCli(["import", "--from", "foreman", "foreman-miners.csv"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      "error: 1 problem in 1 line of foreman-miners.csv; nothing was written.\nforeman-miners.csv:1: the export has no circuit column and no circuit rules were given\n  fix: pass --circuits RULES (a YAML file mapping racks, rows or IP ranges to circuits), or map a column with --map circuit=COLUMN\n",
    );
  });

  it("reports broken circuit rules at their lines and imports nothing", async () => {
    const r = await runCli(["import", "--from", "foreman", "foreman-miners.csv", "--circuits", "circuits-broken.yaml"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    await expectGolden("import-circuits-broken.stderr.txt", r.stderr);
    expect(r.stderr.split("\n")[0]).toBe("error: the circuit rules have 5 problems; nothing was imported.");
    expect(r.stderr).toContain("circuits-broken.yaml:2: rule 1: circuit 'PDU A1' is not a DNS label\n");
  });
});

describe("mine2hpc import --from hiveos", () => {
  it("turns rigs into x1 GPU machines, one model per rig, with MAC, SSH user user, worker id, and offline rigs as state offline", async () => {
    const r = await runCli(["import", "--from", "hiveos", "hiveos-workers.json", "--circuits", "circuits.yaml"], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      [
        "hostname,ip,mac,rack,circuit,role,gpuModel,gpuCount,pcieLink,asicModel,psuEfficiency,baseWatts,sshUser,state,fleetId",
        "rig-3090-01,10.40.1.11,70:85:c2:1a:2b:01,shelf-01,rig-ckt-01,gpu,rtx-3090,3,x1,,0.9,120,user,,501",
        "rig-3080-02,10.40.1.12,,shelf-01,rig-ckt-01,gpu,rtx-3080,2,x1,,,,user,,502",
        "rig-3060-03,10.40.1.21,70:85:c2:1a:2b:03,farm-77,rig-ckt-02,gpu,rtx-3060,1,x1,,,,user,offline,503",
        "",
      ].join("\n"),
    );
    await expectGolden("import-hiveos.stderr.txt", r.stderr);
  });

  it("refuses AMD, mixed and empty rigs with the worker's line", async () => {
    const r = await runCli(["import", "--from", "hiveos", "hiveos-broken.json", "--circuits", "circuits.yaml", "--json"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    const out = JSON.parse(r.stdout) as { problems: Array<{ file: string; line: number; message: string }> };
    expect(out.problems.map((p) => `${p.file}:${p.line}: ${p.message}`)).toEqual([
      "hiveos-broken.json:2: worker has 1 AMD GPU (Radeon RX 580)",
      "hiveos-broken.json:6: worker mixes GPU models (GeForce RTX 3090, GeForce RTX 3070)",
      "hiveos-broken.json:13: worker reports no GPUs (gpu_info is empty) and no ASIC",
      "hiveos-broken.json:21: machine has no IP address",
    ]);
  });

  it("requires circuit rules", async () => {
    const r = await runCli(["import", "--from", "hiveos", "hiveos-workers.json"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      'error: Hive OS records no circuits.\n  fix: pass --circuits RULES, a YAML file mapping IP ranges to circuits, e.g. rules: [{ ip: "10.20.1.0/25", circuit: pdu-b1 }].\n',
    );
  });
});

describe("mine2hpc import --from csv", () => {
  const maps = ["--map", "hostname=Asset Name", "--map", "ip=IP Address", "--map", "rack=Cabinet", "--map", "circuit=Feed Circuit", "--map", "model=Hardware", "--map", "gpuCount=GPUs"];

  it("maps columns by --map and models to catalog keys", async () => {
    const r = await runCli(["import", "--from", "csv", "generic-dcim.csv", ...maps], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      [
        "hostname,ip,mac,rack,circuit,role,gpuModel,gpuCount,pcieLink,asicModel,psuEfficiency,baseWatts,sshUser",
        "gpu-srv-01,10.50.0.11,,R01,pdu-r01,gpu,h100-sxm,8,,,,,",
        "gpu-srv-02,10.50.0.12,,R01,pdu-r01,gpu,h100-sxm,8,,,,,",
        "miner-17,10.50.1.17,,M01,pdu-m01,asic,,,,s19-xp,,,",
        'login-node-1,10.50.0.5,,"R00, row A",pdu-r00,control-plane,,,,,,,',
        "",
      ].join("\n"),
    );
    expect(r.stderr).toBe(
      [
        "warning: columns not imported (no inventory field): Owner; map one with --map FIELD=COLUMN if it holds an inventory field",
        "note: 1 hostname was changed to DNS labels (Kubernetes node names):",
        "  generic-dcim.csv:6: 'login, node 1' -> 'login-node-1'",
        "imported 4 machines (1 asic, 1 control-plane, 2 gpu) from generic-dcim.csv",
        "",
      ].join("\n"),
    );
    await expectGolden("import-generic.json", (await runCli(["import", "--from", "csv", "generic-dcim.csv", ...maps, "--json"], { cwd: dir })).stdout);
  });

  it("names a mapped column the export lacks", async () => {
    const r = await runCli(["import", "--from", "csv", "generic-dcim.csv", "--map", "hostname=Name", "--map", "ip=IP Address", "--map", "circuit=Feed Circuit"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.split("\n").slice(-3).join("\n")).toBe(
      "generic-dcim.csv:2: --map hostname=Name: the export has no column 'Name'\n  fix: use one of its columns: Asset Name, IP Address, Cabinet, Feed Circuit, Hardware, GPUs, Role, Owner\n",
    );
  });

  it("rejects a malformed --map", async () => {
    const r = await runCli(["import", "--from", "csv", "generic-dcim.csv", "--map", "colour=Hardware"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      "error: --map 'colour=Hardware': unknown field 'colour'\n  fix: map one of hostname, ip, mac, fleetId, container, rack, row, circuit, role, model, gpuModel, gpuCount, pcieLink, asicModel, psuEfficiency, baseWatts, sshUser\n",
    );
  });

  it("rejects an unknown tool", async () => {
    const r = await runCli(["import", "--from", "awesome-miner", "x.csv"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("error: unknown export format 'awesome-miner'.\n  fix: use --from foreman, --from hiveos, --from csv.\n");
  });
});

describe("mine2hpc import --site (the site's own catalog)", () => {
  const fleet = [
    "hostname,ip,rack,circuit,model,gpuCount",
    "rig-1,10.20.0.11,r1,pdu-a1,NVIDIA GeForce RTX 2080 Ti,6",
    "rig-2,10.20.0.12,r1,pdu-a1,Radeon RX 6800,6",
    "asic-1,10.20.1.1,r2,pdu-a1,Antminer L7,",
  ].join("\n");
  const siteWith = (catalog: string[]) => ["apiVersion: mine2hpc.io/v1alpha1", "kind: Site", "inventory: not-written-yet.csv", "catalog:", ...catalog].join("\n") + "\n";
  const ownModels = [
    "  gpus:",
    "    - { key: rtx-2080-ti, name: NVIDIA GeForce RTX 2080 Ti, consumer: true, memoryGiB: 11, tdpWatts: 250, minWatts: 100, maxWatts: 280, fp16Tflops: 56.9 }",
    "  asics:",
    "    - { key: l7, name: Antminer L7, watts: 3425, hashrateThs: 0.0095 }",
  ];

  it("without --site, unknown models point at the site catalog; an AMD card is refused with the alternatives", async () => {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(path.join(dir, "fleet-own.csv"), fleet);
    const r = await runCli(["import", "--from", "csv", "fleet-own.csv"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      [
        "error: 3 problems in 3 lines of fleet-own.csv; nothing was written.",
        "model not in the hardware catalog: 2 rows",
        "  fix: use a catalog model, or describe it under catalog.gpus or catalog.asics in the site file and import with --site SITE",
        "  fleet-own.csv:2: model 'NVIDIA GeForce RTX 2080 Ti' is neither a GPU nor an ASIC of the hardware catalog (closest: rtx-3080-ti)",
        "  fleet-own.csv:4: model 'Antminer L7' is neither a GPU nor an ASIC of the hardware catalog (closest: l4)",
        "fleet-own.csv:3: 'Radeon RX 6800' is an AMD GPU; the NVIDIA GPU operator and nvidia-smi power limits drive only NVIDIA GPUs",
        "  fix: leave AMD rigs out of the import, or add the machine to the site by hand as role: cpu (its GPUs' draw in baseWatts)",
        "",
      ].join("\n"),
    );
  });

  it("with --site, the models the site adds are recognized (the site's inventory need not exist yet)", async () => {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(path.join(dir, "fleet-own.csv"), fleet.split("\n").filter((l) => !l.includes("RX 6800")).join("\n"));
    writeFileSync(path.join(dir, "own-site.yaml"), siteWith(ownModels));
    const r = await runCli(["import", "--from", "csv", "fleet-own.csv", "--site", "own-site.yaml"], { cwd: dir });
    expect([r.exitCode, r.stderr]).toEqual([0, "imported 2 machines (1 asic, 1 gpu) from fleet-own.csv\n"]);
    expect(parseInventory(r.stdout, "stdout").machines.map((m) => [m.hostname, m.role, m.gpuModel ?? m.asicModel])).toEqual([
      ["rig-1", "gpu", "rtx-2080-ti"],
      ["asic-1", "asic", "l7"],
    ]);
  });

  it("a site catalog with problems is reported at its lines, and nothing is imported", async () => {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(path.join(dir, "bad-site.yaml"), siteWith(["  gpus:", "    - { key: rtx-2080-ti, name: NVIDIA GeForce RTX 2080 Ti, memoryGiB: 11, tdpWatts: 250, minWatts: 300, maxWatts: 280, fp16Tflops: 56.9 }"]));
    const r = await runCli(["import", "--from", "csv", "fleet-own.csv", "--site", "bad-site.yaml"], { cwd: dir });
    expect([r.exitCode, r.stdout]).toEqual([2, ""]);
    expect(r.stderr).toBe(
      [
        "error: the site's catalog has 1 problem; nothing was imported.",
        "bad-site.yaml:6:101: catalog.gpus[0] (rtx-2080-ti): minWatts 300 W is above tdpWatts 250 W (at catalog.gpus[0].minWatts)",
        "  fix: tdpWatts is nvidia-smi's Default Power Limit, minWatts and maxWatts its Min and Max Power Limit (nvidia-smi -q -d POWER): min ≤ TDP ≤ max",
        "",
      ].join("\n"),
    );
  });
});

describe("mine2hpc import TOOL:FILE ... (several exports, one inventory)", () => {
  it("joins Foreman and Hive OS exports in argument order, with each export's notes", async () => {
    const r = await runCli(["import", "foreman:foreman-miners.csv", "hiveos:hiveos-workers.json", "--circuits", "circuits.yaml", "--skip-offline", "--out", "joined.csv"], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("");
    const csv = readFileSync(path.join(dir, "joined.csv"), "utf8");
    expect(csv.split("\n")[0]).toBe("hostname,ip,mac,rack,circuit,role,gpuModel,gpuCount,pcieLink,asicModel,psuEfficiency,baseWatts,sshUser,row,fleetId");
    const inv = parseInventory(csv, "joined.csv");
    expect(inv.problems).toEqual([]);
    expect(inv.machines.map((m) => [m.hostname, m.role, m.fleetId, m.sshUser ?? null, m.row ?? null])).toEqual([
      ["a01-01", "asic", "1001", null, "1"],
      ["a01-02", "asic", "1002", null, "1"],
      ["a02-01", "asic", "1003", null, "1"],
      ["a04-07", "asic", "1004", null, "1"],
      ["b01-01", "asic", "1005", null, "2"],
      ["bay-3-miner-1", "asic", "1006", null, "3"],
      ["rig-3090-01", "gpu", "501", "user", null],
      ["rig-3080-02", "gpu", "502", "user", null],
    ]);
    expect(r.stderr.split("\n").slice(-4).join("\n")).toBe(
      [
        "note: 1 rig is offline in Hive OS (stats.online false) and was left out (--skip-offline):",
        "  hiveos-workers.json:30: rig-3060-03",
        "imported 8 machines (6 asic, 2 gpu) from foreman-miners.csv, hiveos-workers.json to joined.csv",
        "",
      ].join("\n"),
    );
    expect(r.stderr).toContain("warning: hiveos-workers.json: 1 worker reports several IP addresses; the first of ip_addresses was used\n");
  });

  it("reports a hostname, IP and MAC that two exports share, with every file:line, and writes nothing", async () => {
    const r = await runCli(["import", "hiveos:hiveos-workers.json", "foreman:foreman-clash.csv", "--circuits", "circuits.yaml", "--out", "clash-out.csv"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(existsSync(path.join(dir, "clash-out.csv"))).toBe(false);
    expect(r.stderr.slice(r.stderr.indexOf("error:"))).toBe(
      [
        "error: 3 problems in 3 lines of hiveos-workers.json, foreman-clash.csv; nothing was written.",
        "hiveos-workers.json:19: hostname 'rig-3080-02' appears 2 times: hiveos-workers.json:19, foreman-clash.csv:2",
        "  fix: a machine is in one fleet tool only: rename it in one of them, or leave one export out",
        "hiveos-workers.json:30: IP '10.40.1.21' appears 2 times: hiveos-workers.json:30, foreman-clash.csv:4",
        "  fix: each machine needs its own IP: the same address in two exports is one machine listed twice, or an address conflict to fix on the site",
        "hiveos-workers.json:3: MAC '70:85:c2:1a:2b:01' appears 2 times: hiveos-workers.json:3, foreman-clash.csv:3",
        "  fix: a MAC belongs to one NIC: the same MAC in two exports is one machine listed twice; leave it in one fleet tool",
        "",
      ].join("\n"),
    );
  });

  it("keeps the --from form for bare files and refuses a file whose tool is unknown", async () => {
    const both = await runCli(["import", "--from", "foreman", "foreman-miners.csv", "foreman-containers.csv", "--circuits", "circuits.yaml", "--json"], { cwd: dir });
    const out = JSON.parse(both.stdout) as { sources: Array<{ tool: string; file: string; records: number }>; problems: Array<{ file: string; line: number; message: string }> };
    expect(out.sources).toEqual([
      { tool: "foreman", file: "foreman-miners.csv", records: 6 },
      { tool: "foreman", file: "foreman-containers.csv", records: 3 },
    ]);
    // circuits.yaml has no rule for containers C01/C02: every container row is reported, each at its line.
    expect(out.problems.map((p) => `${p.file}:${p.line}`)).toEqual(["foreman-containers.csv:2", "foreman-containers.csv:3", "foreman-containers.csv:4"]);
    const bare = await runCli(["import", "foreman-miners.csv"], { cwd: dir });
    expect(bare.exitCode).toBe(2);
    expect(bare.stderr).toBe("error: which tool made foreman-miners.csv?\n  fix: write it as foreman:foreman-miners.csv, hiveos:foreman-miners.csv, csv:foreman-miners.csv, or pass --from foreman|hiveos|csv.\n");
    const unknown = await runCli(["import", "awesome:foreman-miners.csv"], { cwd: dir });
    expect(unknown.stderr).toBe("error: unknown export format 'awesome' in 'awesome:foreman-miners.csv'.\n  fix: name the tool that made the file: foreman:FILE, hiveos:FILE, csv:FILE.\n");
  });
});

describe("Foreman columns", () => {
  it("reads miner_id/miner_ip/miner_mac-style headers, keeps the miner id, and names racks within their container", async () => {
    const r = await runCli(["import", "foreman:foreman-containers.csv", "--circuits", "circuits-containers.yaml"], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      [
        "hostname,ip,mac,rack,circuit,role,gpuModel,gpuCount,pcieLink,asicModel,psuEfficiency,baseWatts,sshUser,row,fleetId",
        "c01-r1-01,10.30.5.11,02:4d:32:06:00:01,C01-R1,pdu-d1,asic,,,,s21,,,,0,2001",
        "c01-r1-02,10.30.5.12,02:4d:32:06:00:02,C01-R1,pdu-d1,asic,,,,s21,,,,1,2002",
        "c02-r1-01,10.30.6.11,02:4d:32:06:00:03,C02-R1,pdu-d2,asic,,,,s19j-pro,,,,0,2003",
        "",
      ].join("\n"),
    );
    expect(r.stderr.split("\n")[0]).toBe("warning: columns not imported (no inventory field): index, status; map one with --map FIELD=COLUMN if it holds an inventory field");
  });

  it("documents the columns it reads in --help", async () => {
    const r = await runCli(["import", "--help"], { cwd: dir });
    expect(r.stdout).toContain(
      "Foreman columns read (header case, spaces, '_' and '-' ignored): hostname (name/minername/workername/hostname), ip (apiip/minerip/ip/ipaddress), mac (mac/minermac/macaddress), fleetId (id/minerid), asicModel (minertype/model/minermodel), container (container/containername/building/group), rack (rack/rackname), row (row/rowname/rackrow), circuit (circuit).",
    );
  });
});

describe("Hive OS rigs", () => {
  it("reports offline rigs and takes another SSH user when told", async () => {
    const r = await runCli(["import", "hiveos:hiveos-workers.json", "--circuits", "circuits.yaml", "--ssh-user", "miner", "--json"], { cwd: dir });
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as { offline: unknown[]; machines: Array<{ hostname: string; sshUser: string; state?: string }> };
    expect(out.offline).toEqual([{ file: "hiveos-workers.json", line: 30, hostname: "rig-3060-03", skipped: false }]);
    expect(out.machines.map((m) => [m.hostname, m.sshUser, m.state ?? "active"])).toEqual([
      ["rig-3090-01", "miner", "active"],
      ["rig-3080-02", "miner", "active"],
      ["rig-3060-03", "miner", "offline"],
    ]);
    const noRigs = await runCli(["import", "foreman:foreman-miners.csv", "--circuits", "circuits.yaml", "--ssh-user", "miner"], { cwd: dir });
    expect(noRigs.stderr).toBe("error: --ssh-user applies to Hive OS rigs, and no hiveos export is given.\n  fix: drop --ssh-user, or read a CSV column with --map sshUser=COLUMN.\n");
  });
});

describe("errors summarise before they list", () => {
  // 300 miners in racks Z001-Z300 and 41 rules for racks A01-A41: not one row matches.
  const rows = ["id,name,mac,apiIp,minerType,rack,row"];
  for (let k = 1; k <= 300; k++) rows.push(`${k},miner-${k},,10.99.${1 + Math.floor((k - 1) / 250)}.${1 + ((k - 1) % 250)},Antminer S21,Z${String(k).padStart(3, "0")},1`);
  const rules = ["rules:"];
  for (let k = 1; k <= 41; k++) rules.push(`  - { rack: "A${String(k).padStart(2, "0")}", circuit: pdu-${k} }`);
  beforeAll(() => {
    writeFileSync(path.join(dir, "unmatched.csv"), rows.join("\n") + "\n");
    writeFileSync(path.join(dir, "rules-41.yaml"), rules.join("\n") + "\n");
  });

  it("prints one line per kind of problem with its count, its fix and the first 5 rows", async () => {
    const r = await runCli(["import", "foreman:unmatched.csv", "--circuits", "rules-41.yaml"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      [
        "error: 300 problems in 300 lines of unmatched.csv; nothing was written.",
        "no circuit rule matches: 300 rows",
        "  fix: add a rule for it to the circuit rules file (rules checked: rack A01; rack A02; rack A03; rack A04; rack A05; and 36 more)",
        "  unmatched.csv:2: no circuit rule matches this machine (rack Z001, row 1, ip 10.99.1.1)",
        "  unmatched.csv:3: no circuit rule matches this machine (rack Z002, row 1, ip 10.99.1.2)",
        "  unmatched.csv:4: no circuit rule matches this machine (rack Z003, row 1, ip 10.99.1.3)",
        "  unmatched.csv:5: no circuit rule matches this machine (rack Z004, row 1, ip 10.99.1.4)",
        "  unmatched.csv:6: no circuit rule matches this machine (rack Z005, row 1, ip 10.99.1.5)",
        "  ... and 295 more (run with --verbose to list every row)",
        "",
      ].join("\n"),
    );
    expect(r.stderr.split("\n")).toHaveLength(10);
    expect(Buffer.byteLength(r.stderr)).toBe(739);
  });

  it("lists every row with --verbose", async () => {
    const r = await runCli(["import", "foreman:unmatched.csv", "--circuits", "rules-41.yaml", "--verbose"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    const lines = r.stderr.split("\n");
    expect(lines).toHaveLength(1 + 300 * 2 + 1);
    expect(lines[599]).toBe("unmatched.csv:301: no circuit rule matches this machine (rack Z300, row 1, ip 10.99.2.50)");
    expect(lines[600]).toBe("  fix: add a rule for it to the circuit rules file (rules checked: rack A01; rack A02; rack A03; rack A04; rack A05; and 36 more)");
  });
});

describe("output conventions", () => {
  it("-o yaml prints the same result as --json; -o md the machines as a table", async () => {
    const args = ["import", "foreman:foreman-containers.csv", "--circuits", "circuits-containers.yaml"];
    const json = JSON.parse((await runCli([...args, "--json"], { cwd: dir })).stdout) as unknown;
    const yaml = await runCli([...args, "-o", "yaml"], { cwd: dir });
    expect(yaml.exitCode).toBe(0);
    expect(parse(yaml.stdout)).toEqual(json);
    const md = await runCli([...args, "-o", "md"], { cwd: dir });
    expect(md.exitCode).toBe(0);
    expect(md.stdout).toContain("| c01-r1-01 | 10.30.5.11 | C01-R1 | 0 | pdu-d1 | asic | s21 | 2001 | active |");
    expect(md.stdout).toContain("3 of 3 records imported.");
  });

  it("--quiet prints the inventory and errors only", async () => {
    const ok = await runCli(["import", "foreman:foreman-containers.csv", "--circuits", "circuits-containers.yaml", "--quiet"], { cwd: dir });
    expect([ok.exitCode, ok.stderr]).toEqual([0, ""]);
    expect(ok.stdout.split("\n")).toHaveLength(5);
    const bad = await runCli(["import", "foreman:foreman-broken.csv", "--circuits", "circuits.yaml", "--quiet"], { cwd: dir });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe("error: 7 problems in 7 lines of foreman-broken.csv; nothing was written.");
    expect(bad.stderr).not.toContain("note:");
  });

  it("lists every renamed hostname with --verbose", async () => {
    const r = await runCli(["import", "foreman:foreman-miners.csv", "--circuits", "circuits.yaml", "--verbose"], { cwd: dir });
    expect(r.stderr).toContain("  foreman-miners.csv:7: 'Bay 3 / Miner 1' -> 'bay-3-miner-1'\n");
    expect(r.stderr).not.toContain("more (run with --verbose");
  });
});
