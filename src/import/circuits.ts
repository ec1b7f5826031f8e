/**
 * Circuit rules: fleet tools know where a miner stands (rack, row, IP) but not which
 * breaker feeds it, and the planner needs the circuit of every machine. A small YAML file
 * says it once per range instead of once per machine:
 *
 * ```yaml
 * rules:                                    # first match wins
 *   - { rack: "A01-A04", circuit: pdu-a1 }  # racks A01, A02, A03, A04 (same prefix, numbered)
 *   - { row: "3", circuit: pdu-c1 }         # Foreman row 3
 *   - { container: "C02", rack: "1-4", circuit: pdu-d1 }  # racks 1-4 of container C02
 *   - { ip: "10.20.1.0/25", circuit: pdu-b1 }
 *   - { ip: "10.20.2.10-10.20.2.60", circuit: pdu-b2, setRack: shelf-02 }
 * ```
 *
 * A rule with several selectors matches only when all of them do. `setRack` gives a rack to
 * matched machines whose export names none (Hive OS records no location).
 */
import { parserMessage, quoted } from "../site/input.js";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import type { Problem } from "../site/problems.js";

/** A numbered range of names (`A01-A04`), or one exact name. Matching ignores case. */
export interface NameMatcher {
  text: string;
  exact?: string;
  prefix?: string;
  from?: number;
  to?: number;
}

