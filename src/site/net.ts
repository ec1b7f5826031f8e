/**
 * IPv4 and CIDR arithmetic for site validation.
 *
 * Addresses are held as unsigned 32-bit integers (0 … 2^32−1) so that ranges compare with
 * plain `<`/`>`; JavaScript numbers hold them exactly, and we never use bitwise operators on
 * the result (those would turn 255.x.x.x negative).
 */

/** An inclusive range of IPv4 addresses, as unsigned 32-bit integers. */
export interface Ipv4Range {
  /** First address of the range. */
  first: number;
  /** Last address of the range (inclusive). */
  last: number;
}

/** A parsed CIDR block. */
export interface Cidr extends Ipv4Range {
  /** Prefix length, 0–32. */
  prefix: number;
  /** True when the written address had host bits set (`10.20.0.5/24`); tools mask them silently, which hides typos. */
  hostBitsSet: boolean;
}

/** Parses dotted-quad IPv4 (`10.20.0.11`); undefined for anything else (no leading zeros, each octet 0–255). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Formats an unsigned 32-bit address as dotted quad. */
export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Parses `a.b.c.d/n`; undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = parseIpv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === undefined || !/^\d{1,2}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const first = Math.floor(address / size) * size;
  return { first, last: first + size - 1, prefix, hostBitsSet: first !== address };
}

/**
 * Parses a MetalLB-style address pool: a CIDR (`10.20.3.0/28`) or an inclusive range
 * (`10.20.3.200-10.20.3.250`). Undefined when malformed or when the range runs backwards.
 */
export function parseAddressPool(text: string): Ipv4Range | undefined {
  if (text.includes("/")) return parseCidr(text);
  const dash = text.indexOf("-");
  if (dash < 0) return undefined;
  const first = parseIpv4(text.slice(0, dash).trim());
  const last = parseIpv4(text.slice(dash + 1).trim());
  if (first === undefined || last === undefined || last < first) return undefined;
  return { first, last };
}

/** True when two ranges share at least one address. */
export function rangesOverlap(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** True when `address` lies inside `range`. */
export function rangeContains(range: Ipv4Range, address: number): boolean {
  return address >= range.first && address <= range.last;
}

/** True when `inner` lies entirely inside `outer`. */
export function rangeWithin(inner: Ipv4Range, outer: Ipv4Range): boolean {
  return inner.first >= outer.first && inner.last <= outer.last;
}

/** Formats a range as `first-last` (or a single address). */
export function formatRange(range: Ipv4Range): string {
  return range.first === range.last ? formatIpv4(range.first) : `${formatIpv4(range.first)}-${formatIpv4(range.last)}`;
}
