import { InvalidConfigError, ProtocolError } from "../errors.ts";
import { CRC32C_INIT, crc32cFinish, crc32cUpdate } from "./crc32c.ts";
import { MAX_UNIQUE_ID, PROXY_ERROR, TLV } from "./constants.ts";
import type { ProxySsl, ProxyTlvs, ProxyTlvsInput } from "./types.ts";

function invalid(reason: string): ProtocolError {
  return new ProtocolError(`invalid PROXY v2 header: ${reason}`, { code: PROXY_ERROR.HEADER });
}

/** The TLVs of a header that has none (v1, or v2 without any). */
export function emptyTlvs(): ProxyTlvs {
  return EMPTY_TLVS;
}

/** A Map that stays empty: `set`, `delete` and `clear` throw (one is shared by every header without TLVs). */
class EmptyTlvMap extends Map<number, Buffer> {
  override set(): this {
    throw new TypeError("the TLVs of a PROXY header are read-only");
  }
  override delete(): boolean {
    throw new TypeError("the TLVs of a PROXY header are read-only");
  }
  override clear(): void {
    throw new TypeError("the TLVs of a PROXY header are read-only");
  }
}

/** The TLVs of every header that carries none (v1, and most v2 ones): one frozen object, not a Map per connection. */
const EMPTY_TLVS: ProxyTlvs = Object.freeze({ alpn: null, authority: null, uniqueId: null, ssl: null, netns: null, raw: Object.freeze(new EmptyTlvMap()) });

/** A copy of `header[start, end)`: TLV values never keep the socket's chunk (and the payload after the header) alive. */
function copy(header: Uint8Array, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  out.set(header.subarray(start, end));
  return out;
}

function text(header: Uint8Array, start: number, end: number, encoding: "utf8" | "latin1"): string {
  return Buffer.from(header.buffer, header.byteOffset + start, end - start).toString(encoding);
}

/** Decodes the SSL TLV's value `header[start, end)`: client u8, verify u32, then sub-TLVs (bounded, truncation refused). */
function decodeSsl(header: Uint8Array, start: number, end: number): ProxySsl {
  if (end - start < 5) throw invalid(`SSL TLV of ${end - start} bytes (at least 5: client and verify)`);
  const client = header[start] as number;
  const verify = ((header[start + 1] as number) << 24) | ((header[start + 2] as number) << 16) | ((header[start + 3] as number) << 8) | (header[start + 4] as number);
  const ssl: { -readonly [K in keyof ProxySsl]: ProxySsl[K] } = { client, verified: verify === 0, version: null, cn: null, cipher: null, sigAlg: null, keyAlg: null };
  let at = start + 5;
  while (at < end) {
    if (end - at < 3) throw invalid("truncated SSL sub-TLV header");
    const type = header[at] as number;
    const length = ((header[at + 1] as number) << 8) | (header[at + 2] as number);
    const from = at + 3;
    const to = from + length;
    if (to > end) throw invalid(`SSL sub-TLV 0x${type.toString(16)} of ${length} bytes runs past the SSL TLV`);
    if (type === TLV.SSL_VERSION) ssl.version ??= text(header, from, to, "utf8");
    else if (type === TLV.SSL_CN) ssl.cn ??= text(header, from, to, "utf8");
    else if (type === TLV.SSL_CIPHER) ssl.cipher ??= text(header, from, to, "utf8");
    else if (type === TLV.SSL_SIG_ALG) ssl.sigAlg ??= text(header, from, to, "utf8");
    else if (type === TLV.SSL_KEY_ALG) ssl.keyAlg ??= text(header, from, to, "utf8");
    at = to;
  }
  return ssl;
}

/**
 * Walks the TLVs in `header[start, end)` (end = the header's declared end), with bounds on every
 * step: a TLV whose 3-byte head or value runs past the end is refused, a CRC32C TLV is verified
 * over the whole header `header[0, end)` with its value zeroed (mismatch refused), NOOP is
 * skipped, the registered types are decoded, and every other TLV is kept in `raw`.
 */
