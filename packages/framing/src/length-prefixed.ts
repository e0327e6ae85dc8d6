/**
 * `lengthPrefixed()`: frames led by their payload length (u8, u16, u32 in either byte order, or
 * an unsigned LEB128 varint). The declared length is checked against `maxFrameSize` before any
 * payload byte is kept; a payload inside one chunk is yielded as a view of it (no copy), one
 * spanning chunks is gathered from the pieces received (never pre-allocated at the declared size)
 * and joined once complete.
 */
import { FrameTooLargeError, ProtocolError } from "@tako/core";
import { checkChoice, checkLimit, checkOptions, checkSignal, DEFAULT_MAX_FRAME_SIZE } from "./options.ts";
import { ChunkDecoder, FrameReader, NEED, type Decoder } from "./reader.ts";
import { END, type FrameSource } from "./source.ts";

/**
 * The length prefix: 1, 2 or 4 bytes big- or little-endian, or an unsigned LEB128 varint
 * (protobuf style, 7 bits per byte, low bits first, at most 8 bytes).
 *
 * @example
 * ```ts
 * const prefix: LengthPrefix = "u32be";
 * ```
 */
export type LengthPrefix = "u8" | "u16be" | "u16le" | "u32be" | "u32le" | "varint";

/** Every {@link LengthPrefix}, for validation. */
export const LENGTH_PREFIXES: readonly LengthPrefix[] = ["u8", "u16be", "u16le", "u32be", "u32le", "varint"];

/** The longest varint length prefix accepted (56 bits: more than any frame limit). */
export const MAX_VARINT_BYTES = 8;

/**
 * Options of {@link lengthPrefixed}.
 *
 * @example
 * ```ts
 * const options: LengthPrefixedOptions = { prefix: "u16be", maxFrameSize: 16_384, signal: ctx.signal };
 * ```
 */
export interface LengthPrefixedOptions {
  /** How the payload length is written before each payload. Required. */
  readonly prefix: LengthPrefix;
  /** The largest payload accepted, in bytes; a larger declared length throws FrameTooLargeError at once. Default 1 MiB. */
  readonly maxFrameSize?: number;
  /** When it aborts, iteration ends at the next frame boundary; a `next()` waiting for data resolves done at once. */
  readonly signal?: AbortSignal;
}

const KEYS = ["prefix", "maxFrameSize", "signal"] as const;
const EMPTY = Buffer.alloc(0);
const FIXED_SIZE: Record<Exclude<LengthPrefix, "varint">, number> = { u8: 1, u16be: 2, u16le: 2, u32be: 4, u32le: 4 };

/** Reads a fixed-size length from `buffer` at `offset`. */
function readFixed(prefix: LengthPrefix, buffer: Buffer, offset: number): number {
  switch (prefix) {
    case "u8":
      return buffer[offset] as number;
    case "u16be":
      return buffer.readUInt16BE(offset);
    case "u16le":
      return buffer.readUInt16LE(offset);
    case "u32be":
      return buffer.readUInt32BE(offset);
    default:
      return buffer.readUInt32LE(offset);
  }
}

/** Payload bytes of a frame as they arrive; shared by length-prefixed frames and netstrings. */
export class Payload {
  #parts: Buffer[] = [];
  #have = 0;

  get received(): number {
    return this.#have;
  }

  /** Adds up to `missing` bytes of `chunk` from `offset`; answers how many it took. */
  add(chunk: Buffer, offset: number, missing: number): number {
    const take = Math.min(missing, chunk.length - offset);
    if (take > 0) {
      this.#parts.push(chunk.subarray(offset, offset + take));
      this.#have += take;
    }
    return take;
  }

  /** The joined payload; resets for the next frame. */
  take(): Buffer {
    const parts = this.#parts;
    const joined = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, this.#have);
    this.#parts = [];
    this.#have = 0;
    return joined;
  }

  parts(): Buffer[] {
    return this.#parts;
  }
}

class PrefixDecoder extends ChunkDecoder implements Decoder<Buffer> {
  readonly #prefix: LengthPrefix;
  readonly #headerSize: number;
  readonly #max: number;
  /** -1 while reading the prefix, else the payload length being read. */
  #length = -1;
  /** Prefix bytes received so far (a prefix split across chunks). */
  readonly #header = Buffer.alloc(MAX_VARINT_BYTES);
  #headerHave = 0;
  readonly #payload = new Payload();

  constructor(prefix: LengthPrefix, max: number) {
    super();
    this.#prefix = prefix;
    this.#headerSize = prefix === "varint" ? 0 : FIXED_SIZE[prefix];
    this.#max = max;
  }

