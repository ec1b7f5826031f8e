/**
 * The report of real plans (the demo stack and the templates, planned by planFarm): the
 * loads of every phase of three-phase circuits, why power is stranded (exact causes and
 * figures; never "unexplained" for the planner's own output, checked on generated sites),
 * the wiring sheet and its print rules, the footer's provenance (commit, SOURCE_DATE_EPOCH),
 * and that no secret of the site or stack reaches the page.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import reportCommand, { generationTime, siteCommit } from "../src/cli/commands/report.js";
import { CliError } from "../src/cli/command.js";
import { loadAndPlan } from "../src/cli/site-args.js";
import { planFarm } from "../src/plan/index.js";
import type { FarmPlan } from "../src/plan/types.js";
import { SiteError } from "../src/site/problems.js";
import {
  circuitPhases,
  describeCircuit,
  explainStranded,
  renderHtmlReport,
  siteFacts,
  type ReportContext,
  type StrandedCause,
} from "../src/report/index.js";
import { REPORT_CSS } from "../src/report/style.js";
import { arbSite, cpMachine, site, siteInput, TEST_CATALOG } from "./arbitraries.js";
import { sink } from "./helpers/report-sink.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..");
const DEMO = path.join(repoRoot, "stacks/demo/site.yaml");
const HYBRID = path.join(repoRoot, "templates/hybrid-curtailable/site.yaml");
const TEMPLATES = ["gpu-rig-retrofit", "hpc-hall", "hybrid-curtailable", "immersion-container"].map((t) => path.join(repoRoot, "templates", t, "site.yaml"));

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

function planned(siteFile: string): { plan: FarmPlan; ctx: ReportContext } {
  const { loaded, plan } = loadAndPlan({ siteFile, repoRoot });
  return { plan, ctx: { ...siteFacts(loaded.spec), provenance: { stack: "demo", commit: "0123456789abcdef0123456789abcdef01234567", generatedAt: "2023-11-14T22:13:20Z" } } };
}

/** The whole `<g class="circuit-bar">` of one circuit (its phase bars are nested groups). */
function circuitGroup(html: string, id: string): string {
  const start = html.indexOf(`<g class="circuit-bar `, html.indexOf(`data-circuit="${id}" data-load-percent`) - 60);
  const end = html.indexOf(`</g>\n`, start);
  return html.slice(start, end + 4);
}

function kinds(causes: readonly StrandedCause[]): string[] {
  return causes.map((c) => c.kind);
}

