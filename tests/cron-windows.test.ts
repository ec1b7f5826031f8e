/**
 * Curtailment windows as the Kubernetes CronJob controller runs them (src/site/cron.ts):
 * the 5-field parser and day semantics of robfig/cron v3 (the controller's parser), runs in
 * the CronJob's `spec.timeZone` with DST, and a whole-year simulation of every window of the
 * demo, the templates and edge cases: every start has its end, at the start's wall-clock
 * time plus the duration, and no end runs without a start (but for the one documented case).
 */
import { mkdtempSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CronSyntaxError,
  dateMatches,
  fireTimes,
  parseCron,
  windowProblems,
  windowSchedules,
  ZoneOffsets,
} from "../src/site/cron.js";
import { loadAndValidate } from "../src/site/load.js";
import { SiteError } from "../src/site/problems.js";
import { renderCurtailment } from "../src/render/curtailment.js";
import { samplePlan } from "./helpers/sample-plan.js";

const MIN = 60_000;
const utc = (iso: string): number => Date.parse(`${iso}Z`);
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 16);

describe("parseCron: robfig/cron v3 ParseStandard", () => {
  it("reads ranges, steps, lists and names (case-insensitive)", () => {
    const s = parseCron("*/15 9-17/4 1,15,31 jun-SEP MON-fri");
    expect([...s.minute]).toEqual([0, 15, 30, 45]);
    expect([...s.hour]).toEqual([9, 13, 17]);
    expect([...s.dom]).toEqual([1, 15, 31]);
    expect([...s.month]).toEqual([6, 7, 8, 9]);
    expect([...s.dow]).toEqual([1, 2, 3, 4, 5]);
    // "N/step" means "N-max/step" (parser.go getRange).
    expect([...parseCron("5/20 * * * *").minute]).toEqual([5, 25, 45]);
    expect([...parseCron("0 0 ? * SUN,sat").dow]).toEqual([0, 6]);
    expect(parseCron("@daily")).toEqual(parseCron("0 0 * * *"));
    expect(parseCron("@weekly")).toEqual(parseCron("0 0 * * 0"));
  });

  it("sets the star bit only for * or ? with step 1, which makes the day fields AND, else OR", () => {
    expect(parseCron("0 0 * * 1")).toMatchObject({ domStar: true, dowStar: false });
    expect(parseCron("0 0 */1 * 1")).toMatchObject({ domStar: true });
    expect(parseCron("0 0 */2 * 1")).toMatchObject({ domStar: false, dowStar: false });
    const friday13 = { year: 2026, month: 2, day: 13, weekday: 5 };
    const friday6 = { year: 2026, month: 2, day: 6, weekday: 5 };
    const tuesday13 = { year: 2026, month: 1, day: 13, weekday: 2 };
    // Both restricted: the 13th OR a Friday (the Kubernetes CronJob doc's example of "0 0 13 * 5").
    const or = parseCron("0 0 13 * 5");
    expect([friday13, friday6, tuesday13].map((d) => dateMatches(or, d))).toEqual([true, true, true]);
    // Day-of-month is a star: Fridays only.
    const and = parseCron("0 0 * * 5");
    expect([friday13, friday6, tuesday13].map((d) => dateMatches(and, d))).toEqual([true, true, false]);
    // "*/2" has no star bit: odd days OR Fridays.
    const stepOr = parseCron("0 0 */2 * 5");
    expect([friday6, tuesday13, { year: 2026, month: 1, day: 14, weekday: 3 }].map((d) => dateMatches(stepOr, d))).toEqual([true, true, false]);
  });

  it.each([
    ["0 0 * * 7", 'day-of-week field "7": 7 is above the maximum 6'],
    ["0 0 0 * *", 'day-of-month field "0": 0 is below the minimum 1'],
    ["60 0 * * *", 'minute field "60": 60 is above the maximum 59'],
    ["0 0 5-1 * *", 'day-of-month field "5-1": range 5-1 ends before it begins'],
    ["0 0 1-2-3 * *", 'day-of-month field "1-2-3": too many hyphens in 1-2-3'],
    ["*/0 * * * *", 'minute field "*/0": a step must be a positive number'],
    ["0 0 * * FRIDAY", 'day-of-week field "FRIDAY": "FRIDAY" is not a number or a name'],
    ["0 0 * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4"],
    ["@every 1h", "unsupported descriptor @every 1h (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or 5 fields)"],
  ])("rejects %s as robfig/cron does", (expr, message) => {
    expect(() => parseCron(expr)).toThrow(CronSyntaxError);
    expect(() => parseCron(expr)).toThrow(message);
  });
});