export function decodeTlvs(header: Uint8Array, start: number, end: number): ProxyTlvs {
  if (start === end) return emptyTlvs();
  const raw = new Map<number, Buffer>();
  const tlvs: { -readonly [K in keyof ProxyTlvs]: ProxyTlvs[K] } = { alpn: null, authority: null, uniqueId: null, ssl: null, netns: null, raw };
  let crcAt = -1;
  let at = start;
  while (at < end) {
    if (end - at < 3) throw invalid(`truncated TLV: ${end - at} bytes left where a 3-byte TLV header belongs`);
    const type = header[at] as number;
    const length = ((header[at + 1] as number) << 8) | (header[at + 2] as number);
    const from = at + 3;
    const to = from + length;
    if (to > end) throw invalid(`TLV 0x${type.toString(16)} declares ${length} bytes but only ${end - from} remain in the header`);
    at = to;
    if (type === TLV.NOOP) continue;
    if (type === TLV.CRC32C) {
      if (length !== 4) throw invalid(`CRC32C TLV of ${length} bytes (expected 4)`);
      if (crcAt >= 0) throw invalid("two CRC32C TLVs");
      crcAt = from;
    } else if (type === TLV.UNIQUE_ID) {
      if (length > MAX_UNIQUE_ID) throw invalid(`UNIQUE_ID TLV of ${length} bytes (at most ${MAX_UNIQUE_ID})`);
    } else if (type === TLV.SSL) {
      const ssl = decodeSsl(header, from, to);
      tlvs.ssl ??= ssl;
    }
    if (raw.has(type)) continue;
    const value = copy(header, from, to);
    raw.set(type, value);
    if (type === TLV.ALPN) tlvs.alpn = value.toString("latin1");
    else if (type === TLV.AUTHORITY) tlvs.authority = value.toString("utf8");
    else if (type === TLV.UNIQUE_ID) tlvs.uniqueId = value;
    else if (type === TLV.NETNS) tlvs.netns = value.toString("latin1");
  }
  if (crcAt >= 0) {
    const expected = (((header[crcAt] as number) << 24) | ((header[crcAt + 1] as number) << 16) | ((header[crcAt + 2] as number) << 8) | (header[crcAt + 3] as number)) >>> 0;
    let state = crc32cUpdate(CRC32C_INIT, header, 0, crcAt);
    state = crc32cUpdate(state, ZERO4);
    state = crc32cUpdate(state, header, crcAt + 4, end);
    const actual = crc32cFinish(state);
    if (actual !== expected) throw invalid(`CRC32C mismatch: header says 0x${expected.toString(16).padStart(8, "0")}, bytes give 0x${actual.toString(16).padStart(8, "0")}`);
  }
  return tlvs;
}

const ZERO4 = new Uint8Array(4);

function bytesOf(field: string, value: string | Uint8Array, encoding: "utf8" | "latin1"): Buffer {
  if (typeof value === "string") return Buffer.from(value, encoding);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new InvalidConfigError(field, `${field} must be a string or bytes; got ${typeof value}`);
}

function tlv(type: number, value: Uint8Array): Buffer {
  if (value.length > 0xffff) throw new InvalidConfigError("tlvs", `TLV 0x${type.toString(16)} of ${value.length} bytes (at most 65 535)`);
  const out = Buffer.allocUnsafe(3 + value.length);
  out[0] = type;
  out.writeUInt16BE(value.length, 1);
  out.set(value, 3);
  return out;
}

/**
 * Encodes `tlvs` as TLV bytes, in HAProxy's order (CRC32C first, as a zeroed placeholder whose
 * offset in the returned block is `crcAt`, -1 when not asked for).
 */
export function encodeTlvs(tlvs: ProxyTlvsInput): { bytes: Buffer; crcAt: number } {
  const parts: Buffer[] = [];
  const crcAt = tlvs.crc32c ? 3 : -1;
  if (tlvs.crc32c) parts.push(tlv(TLV.CRC32C, ZERO4));
  if (tlvs.alpn !== undefined) parts.push(tlv(TLV.ALPN, bytesOf("tlvs.alpn", tlvs.alpn, "latin1")));
  if (tlvs.authority !== undefined) parts.push(tlv(TLV.AUTHORITY, bytesOf("tlvs.authority", tlvs.authority, "utf8")));
  if (tlvs.uniqueId !== undefined) {
    const id = bytesOf("tlvs.uniqueId", tlvs.uniqueId, "utf8");
    if (id.length > MAX_UNIQUE_ID) throw new InvalidConfigError("tlvs.uniqueId", `uniqueId of ${id.length} bytes (at most ${MAX_UNIQUE_ID})`);
    parts.push(tlv(TLV.UNIQUE_ID, id));
  }
  if (tlvs.ssl !== undefined) {
    const ssl = tlvs.ssl;
    const head = Buffer.alloc(5);
    head[0] = (ssl.client ?? 0) & 0xff;
    head.writeUInt32BE(ssl.verified === false ? 1 : 0, 1);
    const subs: Buffer[] = [head];
    const sub = (type: number, value: string | undefined) => {
      if (value !== undefined) subs.push(tlv(type, bytesOf("tlvs.ssl", value, "utf8")));
    };
    sub(TLV.SSL_VERSION, ssl.version);
    sub(TLV.SSL_CN, ssl.cn);
    sub(TLV.SSL_CIPHER, ssl.cipher);
    sub(TLV.SSL_SIG_ALG, ssl.sigAlg);
    sub(TLV.SSL_KEY_ALG, ssl.keyAlg);
    parts.push(tlv(TLV.SSL, Buffer.concat(subs)));
  }
  if (tlvs.netns !== undefined) parts.push(tlv(TLV.NETNS, bytesOf("tlvs.netns", tlvs.netns, "latin1")));
  for (const [type, value] of tlvs.raw ?? []) {
    if (!Number.isInteger(type) || type < 0 || type > 0xff) throw new InvalidConfigError("tlvs.raw", `TLV type must be an integer from 0 to 255; got ${String(type)}`);
    parts.push(tlv(type, bytesOf("tlvs.raw", value, "latin1")));
  }
  if (tlvs.noop !== undefined) {
    if (!Number.isInteger(tlvs.noop) || tlvs.noop < 0) throw new InvalidConfigError("tlvs.noop", `noop must be a byte count, 0 or more; got ${String(tlvs.noop)}`);
    parts.push(tlv(TLV.NOOP, Buffer.alloc(tlvs.noop)));
  }
  return { bytes: Buffer.concat(parts), crcAt };
}