describe("phase loads of the demo's three-phase circuits", () => {
  const { plan, ctx } = planned(DEMO);
  const html = renderHtmlReport(plan, ctx);

  it("shows the ASIC PDU's heaviest phase at its own 91.5 % while the circuit is at 76.2 %", () => {
    // 10 × S19j Pro at 3,068 W, one cord each, 4/3/3 over the phases: L1 4 × 3,068 = 12,272 W of
    // 415 V / √3 × 70 A × 0.8 = 13,418 W (91.5 %); amps 12,272 / (415 / √3) = 51.2 A of 56.0 A.
    const asic = plan.circuits.find((c) => c.id === "asic-pdu-01")!;
    const phases = circuitPhases(asic, ctx.ratings!.get("asic-pdu-01"))!;
    expect(phases.heaviest).toBe(0);
    expect(phases.phases.map((p) => [p.name, p.watts, p.percent, p.level, Math.round(p.amps! * 10) / 10])).toEqual([
      ["L1", 12272, 91.5, "warn", 51.2],
      ["L2", 9204, 68.6, "ok", 38.4],
      ["L3", 9204, 68.6, "ok", 38.4],
    ]);
    expect(html).toContain(
      `<tr class="phase-row" data-circuit="asic-pdu-01" data-heaviest-phase="L1"><td>asic-pdu-01</td><td class="n">13,418 W<span class="fig">56.0 A</span></td>` +
        `<td class="n lvl-warn heaviest" data-phase="L1">12,272 W<span class="fig">51.2 A · 91.5 %</span></td>` +
        `<td class="n lvl-ok" data-phase="L2">9,204 W<span class="fig">38.4 A · 68.6 %</span></td>` +
        `<td class="n lvl-ok" data-phase="L3">9,204 W<span class="fig">38.4 A · 68.6 %</span></td>` +
        `<td class="n lvl-warn">L1 91.5 %</td><td class="n lvl-ok">76.2 %</td></tr>`,
    );
  });

  it("draws a bar per phase in the tree, coloured by that phase's load, with the heaviest in figures", () => {
    const g = circuitGroup(html, "asic-pdu-01");
    // The total bar stays green (76.2 %); L1's own bar is amber.
    expect(g).toContain(`<g class="circuit-bar load-ok" data-circuit="asic-pdu-01" data-load-percent="76.2" data-heaviest-phase="L1" data-heaviest-percent="91.5">`);
    // Bars 440 units wide: L1 12,272 / 13,418 → 402.4; L2 and L3 9,204 / 13,418 → 301.8.
    expect(g).toContain(`<g class="phase-bar p-warn heaviest" data-phase="L1" data-percent="91.5">`);
    expect(g).toMatch(/<g class="phase-bar p-warn heaviest" data-phase="L1"[^]*?<rect class="phase-load" x="240" y="[\d.]+" width="402.4" height="7"\/>/);
    expect(g).toMatch(/<g class="phase-bar p-ok" data-phase="L2"[^]*?<rect class="phase-load" x="240" y="[\d.]+" width="301.8" height="7"\/>/);
    expect(g).toContain(`>heaviest L1 12,272 W · 51.2 A · 91.5 %</text>`);
    expect(g).toContain(`<text class="value heaviest lvl-warn"`);
    // The GPU PDU: L1 and L2 filled to 3,830 W of 3,834 W (99.9 %, red), L3 2,723 W.
    const gpu = circuitGroup(html, "gpu-pdu-01");
    expect(gpu).toContain(`data-heaviest-phase="L1" data-heaviest-percent="99.9"`);
    expect(gpu).toContain(`<g class="phase-bar p-over" data-phase="L2" data-percent="99.9">`);
    expect(gpu).toContain(`<g class="phase-bar p-ok" data-phase="L3" data-percent="71.0">`);
    // One bar per phase of every three-phase circuit, none on single-phase circuits.
    const threePhase = plan.circuits.filter((c) => c.phaseWatts !== null).length;
    expect(threePhase).toBe(3);
    expect(count(html, `<g class="phase-bar `)).toBe(3 * threePhase);
    expect(count(html, `<tr class="phase-row" `)).toBe(threePhase);
    expect(circuitGroup(html, "rig-a")).not.toContain("phase-bar");
  });

  it("colours every ASIC PDU of the hybrid template by its heaviest phase", () => {
    const h = planned(HYBRID);
    const out = renderHtmlReport(h.plan, h.ctx);
    // asic-pdu-21..30: 8 × S21 at 3,500 W on 60 A, 3/3/2 cords: 10,500 W of 11,501 W per phase.
    expect(out).toContain(`<td class="n lvl-warn heaviest" data-phase="L1">10,500 W<span class="fig">43.8 A · 91.3 %</span></td>`);
    expect(count(out, `data-heaviest-phase="L1" data-heaviest-percent="91.5"`)).toBe(20);
    expect(count(out, `data-heaviest-phase="L1" data-heaviest-percent="91.3"`)).toBe(10);
    expect(count(out, `<g class="phase-bar p-warn heaviest"`)).toBe(30);
  });
});

