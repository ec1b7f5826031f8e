/**
 * The HTML report in a real browser: Debian's headless Chromium driven by playwright-core.
 * The page must load from file:// with no console errors, no failed requests and no
 * request but the file itself; every circuit, pool and curtailment stage must be drawn
 * with a visible box; and a screenshot must show a page, not a blank canvas.
 *
 * Skipped with a message when /usr/bin/chromium is absent on a developer machine; under
 * CI (env CI set) it always runs, so a missing browser fails the build instead of
 * silently skipping (`.ci/run` installs Debian's `chromium`).
 *
 * Two sites: the demo stack, and the hybrid template, whose 30 three-phase ASIC PDUs are
 * below 80 % in total but above it on their heaviest phase (drawn amber per phase).
 *
 * REPORT_SCREENSHOT=/some/file.png keeps the demo's screenshot for a person to look at (and
 * /some/file-hybrid.png the template's).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { loadAndPlan } from "../src/cli/site-args.js";
import type { FarmPlan } from "../src/plan/types.js";
import { renderHtmlReport, siteFacts } from "../src/report/index.js";

const CHROMIUM = process.env.MINE2HPC_CHROMIUM ?? "/usr/bin/chromium";
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..");
const hasChromium = existsSync(CHROMIUM);
const runIt = hasChromium || Boolean(process.env.CI);
if (!runIt) console.warn(`report-browser: skipped: ${CHROMIUM} is not installed (apt-get install chromium); under CI=1 this test is required.`);

/** The sites the browser test plans: the demo stack's, the one every newcomer sees first, and a template with three-phase ASIC PDUs. */
const SITE = "stacks/demo/site.yaml";
const HYBRID = "templates/hybrid-curtailable/site.yaml";

/** The report of a site as the CLI writes it, with a fixed footer. */
function reportOf(siteFile: string): { plan: FarmPlan; html: string } {
  const { loaded, plan } = loadAndPlan({ siteFile: path.join(repoRoot, siteFile), repoRoot });
  const provenance = { stack: "demo", commit: "0123456789abcdef0123456789abcdef01234567", generatedAt: "2023-11-14T22:13:20Z" };
  return { plan, html: renderHtmlReport(plan, { ...siteFacts(loaded.spec), provenance }) };
}

/** A decoded PNG: 8-bit RGB(A) pixels, what Chromium's screenshots are. */
interface Image {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel. */
  rgba: Uint8Array;
}

/**
 * Minimal PNG reader for Chromium screenshots (8-bit, colour type 2 or 6, no interlace):
 * enough to count colours without an image library. Throws on anything else, so a
 * change of format shows up as a clear failure rather than a wrong count.
 */
function decodePng(png: Buffer): Image {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error("not a PNG");
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString("latin1", offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const bitDepth = data[8];
      const colourType = data[9];
      const interlace = data[12];
      if (bitDepth !== 8 || (colourType !== 2 && colourType !== 6) || interlace !== 0) {
        throw new Error(`unsupported PNG: bit depth ${bitDepth}, colour type ${colourType}, interlace ${interlace}`);
      }
      channels = colourType === 6 ? 4 : 3;
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      break;
    }
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[out + x - channels]! : 0;
      const b = y > 0 ? pixels[out - stride + x]! : 0;
      const c = x >= channels && y > 0 ? pixels[out - stride + x - channels]! : 0;
      let predictor: number;
      switch (filter) {
        case 0: predictor = 0; break;
        case 1: predictor = a; break;
        case 2: predictor = b; break;
        case 3: predictor = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error(`bad PNG filter ${filter} on row ${y}`);
      }
      pixels[out + x] = (line[x]! + predictor) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0, j = 0; i < width * height; i++, j += channels) {
    rgba[i * 4] = pixels[j]!;
    rgba[i * 4 + 1] = pixels[j + 1]!;
    rgba[i * 4 + 2] = pixels[j + 2]!;
    rgba[i * 4 + 3] = channels === 4 ? pixels[j + 3]! : 255;
  }
  return { width, height, rgba };
}

