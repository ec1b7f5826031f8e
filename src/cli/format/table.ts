/** Plain-text and Markdown tables for the CLI's reports. */

/** Column alignment: numbers read best right-aligned. */
export type Align = "left" | "right";

export interface Table {
  headers: string[];
  align?: Align[];
  rows: string[][];
}

/** A fixed-width text table with two spaces between columns. */
export function textTable(t: Table, indent = "  "): string {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    indent +
    cells
      .map((c, i) => (t.align?.[i] === "right" ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(t.headers), ...t.rows.map(line)].join("\n");
}

/** A GitHub-flavoured Markdown table; pipes in cells are escaped, line breaks become spaces (a row is one line). */
export function markdownTable(t: Table): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const sep = t.headers.map((_, i) => (t.align?.[i] === "right" ? "---:" : "---"));
  return [t.headers, sep, ...t.rows].map((r) => `| ${r.map(esc).join(" | ")} |`).join("\n");
}

/** Watts as kW with one decimal, thousands separated: 24512 → "24.5". */
export function kw(watts: number): string {
  return (watts / 1000).toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

/** Integer with thousands separators: 5760 → "5,760". */
export function int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
