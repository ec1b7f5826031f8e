/**
 * Cron arithmetic for curtailment windows: a window is written as its start (5-field cron)
 * and a duration; its end schedule is derived here. Shared by site validation (which
 * reports a window whose end cannot be computed, with file:line) and the renderer.
 */
import { SiteError } from "./problems.js";

/**
 * Window name of each non-firm feed's suspended start/end CronJobs, the templates for an
 * unscheduled dispatch (`mine2hpc curtail start --feed F`). Reserved: no site window may use it.
 */
export const MANUAL_WINDOW = "manual";

/** Start and end of one window as cron schedules. */
export interface WindowSchedules {
  start: string;
  end: string;
}

/**
 * End schedule of a window: its start plus `durationMinutes`. Needs plain-number minute
 * and hour fields; a window that crosses midnight also needs `*` day-of-month and
 * day-of-week fields (otherwise the end would fall on a different day than the fields say).
 * Anything else is a SiteError naming the feed and window and how to fix it.
 */
export function windowSchedules(feed: string, window: { name: string; schedule: string; durationMinutes: number }): WindowSchedules {
  const fields = window.schedule.trim().split(/\s+/);
  const where = `curtailment window ${window.name} of feed ${feed} (schedule "${window.schedule}")`;
  if (fields.length !== 5) {
    throw new SiteError([{ message: `${where} is not a 5-field cron expression`, fix: "write it as 'minute hour day-of-month month day-of-week', e.g. '0 15 * 6-9 1-5'" }]);
  }
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  if (!/^\d+$/.test(minute) || !/^\d+$/.test(hour) || Number(minute) > 59 || Number(hour) > 23) {
    throw new SiteError([
      {
        message: `${where}: the end time cannot be computed because the minute and hour fields are not single numbers`,
        fix: "use one start time per window (e.g. '0 15 * 6-9 1-5'); split windows that start at several times into several windows",
      },
    ]);
  }
  const endTotal = Number(hour) * 60 + Number(minute) + window.durationMinutes;
  if (endTotal >= 24 * 60 && (dom !== "*" || dow !== "*")) {
    throw new SiteError([
      {
        message: `${where} ends after midnight, on a different day than its day-of-month/day-of-week fields select`,
        fix: "end the window before midnight, or split it into two windows at midnight",
      },
    ]);
  }
  const wrapped = endTotal % (24 * 60);
  const end = [String(wrapped % 60), String(Math.floor(wrapped / 60)), dom, month, dow].join(" ");
  return { start: fields.join(" "), end };
}