describe("fireTimes: spec.timeZone with DST, as robfig/cron's Next steps through it", () => {
  const chicago = new ZoneOffsets("America/Chicago", utc("2027-01-01T00:00"), utc("2028-01-01T00:00"));
  const berlin = new ZoneOffsets("Europe/Berlin", utc("2027-01-01T00:00"), utc("2028-01-01T00:00"));

  it("finds the zone's changes to the minute", () => {
    // US: second Sunday of March 02:00 CST, first Sunday of November 02:00 CDT; EU: last Sundays of March and October, 01:00 UTC.
    expect(chicago.changes.map((c) => [iso(c.at), c.offsetMs / 3_600_000])).toEqual([
      ["2027-03-14T08:00", -5],
      ["2027-11-07T07:00", -6],
    ]);
    expect(berlin.changes.map((c) => [iso(c.at), c.offsetMs / 3_600_000])).toEqual([
      ["2027-03-28T01:00", 2],
      ["2027-10-31T01:00", 1],
    ]);
  });

  it("skips a wall time that does not exist and runs a repeated one twice", () => {
    const around = (spec: string, zone: ZoneOffsets, from: string, to: string) => fireTimes(parseCron(spec), zone, utc(from), utc(to)).map(iso);
    expect(around("30 2 * * *", chicago, "2027-03-13T00:00", "2027-03-16T00:00")).toEqual(["2027-03-13T08:30", "2027-03-15T07:30"]);
    expect(around("30 1 * * *", chicago, "2027-11-07T00:00", "2027-11-08T00:00")).toEqual(["2027-11-07T06:30", "2027-11-07T07:30"]);
    expect(around("30 2 * * *", berlin, "2027-03-27T00:00", "2027-03-30T00:00")).toEqual(["2027-03-27T01:30", "2027-03-29T00:30"]);
    expect(around("30 2 * * *", berlin, "2027-10-31T00:00", "2027-11-01T00:00")).toEqual(["2027-10-31T00:30", "2027-10-31T01:30"]);
  });
});

interface Simulation {
  starts: number;
  /** Minutes from each start to its end, with how many windows took that long. */
  elapsed: Record<number, number>;
  /** End runs that no start asked for: a repeated wall time when clocks go back. */
  repeatedEnds: string[];
  /** Starts whose end never came (before January 3 of the next year). */
  unended: string[];
}

/**
 * Runs a window's start and end CronJobs over one year of instants, minute by minute, and pairs
 * each start with the first end after it. The end is due at the start's wall time plus the
 * duration, at the first instant that shows that wall time.
 */
