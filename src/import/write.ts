/** Writing imported machines in the inventory CSV format that `src/site/inventory.ts` reads. */
import { INVENTORY_COLUMNS } from "../site/inventory.js";
import type { ImportedMachine } from "./types.js";

/** Quotes a cell only when CSV needs it (comma, quote, line break, or edge spaces that unquoted cells lose). */
function cell(value: string | number | undefined): string {
  if (value === undefined) return "";
  const s = String(value);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Inventory CSV text: the header, then one line per machine in the given order. Fleet tools
 * do not know PSU cords, lifecycle state or pinned host keys, so those optional columns
 * (after sshUser) are written only when some machine has them.
 */
export function inventoryCsv(machines: readonly ImportedMachine[]): string {
  const always = INVENTORY_COLUMNS.indexOf("sshUser");
  const columns = INVENTORY_COLUMNS.filter(
    (c, i) => i <= always || machines.some((m) => (m as Record<string, unknown>)[c] !== undefined),
  );
  const lines = [columns.join(",")];
  for (const m of machines) lines.push(columns.map((c) => cell((m as Record<string, string | number | undefined>)[c])).join(","));
  return lines.join("\n") + "\n";
}