describe("why power is stranded", () => {
  it("names the binding phases of the demo's GPU PDU and the fixed load of its ASIC PDUs, with figures", () => {
    const { plan, ctx } = planned(DEMO);
    const why = explainStranded(plan);
    expect(why.circuits.map((c) => [c.circuit, c.strandedWatts, kinds(c.causes)])).toEqual([
      ["pdu-ctl", 3568, ["fixed-load"]],
      ["gpu-pdu-01", 1118, ["phase-binds", "phase-binds"]],
      ["asic-pdu-01", 9573, ["fixed-load"]],
      ["asic-pdu-02", 9573, ["fixed-load"]],
    ]);
    const gpu = why.circuits[1]!;
    expect(gpu.phaseRoomWatts).toEqual([4, 4, 1111]);
    // Each L40S server: 8 GPUs / 0.94 = 8.5 W at the wall per watt of cap, half of it per cord's phase.
    expect(gpu.causes[0]).toMatchObject({ phase: "L1", loadWatts: 3830, budgetWatts: 3834 });
    expect(gpu.causes[1]).toMatchObject({ phase: "L2", loadWatts: 3830, budgetWatts: 3834 });
    const html = renderHtmlReport(plan, ctx);
    expect(html).toContain(
      `<td class="why">phases L1 and L2 bind: 3,830 W and 3,830 W of 3,834 W each, no room for the next watt of GPU cap of the 4 nodes with a cord on them ` +
        `(gpu-r01-1, gpu-r01-2, gpu-r01-3 and 1 more); 1,111 W on L3 unused: every GPU node that could use it also loads L1 or L2</td>`,
    );
    expect(html).toContain(`<td class="why">only fixed load, nothing on it is capped: 10 ASIC miners at 30,680 W</td>`);
    // Feed: 100 kW − 92,007 W × 1.08 = 632 W beyond its circuits; (1,118 + 2 × 9,573) × 1.08 = 21,885 W on them.
    expect(why.feeds.map((f) => [f.feed, f.strandedWatts, Math.round(f.beyondCircuitsWatts), Math.round(f.onCircuitsWatts), f.full])).toEqual([
      ["grid-firm", 7265, 3411, 3853, false],
      ["ercot-flex", 22518, 632, 21885, false],
    ]);
    expect(html).toContain(
      `<td class="why">0.6 kW more than its circuits can carry (92,007 W usable × PUE 1.08 = 99.4 kW of 100.0 kW); its circuits leave 20.3 kW of IT load (21.9 kW facility) unused: ` +
        `1 circuit where a phase binds (gpu-pdu-01), 2 circuits with only fixed load (asic-pdu-01, asic-pdu-02)</td>`,
    );
    // Full circuits (rig-a, rig-b: 0 W left) have nothing to explain.
    expect(html).toContain(`<td class="n">0 W</td><td class="n">3</td><td class="why">nothing unused</td>`);
  });

  /** One feed, one circuit, one riser rig of 6 × test RTX 3090 (100–350 W, 150 W base, PSU 0.9). */
  function rigSite(feedKw: number, circuit: { volts: number; amps: number; phases: 1 | 3 }, gpuModel = "rtx-3090"): FarmPlan {
    return planFarm(
      site(
        siteInput({
          power: { pue: 1.0, feeds: [{ name: "f", tier: "firm", capacityKw: feedKw }], circuits: [{ id: "c", feed: "f", derating: 0.8, ...circuit }, { id: "ctl", feed: "f", volts: 240, amps: 20, phases: 1 }] },
          machines: [
            cpMachine({ circuit: "ctl" }),
            { hostname: "rig-1", ip: "10.0.0.11", rack: "r1", circuit: "c", role: "gpu", gpuModel, gpuCount: 6, pcieLink: "x1", psuEfficiency: 0.9 },
          ],
        }),
      ),
      { catalog: TEST_CATALOG },
    );
  }

  it("says every GPU is at its max power limit when nothing else holds them", () => {
    const plan = rigSite(100, { volts: 240, amps: 100, phases: 1 });
    const c = explainStranded(plan, { findGpu: TEST_CATALOG.findGpu }).circuits.find((x) => x.circuit === "c")!;
    expect(plan.nodes.find((n) => n.hostname === "rig-1")!.gpu!.capWatts).toBe(350);
    expect(c.causes).toEqual([{ kind: "gpus-at-max", hostnames: ["rig-1"], gpus: 6 }]);
    expect(describeCircuit(c, 1)).toBe("every GPU at its max power limit (6 GPUs on 1 node)");
  });

  it("says the feed is full when the feed, not the circuit, stops the caps", () => {
    // Feed 2 kW: with the control plane's draw the rig stops far below its circuit's 19,200 W.
    const plan = rigSite(2, { volts: 240, amps: 100, phases: 1 });
    const why = explainStranded(plan, { findGpu: TEST_CATALOG.findGpu });
    const c = why.circuits.find((x) => x.circuit === "c")!;
    expect(kinds(c.causes)).toEqual(["feed-full"]);
    const cause = c.causes[0] as Extract<StrandedCause, { kind: "feed-full" }>;
    // One more watt of cap: 6 GPUs / 0.9 = 6.7 W at the wall; the feed has less than that (+1 W rounding).
    expect(cause.nodes).toEqual([{ hostname: "rig-1", stepWatts: 6 / 0.9 }]);
    expect(cause.itRoomWatts).toBeLessThan(6 / 0.9 + 1);
    expect(why.feeds[0]!.full).toBe(true);
    // 2,000 W − control plane 326 W − rig (150 + 6 × 226) / 0.9 = 1,673 W: 1 W left.
    expect(plan.nodes.find((n) => n.hostname === "rig-1")!.gpu!.capWatts).toBe(226);
    expect(plan.feeds[0]!.strandedWatts).toBe(1);
    expect(describeCircuit(c, 1)).toBe("feed f is full: 1 W of IT load left, less than the next watt of GPU cap needs (6.7 W at the wall) on 1 node (rig-1)");
  });

  it("says the circuit is full when its own budget stops the caps", () => {
    // 120 V × 16 A × 0.8 = 1,536 W: (1,536 × 0.9 − 150) / 6 = 205.4 → cap 205 W, draw
    // (150 + 6 × 205) / 0.9 = 1,533 W, 3 W left: less than one more watt of cap (6.7 W).
    const plan = rigSite(100, { volts: 120, amps: 16, phases: 1 });
    expect(plan.nodes.find((n) => n.hostname === "rig-1")!.gpu!.capWatts).toBe(205);
    const c = explainStranded(plan, { findGpu: TEST_CATALOG.findGpu }).circuits.find((x) => x.circuit === "c")!;
    expect(c.strandedWatts).toBe(3);
    expect(c.causes).toEqual([{ kind: "circuit-full", roomWatts: 3, nodes: [{ hostname: "rig-1", stepWatts: 6 / 0.9 }] }]);
    expect(describeCircuit(c, 1)).toBe("the circuit is full: 3 W left, less than the next watt of GPU cap needs (6.7 W at the wall)");
  });

  it("says more watts buy nothing where the catalog's curve is flat", () => {
    // Test RTX 3060: the curve is flat from 170 W to its 200 W max; the planner stops at 170 W.
    const plan = rigSite(100, { volts: 240, amps: 100, phases: 1 }, "rtx-3060");
    expect(plan.nodes.find((n) => n.hostname === "rig-1")!.gpu!.capWatts).toBe(170);
    const c = explainStranded(plan, { findGpu: TEST_CATALOG.findGpu }).circuits.find((x) => x.circuit === "c")!;
    expect(c.causes).toEqual([{ kind: "no-gain", hostnames: ["rig-1"] }]);
  });

  it("reads the curve up to a machine's own max (gpuMaxWatts), as the planner does", () => {
    // 8 × built-in RTX 4090 on boards that accept 600 W, 240 V × 24 A × 0.8 = 4,608 W:
    // (4,608 × 0.9 − 120 W rig base) / 8 = 503.4 → cap 503 W, draw 4,604 W, 4 W left. The model's
    // own curve ends at 450 W (flat past it); the machine's curve, continued to 600 W, still gains.
    const plan = planFarm(
      site(
        siteInput({
          power: { pue: 1.0, feeds: [{ name: "f", tier: "firm", capacityKw: 100 }], circuits: [{ id: "c", feed: "f", derating: 0.8, volts: 240, amps: 24, phases: 1 }, { id: "ctl", feed: "f", volts: 240, amps: 20, phases: 1 }] },
          machines: [
            cpMachine({ circuit: "ctl" }),
            { hostname: "rig-1", ip: "10.0.0.11", rack: "r1", circuit: "c", role: "gpu", gpuModel: "rtx-4090", gpuCount: 8, pcieLink: "x1", psuEfficiency: 0.9, gpuMaxWatts: 600 },
          ],
        }),
      ),
    );
    expect(plan.nodes.find((n) => n.hostname === "rig-1")!.gpu).toMatchObject({ capWatts: 503, maxWatts: 600, maxFromMachine: true });
    const c = explainStranded(plan).circuits.find((x) => x.circuit === "c")!;
    expect([c.strandedWatts, plan.circuits.find((x) => x.id === "c")!.loadPercent]).toEqual([4, 99.9]);
    expect(c.causes).toEqual([{ kind: "circuit-full", roomWatts: 4, nodes: [{ hostname: "rig-1", stepWatts: 8 / 0.9 }] }]);
    expect(describeCircuit(c, 1)).toBe("the circuit is full: 4 W left, less than the next watt of GPU cap needs (8.9 W at the wall)");
  });

  it("says so when a plan's figures explain nothing (a plan not made by the planner)", () => {
    const plan = rigSite(100, { volts: 240, amps: 100, phases: 1 });
    plan.nodes.find((n) => n.hostname === "rig-1")!.gpu!.capWatts = 300;
    const c = explainStranded(plan, { findGpu: TEST_CATALOG.findGpu }).circuits.find((x) => x.circuit === "c")!;
    expect(kinds(c.causes)).toEqual(["unexplained"]);
  });

  it("explains every stranded circuit of the demo and the templates without an unexplained cause", () => {
    for (const file of [DEMO, ...TEMPLATES]) {
      const { plan } = planned(file);
      const why = explainStranded(plan);
      expect(why.circuits.map((c) => c.circuit), file).toEqual(plan.circuits.filter((c) => c.strandedWatts > 0).map((c) => c.id));
      for (const c of why.circuits) {
        expect(c.causes.length, `${file} ${c.circuit}`).toBeGreaterThan(0);
        expect(kinds(c.causes), `${file} ${c.circuit}`).not.toContain("unexplained");
      }
    }
  });

  it("never needs 'unexplained' for the planner's own output on generated sites", () => {
    let planned = 0;
    fc.assert(
      fc.property(arbSite(), (s) => {
        let plan: FarmPlan;
        try {
          plan = planFarm(s, { catalog: TEST_CATALOG });
        } catch (err) {
          if (err instanceof SiteError) return; // infeasible at minimum caps: nothing to explain
          throw err;
        }
        planned++;
        const why = explainStranded(plan, { findGpu: TEST_CATALOG.findGpu });
        for (const c of why.circuits) {
          expect(c.causes.length).toBeGreaterThan(0);
          expect(kinds(c.causes)).not.toContain("unexplained");
        }
      }),
      { numRuns: 200, seed: 20261127 },
    );
    expect(planned).toBeGreaterThan(50);
  });
});