function simulate(window: { schedule: string; durationMinutes: number }, zoneName: string, year: number, end?: string[]): Simulation {
  const zone = new ZoneOffsets(zoneName, Date.UTC(year - 1, 11, 30), Date.UTC(year + 1, 0, 10));
  // The local year: from January 1 00:00 to the next, in the zone.
  const from = Date.UTC(year, 0, 1) - zone.offsetAt(Date.UTC(year, 0, 1));
  const to = Date.UTC(year + 1, 0, 1) - zone.offsetAt(Date.UTC(year + 1, 0, 1));
  const schedules = windowSchedules("f", { name: "w", ...window });
  const starts = fireTimes(parseCron(schedules.start), zone, from, to);
  const ends = (end ?? schedules.end)
    .flatMap((e) => fireTimes(parseCron(e), zone, from, to + 2 * 86_400_000))
    .sort((a, b) => a - b);
  const sim: Simulation = { starts: starts.length, elapsed: {}, repeatedEnds: [], unended: [] };
  const due = new Set<number>();
  for (const s of starts) {
    const wall = s + zone.offsetAt(s) + window.durationMinutes * MIN;
    const instants = [...new Set([zone.offsetAt(s), zone.offsetAt(s + 86_400_000 * 2)])]
      .map((o) => wall - o)
      .filter((t) => t > s && t + zone.offsetAt(t) === wall)
      .sort((a, b) => a - b);
    const next = ends.find((e) => e > s);
    if (next === undefined || next !== instants[0]) {
      sim.unended.push(`${iso(s)}Z → ${next === undefined ? "never" : `${iso(next)}Z`}`);
      continue;
    }
    due.add(next);
    const minutes = (next - s) / MIN;
    sim.elapsed[minutes] = (sim.elapsed[minutes] ?? 0) + 1;
  }
  const lastDue = Math.max(...due);
  for (const e of ends) {
    // Ends before the first start or after the last one's end belong to the years around.
    if (due.has(e) || e > lastDue || e < (starts[0] ?? to)) continue;
    // An end no start asked for must be the second run of a wall time repeated an hour earlier.
    const wall = e + zone.offsetAt(e);
    const first = ends.find((x) => x < e && x + zone.offsetAt(x) === wall);
    if (first === undefined || !due.has(first)) throw new Error(`end at ${iso(e)}Z has no start`);
    sim.repeatedEnds.push(`${iso(e)}Z`);
  }
  return sim;
}

