/** Writing imported machines in the inventory CSV format that `src/site/inventory.ts` reads. */
import { INVENTORY_COLUMNS } from "../site/inventory.js";
import type { ImportedMachine } from "./types.js";

/** Quotes a cell only when CSV needs it (comma, quote, line break, or edge spaces that unquoted cells lose). */
function cell(value: string | number | undefined): string {
  if (value === undefined) return "";
  const s = String(value);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Inventory CSV text: the full header, then one line per machine in the given order. */
export function inventoryCsv(machines: readonly ImportedMachine[]): string {
  const lines = [INVENTORY_COLUMNS.join(",")];
  for (const m of machines) lines.push(INVENTORY_COLUMNS.map((c) => cell(m[c])).join(","));
  return lines.join("\n") + "\n";
}