/** Distinct colours, the share of pixels unlike the top-left (background) pixel, and how many pixels have each of `probe` colours (±4 per channel). */
function pixelStats(img: Image, probe: Record<string, [number, number, number]>) {
  const colours = new Set<number>();
  const bg = [img.rgba[0]!, img.rgba[1]!, img.rgba[2]!];
  let differing = 0;
  const hits: Record<string, number> = Object.fromEntries(Object.keys(probe).map((k) => [k, 0]));
  for (let i = 0; i < img.rgba.length; i += 4) {
    const r = img.rgba[i]!;
    const g = img.rgba[i + 1]!;
    const b = img.rgba[i + 2]!;
    colours.add((r << 16) | (g << 8) | b);
    if (Math.abs(r - bg[0]!) + Math.abs(g - bg[1]!) + Math.abs(b - bg[2]!) > 24) differing++;
    for (const [name, [pr, pg, pb]] of Object.entries(probe)) {
      if (Math.abs(r - pr) <= 4 && Math.abs(g - pg) <= 4 && Math.abs(b - pb) <= 4) hits[name]!++;
    }
  }
  return { distinctColours: colours.size, differingShare: differing / (img.width * img.height), hits };
}

/** The part of the browser's `document` the in-page check uses (no DOM lib in this project). */
interface PageElement {
  open?: boolean;
  getBoundingClientRect(): { width: number; height: number };
}
interface PageDocument {
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  querySelector(selector: string): PageElement | null;
}
/** The part of the browser's `getComputedStyle` the in-page checks use. */
type PageComputedStyle = (el: PageElement) => { fill: string; breakBefore: string; breakInside: string };

// The report's bar colours (src/report/style.ts): they are only on screen if the SVG bars rendered.
const BAR_COLOURS: Record<string, [number, number, number]> = { green: [0x2e, 0x7d, 0x32], amber: [0xe0, 0xa1, 0x00], red: [0xc6, 0x28, 0x28], stage: [0x3a, 0x6f, 0xc4] };