describe("every start has its end, over a whole year in the site's zone", () => {
  it("the defect: '0 22 * 6-9 *' for 240 min with the end in the same months never ends on September 30", () => {
    const broken = simulate({ schedule: "0 22 * 6-9 *", durationMinutes: 240 }, "America/Chicago", 2027, ["0 2 * 6-9 *"]);
    // The start on September 30 at 22:00 CDT has no end until June 1 of the next year.
    expect(broken.unended).toEqual(["2027-10-01T03:00Z → never"]);
    expect(broken.starts).toBe(122);
  });

  // [schedule, minutes, zone, year, end schedules, starts in the year, minutes from start to end, repeated ends]
  const cases: [string, number, string, number, string[], number, Record<number, number>, string[]][] = [
    ["0 22 * 6-9 *", 240, "America/Chicago", 2027, ["0 2 1 7-10 *", "0 2 2-31 6-9 *"], 122, { 240: 122 }, []],
    ["0 22 * JUN-SEP *", 240, "America/Chicago", 2028, ["0 2 1 7-10 *", "0 2 2-31 6-9 *"], 122, { 240: 122 }, []],
    ["0 22 * * 5", 240, "America/Chicago", 2027, ["0 2 * * 6"], 53, { 240: 53 }, []],
    ["0 23 * * 1-5", 90, "America/Chicago", 2027, ["30 0 * * 2-6"], 261, { 90: 261 }, []],
    // Last day of a month: ends on the 1st after each 31-day month.
    ["30 23 31 * *", 60, "America/Chicago", 2027, ["30 0 1 1,2,4,6,8,9,11 *"], 7, { 60: 7 }, []],
    ["0 23 30 * *", 120, "Europe/Berlin", 2027, ["0 1 1 5,7,10,12 *", "0 1 31 1,3,5,7,8,10,12 *"], 11, { 120: 11 }, []],
    // February 28 and 29: Feb 28 ends on the 29th in a leap year, on March 1 otherwise.
    ["0 23 28,29 2 *", 120, "America/Chicago", 2028, ["0 1 1 3 *", "0 1 29 2 *"], 2, { 120: 2 }, []],
    ["0 23 28,29 2 *", 120, "America/Chicago", 2027, ["0 1 1 3 *", "0 1 29 2 *"], 1, { 120: 1 }, []],
    // Over New Year's Eve, in the next year.
    ["0 22 31 12 *", 240, "Europe/Berlin", 2027, ["0 2 1 1 *"], 1, { 240: 1 }, []],
    // Over both DST changes: 3 real hours in March, 5 in November; the wall-clock end is kept.
    ["0 0 * * *", 240, "America/Chicago", 2027, ["0 4 * * *"], 365, { 180: 1, 240: 363, 300: 1 }, []],
    ["0 22 * * *", 300, "Europe/Berlin", 2027, ["0 3 * * *"], 365, { 240: 1, 300: 363, 360: 1 }, []],
    // A start in the repeated hour runs twice (01:30 CDT and 01:30 CST), and so does its end.
    ["30 1 * * *", 20, "America/Chicago", 2027, ["50 1 * * *"], 366, { 20: 366 }, []],
    // An end in the repeated hour runs twice: the second run (an hour later) restores again.
    ["0 0 * * *", 90, "America/Chicago", 2027, ["30 1 * * *"], 365, { 90: 365 }, ["2027-11-07T07:30Z"]],
    // 24-hour windows on days that are never consecutive.
    ["0 0 * * 6", 1440, "Europe/Berlin", 2027, ["0 0 * * 0"], 52, { 1440: 52 }, []],
    ["0 12 * * 6", 1440, "Europe/Berlin", 2027, ["0 12 * * 0"], 52, { 1380: 1, 1440: 50, 1500: 1 }, []],
    ["0 15 * * 1", 1440, "America/Chicago", 2027, ["0 15 * * 2"], 52, { 1440: 52 }, []],
  ];

  it.each(cases)("%s for %i min in %s (%i)", (schedule, minutes, zone, year, end, starts, elapsed, repeated) => {
    expect(windowSchedules("f", { name: "w", schedule, durationMinutes: minutes }).end).toEqual(end);
    expect(windowProblems("f", { name: "w", schedule, durationMinutes: minutes }, zone)).toEqual([]);
    const sim = simulate({ schedule, durationMinutes: minutes }, zone, year);
    expect(sim.unended).toEqual([]);
    expect(sim.starts).toBe(starts);
    expect(sim.elapsed).toEqual(elapsed);
    expect(sim.repeatedEnds).toEqual(repeated);
  });

  it("holds for every window of the demo stack and the templates", () => {
    const files = [
      "stacks/demo/site.yaml",
      ...readdirSync("templates")
        .map((t) => join("templates", t, "site.yaml"))
        .filter((f) => existsSync(f)),
    ];
    const seen: string[] = [];
    for (const file of files) {
      const site = loadAndValidate(file).spec;
      for (const feed of site.power.feeds) {
        for (const w of feed.curtailment?.windows ?? []) {
          const sim = simulate(w, site.metadata.timezone, 2027);
          expect(sim.unended).toEqual([]);
          expect(sim.repeatedEnds).toEqual([]);
          expect(sim.elapsed).toEqual({ [w.durationMinutes]: sim.starts });
          seen.push(`${file}: ${w.schedule} ${w.durationMinutes} ${sim.starts}`);
        }
      }
    }
    expect(seen).toEqual([
      "stacks/demo/site.yaml: 0 15 * 6-9 1-5 240 88",
      "templates/hybrid-curtailable/site.yaml: 0 15 * 6-9 1-5 240 88",
      "templates/hybrid-curtailable/site.yaml: 0 6 * 1,2,12 1-5 180 64",
    ]);
  });
});

