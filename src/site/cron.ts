/**
 * Cron for curtailment windows. A window is written as its start (a 5-field cron schedule,
 * in the site's time zone) and a duration; its end CronJob schedules are derived here.
 * Shared by site validation (which reports, with file:line, a window whose end cannot be
 * written as cron schedules or whose start or end falls into a DST gap) and the renderer.
 *
 * Semantics are those of the Kubernetes CronJob controller, which parses `spec.schedule` with
 * robfig/cron v3 `ParseStandard` and computes each run with `SpecSchedule.Next`, in the IANA
 * zone of `spec.timeZone` (https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/,
 * "Schedule syntax" and "Time zones"; kubernetes pkg/controller/cronjob/utils.go
 * mostRecentScheduleTime). From robfig/cron v3 (github.com/robfig/cron, parser.go and spec.go):
 *
 * - fields minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week
 *   0-6 or SUN-SAT (names case-insensitive; 7 is out of range); each field a comma list of
 *   `*` / `?` / `N` / `N-M`, each optionally `/step`; `N/step` means `N-max/step`;
 * - a field holds the "star bit" when one of its parts is `*` or `?` with a step of 1;
 *   the day matches on day-of-month AND day-of-week when either field has it, else on
 *   day-of-month OR day-of-week (`0 0 13 * 5` runs on every 13th and every Friday);
 * - `Next` walks wall-clock fields but steps hours and minutes in absolute time, so a wall
 *   time skipped by a DST jump never fires that day, and a wall time repeated when clocks go
 *   back fires twice (once per UTC offset).
 */
import { SiteError, type Problem } from "./problems.js";

/**
 * Window name of each non-firm feed's suspended start/end CronJobs, the templates for an
 * unscheduled dispatch (`mine2hpc curtail start --feed F`). Reserved: no site window may use it.
 */
export const MANUAL_WINDOW = "manual";

/** A parsed 5-field schedule, as robfig/cron v3 `ParseStandard` reads it. */
export interface CronSpec {
  minute: ReadonlySet<number>;
  hour: ReadonlySet<number>;
  dom: ReadonlySet<number>;
  month: ReadonlySet<number>;
  dow: ReadonlySet<number>;
  /** robfig's star bit of day-of-month: with either star bit set the two day fields are ANDed, else ORed. */
  domStar: boolean;
  /** robfig's star bit of day-of-week. */
  dowStar: boolean;
}

/** A schedule that robfig/cron (and so the Kubernetes API server) would reject. */
export class CronSyntaxError extends Error {}

const MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DOW_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** Bounds of each field, robfig/cron spec.go (`minutes`, `hours`, `dom`, `months`, `dow`). */
const FIELDS = [
  { name: "minute", min: 0, max: 59, names: undefined },
  { name: "hour", min: 0, max: 23, names: undefined },
  { name: "day-of-month", min: 1, max: 31, names: undefined },
  { name: "month", min: 1, max: 12, names: Object.fromEntries(MONTH_NAMES.map((n, i) => [n, i + 1])) },
  { name: "day-of-week", min: 0, max: 6, names: Object.fromEntries(DOW_NAMES.map((n, i) => [n, i])) },
] as const;

/** robfig/cron parser.go `parseDescriptor`, written as the 5 fields each one means (`@every` has none). */
const DESCRIPTORS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** The 5 fields of a schedule, with a descriptor (`@daily`) replaced by what it means. */
function scheduleFields(expr: string): string[] {
  const trimmed = expr.trim();
  if (trimmed.startsWith("@")) {
    const fields = DESCRIPTORS[trimmed];
    if (fields === undefined) throw new CronSyntaxError(`unsupported descriptor ${trimmed} (use ${Object.keys(DESCRIPTORS).join(", ")} or 5 fields)`);
    return fields.split(" ");
  }
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5) throw new CronSyntaxError(`expected 5 fields (minute hour day-of-month month day-of-week), found ${trimmed === "" ? 0 : fields.length}`);
  return fields;
}