describe.skipIf(!runIt)("report in headless Chromium", () => {
  let browser: Browser;
  let dir: string;
  let plan: FarmPlan;
  let fileUrl: string;
  let hybrid: FarmPlan;
  let hybridUrl: string;

  beforeAll(async () => {
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    dir = mkdtempSync(path.join(tmpdir(), "mine2hpc-report-browser-"));
    const demo = reportOf(SITE);
    plan = demo.plan;
    const file = path.join(dir, "report.html");
    writeFileSync(file, demo.html);
    fileUrl = pathToFileURL(file).href;
    const h = reportOf(HYBRID);
    hybrid = h.plan;
    const hybridFile = path.join(dir, "hybrid.html");
    writeFileSync(hybridFile, h.html);
    hybridUrl = pathToFileURL(hybridFile).href;
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("loads offline without errors, draws every circuit, pool and stage, and paints a non-blank page", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const requests: string[] = [];
    const failed: string[] = [];
    const consoleErrors: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("requestfailed", (r) => failed.push(`${r.url()}: ${r.failure()?.errorText ?? "failed"}`));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (err) => consoleErrors.push(`pageerror: ${err.message}`));

    const response = await page.goto(fileUrl, { waitUntil: "load" });
    expect(response?.ok() ?? true).toBe(true);

    expect(await page.title()).toBe(`${plan.site.name} — mine2hpc site plan`);
    expect(await page.locator("html").getAttribute("lang")).toBe("en");
    expect(await page.locator("h1").textContent()).toBe(plan.site.name);

    // Exact counts: one bar per circuit, one row per pool, one bar per curtailment stage,
    // one labelled drawing per feed and per curtailed feed with stages.
    const stageCount = plan.curtailment.reduce((s, c) => s + c.stages.length, 0);
    const drawings = plan.feeds.length + plan.curtailment.filter((c) => c.stages.length > 0).length;
    expect(await page.locator("g.circuit-bar").count()).toBe(plan.circuits.length);
    expect(await page.locator("tr.pool-row").count()).toBe(plan.pools.length);
    expect(await page.locator("g.stage-bar").count()).toBe(stageCount);
    expect(await page.locator('svg[role="img"]').count()).toBe(drawings);
    expect(await page.locator('svg[role="img"] > title').count()).toBe(drawings);
    expect(await page.locator("li.warning").count()).toBe(plan.warnings.length);
    expect(await page.locator("g.response-marker").count()).toBe(plan.curtailment.filter((c) => c.responseTimeSeconds !== null && c.stages.length > 0).length);

    // Every bar has a laid-out box (collapsed feeds are opened first: large sites start closed).
    const boxes = await page.evaluate(() => {
      // The project's tsconfig has no DOM lib (it is a Node program): type the little used here.
      const document = (globalThis as unknown as { document: PageDocument }).document;
      for (const d of Array.from(document.querySelectorAll("details"))) d.open = true;
      const sizes = (sel: string) =>
        Array.from(document.querySelectorAll(sel)).map((el) => {
          const r = el.getBoundingClientRect();
          return r.width > 0 && r.height > 0;
        });
      return { circuits: sizes("g.circuit-bar"), stages: sizes("g.stage-bar rect.stage"), svgs: sizes('svg[role="img"]') };
    });
    expect(boxes.circuits.filter(Boolean)).toHaveLength(plan.circuits.length);
    expect(boxes.stages.filter(Boolean)).toHaveLength(stageCount);
    expect(boxes.svgs.filter(Boolean)).toHaveLength(drawings);

    // Non-blank: a blank page is one colour. The report must show many colours (text
    // anti-aliasing, bars), cover a real share of the page with non-background pixels,
    // and show the bar fills themselves, which exist only if the SVG bars were painted.
    const png = await page.screenshot({ fullPage: true, type: "png" });
    if (process.env.REPORT_SCREENSHOT) writeFileSync(process.env.REPORT_SCREENSHOT, png);
    const img = decodePng(png);
    expect(img.width).toBe(1280);
    expect(img.height).toBeGreaterThan(900);
    const stats = pixelStats(img, BAR_COLOURS);
    expect(stats.distinctColours).toBeGreaterThan(64);
    expect(stats.differingShare).toBeGreaterThan(0.05);
    const levels = new Set(plan.circuits.map((c) => (c.loadPercent > 95 ? "red" : c.loadPercent >= 80 ? "amber" : "green")));
    for (const level of levels) expect(stats.hits[level], `${level} bar pixels`).toBeGreaterThan(200);
    if (stageCount > 0) expect(stats.hits.stage, "on-time stage bar pixels").toBeGreaterThan(50);

    // The same reader on a blank page: what the checks above would see if nothing rendered.
    const blank = await context.newPage();
    await blank.setContent("<!DOCTYPE html><html lang=\"en\"><title>blank</title><body></body></html>");
    const blankStats = pixelStats(decodePng(await blank.screenshot({ type: "png" })), BAR_COLOURS);
    expect(blankStats.distinctColours).toBe(1);
    expect(blankStats.differingShare).toBe(0);

    // Offline and clean: the only request is the file itself.
    expect(consoleErrors).toEqual([]);
    expect(failed).toEqual([]);
    expect(requests).toEqual([fileUrl]);
    await context.close();
  });
  it("paints each phase of a three-phase circuit in the colour of its own load, and shows the footer", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(fileUrl, { waitUntil: "load" });
    const threePhase = plan.circuits.filter((c) => c.phaseWatts !== null).length;
    expect(await page.locator("g.phase-bar").count()).toBe(3 * threePhase);
    expect(await page.locator("tr.phase-row").count()).toBe(threePhase);
    // asic-pdu-01: 76.2 % in total (green bar), its heaviest phase L1 at 91.5 % (amber), L2 at 68.6 % (green).
    const asic = page.locator(`g.circuit-bar[data-circuit="asic-pdu-01"]`);
    expect(await asic.getAttribute("data-heaviest-percent")).toBe("91.5");
    const fills = await page.evaluate(() => {
      const g = globalThis as unknown as { document: PageDocument; getComputedStyle: PageComputedStyle };
      const fill = (sel: string) => g.getComputedStyle(g.document.querySelector(sel)!).fill;
      const base = `g.circuit-bar[data-circuit="asic-pdu-01"]`;
      return { total: fill(`${base} > rect.load`), l1: fill(`${base} g.phase-bar[data-phase="L1"] rect.phase-load`), l2: fill(`${base} g.phase-bar[data-phase="L2"] rect.phase-load`) };
    });
    expect(fills).toEqual({ total: "rgb(46, 125, 50)", l1: "rgb(224, 161, 0)", l2: "rgb(46, 125, 50)" });
    expect(await page.locator(`tr.phase-row[data-circuit="asic-pdu-01"] td.heaviest`).textContent()).toBe("12,272 W51.2 A · 91.5 %");
    expect(await page.locator(`footer dd[data-fact="commit"]`).textContent()).toBe("0123456789abcdef0123456789abcdef01234567");
    expect(await page.locator(`footer dd[data-fact="generated"]`).isVisible()).toBe(true);
    await context.close();
  });

  it("prints the wiring sheet from a new page, a feed per page, and every machine on it", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(fileUrl, { waitUntil: "load" });
    await page.emulateMedia({ media: "print" });
    const rules = await page.evaluate(() => {
      const g = globalThis as unknown as { document: PageDocument; getComputedStyle: PageComputedStyle };
      const feeds = Array.from(g.document.querySelectorAll(".wiring-feed")).map((el) => g.getComputedStyle(el).breakBefore);
      return {
        section: g.getComputedStyle(g.document.querySelector("section#wiring")!).breakBefore,
        feeds,
        circuit: g.getComputedStyle(g.document.querySelector(".wiring-circuit")!).breakInside,
        nav: g.getComputedStyle(g.document.querySelector("nav.toc")!).breakBefore,
      };
    });
    expect(rules).toEqual({ section: "page", feeds: ["auto", "page"], circuit: "avoid", nav: "auto" });
    expect(await page.locator("tr.wiring-row").count()).toBe(plan.nodes.length + plan.asics.length);
    // The PDF has the report's pages, then at least one page per feed of the wiring sheet.
    const pdf = (await page.pdf({ format: "A4", printBackground: true })).toString("latin1");
    const pages = pdf.match(/\/Type\s*\/Page\b(?!s)/g)?.length ?? 0;
    expect(pages).toBeGreaterThanOrEqual(1 + plan.feeds.length);
    await context.close();
  });

  it("renders the template with 30 three-phase ASIC PDUs, each with an amber heaviest phase", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    await page.goto(hybridUrl, { waitUntil: "load" });
    expect(await page.locator("g.circuit-bar").count()).toBe(hybrid.circuits.length);
    const asicPdus = hybrid.circuits.filter((c) => c.asicWatts > 0 && c.phaseWatts !== null);
    expect(asicPdus).toHaveLength(30);
    expect(await page.locator(`g.circuit-bar g.phase-bar.p-warn.heaviest[data-phase="L1"]`).count()).toBe(30);
    // asic-pdu-01..20 (70 A): 76.2 % in total, a green bar, yet L1 at 91.5 %; asic-pdu-21..30 (60 A): 81.2 % and L1 at 91.3 %.
    expect(await page.locator(`g.circuit-bar.load-ok[data-heaviest-percent="91.5"] g.phase-bar.p-warn.heaviest`).count()).toBe(20);
    expect(await page.locator(`g.circuit-bar.load-warn[data-heaviest-percent="91.3"] g.phase-bar.p-warn.heaviest`).count()).toBe(10);
    const png = await page.screenshot({ fullPage: true, type: "png" });
    if (process.env.REPORT_SCREENSHOT) writeFileSync(process.env.REPORT_SCREENSHOT.replace(/(\.png)?$/, "-hybrid.png"), png);
    const stats = pixelStats(decodePng(png), BAR_COLOURS);
    // 30 amber phase bars of ~400 × 7 pixels (and the GPU PDUs' amber totals).
    expect(stats.hits.amber, "amber phase bar pixels").toBeGreaterThan(30 * 300);
    expect(consoleErrors).toEqual([]);
    await context.close();
  });
});
