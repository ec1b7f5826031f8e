/**
 * Escaping and number formatting for the HTML report. Every string that comes from the
 * plan (site, feed, circuit, pool and host names, warnings) passes through `escapeHtml`
 * before it reaches the page: site files are written by people and inventories exported
 * by fleet tools, so a name may hold `<`, `&` or quotes.
 */
import { CIRCUIT_WARN_FRACTION } from "../plan/plan.js";

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML/SVG text content and for double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/**
 * Integer with thousands separators, `-` for negatives: 5760 → "5,760". Written out
 * instead of `toLocaleString` so the report does not depend on the ICU data of the Node
 * build (the golden file must match byte for byte everywhere).
 */
export function int(n: number): string {
  // Half away from zero, like the plan's own rounding; Math.round would turn -4.5 into -4.
  const abs = Math.round(Math.abs(n));
  const digits = String(abs).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return n < 0 && abs > 0 ? `-${digits}` : digits;
}

/** Watts as kW with one decimal and thousands separators: 24512 → "24.5", 1234567 → "1,234.6". */
export function kw(watts: number): string {
  const abs = Math.round(Math.abs(watts) / 100);
  const sign = watts < 0 && abs > 0 ? "-" : "";
  return `${sign}${int(Math.floor(abs / 10))}.${abs % 10}`;
}

/** A percentage with one decimal: 82.345 → "82.3". */
export function pct(percent: number): string {
  return (Math.round(percent * 10) / 10).toFixed(1);
}

/** Below this load (in % of budget) a bar is green. */
export const LOAD_AMBER_PERCENT = 80;

/**
 * Above this load (in % of budget) a bar is red. It is the planner's own warning line
 * (`CIRCUIT_WARN_FRACTION`), so a red bar and a plan warning always go together.
 */
export const LOAD_RED_PERCENT = CIRCUIT_WARN_FRACTION * 100;

/** How loaded a circuit or feed is, for its bar colour: ok < 80 % ≤ warn ≤ 95 % < over. */
export type LoadLevel = "ok" | "warn" | "over";

/** The colour class of a load: green below 80 %, amber from 80 % to 95 %, red above 95 %. */
export function loadLevel(loadPercent: number): LoadLevel {
  if (loadPercent > LOAD_RED_PERCENT) return "over";
  if (loadPercent >= LOAD_AMBER_PERCENT) return "warn";
  return "ok";
}

/**
 * Shortens a label that must fit a fixed SVG column (SVG text does not wrap); the full
 * text stays in the element's `<title>`. Counts code points so it never splits a
 * surrogate pair. Returns raw text: escape it afterwards.
 */
export function truncate(text: string, maxChars: number): string {
  const chars = Array.from(text);
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars - 1).join("")}…`;
}

/** SVG coordinates with at most one decimal, so the output is short and stable. */
export function coord(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** Amperes with one decimal: 51.234 → "51.2". */
export function amps(a: number): string {
  return (Math.round(a * 10) / 10).toFixed(1);
}

/** A count and its noun: `1 circuit`, `12 circuits`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${int(n)} ${n === 1 ? one : many}`;
}

/** The badge of a power tier (escaped). */
export function tierBadge(tier: string): string {
  return `<span class="tier tier-${escapeHtml(tier)}">${escapeHtml(tier)}</span>`;
}
