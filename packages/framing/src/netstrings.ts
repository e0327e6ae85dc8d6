/**
 * `netstrings()`: D. J. Bernstein's netstrings (`12:hello world!,`), strictly: decimal length
 * with no leading zeros (`0:,` is the empty one), `:`, the payload, then a `,` that must be there.
 * The length is refused the moment its digits pass `maxFrameSize`, before more are read.
 */
import { FrameTooLargeError, ProtocolError } from "@tako/core";
import { Payload } from "./length-prefixed.ts";
import { checkLimit, checkOptions, checkSignal, DEFAULT_MAX_FRAME_SIZE } from "./options.ts";
import { ChunkDecoder, FrameReader, NEED, type Decoder } from "./reader.ts";
import { END, type FrameSource } from "./source.ts";

/**
 * Options of {@link netstrings}.
 *
 * @example
 * ```ts
 * const options: NetstringsOptions = { maxFrameSize: 65_536, signal: ctx.signal };
 * ```
 */
export interface NetstringsOptions {
  /** The largest payload accepted, in bytes; a longer declared length throws FrameTooLargeError at once. Default 1 MiB. */
  readonly maxFrameSize?: number;
  /** When it aborts, iteration ends at the next netstring boundary; a `next()` waiting for data resolves done at once. */
  readonly signal?: AbortSignal;
}

const KEYS = ["maxFrameSize", "signal"] as const;
const EMPTY = Buffer.alloc(0);
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const COMMA = 0x2c;

/** Where in a netstring the decoder is. */
const Phase = { Length: 0, Payload: 1, Comma: 2 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

function malformed(message: string): ProtocolError {
  return new ProtocolError(`malformed netstring: ${message}`);
}

function showByte(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? JSON.stringify(String.fromCharCode(byte)) : `0x${byte.toString(16).padStart(2, "0")}`;
}

class NetstringDecoder extends ChunkDecoder implements Decoder<Buffer> {
  readonly #max: number;
  #phase: Phase = Phase.Length;
  #length = 0;
  #digits = 0;
  readonly #payload = new Payload();
  /** A payload complete but whose `,` has not arrived yet. */
  #ready: Buffer | null = null;

  constructor(max: number) {
    super();
    this.#max = max;
  }

  next(): Buffer | typeof NEED {
    const chunk = this.chunk;
    if (this.#phase === Phase.Length) {
      if (!this.#readLength(chunk)) return NEED;
      this.#phase = Phase.Payload;
    }
    if (this.#phase === Phase.Payload) {
      const length = this.#length;
      const offset = this.offset;
      if (this.#payload.received === 0 && chunk.length - offset >= length) {
        this.#ready = length === 0 ? EMPTY : chunk.subarray(offset, offset + length);
        this.offset = offset + length;
      } else {
        this.offset += this.#payload.add(chunk, offset, length - this.#payload.received);
        if (this.#payload.received < length) return NEED;
        this.#ready = this.#payload.take();
      }
      this.#phase = Phase.Comma;
    }
    if (this.offset >= chunk.length) return NEED;
    const byte = chunk[this.offset++] as number;
    if (byte !== COMMA) throw malformed(`expected "," after ${this.#length} payload bytes, got ${showByte(byte)}`);
    const frame = this.#ready as Buffer;
    this.#ready = null;
    this.#phase = Phase.Length;
    this.#length = 0;
    this.#digits = 0;
    return frame;
  }

  /** Reads length digits up to the `:`; true once it is read. */
  #readLength(chunk: Buffer): boolean {
    while (this.offset < chunk.length) {
      const byte = chunk[this.offset++] as number;
      if (byte >= ZERO && byte <= NINE) {
        if (this.#digits === 1 && this.#length === 0) throw malformed("length with a leading zero");
        this.#length = this.#length * 10 + (byte - ZERO);
        this.#digits++;
        if (this.#length > this.#max) {
          throw new FrameTooLargeError(
            `netstring declares ${this.#length}${this.offset < chunk.length && isDigit(chunk[this.offset] as number) ? "+" : ""} bytes, over maxFrameSize (${this.#max} bytes)`,
            this.#max,
            this.#length,
          );
        }
      } else if (byte === COLON) {
        if (this.#digits === 0) throw malformed('no length before ":"');
        return true;
      } else {
        throw malformed(`expected a digit or ":" in the length, got ${showByte(byte)}`);
      }
    }
    return false;
  }

  end(): Buffer | typeof END {
    if (this.#phase === Phase.Length && this.#digits === 0) return END;
    const where =
      this.#phase === Phase.Length
        ? "inside a netstring length"
        : this.#phase === Phase.Payload
          ? `inside a netstring (${this.#payload.received} of ${this.#length} bytes)`
          : 'before a netstring\'s ","';
    throw new ProtocolError(`stream ended ${where}`, { code: "ERR_TAKO_TRUNCATED_FRAME" });
  }

  rest(): Buffer[] {
    const rest: Buffer[] = [];
    if (this.#phase !== Phase.Length || this.#digits > 0) rest.push(Buffer.from(`${this.#length}${this.#phase === Phase.Length ? "" : ":"}`));
    if (this.#phase === Phase.Payload) rest.push(...this.#payload.parts());
    if (this.#phase === Phase.Comma && this.#ready !== null) rest.push(this.#ready);
    if (this.offset < this.chunk.length) rest.push(this.chunk.subarray(this.offset));
    return rest;
  }
}

function isDigit(byte: number): boolean {
  return byte >= ZERO && byte <= NINE;
}

/**
 * Reads netstrings (`5:hello,`) from a socket, any `Readable` or any `AsyncIterable<Uint8Array>`,
 * yielding each payload as a Buffer. Strict: a length with a leading zero, a missing length, a
 * non-digit, or a payload not followed by `,` throws `ProtocolError`; a length over
 * `maxFrameSize` throws `FrameTooLargeError` as soon as its digits pass it; EOF inside a
 * netstring throws `ProtocolError` with code `ERR_TAKO_TRUNCATED_FRAME`.
 *
 * @example
 * ```ts
 * import { encodeNetstring, netstrings } from "@tako/framing";
 *
 * for await (const payload of netstrings(socket, { maxFrameSize: 65_536, signal: ctx.signal })) {
 *   socket.write(encodeNetstring(payload.toString("utf8").toUpperCase()));
 * }
 * ```
 */
export function netstrings(source: FrameSource, options?: NetstringsOptions): AsyncIterableIterator<Buffer> {
  const o = checkOptions("netstrings", options, KEYS);
  const max = checkLimit("maxFrameSize", o.maxFrameSize, DEFAULT_MAX_FRAME_SIZE);
  const signal = checkSignal(o.signal);
  return new FrameReader(source, new NetstringDecoder(max), signal);
}
