/**
 * `lines()`: `\n`-delimited lines with a byte limit. Each chunk is scanned once from where the
 * last scan stopped (`indexOf` on new bytes only, O(n) overall); a line complete inside one chunk
 * is decoded straight from it (one `toString`, no copy); only a line spanning chunks is
 * concatenated, once, when its end arrives.
 */
import { constants } from "node:buffer";
import { FrameTooLargeError } from "@tako/core";
import { checkChoice, checkLimit, checkOptions, checkSignal, DEFAULT_MAX_LINE_LENGTH } from "./options.ts";
import { FrameReader, NEED, type Decoder } from "./reader.ts";
import { END, type FrameSource } from "./source.ts";

/**
 * Options of {@link lines}.
 *
 * @example
 * ```ts
 * const options: LinesOptions = { maxLineLength: 8192, onOverflow: "skip", signal: ctx.signal };
 * ```
 */
export interface LinesOptions {
  /** The longest line accepted, in bytes, delimiter (`\n` or `\r\n`) excluded. Default 65 536. */
  readonly maxLineLength?: number;
  /** `"utf8"` (default): lines are strings; `"buffer"`: lines are Buffers (views into the read chunk where possible). */
  readonly encoding?: "utf8" | "buffer";
  /** `"error"` (default): a line past the limit throws FrameTooLargeError; `"skip"`: it is dropped up to its newline and reading goes on. */
  readonly onOverflow?: "error" | "skip";
  /** When it aborts, iteration ends at the next line boundary; a `next()` waiting for data resolves done at once. */
  readonly signal?: AbortSignal;
}

const KEYS = ["maxLineLength", "encoding", "onOverflow", "signal"] as const;
const LF = 10;
const CR = 13;
const EMPTY = Buffer.alloc(0);

class LineDecoder<T extends string | Buffer> implements Decoder<T> {
  readonly #max: number;
  readonly #buffers: boolean;
  readonly #skip: boolean;
  #chunk: Buffer = EMPTY;
  #offset = 0;
  /** Pieces of the line being received (it spans chunks), and their total length. */
  #parts: Buffer[] = [];
  #partsLength = 0;
  /** Dropping an over-long line up to its newline (onOverflow: "skip"). */
  #skipping = false;
  /**
   * UTF-8 mode: the complete lines of the current chunk (up to its last newline), decoded with
   * one toString; lines are then sliced from this string (cheap in V8) instead of decoding each.
   */
  #text: string | null = null;
  #textPos = 0;
  #textLines = 0;
  /** Byte offset where `#text` starts and just past its last newline. */
  #textStart = 0;
  #textEnd = 0;
  /** Whether each line of `#text` must be checked against the limit (string length = byte length there). */
  #textChecked = false;
  /** Bytes before this offset are read line by line (a chunk whose text path could not check the limit). */
  #bytesUntil = 0;
  /** The next newline at or after `#knownFrom` in the current chunk, when already searched for (-1: none). */
  #knownFrom = -1;
  #known = -1;

  constructor(max: number, buffers: boolean, skip: boolean) {
    this.#max = max;
    this.#buffers = buffers;
    this.#skip = skip;
  }

  push(chunk: Buffer): void {
    this.#chunk = chunk;
    this.#offset = 0;
    this.#text = null;
    this.#bytesUntil = 0;
    this.#knownFrom = -1;
  }