describe("wiring sheet", () => {
  const { plan, ctx } = planned(DEMO);
  const html = renderHtmlReport(plan, ctx);

  it("lists every machine once under its circuit, with cords, the phase of each cord, cap and draw", () => {
    expect(count(html, `<tr class="wiring-row" `)).toBe(plan.nodes.length + plan.asics.length);
    expect(count(html, `<div class="wiring-circuit" `)).toBe(plan.circuits.length);
    expect(count(html, `<div class="wiring-feed" `)).toBe(plan.feeds.length);
    expect(html).toContain(
      `<tr class="wiring-row" data-host="gpu-r01-2"><td><code>gpu-r01-2</code></td><td>GPU 8 × l40s</td><td>gpu-r01</td><td class="n">2</td>` +
        `<td><span class="cord">1 → L3</span> <span class="cord">2 → L1</span></td><td class="n">245 W × 8</td><td class="n">2,723 W</td><td>active</td><td class="check"></td></tr>`,
    );
    expect(html).toContain(
      `<tr class="wiring-row" data-host="asic-c01-01"><td><code>asic-c01-01</code></td><td>ASIC s19j-pro</td><td>container-01</td><td class="n">1</td>` +
        `<td><span class="cord">1 → L1</span></td><td class="n">fixed</td><td class="n">3,068 W</td><td>active</td><td class="check"></td></tr>`,
    );
    // A control plane on a single-phase circuit: 2 cords (a server's default), no phase to choose.
    expect(html).toContain(`<tr class="wiring-row" data-host="cp-1"><td><code>cp-1</code></td><td>control plane</td><td>ops</td><td class="n">2</td><td>single-phase</td><td class="n">—</td><td class="n">272 W</td>`);
    expect(html).toContain(
      `<h4><span class="cid">asic-pdu-01</span> <span class="sub">415 V × 70 A × √3 × 0.8 = 40,253 W usable; per phase 415 V / √3 × 70 A × 0.8 = 13,418 W (56.0 A)</span></h4>`,
    );
    expect(html).toContain(
      `<tfoot><tr><td colspan="9">Per phase: <span class="lvl-over heaviest" data-phase="L1">L1 3,830 W · 16.0 A · 99.9 %</span> · ` +
        `<span class="lvl-over" data-phase="L2">L2 3,830 W · 16.0 A · 99.9 %</span> · <span class="lvl-ok" data-phase="L3">L3 2,723 W · 11.4 A · 71.0 %</span></td></tr></tfoot>`,
    );
    expect(html).toContain(`<tfoot><tr><td colspan="9">Circuit: <span class="lvl-over">5,760 W of 5,760 W · 24.0 A of 24.0 A · 100.0 %</span></td></tr></tfoot>`);
  });

  it("sorts machines by hostname whatever order the plan lists them in", () => {
    const hosts = [...html.matchAll(/<tr class="wiring-row" data-host="([^"]+)"/g)].map((m) => m[1]!);
    // Feeds in site order, circuits in site order, hostnames sorted within a circuit.
    expect(hosts.slice(0, 7)).toEqual(["cp-1", "rig-s01-1", "rig-s01-2", "rig-s01-3", "rig-s02-1", "rig-s02-2", "rig-s02-3"]);
    const shuffled = structuredClone(plan);
    for (const c of shuffled.circuits) c.machines.reverse();
    shuffled.nodes.reverse();
    shuffled.asics.reverse();
    const again = renderHtmlReport(shuffled, ctx);
    const section = (h: string) => h.slice(h.indexOf(`<section id="wiring">`), h.indexOf(`</section>`, h.indexOf(`<section id="wiring">`)));
    expect(section(again)).toBe(section(html));
  });

  it("prints each feed on its own pages and keeps a circuit's block together", () => {
    expect(REPORT_CSS).toContain("@media print {");
    const print = REPORT_CSS.slice(REPORT_CSS.indexOf("@media print {"));
    expect(print).toContain("section#wiring { break-before: page; }");
    expect(print).toContain(".wiring-feed + .wiring-feed { break-before: page; }");
    expect(print).toContain(".wiring-circuit { break-inside: avoid; }");
    expect(print).toContain("print-color-adjust: exact;");
  });
});

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 }).trim();
}

