import type { SocketAddress } from "../address.ts";
import { InvalidConfigError, ProtocolError } from "../errors.ts";
import { DEFAULT_MAX_HEADER_SIZE, PROXY_ERROR, V2_FIXED, V2_MAX } from "./constants.ts";
import type { ProxyInfo } from "./types.ts";
import { decodeV1, scanV1 } from "./v1.ts";
import { decodeV2, scanV2 } from "./v2.ts";

/** Checks a `maxHeaderSize`: an integer from 16 (a bare v2 header) to 65 551 (the largest v2 can declare). */
export function checkMaxHeaderSize(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < V2_FIXED || value > V2_MAX) {
    throw new InvalidConfigError(field, `${field} must be an integer from ${V2_FIXED} to ${V2_MAX} bytes; got ${typeof value === "number" ? value : typeof value}`);
  }
  return value;
}

/**
 * The length of the PROXY header at the start of `buf` as soon as it is known (v2: after its 16
 * fixed bytes; v1: once its CRLF is in), 0 while more bytes are needed. Throws a
 * {@link ProtocolError} as soon as the bytes so far cannot begin a valid header: detection is by
 * signature only (v2's 12 bytes, or `PROXY ` for v1), never a guess.
 */
export function scanProxyHeader(buf: Uint8Array, maxHeaderSize: number): number {
  if (buf.length === 0) return 0;
  const first = buf[0];
  if (first === 0x0d) return scanV2(buf, maxHeaderSize);
  if (first === 0x50) return scanV1(buf);
  throw new ProtocolError('invalid PROXY header: neither the v2 signature nor "PROXY " (v1)', { code: PROXY_ERROR.HEADER });
}

/** Decodes the complete header `buf[0, length)` that {@link scanProxyHeader} measured; `via` goes into the info as is. */
export function decodeProxyHeader(buf: Uint8Array, length: number, via: SocketAddress | null = null): ProxyInfo {
  return buf[0] === 0x0d ? decodeV2(buf, length, via) : decodeV1(buf, length, via);
}

/**
 * Parses the PROXY v1 or v2 header at the start of `buffer` (bytes after it are ignored, never
 * read) and returns it with its length in bytes. Strict: detection by signature, the v1 grammar
 * to the letter (single spaces, TCP4/TCP6/UNKNOWN, addresses of the named family, no leading
 * zeros, CRLF within 107 bytes), v2 version 2, command LOCAL or PROXY, the spec's families, an
 * address block the family fits in, a total within `maxHeaderSize` (default 4 096), bounded TLVs
 * and a matching CRC32C when present. Anything invalid or incomplete throws a
 * {@link ProtocolError} with code `ERR_TAKO_PROXY_HEADER`. `info.via` is `null`.
 *
 * @example
 * ```ts
 * const bytes = encodeProxyHeader({ version: 2, source: { address: "203.0.113.7", port: 51234 }, destination: { address: "10.0.0.1", port: 443 } });
 * const { info, length } = parseProxyHeader(Buffer.concat([bytes, Buffer.from("GET / HTTP/1.1\r\n")]));
 * info.source; // { address: "203.0.113.7", port: 51234, family: "IPv4" }; length === bytes.length
 * ```
 */
export function parseProxyHeader(buffer: Uint8Array, options: { readonly maxHeaderSize?: number } = {}): { info: ProxyInfo; length: number } {
  if (!(buffer instanceof Uint8Array)) throw new InvalidConfigError("buffer", `parseProxyHeader takes a Buffer or Uint8Array; got ${typeof buffer}`);
  const max = options.maxHeaderSize === undefined ? DEFAULT_MAX_HEADER_SIZE : checkMaxHeaderSize("maxHeaderSize", options.maxHeaderSize);
  const length = scanProxyHeader(buffer, max);
  if (length === 0 || length > buffer.length) {
    throw new ProtocolError(`incomplete PROXY header: ${buffer.length} bytes${length > 0 ? ` of ${length}` : ""}`, { code: PROXY_ERROR.HEADER });
  }
  return { info: decodeProxyHeader(buffer, length), length };
}

/**
 * A PROXY header arriving in chunks of any size: {@link ProxyHeaderParser.push} each chunk until
 * it returns the header and the bytes after it. Buffers at most the header plus one chunk, and
 * allocates nothing from a declared length: a v2 header declaring 65 535 bytes is refused (past
 * `maxHeaderSize`) or simply awaited, chunk by chunk. A header that arrives whole in the first
 * chunk (what proxies send) is decoded from that chunk: no list, no copy. `via` goes into the
 * decoded info as it is.
 */
export class ProxyHeaderParser {
  readonly #max: number;
  readonly #via: SocketAddress | null;
  /** The first chunk, or all chunks so far once joined. */
  #first: Buffer | undefined;
  /** Chunks after the first, not yet joined (made only for a header split across reads). */
  #more: Buffer[] | undefined;
  #size = 0;
  /** The header's length once known (v2 after 16 bytes, v1 at its CRLF). */
  #length = 0;

  constructor(maxHeaderSize: number = DEFAULT_MAX_HEADER_SIZE, via: SocketAddress | null = null) {
    this.#max = maxHeaderSize;
    this.#via = via;
  }

  /** Bytes pushed so far. */
  get received(): number {
    return this.#size;
  }

  /** Feeds a chunk; returns the header and what followed it once complete, else `null`. Throws {@link ProtocolError}. */
  push(chunk: Buffer): { info: ProxyInfo; length: number; rest: Buffer } | null {
    if (chunk.length === 0) return null;
    if (this.#first === undefined) this.#first = chunk;
    else (this.#more ??= []).push(chunk);
    this.#size += chunk.length;
    if (this.#length === 0) {
      this.#length = scanProxyHeader(this.#joined(), this.#max);
      if (this.#length === 0) return null;
    }
    if (this.#size < this.#length) return null;
    const all = this.#joined();
    const info = decodeProxyHeader(all, this.#length, this.#via);
    const rest = all.subarray(this.#length);
    this.#first = undefined;
    return { info, length: this.#length, rest };
  }

  /** The chunks so far as one buffer (kept as the first, so each byte is copied at most once per join). */
  #joined(): Buffer {
    const first = this.#first as Buffer;
    const more = this.#more;
    if (more === undefined || more.length === 0) return first;
    const all = Buffer.concat([first, ...more], this.#size);
    this.#first = all;
    this.#more = undefined;
    return all;
  }
}