describe("windows that cannot be CronJobs are validation errors", () => {
  const where = (schedule: string) => `curtailment window w of feed f (schedule "${schedule}")`;
  it.each([
    ["0 23 29 2 *", 120, "UTC", `${where("0 23 29 2 *")} ends after midnight, and the days it ends on (the day after each start) cannot be written as cron schedules`],
    ["0 23 * 6-9 1-5", 90, "UTC", `${where("0 23 * 6-9 1-5")} ends after midnight, and the days it ends on (the day after each start) cannot be written as cron schedules`],
    ["0 15 * * 1-5", 1440, "UTC", `${where("0 15 * * 1-5")} lasts 24 hours and starts on consecutive days (2026-01-01 and 2026-01-02): its end and the next start would run at the same minute, in no fixed order`],
    ["0 0 31 2 *", 60, "UTC", `${where("0 0 31 2 *")} never runs: no date in 2026–2053 matches its day-of-month, month and day-of-week fields`],
    ["0 0 * * 7", 60, "UTC", `${where("0 0 * * 7")} is not a valid CronJob schedule: day-of-week field "7": 7 is above the maximum 6`],
    [
      "0 1 * * *",
      90,
      "America/Chicago",
      `${where("0 1 * * *")} ends at 02:30, a time that does not exist on 2026-03-08 in America/Chicago (clocks skip 02:00–03:00): the CronJob does not run that day, so that window would not end until the next end`,
    ],
    [
      "30 2 * * 0",
      60,
      "Europe/Berlin",
      `${where("30 2 * * 0")} starts at 02:30, a time that does not exist on 2026-03-29 in Europe/Berlin (clocks skip 02:00–03:00): the CronJob does not run that day, so that day's curtailment would not start`,
    ],
  ])("%s for %i min in %s", (schedule, minutes, zone, message) => {
    expect(windowProblems("f", { name: "w", schedule, durationMinutes: minutes }, zone).map((p) => p.message)).toEqual([message]);
  });

  it("a DST gap on a day the window does not run is no problem", () => {
    // Chicago's gap is on a Sunday in March; the US 4CP window runs on weekdays in summer.
    expect(windowProblems("f", { name: "w", schedule: "30 1 * * 1-5", durationMinutes: 60 }, "America/Chicago")).toEqual([]);
    expect(windowProblems("f", { name: "w", schedule: "30 1 * 6-9 *", durationMinutes: 60 }, "America/Chicago")).toEqual([]);
  });

  it("reports them at the window's schedule line, all together", () => {
    const dir = mkdtempSync(join(tmpdir(), "mine2hpc-cron-"));
    const file = join(dir, "site.yaml");
    writeFileSync(
      file,
      [
        "apiVersion: mine2hpc.io/v1alpha1",
        "kind: Site",
        "metadata: { name: w, timezone: America/Chicago, gridRegion: ERCOT }",
        "power:",
        "  pue: 1.1",
        "  feeds:",
        "    - name: grid",
        "      tier: curtailable",
        "      capacityKw: 100",
        "      curtailment:",
        "        responseTimeSeconds: 600",
        "        windows:",
        "          - name: summer-nights",
        '            schedule: "0 22 * 6-9 *"',
        "            durationMinutes: 240",
        "          - name: weeknights",
        '            schedule: "0 23 * 6-9 1-5"',
        "            durationMinutes: 90",
        "          - name: early",
        '            schedule: "0 1 * * *"',
        "            durationMinutes: 90",
        "  circuits: [{ id: pdu-1, feed: grid, volts: 240, amps: 30, phases: 1 }]",
        "network: { nodeSubnet: 10.0.0.0/24 }",
        "machines: [{ hostname: cp-1, ip: 10.0.0.2, rack: r1, circuit: pdu-1, role: control-plane }]",
        "",
      ].join("\n"),
    );
    let err: unknown;
    try {
      loadAndValidate(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SiteError);
    expect((err as SiteError).problems.map((p) => [p.source?.line, p.message.split(")")[0]])).toEqual([
      [17, 'curtailment window weeknights of feed grid (schedule "0 23 * 6-9 1-5"'],
      [20, 'curtailment window early of feed grid (schedule "0 1 * * *"'],
    ]);
  });
});

describe("rendered CronJobs", () => {
  it("a window over midnight into a month outside its range gets one end CronJob per end schedule", () => {
    const plan = samplePlan();
    const curtailment = plan.curtailment.map((c) =>
      c.windows.length === 0 ? c : { ...c, windows: [{ name: "nights", schedule: "0 22 * 6-9 *", durationMinutes: 240 }] },
    );
    const cronJobs = renderCurtailment({ ...plan, curtailment })
      .filter((o) => o.kind === "CronJob" && (o.metadata as { annotations: Record<string, string> }).annotations["mine2hpc.io/window"] === "nights")
      .map((o) => [(o.metadata as { name: string }).name, (o as unknown as { spec: { schedule: string; timeZone: string } }).spec.schedule]);
    expect(cronJobs).toEqual([
      ["curtail-grid-flex-nights-start", "0 22 * 6-9 *"],
      ["curtail-grid-flex-nights-end", "0 2 1 7-10 *"],
      ["curtail-grid-flex-nights-end-2", "0 2 2-31 6-9 *"],
    ]);
  });
});
