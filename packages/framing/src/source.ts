/**
 * Where a reader's bytes come from: a `Readable` (a `net.Socket`, a file stream, ...) read through
 * its `'data'` events and paused whenever the reader holds a chunk nobody asked for, or any
 * `AsyncIterable<Uint8Array>` pulled one chunk at a time. Either way the source is asked for more
 * only when the consumer pulls, so a consumer that stops pulling stops the socket (backpressure).
 */
import type { Readable } from "node:stream";
import { InvalidConfigError } from "@tako/core";

/**
 * What the readers accept: a `net.Socket` or any `Readable`, or any `AsyncIterable` of byte
 * chunks (`Uint8Array`, `Buffer`; strings are encoded as UTF-8).
 *
 * @example
 * ```ts
 * const fromSocket: FrameSource = socket;
 * const fromMemory: FrameSource = (async function* () { yield Buffer.from("a\nb\n"); })();
 * ```
 */
export type FrameSource = Readable | AsyncIterable<Uint8Array | string>;

/** take() returns this once the source has ended and every chunk was taken. */
export const END: unique symbol = Symbol("end of stream");

/** A chunk source as the reader drives it. */
export interface ChunkSource {
  /** A chunk already received, END after the last one, or null when the reader must wait (arm). Throws the source's error. */
  take(): Buffer | typeof END | null;
  /** Calls `wake` once when take() may return something new (a chunk, the end, an error). */
  arm(wake: () => void): void;
  /** Detaches from the source. `rest` (bytes received but not consumed) goes back into a Readable. */
  release(rest: readonly Buffer[]): void;
}

function toBuffer(chunk: unknown, encoding: BufferEncoding | null): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === "string") return Buffer.from(chunk, encoding ?? "utf8");
  throw new TypeError(`a framing source yielded ${chunk === null ? "null" : typeof chunk}; expected Uint8Array chunks`);
}

function isReadable(source: object): source is Readable {
  const s = source as Partial<Readable>;
  return typeof s.on === "function" && typeof s.pause === "function" && typeof s.resume === "function" && typeof s.unshift === "function";
}

/** Opens a source for one reader; throws InvalidConfigError for anything that is not one. */
export function openSource(source: FrameSource): ChunkSource {
  if (typeof source === "object" && source !== null) {
    if (isReadable(source)) return new StreamSource(source);
    if (typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") return new IterableSource(source);
  }
  throw new InvalidConfigError(
    "source",
    `the source must be a Readable (e.g. a net.Socket) or an AsyncIterable of Uint8Array chunks; got ${source === null ? "null" : typeof source}`,
  );
}

/**
 * Bytes of chunks the reader has not asked for yet that a Readable source holds before it pauses
 * the stream. Small chunks (interactive traffic) are taken without a pause/resume round trip
 * each; a socket's usual 64 KiB read crosses it at once, so a consumer that stops pulling stops
 * the stream after one unrequested chunk, as the reader's memory bound says.
 */
export const STREAM_QUEUE_BYTES = 16_384;

/**
 * A Readable in flowing mode, paused once the chunks nobody asked for yet reach
 * {@link STREAM_QUEUE_BYTES}: the rest stays in the stream (and its kernel socket buffer), which
 * then stops reading.
 */
class StreamSource implements ChunkSource {
  readonly #stream: Readable;
  readonly #queue: Buffer[] = [];
  #queuedBytes = 0;
  #ended = false;
  #error: unknown = undefined;
  #waiter: (() => void) | null = null;
  #attached = false;

  constructor(stream: Readable) {
    this.#stream = stream;
    if (stream.readableEnded || stream.destroyed) {
      this.#ended = true;
      this.#error = stream.errored ?? undefined;
      return;
    }
    stream.on("data", this.#onData);
    stream.on("end", this.#onEnd);
    stream.on("close", this.#onEnd);
    stream.on("error", this.#onError);
    this.#attached = true;
    stream.pause();
  }

  readonly #onData = (chunk: unknown): void => {
    const buffer = toBuffer(chunk, this.#stream.readableEncoding);
    this.#queue.push(buffer);
    this.#queuedBytes += buffer.length;
    const waiter = this.#waiter;
    if (waiter === null) {
      if (this.#queuedBytes >= STREAM_QUEUE_BYTES) this.#stream.pause();
    } else {
      this.#waiter = null;
      waiter();
    }
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#wake();
  };

  readonly #onError = (error: unknown): void => {
    this.#error ??= error;
    this.#wake();
  };

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }

  take(): Buffer | typeof END | null {
    if (this.#queue.length > 0) {
      const chunk = this.#queue.shift() as Buffer;
      this.#queuedBytes -= chunk.length;
      return chunk;
    }
    if (this.#error !== undefined) throw this.#error;
    return this.#ended ? END : null;
  }

  arm(wake: () => void): void {
    this.#waiter = wake;
    if (this.#stream.isPaused()) this.#stream.resume();
  }

  release(rest: readonly Buffer[]): void {
    this.#waiter = null;
    if (!this.#attached) return;
    this.#attached = false;
    const stream = this.#stream;
    stream.pause(); // before the 'data' listener goes, so no chunk is emitted to nobody
    stream.off("data", this.#onData);
    stream.off("end", this.#onEnd);
    stream.off("close", this.#onEnd);
    stream.off("error", this.#onError);
    const unread = [...rest, ...this.#queue].filter((b) => b.length > 0);
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    // Bytes received but not framed go back, in order, for whoever reads the stream next.
    if (unread.length > 0 && !this.#ended && !stream.destroyed) stream.unshift(unread.length === 1 ? unread[0] : Buffer.concat(unread));
  }
}

/** Any AsyncIterable: one `next()` in flight at most, started only when the reader waits. */
class IterableSource implements ChunkSource {
  readonly #iterator: AsyncIterator<unknown>;
  #result: IteratorResult<unknown> | null = null;
  #error: unknown = undefined;
  #ended = false;
  #inFlight = false;
  #waiter: (() => void) | null = null;
  #released = false;

  constructor(source: AsyncIterable<unknown>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  take(): Buffer | typeof END | null {
    const result = this.#result;
    if (result !== null) {
      this.#result = null;
      if (result.done === true) {
        this.#ended = true;
        return END;
      }
      return toBuffer(result.value, null);
    }
    if (this.#error !== undefined) throw this.#error;
    return this.#ended ? END : null;
  }

  arm(wake: () => void): void {
    this.#waiter = wake;
    if (this.#inFlight) return;
    this.#inFlight = true;
    this.#iterator.next().then(this.#onResult, this.#onError);
  }

  readonly #onResult = (result: IteratorResult<unknown>): void => {
    this.#inFlight = false;
    this.#result = result;
    this.#wake();
  };

  readonly #onError = (error: unknown): void => {
    this.#inFlight = false;
    this.#error = error ?? new Error("the framing source rejected without a reason");
    this.#wake();
  };

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }

  release(): void {
    this.#waiter = null;
    if (this.#released) return;
    this.#released = true;
    // Let the source clean up (an async generator runs its finally blocks); its errors are not ours.
    if (!this.#ended && this.#error === undefined) void Promise.resolve(this.#iterator.return?.()).catch(() => undefined);
  }
}