  next(): T | typeof NEED {
    if (this.#text !== null) {
      const line = this.#fromText();
      if (line !== null) return line;
    }
    const chunk = this.#chunk;
    for (;;) {
      const start = this.#offset;
      if (start === chunk.length) return NEED; // used up exactly (no partial line to keep)
      const nl = start === this.#knownFrom ? this.#known : chunk.indexOf(LF, start);
      if (nl === -1) {
        this.#stash(chunk, start);
        return NEED;
      }
      if (this.#skipping) {
        this.#offset = nl + 1;
        this.#skipping = false;
        continue;
      }
      if (this.#partsLength > 0) {
        this.#offset = nl + 1;
        const line = this.#joined(chunk.subarray(start, nl));
        if (line === null) continue;
        return line;
      }
      if (!this.#buffers && start >= this.#bytesUntil) {
        // Several lines in what is left of the chunk: decode them with one toString. One line
        // only: decode it alone (and remember there is no newline after it).
        // A chunk ending in a newline (the usual case) tells without a scan.
        const last = chunk[chunk.length - 1] === LF ? chunk.length - 1 : -1;
        const several = last !== -1 ? nl < last : nl + 1 < chunk.length && chunk.indexOf(LF, nl + 1) !== -1;
        if (!several && last === -1) {
          this.#knownFrom = nl + 1;
          this.#known = -1;
        } else if (several && this.#decodeText(chunk, start, last)) {
          const line = this.#fromText();
          if (line !== null) return line;
          continue;
        }
      }
      // The whole line is in this chunk: decode it in place.
      this.#offset = nl + 1;
      const end = nl > start && chunk[nl - 1] === CR ? nl - 1 : nl;
      if (end - start > this.#max && this.#overflow(end - start)) continue;
      return (this.#buffers ? chunk.subarray(start, end) : chunk.toString("utf8", start, end)) as T;
    }
  }

  /**
   * Decodes the complete lines from `start` to the chunk's last newline as one string, when the
   * limit can be checked on it: the whole span is within the limit, or every character in it is
   * one byte (string lengths are then byte lengths). False: read this chunk line by line.
   */
  #decodeText(chunk: Buffer, start: number, knownLast: number): boolean {
    const last = knownLast === -1 ? chunk.lastIndexOf(LF) : knownLast;
    const bytes = last + 1 - start;
    const text = chunk.toString("utf8", start, last + 1);
    const checked = bytes - 1 > this.#max;
    if (checked && text.length !== bytes) {
      this.#bytesUntil = last + 1;
      return false;
    }
    this.#text = text;
    this.#textPos = 0;
    this.#textLines = 0;
    this.#textStart = start;
    this.#textEnd = last + 1;
    this.#textChecked = checked;
    return true;
  }

  /** The next line of `#text`, or null when it is used up (or its last lines were over the limit and skipped). */
  #fromText(): T | null {
    const text = this.#text as string;
    for (;;) {
      const pos = this.#textPos;
      if (pos >= text.length) {
        this.#text = null;
        this.#offset = this.#textEnd;
        return null;
      }
      const nl = text.indexOf("\n", pos);
      this.#textPos = nl + 1;
      this.#textLines++;
      const end = nl > pos && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
      if (this.#textChecked && end - pos > this.#max && this.#overflow(end - pos)) continue;
      return text.slice(pos, end) as T;
    }
  }

  end(): T | typeof END {
    if (this.#partsLength === 0) return END;
    return this.#joined(EMPTY) ?? END;
  }

  rest(): Buffer[] {
    let offset = this.#offset;
    if (this.#text !== null) {
      // Where the unread text starts in bytes: just past its n-th newline.
      offset = this.#textStart;
      for (let i = 0; i < this.#textLines; i++) offset = this.#chunk.indexOf(LF, offset) + 1;
    }
    const rest = this.#skipping ? [] : this.#parts;
    return offset < this.#chunk.length ? [...rest, this.#chunk.subarray(offset)] : rest;
  }

  /** The pending parts plus `tail` as one line (a trailing `\r` dropped), or null when it was over the limit and skipped. */
  #joined(tail: Buffer): T | null {
    const parts = this.#parts;
    const total = this.#partsLength + tail.length;
    if (tail.length > 0) parts.push(tail);
    this.#parts = [];
    this.#partsLength = 0;
    const last = parts[parts.length - 1] as Buffer;
    const length = last[last.length - 1] === CR ? total - 1 : total;
    if (length > this.#max && this.#overflow(length)) return null;
    const line = Buffer.concat(parts, total);
    return (this.#buffers ? line.subarray(0, length) : line.toString("utf8", 0, length)) as T;
  }

  /** Keeps the bytes after `start` (no newline among them) for the next chunk, refusing them at once past the limit. */
  #stash(chunk: Buffer, start: number): void {
    this.#offset = chunk.length;
    const n = chunk.length - start;
    if (n === 0 || this.#skipping) return;
    const total = this.#partsLength + n;
    // A last `\r` may be the first half of `\r\n`: it does not count until the next byte says so.
    const length = chunk[chunk.length - 1] === CR ? total - 1 : total;
    if (length > this.#max) {
      this.#parts = [];
      this.#partsLength = 0;
      this.#overflow(length);
      this.#skipping = true;
      return;
    }
    this.#parts.push(start === 0 ? chunk : chunk.subarray(start));
    this.#partsLength = total;
  }

  /** A line passed the limit: throws, or (skip) answers true so the caller drops it. */
  #overflow(size: number): true {
    if (!this.#skip) throw new FrameTooLargeError(`line longer than maxLineLength (${this.#max} bytes): ${size} bytes without a newline so far`, this.#max, size);
    return true;
  }
}

/**
 * Reads `\n`-delimited lines from a socket, any `Readable` or any `AsyncIterable<Uint8Array>`,
 * as an async iterator. A trailing `\r` is stripped (`\r\n` works); UTF-8 is decoded per whole
 * line, so a character split across chunks is decoded correctly, and invalid bytes become
 * U+FFFD (use `encoding: "buffer"` to see raw bytes). A last line without a newline is yielded
 * at EOF. The moment a line passes `maxLineLength` bytes, the iterator throws
 * `FrameTooLargeError` without buffering the rest (or, with `onOverflow: "skip"`, drops that line
 * and goes on). At most `maxLineLength` plus one read chunk is held; the source is paused while
 * the consumer does not pull. Ending the loop early (`break`, the signal) leaves the stream open
 * and paused, with unconsumed bytes put back (`unshift`).
 *
 * @example
 * ```ts
 * import { lines } from "@tako/framing";
 * import { serveTcp } from "@tako/tcp";
 *
 * await serveTcp("127.0.0.1:9001", async (socket, _peer, ctx) => {
 *   for await (const line of lines(socket, { maxLineLength: 8192, signal: ctx.signal })) socket.write(`${line}\n`);
 * });
 * ```
 */
export function lines(source: FrameSource, options: LinesOptions & { readonly encoding: "buffer" }): AsyncIterableIterator<Buffer>;
export function lines(source: FrameSource, options?: LinesOptions & { readonly encoding?: "utf8" }): AsyncIterableIterator<string>;
export function lines(source: FrameSource, options?: LinesOptions): AsyncIterableIterator<string | Buffer>;
export function lines(source: FrameSource, options?: LinesOptions): AsyncIterableIterator<string | Buffer> {
  const o = checkOptions("lines", options, KEYS);
  const encoding = checkChoice("encoding", o.encoding, ["utf8", "buffer"], "utf8");
  const onOverflow = checkChoice("onOverflow", o.onOverflow, ["error", "skip"], "error");
  const max = checkLimit("maxLineLength", o.maxLineLength, DEFAULT_MAX_LINE_LENGTH, encoding === "buffer" ? constants.MAX_LENGTH : constants.MAX_STRING_LENGTH);
  const signal = checkSignal(o.signal);
  return new FrameReader(source, new LineDecoder(max, encoding === "buffer", onOverflow === "skip"), signal);
}
