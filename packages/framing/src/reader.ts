/**
 * The async iterator every reader returns: it asks its decoder for the next frame, feeds it
 * chunks from the source only when the decoder needs more, and ends at a frame boundary when the
 * signal aborts (a `next()` already waiting resolves done at once).
 */
import { END, openSource, type ChunkSource, type FrameSource } from "./source.ts";

/** A decoder's answer when the bytes it holds end inside a frame. */
export const NEED: unique symbol = Symbol("need more bytes");

/** A frame format: turns pushed chunks into frames, one `next()` at a time. */
export interface Decoder<T> {
  /** A new chunk; called only after next() answered NEED (everything before it is consumed). */
  push(chunk: Buffer): void;
  /** The next complete frame, or NEED. Throws a ProtocolError on malformed input. */
  next(): T | typeof NEED;
  /** The source ended: the last frame (e.g. an unterminated line), END, or a truncated-frame ProtocolError. */
  end(): T | typeof END;
  /** Bytes received but not yet part of a yielded frame. */
  rest(): Buffer[];
}

/**
 * The part of a decoder that holds the chunk being read and the offset reached in it: `push`
 * starts the next chunk at 0 (the decoder consumed the previous one before answering NEED).
 * A {@link Decoder} extends it and reads `chunk` from `offset` in `next()`.
 */
export abstract class ChunkDecoder {
  protected chunk: Buffer = Buffer.alloc(0);
  protected offset = 0;

  push(chunk: Buffer): void {
    this.chunk = chunk;
    this.offset = 0;
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true }) as IteratorReturnResult<undefined>;

/** The iterator the readers return; see {@link lines} for the contract. */
export class FrameReader<T> implements AsyncIterableIterator<T> {
  readonly #decoder: Decoder<T>;
  readonly #source: ChunkSource;
  readonly #signal: AbortSignal | undefined;
  #done = false;
  /** Set by the signal's abort event (a field read per frame, not the `aborted` getter). */
  #aborted = false;
  #busy: Promise<unknown> | null = null;
  #wake: (() => void) | null = null;

  constructor(source: FrameSource, decoder: Decoder<T>, signal: AbortSignal | undefined) {
    this.#decoder = decoder;
    this.#signal = signal;
    this.#source = openSource(source);
    if (signal !== undefined) {
      if (signal.aborted) this.#finish(true);
      else signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  readonly #onAbort = (): void => {
    this.#aborted = true;
    this.#wakeUp();
  };

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#done) return Promise.resolve(DONE);
    if (this.#busy !== null) {
      // A caller that does not await each next(): queue behind the one in flight.
      const after = (): Promise<IteratorResult<T, undefined>> => this.next();
      return this.#busy.then(after, after);
    }
    if (this.#aborted) {
      this.#finish(true);
      return Promise.resolve(DONE);
    }
    let frame: T | typeof NEED | typeof END;
    try {
      frame = this.#step();
    } catch (error) {
      this.#finish(false);
      return Promise.reject(error);
    }
    if (frame === NEED) {
      const waiting = this.#waitForFrame();
      this.#busy = waiting;
      return waiting;
    }
    if (frame === END) {
      this.#finish(false);
      return Promise.resolve(DONE);
    }
    return Promise.resolve({ value: frame, done: false });
  }

  /** Ends the iteration (a `break` out of `for await`); unconsumed bytes go back into a Readable, which is not destroyed. */
  return(): Promise<IteratorResult<T, undefined>> {
    if (!this.#done) this.#finish(true);
    this.#wakeUp();
    return Promise.resolve(DONE);
  }

  /** Frames from what is already buffered, pulling buffered chunks; NEED when the source must be waited for. */
  #step(): T | typeof NEED | typeof END {
    const decoder = this.#decoder;
    for (;;) {
      const frame = decoder.next();
      if (frame !== NEED) return frame;
      const chunk = this.#source.take();
      if (chunk === null) return NEED;
      if (chunk === END) return decoder.end();
      decoder.push(chunk);
    }
  }

  async #waitForFrame(): Promise<IteratorResult<T, undefined>> {
    try {
      for (;;) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#source.arm(resolve);
        });
        this.#wake = null;
        if (this.#done) return DONE;
        if (this.#aborted) {
          this.#finish(true);
          return DONE;
        }
        const frame = this.#step();
        if (frame === END) {
          this.#finish(false);
          return DONE;
        }
        if (frame !== NEED) return { value: frame, done: false };
      }
    } catch (error) {
      this.#finish(false);
      throw error;
    } finally {
      this.#busy = null;
    }
  }

  #finish(early: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#source.release(early ? this.#decoder.rest() : []);
  }
}