/** Parses a schedule the way robfig/cron v3 `ParseStandard` does; throws CronSyntaxError where it would fail. */
export function parseCron(expr: string): CronSpec {
  const fields = scheduleFields(expr);
  const parsed = fields.map((text, i) => parseField(text, FIELDS[i]!));
  const [minute, hour, dom, month, dow] = parsed as [Parsed, Parsed, Parsed, Parsed, Parsed];
  return { minute: minute.values, hour: hour.values, dom: dom.values, month: month.values, dow: dow.values, domStar: dom.star, dowStar: dow.star };
}

interface Parsed {
  values: Set<number>;
  star: boolean;
}

function parseField(text: string, f: (typeof FIELDS)[number]): Parsed {
  const values = new Set<number>();
  let star = false;
  // robfig splits with strings.FieldsFunc on ',', which drops empty parts.
  for (const part of text.split(",").filter((p) => p !== "")) {
    const bad = (why: string) => new CronSyntaxError(`${f.name} field "${text}": ${why}`);
    const rangeAndStep = part.split("/");
    if (rangeAndStep.length > 2) throw bad(`too many slashes in ${part}`);
    const lowAndHigh = rangeAndStep[0]!.split("-");
    if (lowAndHigh.length > 2) throw bad(`too many hyphens in ${part}`);
    let start: number;
    let end: number;
    let partStar = false;
    if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
      [start, end, partStar] = [f.min, f.max, true];
    } else {
      start = number(lowAndHigh[0]!, f, bad);
      end = lowAndHigh.length === 2 ? number(lowAndHigh[1]!, f, bad) : start;
    }
    let step = 1;
    if (rangeAndStep.length === 2) {
      if (!/^\d+$/.test(rangeAndStep[1]!)) throw bad(`step ${rangeAndStep[1]} is not a number`);
      step = Number(rangeAndStep[1]);
      if (lowAndHigh.length === 1) end = f.max; // "N/step" means "N-max/step"
      if (step > 1) partStar = false;
    }
    if (start < f.min) throw bad(`${start} is below the minimum ${f.min}`);
    if (end > f.max) throw bad(`${end} is above the maximum ${f.max}`);
    if (start > end) throw bad(`range ${part} ends before it begins`);
    if (step === 0) throw bad("a step must be a positive number");
    for (let v = start; v <= end; v += step) values.add(v);
    star ||= partStar;
  }
  return { values, star };
}

function number(text: string, f: (typeof FIELDS)[number], bad: (why: string) => Error): number {
  const named = f.names?.[text.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(text)) throw bad(`${JSON.stringify(text)} is not a number${f.names ? " or a name" : ""}`);
  return Number(text);
}