describe("footer: site, stack, commit and time", () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "mine2hpc-report-site-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  afterEach(() => vi.unstubAllEnvs());

  it("renders the provenance it is given, and says what it was not given", () => {
    const { plan, ctx } = planned(DEMO);
    expect(renderHtmlReport(plan, ctx)).toContain(
      `<dl class="provenance"><div><dt>Site</dt><dd data-fact="site">demo</dd></div><div><dt>Stack</dt><dd data-fact="stack">demo</dd></div>` +
        `<div><dt>Commit</dt><dd data-fact="commit">0123456789abcdef0123456789abcdef01234567</dd></div><div><dt>Generated</dt><dd data-fact="generated">2023-11-14T22:13:20Z</dd></div></dl>`,
    );
    expect(renderHtmlReport(plan)).toContain(`<dd data-fact="stack">not given</dd></div><div><dt>Commit</dt><dd data-fact="commit">not given</dd>`);
    expect(renderHtmlReport(plan, { provenance: { stack: null, commit: "not a git repository", generatedAt: "x" } })).toContain(
      `<dd data-fact="stack">none (site file)</dd></div><div><dt>Commit</dt><dd data-fact="commit">not a git repository</dd>`,
    );
  });

  it("takes the time from SOURCE_DATE_EPOCH and refuses a malformed one without echoing it", () => {
    expect(generationTime({ SOURCE_DATE_EPOCH: "1700000000" })).toBe("2023-11-14T22:13:20Z");
    expect(generationTime({ SOURCE_DATE_EPOCH: "0" })).toBe("1970-01-01T00:00:00Z");
    expect(generationTime({}, () => new Date(Date.UTC(2026, 10, 27, 5, 6, 7, 890)))).toBe("2026-11-27T05:06:07Z");
    for (const bad of ["1.5", "-17", "17e8", " 1700000000", "secret-token"]) {
      const err = (() => {
        try {
          generationTime({ SOURCE_DATE_EPOCH: bad });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, bad).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(2);
      expect((err as CliError).message).toContain("SOURCE_DATE_EPOCH is set but is not a time");
      expect((err as CliError).message).not.toContain(bad.trim());
      expect((err as CliError).message).toContain(`fix: export SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)"`);
    }
  });

  it("names the site repository's commit, marks modified site files, and says when there is no repository", () => {
    const noRepo = path.join(tmp, "plain");
    mkdirSync(noRepo);
    writeFileSync(path.join(noRepo, "site.yaml"), "x: 1\n");
    // GIT_CEILING_DIRECTORIES stops git from finding a repository above the temporary folder.
    vi.stubEnv("GIT_CEILING_DIRECTORIES", tmp);
    expect(siteCommit(path.join(noRepo, "site.yaml"))).toBe("not a git repository");

    const repo = path.join(tmp, "repo");
    mkdirSync(repo);
    git(repo, "init", "-q");
    writeFileSync(path.join(repo, "site.yaml"), "x: 1\n");
    writeFileSync(path.join(repo, "other.txt"), "a\n");
    expect(siteCommit(path.join(repo, "site.yaml"))).toBe("no commit yet");
    git(repo, "add", "-A");
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "site");
    const head = git(repo, "rev-parse", "HEAD");
    expect(head).toMatch(/^[0-9a-f]{40}$/);
    expect(siteCommit(path.join(repo, "site.yaml"))).toBe(head);
    // Other files of the repository do not count; the site file does.
    writeFileSync(path.join(repo, "other.txt"), "b\n");
    expect(siteCommit(path.join(repo, "site.yaml"))).toBe(head);
    writeFileSync(path.join(repo, "site.yaml"), "x: 2\n");
    expect(siteCommit(path.join(repo, "site.yaml"))).toBe(`${head} (modified)`);
  });
});

