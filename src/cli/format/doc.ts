/**
 * A report as data a person reads: a heading, summary lines and titled sections (a table and/or
 * lines). One model, two renderings: fixed-width text for a terminal and Markdown tables for a
 * ticket or PR comment, so `-o text` and `-o md` always say the same thing.
 */
import { markdownTable, textTable, type Table } from "./table.js";

/** One titled part of a report. */
export interface Section {
  title: string;
  /** Shown when it has rows. */
  table?: Table;
  /** Free lines after the table (a note, or the whole body). */
  lines?: string[];
  /** Markdown: the lines as a fenced code block (aligned text such as curtailment stages). */
  code?: boolean;
}

/** A whole report. */
export interface Doc {
  heading: string;
  /** Lines under the heading: indented in text, a bullet list in Markdown. */
  summary: string[];
  sections: Section[];
}

/** The report for a terminal: sections separated by a blank line, bodies indented by two spaces. */
export function docText(doc: Doc): string {
  const parts = [doc.heading, ...doc.summary.map((l) => `  ${l}`)];
  for (const sec of doc.sections) {
    parts.push("", sec.title);
    if (sec.table && sec.table.rows.length > 0) parts.push(textTable(sec.table));
    if (sec.lines) parts.push(...sec.lines.map((l) => `  ${l}`));
  }
  return parts.join("\n") + "\n";
}

/** The report as GitHub-flavoured Markdown: `##` heading, bullet summary, `###` sections with tables. */
export function docMarkdown(doc: Doc): string {
  const parts = [`## ${doc.heading}`];
  if (doc.summary.length > 0) parts.push("", ...doc.summary.map((l) => `- ${l}`));
  for (const sec of doc.sections) {
    parts.push("", `### ${sec.title}`, "");
    if (sec.table && sec.table.rows.length > 0) parts.push(markdownTable(sec.table));
    if (sec.lines && sec.lines.length > 0) parts.push(sec.code ? ["```", ...sec.lines, "```"].join("\n") : sec.lines.join("\n"));
  }
  return parts.join("\n") + "\n";
}