/** A civil date: year, month 1-12, day 1-31, weekday 0 (Sunday)-6. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
  weekday: number;
}

/** robfig/cron `dayMatches` plus the month field: does the schedule run on this date at all. */
export function dateMatches(spec: CronSpec, date: CivilDate): boolean {
  if (!spec.month.has(date.month)) return false;
  const dom = spec.dom.has(date.day);
  const dow = spec.dow.has(date.weekday);
  return spec.domStar || spec.dowStar ? dom && dow : dom || dow;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Civil date of a day number (days since 1970-01-01). */
function civil(dayNumber: number): CivilDate {
  const d = new Date(dayNumber * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay() };
}

function isoDate(d: CivilDate): string {
  return `${String(d.year).padStart(4, "0")}-${pad2(d.month)}-${pad2(d.day)}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** `HH:MM` of a minute of the day. */
function clock(minuteOfDay: number): string {
  return `${pad2(Math.floor(minuteOfDay / 60))}:${pad2(minuteOfDay % 60)}`;
}

/**
 * UTC offsets of an IANA zone over a span: the offset at the span's start and every change
 * after it, to the minute. Read from the runtime's tz data (Intl), sampled daily and
 * bisected where the offset changes (zones change at most once a day).
 */
export class ZoneOffsets {
  /** Instants (ms) at which the offset changes, ascending, with the offset (ms) from then on. */
  readonly changes: readonly { at: number; offsetMs: number }[];
  private readonly first: number;

  constructor(
    readonly zone: string,
    fromMs: number,
    toMs: number,
  ) {
    const fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    const offsetAt = (ms: number): number => {
      const p = Object.fromEntries(fmt.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
      return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) - ms;
    };
    this.first = offsetAt(fromMs);
    const changes: { at: number; offsetMs: number }[] = [];
    let prevAt = fromMs;
    let prev = this.first;
    for (let t = fromMs + DAY_MS; prevAt < toMs; t += DAY_MS) {
      const at = Math.min(t, toMs);
      const off = offsetAt(at);
      if (off !== prev) {
        // Bisect to the first minute with the new offset.
        let [lo, hi] = [prevAt, at];
        while (hi - lo > MINUTE_MS) {
          const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
          if (offsetAt(mid) === prev) lo = mid;
          else hi = mid;
        }
        changes.push({ at: hi, offsetMs: off });
        prev = off;
      }
      prevAt = at;
    }
    this.changes = changes;
  }

  /** Offset (ms) in force at instant `ms`. */
  offsetAt(ms: number): number {
    let off = this.first;
    for (const c of this.changes) {
      if (c.at > ms) break;
      off = c.offsetMs;
    }
    return off;
  }

  /**
   * Wall-clock times that do not exist (clocks jump forward): for each change to a larger
   * offset, the local minutes from the old wall time of the change up to (not including)
   * the new one, as `[startWallMs, endWallMs)` in "wall time as if UTC" milliseconds.
   */
  gaps(): { startWallMs: number; endWallMs: number }[] {
    const out: { startWallMs: number; endWallMs: number }[] = [];
    let prev = this.first;
    for (const c of this.changes) {
      if (c.offsetMs > prev) out.push({ startWallMs: c.at + prev, endWallMs: c.at + c.offsetMs });
      prev = c.offsetMs;
    }
    return out;
  }
}

/**
 * Every instant (ms, whole minutes) in `[fromMs, toMs)` at which a CronJob with this schedule
 * and `spec.timeZone: zone` runs: the instants whose wall-clock time in the zone matches the
 * fields, which is what robfig's `Next` returns step by step (so a skipped wall time never
 * runs and a repeated one runs twice). Bounded: one check per minute of the span.
 */
export function fireTimes(spec: CronSpec, zone: ZoneOffsets, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  const start = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
  let next = 0;
  let offset = zone.offsetAt(start);
  while (next < zone.changes.length && zone.changes[next]!.at <= start) next++;
  for (let t = start; t < toMs; t += MINUTE_MS) {
    while (next < zone.changes.length && zone.changes[next]!.at <= t) offset = zone.changes[next++]!.offsetMs;
    const wall = new Date(t + offset);
    if (!spec.minute.has(wall.getUTCMinutes()) || !spec.hour.has(wall.getUTCHours())) continue;
    const date = { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate(), weekday: wall.getUTCDay() };
    if (dateMatches(spec, date)) out.push(t);
  }
  return out;
}

/** Start and end of one window as CronJob schedules: one start, one or more ends (their union). */
export interface WindowSchedules {
  start: string;
  /**
   * End schedules, at the start's wall-clock time plus the duration. Several when the window
   * crosses midnight and the days it ends on are no single cron day set (e.g. `0 22 * 6-9 *`
   * ends on June 2 – October 1: `0 2 2-31 6-9 *` and `0 2 1 7-10 *`).
   */
  end: string[];
}

/**
 * Years over which a window's days are compared with its end schedules' days: 28 years
 * repeat every weekday/leap-year combination of the Gregorian calendar between 1901 and 2099.
 * Fixed (not "from today"), so the same site gives the same answer on any day.
 */
export const CHECK_YEARS = { first: 2026, last: 2053 } as const;

let checkDays: CivilDate[] | undefined;
/** Every date of CHECK_YEARS, plus the day after (where the last day's windows end). */
function days(): CivilDate[] {
  if (checkDays === undefined) {
    const first = Date.UTC(CHECK_YEARS.first, 0, 1) / DAY_MS;
    const last = Date.UTC(CHECK_YEARS.last + 1, 0, 1) / DAY_MS; // the extra day
    checkDays = [];
    for (let d = first; d <= last; d++) checkDays.push(civil(d));
  }
  return checkDays;
}

/** Compact list of a field's values: runs of three or more as `a-b`, `*` when all of `min..max`. */
function formatValues(values: Iterable<number>, min: number, max: number): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (sorted.length === max - min + 1) return "*";
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    if (j - i >= 2) parts.push(`${sorted[i]}-${sorted[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(sorted[k]));
    i = j + 1;
  }
  return parts.join(",");
}

interface Derived {
  schedules: WindowSchedules;
  startSpec: CronSpec;
  endSpecs: CronSpec[];
  /** Minute of the day of the start and of the end. */
  startMinute: number;
  endMinute: number;
}

/** What is wrong with a window, without a path (validation adds it). */
type WindowProblem = Omit<Problem, "path" | "source">;

/**
 * Derives a window's schedules, or the problems that prevent it. The end runs at the start's
 * wall-clock time plus `durationMinutes` (a window of 4 h starting at 22:00 ends at 02:00 local
 * time, also on a DST night, when 3 or 5 real hours pass). Over midnight the end days are the
 * start days shifted by one; they are written as the fewest cron schedules that select exactly
 * those days in every year of CHECK_YEARS, or the window is refused.
 */
function deriveWindow(feed: string, window: { name: string; schedule: string; durationMinutes: number }): { derived?: Derived; problems: WindowProblem[] } {
  const where = `curtailment window ${window.name} of feed ${feed} (schedule "${window.schedule}")`;
  let spec: CronSpec;
  let fields: string[];
  try {
    fields = scheduleFields(window.schedule);
    spec = parseCron(window.schedule);
  } catch (err) {
    if (!(err instanceof CronSyntaxError)) throw err;
    const count = window.schedule.trim().split(/\s+/).length;
    if (!window.schedule.trim().startsWith("@") && count !== 5) {
      return { problems: [{ message: `${where} is not a 5-field cron expression`, fix: "write it as 'minute hour day-of-month month day-of-week', e.g. '0 15 * 6-9 1-5'" }] };
    }
    return { problems: [{ message: `${where} is not a valid CronJob schedule: ${err.message}`, fix: "write it as 'minute hour day-of-month month day-of-week' (Kubernetes CronJob syntax), e.g. '0 15 * 6-9 1-5'" }] };
  }
  if (spec.minute.size !== 1 || spec.hour.size !== 1) {
    return {
      problems: [
        {
          message: `${where}: the end time cannot be computed because the minute and hour fields are not single numbers`,
          fix: "use one start time per window (e.g. '0 15 * 6-9 1-5'); split windows that start at several times into several windows",
        },
      ],
    };
  }
  const startMinute = [...spec.hour][0]! * 60 + [...spec.minute][0]!;
  const endTotal = startMinute + window.durationMinutes;
  const shift = Math.floor(endTotal / (24 * 60));
  const endMinute = endTotal % (24 * 60);
  const time = `${endMinute % 60} ${Math.floor(endMinute / 60)}`;
  const all = days();
  const starts = all.map((d, i) => i < all.length - 1 && dateMatches(spec, d));
  if (!starts.some(Boolean)) {
    return {
      problems: [
        {
          message: `${where} never runs: no date in ${CHECK_YEARS.first}–${CHECK_YEARS.last} matches its day-of-month, month and day-of-week fields`,
          fix: "check the day-of-month against the months (e.g. '31' in a 30-day month, '30 2')",
        },
      ],
    };
  }
  const start = fields.join(" ");
  const problems: WindowProblem[] = [];
  if (window.durationMinutes >= 24 * 60) {
    const i = starts.findIndex((s, k) => s && starts[k + 1] === true);
    if (i >= 0) {
      problems.push({
        message: `${where} lasts 24 hours and starts on consecutive days (${isoDate(all[i]!)} and ${isoDate(all[i + 1]!)}): its end and the next start would run at the same minute, in no fixed order`,
        fix: "make it shorter than 1440 minutes, or write the consecutive days as one window on fewer days",
      });
    }
  }
  let end: string[] | undefined;
  if (shift === 0) {
    end = [[time, ...fields.slice(2)].join(" ")];
  } else {
    // The day after each start; `ends[i]` for the day `all[i]`.
    const ends = all.map((_, i) => i > 0 && starts[i - 1] === true);
    const exact = endCandidates(spec, ends, time).filter((c) => sameDays(c, ends));
    end = exact.reduce<string[] | undefined>((best, c) => (best === undefined || c.length < best.length ? c : best), undefined);
    if (end === undefined) {
      problems.push({
        message: `${where} ends after midnight, and the days it ends on (the day after each start) cannot be written as cron schedules`,
        fix: "end the window before midnight, split it at midnight into two windows, or select its days by month and day-of-month only, or by day-of-week in every month",
      });
    }
  }
  if (end === undefined || problems.length > 0) return { problems };
  return { derived: { schedules: { start, end }, startSpec: spec, endSpecs: end.map(parseCron), startMinute, endMinute }, problems };
}

/** Days in each month in the longest year (February 29 exists in leap years). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Groups `keys` so that each group's values can be one cron field: a group takes the union of
 * its keys' required values, and may add a value to a key only where that (key, value) date
 * never exists (June 31), since a date that exists but is not wanted would add a run.
 * Greedy, in key order: few groups, checked afterwards by {@link sameDays}.
 */
function groupKeys(keys: number[], required: ReadonlyMap<number, ReadonlySet<number>>, values: readonly number[], exists: (key: number, value: number) => boolean): { keys: number[]; values: Set<number> }[] {
  const groups: { keys: number[]; values: Set<number> }[] = [];
  for (const k of keys) {
    const req = required.get(k)!;
    const fits = (g: { keys: number[]; values: Set<number> }): boolean =>
      [...g.keys, k].every((k2) => values.every((v) => !(g.values.has(v) || req.has(v)) || !exists(k2, v) || required.get(k2)!.has(v)));
    const group = groups.find(fits);
    if (group === undefined) groups.push({ keys: [k], values: new Set(req) });
    else {
      group.keys.push(k);
      req.forEach((v) => group.values.add(v));
    }
  }
  return groups;
}

/**
 * End schedules to try for a window over midnight (those that select exactly the end days
 * are kept by the caller, and the fewest wins):
 * - by day-of-week (the start's weekdays plus one) in the months the ends fall in: a start
 *   selected by day-of-week in every day-of-month (`0 22 * * 5` ends `0 2 * * 6`);
 * - by day-of-month and month, grouped by day or by month (`0 22 * 6-9 *` ends
 *   `0 2 2-31 6-9 *` and `0 2 1 7-10 *`): a start selected by day-of-month and month;
 * - both day fields shifted (OR semantics): a start that restricts both.
 */
function endCandidates(spec: CronSpec, ends: readonly boolean[], time: string): string[][] {
  const all = days();
  const byMonth = new Map<number, Set<number>>();
  const byDom = new Map<number, Set<number>>();
  ends.forEach((e, i) => {
    if (!e) return;
    const { month, day } = all[i]!;
    byMonth.set(month, (byMonth.get(month) ?? new Set()).add(day));
    byDom.set(day, (byDom.get(day) ?? new Set()).add(month));
  });
  const months = formatValues(byMonth.keys(), 1, 12);
  const nextDow = formatValues([...spec.dow].map((w) => (w + 1) % 7), 0, 6);
  const range = (n: number, from: number) => Array.from({ length: n }, (_, i) => from + i);
  const sortedKeys = (m: Map<number, unknown>) => [...m.keys()].sort((a, b) => a - b);
  const out: string[][] = [[`${time} * ${months} ${nextDow}`]];
  out.push(
    groupKeys(sortedKeys(byDom), byDom, range(12, 1), (dom, month) => dom <= MONTH_DAYS[month - 1]!).map(
      (g) => `${time} ${formatValues(g.keys, 1, 31)} ${formatValues(g.values, 1, 12)} *`,
    ),
  );
  out.push(
    groupKeys(sortedKeys(byMonth), byMonth, range(31, 1), (month, dom) => dom <= MONTH_DAYS[month - 1]!).map(
      (g) => `${time} ${formatValues(g.values, 1, 31)} ${formatValues(g.keys, 1, 12)} *`,
    ),
  );
  const nextDom = [...spec.dom].map((d) => d + 1).filter((d) => d <= 31);
  if (nextDom.length > 0) out.push([`${time} ${formatValues(nextDom, 1, 31)} ${months} ${nextDow}`]);
  return out;
}

/** True when the union of `schedules` runs on exactly the days marked in `wanted` (and never twice a day). */
function sameDays(schedules: readonly string[], wanted: readonly boolean[]): boolean {
  const specs = schedules.map(parseCron);
  return days().every((d, i) => {
    if (i === 0) return true; // the day before has no start in the span
    const hits = specs.filter((s) => dateMatches(s, d)).length;
    return wanted[i] ? hits === 1 : hits === 0;
  });
}

/**
 * Start and end schedules of a window. Throws a SiteError (naming the feed, the window and
 * the fix) when the window cannot be written as CronJobs; validation reports the same
 * problems, with file:line, before anything is rendered.
 */
export function windowSchedules(feed: string, window: { name: string; schedule: string; durationMinutes: number }): WindowSchedules {
  const { derived, problems } = deriveWindow(feed, window);
  if (derived === undefined) throw new SiteError(problems);
  return derived.schedules;
}

const zoneCache = new Map<string, ZoneOffsets>();

/** Offsets of `zone` over CHECK_YEARS (cached per zone: one Intl pass per process). */
export function zoneOffsets(zone: string): ZoneOffsets {
  let z = zoneCache.get(zone);
  if (z === undefined) {
    z = new ZoneOffsets(zone, Date.UTC(CHECK_YEARS.first, 0, 1) - DAY_MS, Date.UTC(CHECK_YEARS.last + 1, 0, 2));
    zoneCache.set(zone, z);
  }
  return z;
}

/**
 * Every problem of a window in the site's time zone: those of {@link windowSchedules}, plus a
 * start or end at a wall-clock time that a DST jump skips on a day it runs (the CronJob
 * would not run that day: no curtailment, or one that does not end). A time repeated when
 * clocks go back is no problem: the start (or end) runs twice, and running it again is harmless.
 */
export function windowProblems(feed: string, window: { name: string; schedule: string; durationMinutes: number }, zone: string): WindowProblem[] {
  const { derived, problems } = deriveWindow(feed, window);
  if (derived === undefined) return problems;
  const where = `curtailment window ${window.name} of feed ${feed} (schedule "${window.schedule}")`;
  const checks = [
    { what: "starts", minute: derived.startMinute, specs: [derived.startSpec], effect: "that day's curtailment would not start" },
    { what: "ends", minute: derived.endMinute, specs: derived.endSpecs, effect: "that window would not end until the next end" },
  ];
  for (const gap of zoneOffsets(zone).gaps()) {
    for (const c of checks) {
      for (let wall = gap.startWallMs; wall < gap.endWallMs; wall += MINUTE_MS) {
        const w = new Date(wall);
        if (w.getUTCHours() * 60 + w.getUTCMinutes() !== c.minute) continue;
        const date = civil(Math.floor(wall / DAY_MS));
        if (!c.specs.some((s) => dateMatches(s, date))) continue;
        const from = new Date(gap.startWallMs);
        const to = new Date(gap.endWallMs);
        const span = `${clock(from.getUTCHours() * 60 + from.getUTCMinutes())}–${clock(to.getUTCHours() * 60 + to.getUTCMinutes())}`;
        problems.push({
          message: `${where} ${c.what} at ${clock(c.minute)}, a time that does not exist on ${isoDate(date)} in ${zone} (clocks skip ${span}): the CronJob does not run that day, so ${c.effect}`,
          fix: `move the window's ${c.what === "starts" ? "start" : "end"} out of ${span} local time (change the start or the duration)`,
        });
        c.specs = []; // one problem per start/end is enough
      }
    }
  }
  return problems;
}
