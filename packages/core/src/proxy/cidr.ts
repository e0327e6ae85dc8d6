import { InvalidConfigError } from "../errors.ts";
import { parseIPv4, parseIPv6 } from "./ip.ts";

/** `::ffff:a.b.c.d` -> the 4 IPv4 bytes; anything else unchanged. */
function unmap(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return bytes;
  return bytes.subarray(12);
}

/** An address as bytes, IPv4 for v4-mapped IPv6 (`::ffff:10.1.2.3`); a zone (`%eth0`) is dropped. */
function addressBytes(text: string): Uint8Array | null {
  const v4 = parseIPv4(text);
  if (v4 !== null) return v4;
  const zone = text.indexOf("%");
  const v6 = parseIPv6(zone < 0 ? text : text.slice(0, zone));
  return v6 === null ? null : unmap(v6);
}

function ipv4Number(bytes: Uint8Array): number {
  return (((bytes[0] as number) << 24) | ((bytes[1] as number) << 16) | ((bytes[2] as number) << 8) | (bytes[3] as number)) >>> 0;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * A set of IP addresses and CIDR blocks (`"127.0.0.1"`, `"10.0.0.0/8"`, `"::1"`, `"fd00::/8"`),
 * IPv4 entries matching IPv4 peers and their v4-mapped IPv6 form alike (a dual-stack listener
 * reports `::ffff:10.1.2.3`). Entries are checked when built: a bad address, a prefix out of
 * range or host bits set past the prefix (`10.0.0.1/8`) throw {@link InvalidConfigError}.
 */
export class CidrSet {
  readonly #v4: { network: number; mask: number }[] = [];
  readonly #v6: { bytes: Uint8Array; prefix: number }[] = [];

  constructor(entries: readonly unknown[], field: string) {
    for (const [index, entry] of entries.entries()) this.#add(entry, `${field}[${index}]`);
  }

  #add(entry: unknown, field: string): void {
    if (typeof entry !== "string") throw new InvalidConfigError(field, `${field} must be an IP address or CIDR string; got ${typeof entry}`);
    const slash = entry.indexOf("/");
    const text = slash < 0 ? entry : entry.slice(0, slash);
    const parsed = parseIPv4(text) ?? parseIPv6(text);
    if (parsed === null) throw new InvalidConfigError(field, `${field} ${JSON.stringify(entry)} is not an IP address or CIDR (e.g. "10.0.0.0/8", "::1")`);
    const bits = parsed.length * 8;
    let prefix = bits;
    if (slash >= 0) {
      const prefixText = entry.slice(slash + 1);
      prefix = /^(?:0|[1-9][0-9]{0,2})$/.test(prefixText) ? Number(prefixText) : -1;
      if (prefix < 0 || prefix > bits) throw new InvalidConfigError(field, `${field} ${JSON.stringify(entry)}: the prefix must be 0 to ${bits}`);
    }
    for (let bit = prefix; bit < bits; bit++) {
      if (((parsed[bit >> 3] as number) >> (7 - (bit & 7))) & 1) {
        throw new InvalidConfigError(field, `${field} ${JSON.stringify(entry)} has bits set past its /${prefix} prefix; did you mean the network address?`);
      }
    }
    let bytes = parsed;
    // A v4-mapped entry (::ffff:10.0.0.0/104) is the IPv4 block it maps.
    if (bytes.length === 16 && prefix >= 96 && unmap(bytes).length === 4) {
      bytes = unmap(bytes);
      prefix -= 96;
    }
    if (bytes.length === 4) this.#v4.push({ network: ipv4Number(bytes), mask: maskOf(prefix) });
    else this.#v6.push({ bytes, prefix });
  }

  /** Whether `address` (a peer as Node reports it) is in the set; `undefined` or junk is not. */
  has(address: string | undefined): boolean {
    if (address === undefined) return false;
    const bytes = addressBytes(address);
    if (bytes === null) return false;
    if (bytes.length === 4) {
      const value = ipv4Number(bytes);
      for (const rule of this.#v4) if ((value & rule.mask) >>> 0 === rule.network) return true;
      return false;
    }
    for (const rule of this.#v6) if (prefixMatches(bytes, rule.bytes, rule.prefix)) return true;
    return false;
  }
}

function prefixMatches(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[whole] as number) & mask) === ((b[whole] as number) & mask);
}
