/**
 * The HTML report: golden file for the sample plan (UPDATE_GOLDEN=1 rewrites it; review
 * the diff like code), exact figures and geometry, escaping of every plan string,
 * self-containment, large sites, and the `report` command.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import reportCommand, { siteCommit } from "../src/cli/commands/report.js";
import { CliError, type CommandContext } from "../src/cli/command.js";
import { loadAndPlan } from "../src/cli/site-args.js";
import type { CircuitLoad, FarmPlan, FeedLoad } from "../src/plan/types.js";
import { escapeHtml, loadLevel, niceStep, renderHtmlReport, siteFacts, timelineAxis, FEED_OPEN_CIRCUIT_LIMIT } from "../src/report/index.js";
import { int, kw, truncate } from "../src/report/format.js";
import { samplePlan } from "./helpers/sample-plan.js";
import { expectGolden } from "./helpers/golden.js";
import { sink } from "./helpers/report-sink.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..");
const goldenFile = path.join(here, "golden", "report", "sample-plan.html");

/** How often `needle` occurs in `haystack` (non-overlapping). */
function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** The `<g class="circuit-bar ...">` element of one circuit, up to its closing tag. */
function circuitGroup(html: string, id: string): string {
  const start = html.indexOf(`data-circuit="${escapeHtml(id)}" data-load-percent`);
  expect(start).toBeGreaterThan(-1);
  const open = html.lastIndexOf("<g ", start);
  return html.slice(open, html.indexOf("</g>", start) + 4);
}

describe("golden file", () => {
  it("renders the sample plan byte for byte as reviewed", () => {
    const html = renderHtmlReport(samplePlan());
    expectGolden("report/sample-plan.html", html);
  });
});