/** One rule of the file. */
export interface CircuitRule {
  /** 1-based line of the rule in the rules file. */
  line: number;
  rack?: NameMatcher;
  row?: NameMatcher;
  /** Container or building (Foreman site-map group) the rack stands in. */
  container?: NameMatcher;
  /** Inclusive IPv4 range as unsigned 32-bit numbers. */
  ip?: { text: string; first: number; last: number };
  circuit: string;
  setRack?: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const RULE_KEYS = ["container", "rack", "row", "ip", "circuit", "setRack"];

/** `10.20.1.7` → its unsigned 32-bit value; undefined when not a dotted-quad IPv4. */
export function ipToNumber(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip.trim());
  if (!m) return undefined;
  let n = 0;
  for (let k = 1; k <= 4; k++) {
    const octet = Number(m[k]);
    if (octet > 255 || (m[k]!.length > 1 && m[k]!.startsWith("0"))) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

/** Parses a CIDR (`10.20.1.0/25`), a range (`10.20.2.10-10.20.2.60`) or one address. */
export function parseIpRange(text: string): { first: number; last: number } | undefined {
  const t = text.trim();
  const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(t);
  if (cidr) {
    const base = ipToNumber(cidr[1]!);
    const bits = Number(cidr[2]);
    if (base === undefined || bits > 32) return undefined;
    const size = 2 ** (32 - bits);
    const first = Math.floor(base / size) * size;
    return { first, last: first + size - 1 };
  }
  const dash = t.indexOf("-");
  if (dash > 0) {
    const first = ipToNumber(t.slice(0, dash));
    const last = ipToNumber(t.slice(dash + 1));
    if (first === undefined || last === undefined || last < first) return undefined;
    return { first, last };
  }
  const one = ipToNumber(t);
  return one === undefined ? undefined : { first: one, last: one };
}

/**
 * Parses `A01-A04`, `gpu-r01-gpu-r04`, `A1-4` or `1-3` as a numbered range; anything else
 * (`shelf-01`, `B`) is an exact name. Names may contain `-` themselves, so every dash is
 * tried as the separator and the split whose two ends share a prefix wins.
 */
export function parseNameMatcher(text: string): NameMatcher {
  const t = text.trim();
  for (let k = t.indexOf("-"); k > 0; k = t.indexOf("-", k + 1)) {
    const left = /^(.*?)(\d+)$/.exec(t.slice(0, k));
    const right = /^(.*?)(\d+)$/.exec(t.slice(k + 1));
    if (!left || !right) continue;
    const prefix = left[1]!;
    if (right[1] !== prefix && right[1] !== "") continue;
    const from = Number(left[2]);
    const to = Number(right[2]);
    if (to < from) continue;
    return { text: t, prefix: prefix.toLowerCase(), from, to };
  }
  return { text: t, exact: t.toLowerCase() };
}

/** Whether `value` is inside the matcher's range (or equals its exact name), ignoring case. */
export function matchName(m: NameMatcher, value: string | undefined): boolean {
  if (value === undefined || value === "") return false;
  const v = value.trim().toLowerCase();
  if (m.exact !== undefined) return v === m.exact;
  if (!v.startsWith(m.prefix!)) return false;
  const rest = v.slice(m.prefix!.length);
  if (!/^\d+$/.test(rest)) return false;
  const n = Number(rest);
  return n >= m.from! && n <= m.to!;
}

/** Where a machine stands, as far as the rules care. */
export interface RuleSubject {
  rack?: string;
  row?: string;
  container?: string;
  ip?: string;
}

/** The first rule matching the machine, or undefined. */
export function matchRule(rules: readonly CircuitRule[], subject: RuleSubject): CircuitRule | undefined {
  const ipNumber = subject.ip !== undefined ? ipToNumber(subject.ip) : undefined;
  return rules.find(
    (r) =>
      (r.rack === undefined || matchName(r.rack, subject.rack)) &&
      (r.row === undefined || matchName(r.row, subject.row)) &&
      (r.container === undefined || matchName(r.container, subject.container)) &&
      (r.ip === undefined || (ipNumber !== undefined && ipNumber >= r.ip.first && ipNumber <= r.ip.last)),
  );
}

/** Parses a rules file's text; every problem located at file:line, rules only when there are none. */
export function parseCircuitRules(text: string, file: string): { rules: CircuitRule[]; problems: Problem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: "error" });
  const problems: Problem[] = [];
  const lineOf = (node: unknown): number => {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : 1;
  };
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      problems.push({
        message: `YAML syntax error: ${parserMessage(err.message, err.code)}`,
        fix: "fix the YAML at this position: check indentation, ':' after keys and matching quotes",
        source: { file, line: lineCounter.linePos(err.pos[0]).line },
      });
    }
    return { rules: [], problems };
  }
  const example = 'rules: [{ rack: "A01-A04", circuit: pdu-a1 }, { ip: "10.20.1.0/25", circuit: pdu-b1 }]';
  const rulesNode = isMap(doc.contents) ? doc.contents.get("rules", true) : undefined;
  if (!isSeq(rulesNode) || rulesNode.items.length === 0) {
    problems.push({ message: "circuit rules file has no 'rules:' list", fix: `write the rules as ${example}`, source: { file, line: lineOf(rulesNode ?? doc.contents) } });
    return { rules: [], problems };
  }
  const rules: CircuitRule[] = [];
  rulesNode.items.forEach((item, index) => {
    const line = lineOf(item);
    const at = { file, line };
    if (!isMap(item)) {
      problems.push({ message: `rule ${index + 1} is not a mapping`, fix: `write it as { rack: "A01-A04", circuit: pdu-a1 }`, source: at });
      return;
    }
    const values: Record<string, string> = {};
    for (const pair of item.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      const keyLine = lineOf(pair.key as YamlNode);
      if (!RULE_KEYS.includes(key)) {
        problems.push({ message: `rule ${index + 1} has unknown key ${quoted(key)}`, fix: `use ${RULE_KEYS.join(", ")}`, source: { file, line: keyLine } });
        continue;
      }
      if (!isScalar(pair.value) || pair.value.value === null || typeof pair.value.value === "object") {
        problems.push({ message: `rule ${index + 1}: ${key} must be a single value`, fix: `write ${key}: "..." (one range per rule; add rules for more)`, source: { file, line: keyLine } });
        continue;
      }
      values[key] = String(pair.value.value).trim();
    }
    const rule: CircuitRule = { line, circuit: values.circuit ?? "" };
    if (values.circuit === undefined) {
      problems.push({ message: `rule ${index + 1} has no circuit`, fix: "add circuit: <circuit id from the site's power.circuits>", source: at });
    } else if (!DNS_LABEL.test(values.circuit)) {
      problems.push({ message: `rule ${index + 1}: circuit ${quoted(values.circuit)} is not a DNS label`, fix: "use the circuit id as the site names it: lowercase letters, digits and '-'", source: at });
    }
    if (values.rack !== undefined) rule.rack = parseNameMatcher(values.rack);
    if (values.row !== undefined) rule.row = parseNameMatcher(values.row);
    if (values.container !== undefined) rule.container = parseNameMatcher(values.container);
    if (values.ip !== undefined) {
      const range = parseIpRange(values.ip);
      if (range) rule.ip = { text: values.ip, ...range };
      else problems.push({ message: `rule ${index + 1}: ip ${quoted(values.ip)} is not a CIDR, a first-last range or an address`, fix: "write it as 10.20.1.0/25 or 10.20.2.10-10.20.2.60", source: at });
    }
    if (values.setRack !== undefined) rule.setRack = values.setRack;
    if (values.rack === undefined && values.row === undefined && values.container === undefined && values.ip === undefined) {
      problems.push({ message: `rule ${index + 1} matches nothing: it has no container, rack, row or ip`, fix: "add container:, rack:, row: or ip: to say which machines the circuit feeds", source: at });
    }
    rules.push(rule);
  });
  return { rules: problems.length > 0 ? [] : rules, problems };
}

/** How a rule reads in messages: `rack A01-A04, ip 10.20.1.0/25`. */
export function describeRule(rule: CircuitRule): string {
  const parts: string[] = [];
  if (rule.container) parts.push(`container ${rule.container.text}`);
  if (rule.rack) parts.push(`rack ${rule.rack.text}`);
  if (rule.row) parts.push(`row ${rule.row.text}`);
  if (rule.ip) parts.push(`ip ${rule.ip.text}`);
  return parts.join(", ");
}
