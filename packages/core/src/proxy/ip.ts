/**
 * Strict IP text <-> bytes, shared by the v1 parser, the v2 decoder, the encoder and the trust
 * policy. IPv4 is a dotted quad without leading zeros (`"01.2.3.4"` is refused: some stacks read
 * it as octal); IPv6 is RFC 4291 text without a zone; output is RFC 5952 as Node prints it.
 */

function digit(code: number): number {
  return code >= 0x30 && code <= 0x39 ? code - 0x30 : -1;
}

function hex(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  return -1;
}

/** Writes the dotted quad `text[start, end)` into `out[at..at+4)`; false when it is not a strict quad. */
function parseIPv4Into(text: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  let first = 0;
  for (let i = start; i <= end; i++) {
    if (i === end || text.charCodeAt(i) === 0x2e) {
      if (digits === 0 || (digits > 1 && first === 0) || value > 255 || part > 3) return false;
      out[at + part] = value;
      part++;
      value = 0;
      digits = 0;
      continue;
    }
    const d = digit(text.charCodeAt(i));
    if (d < 0 || digits === 3) return false;
    if (digits === 0) first = d;
    value = value * 10 + d;
    digits++;
  }
  return part === 4;
}

/**
 * The 4 bytes of a strict dotted-quad IPv4 address, or `null`.
 *
 * @example
 * ```ts
 * parseIPv4("10.0.0.1"); // Uint8Array [10, 0, 0, 1]
 * parseIPv4("10.0.0.01"); // null (leading zero)
 * ```
 */
export function parseIPv4(text: string): Uint8Array | null {
  if (text.length < 7 || text.length > 15) return null;
  const out = new Uint8Array(4);
  return parseIPv4Into(text, 0, text.length, out, 0) ? out : null;
}

/**
 * The 16 bytes of an IPv6 address in text form (hex groups, one `::` at most, an optional
 * trailing dotted quad; no zone id), or `null`.
 *
 * @example
 * ```ts
 * parseIPv6("::ffff:10.0.0.1"); // Uint8Array [0, ..., 0xff, 0xff, 10, 0, 0, 1]
 * ```
 */
export function parseIPv6(text: string): Uint8Array | null {
  const length = text.length;
  if (length < 2 || length > 45) return null;
  const out = new Uint8Array(16);
  let word = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === 0x3a) {
    if (text.charCodeAt(1) !== 0x3a) return null;
    gap = 0;
    i = 2;
    if (i === length) return out;
  }
  while (i < length) {
    if (word === 8) return null;
    // A group: up to 4 hex digits, or a dotted quad as the last 32 bits.
    let value = 0;
    let digits = 0;
    let j = i;
    while (j < length && digits < 5) {
      const h = hex(text.charCodeAt(j));
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
      j++;
    }
    if (j < length && text.charCodeAt(j) === 0x2e) {
      if (word > 6 || !parseIPv4Into(text, i, length, out, word * 2)) return null;
      word += 2;
      i = length;
      break;
    }
    if (digits === 0 || digits > 4) return null;
    out[word * 2] = value >> 8;
    out[word * 2 + 1] = value & 0xff;
    word++;
    i = j;
    if (i === length) break;
    if (text.charCodeAt(i) !== 0x3a) return null;
    i++;
    if (i < length && text.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return null;
      gap = word;
      i++;
      if (i === length) break;
    } else if (i === length) return null; // a trailing single ':'
  }
  if (gap < 0) return word === 8 ? out : null;
  if (word === 8) return null; // '::' must stand for at least one group
  const tail = (word - gap) * 2;
  const from = gap * 2;
  out.copyWithin(16 - tail, from, from + tail);
  out.fill(0, from, 16 - tail);
  return out;
}

/**
 * Dotted-quad text of 4 bytes at `offset`.
 *
 * @example
 * ```ts
 * formatIPv4(Uint8Array.of(127, 0, 0, 1)); // "127.0.0.1"
 * ```
 */
export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * RFC 5952 text of 16 bytes at `offset`, as Node (libuv) prints a peer: lower case, the longest
 * run of two or more zero groups as `::`, `::ffff:a.b.c.d` for v4-mapped addresses.
 *
 * @example
 * ```ts
 * formatIPv6(parseIPv6("2001:db8:0:0:0:0:0:1")!); // "2001:db8::1"
 * ```
 */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((bytes[offset + i * 2] as number) << 8) | (bytes[offset + i * 2 + 1] as number));
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else curBase = -1;
  }
  if (bestLen < 2) bestBase = -1;
  let text = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) text += ":";
      continue;
    }
    if (i !== 0) text += ":";
    // libuv's inet_ntop6: an embedded IPv4 tail for ::a.b.c.d and ::ffff:a.b.c.d.
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      text += formatIPv4(bytes, offset + 12);
      break;
    }
    text += (words[i] as number).toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) text += ":";
  return text;
}