describe("formatting", () => {
  it("formats watts, kW and integers without depending on ICU", () => {
    expect(int(5760)).toBe("5,760");
    expect(int(-1234567.4)).toBe("-1,234,567");
    expect(int(0)).toBe("0");
    expect(kw(24512)).toBe("24.5");
    expect(kw(1_234_567)).toBe("1,234.6");
    expect(kw(-450)).toBe("-0.5");
    expect(kw(0)).toBe("0.0");
  });

  it("colours loads green below 80 %, amber from 80 % to 95 %, red above 95 %", () => {
    expect(loadLevel(0)).toBe("ok");
    expect(loadLevel(79.9)).toBe("ok");
    expect(loadLevel(80)).toBe("warn");
    expect(loadLevel(95)).toBe("warn");
    expect(loadLevel(95.1)).toBe("over");
    expect(loadLevel(140)).toBe("over");
  });

  it("escapes the five HTML-significant characters", () => {
    expect(escapeHtml(`<a href="x">Tom's & Jerry's</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;Tom&#39;s &amp; Jerry&#39;s&lt;/a&gt;");
  });

  it("truncates by code point, never inside a surrogate pair", () => {
    expect(truncate("short", 10)).toBe("short");
    expect(truncate("abcdefghij", 5)).toBe("abcd…");
    expect(truncate("⚡⚡⚡😀😀😀", 5)).toBe("⚡⚡⚡😀…");
  });

  it("picks round axis steps", () => {
    expect(niceStep(600)).toBe(100);
    expect(niceStep(630)).toBe(200);
    expect(niceStep(45)).toBe(10);
    expect(niceStep(0)).toBe(1);
    expect(timelineAxis({ stages: [], responseTimeSeconds: null })).toEqual({ maxSeconds: 1, stepSeconds: 1 });
  });
});

describe("the sample plan's report", () => {
  const plan = samplePlan();
  const html = renderHtmlReport(plan);

  it("is a document with a language, a title and one accessible drawing per feed and curtailed feed", () => {
    expect(html.startsWith("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")).toBe(true);
    expect(html).toContain("<title>permian-hall-1 — mine2hpc site plan</title>");
    expect(html).toContain("<h1>permian-hall-1</h1>");
    // 2 feed trees + 1 curtailment timeline, each labelled by its own <title>.
    expect(count(html, `role="img"`)).toBe(3);
    expect(count(html, `<svg class="tree" role="img" aria-labelledby="tree-`)).toBe(2);
    expect(count(html, `<svg class="timeline" role="img" aria-labelledby="timeline-0-title"`)).toBe(1);
    expect(html).toContain(`<title id="tree-0-title">Feed grid-firm (firm): facility load 9.4 kW of 60.0 kW (15.6 %), 2 circuits</title>`);
    expect(html).toContain(`<title id="timeline-0-title">Curtailment of feed grid-flex (curtailable): 3 stages, required response time 600 s</title>`);
  });

  it("shows the site's facts and totals", () => {
    expect(html).toContain("<div><dt>Grid region</dt><dd>ERCOT</dd></div>");
    expect(html).toContain("<div><dt>Timezone</dt><dd>America/Chicago</dd></div>");
    expect(html).toContain("<div><dt>PUE</dt><dd>1.15</dd></div>");
    expect(html).toContain(`<div class="total"><span class="num">6</span><span class="what">machines</span></div>`);
    expect(html).toContain(`<div class="total"><span class="num">20</span><span class="what">GPUs</span></div>`);
    expect(html).toContain(`<div class="total"><span class="num">8,683</span><span class="what">TFLOPS (dense FP16)</span></div>`);
  });

  it("draws one bar per circuit with its watts, percentage and colour", () => {
    expect(count(html, `<g class="circuit-bar `)).toBe(plan.circuits.length);
    expect(count(html, `<g class="feed-bar `)).toBe(plan.feeds.length);
    const b1 = circuitGroup(html, "pdu-b1");
    // 2 rigs × 1,793 W + 2 ASICs × 3,500 W on 415 V × 63 A × √3 × 0.8.
    expect(b1).toContain(`<g class="circuit-bar load-ok" data-circuit="pdu-b1" data-load-percent="29.2">`);
    expect(b1).toContain(">10,586 W of 36,228 W · 29.2 %</text>");
    // Bar 440 units wide: load 10,586/36,228 → 128.6, of which ASIC 7,000/36,228 → 85.0, marked under its tail.
    expect(b1).toContain(`<rect class="load" x="240" y="46" width="128.6" height="14"/>`);
    expect(b1).toContain(`<rect class="asic" x="283.6" y="56" width="85" height="4"/>`);
    expect(b1).toContain("<title>Circuit pdu-b1 (feed grid-flex): 10,586 W of 36,228 W usable (29.2 %), ASIC miners 7,000 W, stranded 25,642 W, 4 machines</title>");
    expect(circuitGroup(html, "pdu-ctl")).not.toContain(`class="asic"`);
  });

  it("colours a circuit by its load and clamps an overloaded bar to the track", () => {
    const p = samplePlan();
    const [ctl, b1, h1] = p.circuits as [CircuitLoad, CircuitLoad, CircuitLoad];
    Object.assign(ctl, { loadWatts: 2829, loadPercent: 85, asicWatts: 0 });
    Object.assign(b1, { loadWatts: 36226 * 1.2, loadPercent: 120, asicWatts: 0, strandedWatts: -7245 });
    Object.assign(h1, { loadPercent: 95 });
    const out = renderHtmlReport(p);
    expect(circuitGroup(out, "pdu-ctl")).toContain(`class="circuit-bar load-warn"`);
    expect(circuitGroup(out, "pdu-b1")).toContain(`class="circuit-bar load-over"`);
    expect(circuitGroup(out, "pdu-b1")).toContain(`<rect class="load" x="240" y="46" width="440" height="14"/>`);
    expect(circuitGroup(out, "pdu-h1")).toContain(`class="circuit-bar load-warn"`);
    // No phase figures in the hand-built plan: the heaviest-phase column says so.
    expect(out).toContain(`<td class="n lvl-over">120.0 %</td><td class="n">—</td><td class="n neg">-7,245 W</td>`);
  });

  it("lists one row per pool with GPU count, cap range, tier and throughput", () => {
    expect(count(html, `<tr class="pool-row"`)).toBe(plan.pools.length);
    expect(html).toContain(
      `<tr class="pool-row" data-pool="rtx-3090-x1-riser-curtailable"><td><code>rtx-3090-x1-riser-curtailable</code></td>` +
        `<td><span class="tier tier-curtailable">curtailable</span></td><td>rtx-3090 <span class="targets">x1-riser</span></td>` +
        `<td>inference, time-sliced ×4</td><td class="n">2</td><td class="n">12</td><td class="n">250 W</td><td class="n">768</td>` +
        `<td><span class="nw">grid-flex</span></td><td><code>curtailable-gpus</code></td></tr>`,
    );
    const p = samplePlan();
    p.pools[0]!.capWatts = { min: 450, max: 700 };
    expect(renderHtmlReport(p)).toContain(`<td class="n">450–700 W</td>`);
  });

  it("shows stranded power per feed and per circuit", () => {
    expect(count(html, `<tr class="feed-row"`)).toBe(2);
    expect(count(html, `<tr class="circuit-row"`)).toBe(3);
    expect(html).toContain(
      `<tr class="feed-row" data-feed="grid-flex"><td>grid-flex</td><td><span class="tier tier-curtailable">curtailable</span></td>` +
        `<td class="n">40.0 kW</td><td class="n">10.6 kW</td><td class="n">12.2 kW</td><td class="n lvl-ok">30.4 %</td><td class="n">27.8 kW</td>` +
        // The hand-built rigs sit at 250 W of 350 W with room on every limit: no planner would
        // leave them there, and the report says so instead of inventing a reason.
        // 36,228 W usable × 1.15 = 41.7 kW > 40 kW: the circuit could take more than the feed has left.
        `<td class="why">no circuit can draw more: 1 circuit not explained by the plan&#39;s figures (pdu-b1); together they leave 25.6 kW of IT load (29.5 kW facility) unused, ` +
        `more than the feed has left, since they are rated above it</td></tr>`,
    );
    expect(html).toContain(`<tr class="circuit-row" data-circuit="pdu-h1"><td>pdu-h1</td><td class="n">36,228 W</td><td class="n">7,872 W</td>`);
    expect(html).toContain(`Site total: <strong>${kw(plan.totals.strandedWatts)} kW</strong>`);
  });

  it("puts every curtailment stage on the timeline at its time, with the kW it sheds and the response-time marker", () => {
    const stages = plan.curtailment.flatMap((c) => c.stages);
    expect(count(html, `<g class="stage-bar `)).toBe(stages.length);
    expect(count(html, `<tr class="stage-row">`)).toBe(stages.length);
    // Axis 0–700 s over 560 units from x = 300: stage 1 runs 0–30 s, stage 3 runs 120–420 s.
    expect(html).toContain(`<g class="stage-bar on-time" data-stage="1" data-action="asics-off" data-shed-watts="8050">`);
    expect(html).toContain(`<rect class="stage" x="300" y="33" width="24" height="16" rx="2"/>`);
    expect(html).toContain(`<rect class="stage" x="396" y="93" width="240" height="16" rx="2"/>`);
    expect(html).toContain(`>−8.1 kW</text>`);
    expect(html).toContain(`<g class="response-marker" data-seconds="600">\n<path d="M780 16V120"/>`);
    expect(count(html, `<text class="tick" `)).toBe(8);
    expect(html).toContain(`<strong>4cp-afternoon</strong> <code>0 15 * 6-9 1-5</code> for 120 min`);
  });

  it("marks a stage that ends after the required response time as late, and draws no marker without one", () => {
    const p = samplePlan();
    const c = p.curtailment[0]!;
    c.responseTimeSeconds = 100;
    c.stages[1]!.meetsResponseTime = false;
    c.stages[2]!.meetsResponseTime = false;
    const late = renderHtmlReport(p);
    expect(count(late, `<g class="stage-bar late"`)).toBe(2);
    expect(count(late, `<span class="late-text">late</span>`)).toBe(2);
    c.responseTimeSeconds = null;
    const none = renderHtmlReport(p);
    expect(none).not.toContain(`<g class="response-marker"`);
    expect(count(none, `<g class="stage-bar on-time"`)).toBe(3);
    expect(none).toContain("no required response time");
  });

  it("lists the warnings", () => {
    expect(count(html, `<li class="warning">`)).toBe(plan.warnings.length);
    expect(html).toContain(`<a href="#warnings">Warnings (1)</a>`);
  });

  it("is deterministic and leaves the plan untouched", () => {
    const p = samplePlan();
    const before = JSON.stringify(p);
    expect(renderHtmlReport(p)).toBe(renderHtmlReport(p));
    expect(JSON.stringify(p)).toBe(before);
  });

  it("is self-contained: no scripts, no network, no external resources", () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/\bsrc=/i);
    expect(html).not.toMatch(/url\(|@import/i);
    // The only <link> is an empty data: icon, which stops the browser from fetching /favicon.ico.
    expect(html.match(/<link[^>]*>/g)).toEqual([`<link rel="icon" href="data:,">`]);
  });
});

describe("escaping", () => {
  it("escapes every string that comes from the plan", () => {
    const p = samplePlan();
    p.site.name = `<script>alert("pwned")</script>`;
    p.site.timezone = `Europe/<b>`;
    p.circuits[1]!.id = `pdu'"><svg onload=alert(1)>&&&&`;
    p.pools[0]!.name = `<img src=x onerror=alert(1)>`;
    p.feeds[1]!.name = `flex</title><script>x()</script>`;
    p.curtailment[0]!.stages[0]!.targets = [`</td><script>y()</script>`];
    p.curtailment[0]!.windows[0]!.schedule = `0 15 * * 1-5 <i>`;
    p.warnings = [`</li><script>z()</script>`];
    const html = renderHtmlReport(p);
    expect(html).not.toMatch(/<script|<img|<svg onload|<b>|<i>/i);
    expect(html).toContain(`<title>&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; — mine2hpc site plan</title>`);
    expect(html).toContain(`<h1>&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;</h1>`);
    expect(html).toContain(`data-circuit="pdu&#39;&quot;&gt;&lt;svg onload=alert(1)&gt;&amp;&amp;&amp;&amp;" data-load-percent="29.2"`);
    expect(html).toContain(`data-pool="&lt;img src=x onerror=alert(1)&gt;"`);
    expect(html).toContain(`<li class="warning">&lt;/li&gt;&lt;script&gt;z()&lt;/script&gt;</li>`);
    expect(html).toContain(`<code>0 15 * * 1-5 &lt;i&gt;</code>`);
    // Truncated labels are cut before escaping, so no entity is ever split.
    expect(html).toContain(`<text class="label" x="28" y="57">pdu&#39;&quot;&gt;&lt;svg onload=alert(1)&gt;…</text>`);
  });
});

/** A synthetic plan with `feeds × perFeed` circuits, a pool and no curtailment, for size tests. */
function bigPlan(feeds: number, perFeed: number): FarmPlan {
  const p = samplePlan();
  const feedLoads: FeedLoad[] = [];
  const circuits: CircuitLoad[] = [];
  for (let f = 0; f < feeds; f++) {
    const name = `feed-${f}`;
    const ids: string[] = [];
    for (let i = 0; i < perFeed; i++) {
      const id = `${name}-pdu-${String(i).padStart(5, "0")}`;
      const loadWatts = 1000 + ((i * 37) % 9000);
      ids.push(id);
      circuits.push({ id, feed: name, usableWatts: 10_000, loadWatts, asicWatts: i % 3 === 0 ? 500 : 0, loadPercent: loadWatts / 100, strandedWatts: 10_000 - loadWatts, machines: [`m-${id}`], phaseWatts: null, phaseBudgetWatts: null });
    }
    feedLoads.push({ name, tier: "firm", capacityWatts: perFeed * 10_000, itWatts: 0, facilityWatts: 0, loadPercent: 0, strandedWatts: 0, circuits: ids });
  }
  p.feeds = feedLoads;
  p.circuits = circuits;
  p.curtailment = [];
  return p;
}

describe("large sites", () => {
  it("renders 6,000 circuits quickly, one bar each, with big feeds collapsed", () => {
    const small = bigPlan(2, 10);
    const plan = bigPlan(3, 2000);
    const started = performance.now();
    const html = renderHtmlReport(plan);
    const elapsedMs = performance.now() - started;
    expect(count(html, `<g class="circuit-bar `)).toBe(6000);
    expect(count(html, `<tr class="circuit-row"`)).toBe(6000);
    // 2,000 circuits > FEED_OPEN_CIRCUIT_LIMIT: trees and circuit tables start closed.
    expect(FEED_OPEN_CIRCUIT_LIMIT).toBeLessThan(2000);
    expect(count(html, `<details class="feed" open`)).toBe(0);
    expect(count(renderHtmlReport(small), `<details class="feed" open`)).toBe(4);
    // Linear size: per-circuit bytes do not grow with the number of circuits.
    const perCircuitBig = html.length / 6000;
    const perCircuitSmall = renderHtmlReport(small).length / 20;
    expect(perCircuitBig).toBeLessThan(perCircuitSmall);
    // Generous bound for a shared CI runner; a quadratic builder takes many seconds here.
    expect(elapsedMs).toBeLessThan(3000);
  });

  it("says so when a site has no pools, no curtailment and no warnings", () => {
    const p = samplePlan();
    p.pools = [];
    p.curtailment = [];
    p.warnings = [];
    const html = renderHtmlReport(p);
    expect(html).toContain(`<p class="empty">No GPU nodes: the site has no pools.</p>`);
    expect(html).toContain(`<p class="empty">Every feed is firm: there is nothing to curtail.</p>`);
    expect(html).toContain(`<p class="empty">No warnings.</p>`);
    expect(count(html, `role="img"`)).toBe(2);
  });
});

/** The demo stack's site, what `--stack demo` plans. */
const DEMO_SITE = "stacks/demo/site.yaml";

describe("mine2hpc report", () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "mine2hpc-report-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  afterEach(() => vi.unstubAllEnvs());

  function ctx(values: CommandContext["values"]) {
    const stdout = sink();
    const stderr = sink();
    return { ctx: { values, positionals: [], cwd: repoRoot, stdout, stderr }, stdout, stderr };
  }

  it("refuses to run without --html and says how to fix it", async () => {
    const { ctx: c } = ctx({ site: DEMO_SITE });
    const err = await reportCommand.run(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    // A required flag left out: a usage error.
    expect((err as CliError).exitCode).toBe(64);
    expect((err as CliError).message).toBe(
      "no output file given: the report is written to a file, not the terminal.\n  fix: pass --html FILE, e.g. 'mine2hpc report --html out/report.html --stack demo'.",
    );
  });

  it("writes the report of the demo stack, creating parent folders, and prints the path", async () => {
    const file = path.join(tmp, "a", "b", "report.html");
    vi.stubEnv("SOURCE_DATE_EPOCH", "1700000000");
    const { ctx: c, stdout } = ctx({ stack: "demo", html: file });
    expect(await reportCommand.run(c)).toBe(0);
    expect(stdout.text()).toBe(`${file}\n`);
    const siteFile = path.join(repoRoot, DEMO_SITE);
    const { loaded, plan } = loadAndPlan({ siteFile, repoRoot });
    const html = readFileSync(file, "utf8");
    // 1700000000 s after the epoch is 2023-11-14 22:13:20 UTC (date -u -d @1700000000).
    const provenance = { stack: "demo", commit: siteCommit(siteFile), generatedAt: "2023-11-14T22:13:20Z" };
    expect(html).toBe(renderHtmlReport(plan, { ...siteFacts(loaded.spec), provenance }));
    expect(html).toContain(`<div><dt>Generated</dt><dd data-fact="generated">2023-11-14T22:13:20Z</dd></div>`);
    // Same site, commit and time: the same bytes.
    expect(await reportCommand.run(ctx({ stack: "demo", html: file }).ctx)).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(html);
    expect(count(html, `<g class="circuit-bar `)).toBe(plan.circuits.length);
    expect(html).toContain(`<h1>${escapeHtml(plan.site.name)}</h1>`);
  });

  it("prints a path relative to the working folder when the file is inside it", async () => {
    const { ctx: c, stdout } = ctx({ site: path.join(repoRoot, DEMO_SITE), html: "out.html" });
    c.cwd = tmp;
    expect(await reportCommand.run(c)).toBe(0);
    expect(stdout.text()).toBe("out.html\n");
    expect(readFileSync(path.join(tmp, "out.html"), "utf8").startsWith("<!DOCTYPE html>")).toBe(true);
  });

  it("says which file it cannot write", async () => {
    const blocker = path.join(tmp, "not-a-folder");
    writeFileSync(blocker, "x");
    const { ctx: c } = ctx({ site: DEMO_SITE, html: path.join(blocker, "report.html") });
    const err = await reportCommand.run(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toMatch(/^cannot write .*not-a-folder\/report\.html \((ENOTDIR|EEXIST): /);
    expect((err as CliError).message).toContain("fix: pass --html with a path in a folder you can write to.");
  });
});