describe("no secrets in the report", () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "mine2hpc-report-secrets-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  afterEach(() => vi.unstubAllEnvs());

  it("leaves out the stack's secure values, the webhook URL and its token, and the environment", async () => {
    // A site repository of its own: the demo site with a fleet-tool webhook carrying a token
    // in its query, and a stack whose secrets are Pulumi secure values.
    const dir = path.join(tmp, "site-repo");
    mkdirSync(path.join(dir, "stacks", "s"), { recursive: true });
    writeFileSync(path.join(dir, "Pulumi.yaml"), "name: my-site\nruntime: nodejs\n");
    const siteText = readFileSync(DEMO, "utf8").replace(
      "        responseTimeSeconds: 600",
      "        asicWebhookUrl: https://fleet.example.com/curtail?token=WEBHOOK-s3cr3t-T0KEN\n        responseTimeSeconds: 600",
    );
    expect(siteText).toContain("WEBHOOK-s3cr3t-T0KEN");
    writeFileSync(path.join(dir, "stacks", "s", "site.yaml"), siteText);
    copyFileSync(path.join(repoRoot, "stacks/demo/inventory.csv"), path.join(dir, "stacks", "s", "inventory.csv"));
    writeFileSync(
      path.join(dir, "stacks", "Pulumi.s.yaml"),
      [
        "config:",
        "  mine2hpc:site: stacks/s/site.yaml",
        "  mine2hpc:k3sToken:",
        "    secure: v1:K3S-CIPHERTEXT-0a1b2c3d",
        "  mine2hpc:sshPrivateKey:",
        "    secure: v1:SSH-CIPHERTEXT-4e5f6a7b",
        "",
      ].join("\n"),
    );
    vi.stubEnv("SOURCE_DATE_EPOCH", "1700000000");
    vi.stubEnv("MINE2HPC_TEST_TOKEN", "ENV-s3cr3t-value");
    const stdout = sink();
    const file = path.join(tmp, "out", "report.html");
    const code = await reportCommand.run({ values: { stack: "s", html: file }, positionals: [], cwd: dir, stdout, stderr: sink() });
    expect(code).toBe(0);
    const html = readFileSync(file, "utf8");
    // The report is real (the site planned, its webhook in the plan) …
    expect(html).toContain(`<h1>demo</h1>`);
    const { plan } = loadAndPlan({ siteFile: path.join(dir, "stacks", "s", "site.yaml"), repoRoot: dir });
    expect(plan.curtailment[0]!.asicWebhook).toBe("https://fleet.example.com/curtail?token=WEBHOOK-s3cr3t-T0KEN");
    // … and holds none of the secrets.
    for (const secret of ["WEBHOOK-s3cr3t-T0KEN", "fleet.example.com", "K3S-CIPHERTEXT", "SSH-CIPHERTEXT", "secure:", "ENV-s3cr3t-value", "BEGIN OPENSSH"]) {
      expect(html, secret).not.toContain(secret);
    }
    expect(html).toContain(`<dd data-fact="stack">s</dd>`);
  });
});