  next(): Buffer | typeof NEED {
    const chunk = this.chunk;
    if (this.#length < 0) {
      const size = this.#headerSize;
      if (size > 0 && this.#headerHave === 0 && chunk.length - this.offset >= size) {
        this.#declare(readFixed(this.#prefix, chunk, this.offset));
        this.offset += size;
      } else if (!this.#readHeader(chunk)) return NEED;
    }
    const length = this.#length;
    const offset = this.offset;
    if (this.#payload.received === 0 && chunk.length - offset >= length) {
      this.offset = offset + length;
      this.#length = -1;
      return length === 0 ? EMPTY : chunk.subarray(offset, offset + length);
    }
    this.offset += this.#payload.add(chunk, offset, length - this.#payload.received);
    if (this.#payload.received < length) return NEED;
    this.#length = -1;
    return this.#payload.take();
  }

  /** Gathers prefix bytes one at a time (a prefix split across chunks, or any varint); true once the length is known. */
  #readHeader(chunk: Buffer): boolean {
    const varint = this.#headerSize === 0;
    while (this.offset < chunk.length) {
      const byte = chunk[this.offset++] as number;
      this.#header[this.#headerHave++] = byte;
      if (varint) {
        if ((byte & 0x80) === 0) {
          this.#declare(this.#varint());
          return true;
        }
        if (this.#headerHave === MAX_VARINT_BYTES) throw new ProtocolError(`varint length prefix longer than ${MAX_VARINT_BYTES} bytes`);
      } else if (this.#headerHave === this.#headerSize) {
        this.#declare(readFixed(this.#prefix, this.#header, 0));
        return true;
      }
    }
    return false;
  }

  #varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < this.#headerHave; i++) {
      value += ((this.#header[i] as number) & 0x7f) * scale;
      scale *= 128;
    }
    return value;
  }

  #declare(length: number): void {
    this.#headerHave = 0;
    if (length > this.#max) throw new FrameTooLargeError(`frame declares ${length} bytes, over maxFrameSize (${this.#max} bytes)`, this.#max, length);
    this.#length = length;
  }

  end(): Buffer | typeof END {
    if (this.#length < 0 && this.#headerHave === 0) return END;
    const where =
      this.#length < 0
        ? `inside a ${this.#prefix} length prefix (${this.#headerHave} byte${this.#headerHave === 1 ? "" : "s"} of it)`
        : `inside a frame (${this.#payload.received} of ${this.#length} bytes)`;
    throw new ProtocolError(`stream ended ${where}`, { code: "ERR_TAKO_TRUNCATED_FRAME" });
  }

  rest(): Buffer[] {
    const rest: Buffer[] = [];
    if (this.#headerHave > 0) rest.push(Buffer.from(this.#header.subarray(0, this.#headerHave)));
    else if (this.#length >= 0) rest.push(encodePrefix(this.#prefix, this.#length));
    rest.push(...this.#payload.parts());
    if (this.offset < this.chunk.length) rest.push(this.chunk.subarray(this.offset));
    return rest;
  }
}

/** The prefix bytes for a payload of `length` bytes. */
export function encodePrefix(prefix: LengthPrefix, length: number): Buffer {
  if (prefix === "varint") {
    const bytes: number[] = [];
    let rest = length;
    while (rest >= 0x80) {
      bytes.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    bytes.push(rest);
    return Buffer.from(bytes);
  }
  const header = Buffer.allocUnsafe(FIXED_SIZE[prefix]);
  if (prefix === "u8") header[0] = length;
  else if (prefix === "u16be") header.writeUInt16BE(length);
  else if (prefix === "u16le") header.writeUInt16LE(length);
  else if (prefix === "u32be") header.writeUInt32BE(length);
  else header.writeUInt32LE(length);
  return header;
}

/**
 * Reads length-prefixed frames from a socket, any `Readable` or any `AsyncIterable<Uint8Array>`,
 * yielding each payload as a Buffer (a view into the read chunk when the frame arrived in one).
 * A declared length over `maxFrameSize` throws `FrameTooLargeError` before anything of that
 * size is allocated; EOF inside a prefix or a payload throws `ProtocolError` with code
 * `ERR_TAKO_TRUNCATED_FRAME`; a varint longer than 8 bytes is a `ProtocolError`. At most
 * `maxFrameSize` plus one read chunk is held; the source is paused while the consumer does not
 * pull.
 *
 * @example
 * ```ts
 * import { encodeFrame, lengthPrefixed } from "@tako/framing";
 *
 * for await (const frame of lengthPrefixed(socket, { prefix: "u32be", maxFrameSize: 1 << 20, signal: ctx.signal })) {
 *   socket.write(encodeFrame(frame, { prefix: "u32be" }));
 * }
 * ```
 */
export function lengthPrefixed(source: FrameSource, options: LengthPrefixedOptions): AsyncIterableIterator<Buffer> {
  if (options === undefined) checkChoice("prefix", undefined, LENGTH_PREFIXES, undefined);
  const o = checkOptions("lengthPrefixed", options, KEYS);
  const prefix = checkChoice("prefix", o.prefix, LENGTH_PREFIXES, undefined);
  const max = checkLimit("maxFrameSize", o.maxFrameSize, DEFAULT_MAX_FRAME_SIZE);
  const signal = checkSignal(o.signal);
  return new FrameReader(source, new PrefixDecoder(prefix, max), signal);
}
