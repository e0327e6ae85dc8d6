import { checkDuration } from "./check.ts";
import type { ProxyInfo } from "./proxy/types.ts";

/**
 * What a drain did: units that finished in time, units destroyed at the deadline, and how long it took.
 *
 * @example
 * ```ts
 * const { drained, forced, durationMs }: DrainReport = await server.shutdown();
 * ```
 */
export interface DrainReport {
  /** In-flight units (connections, requests, datagram handlers) that finished before the deadline. */
  readonly drained: number;
  /** Units still running at the deadline, closed through their `forceClose` callback. */
  readonly forced: number;
  /** Milliseconds from the start of shutdown until the drain ended. */
  readonly durationMs: number;
}

/**
 * What every handler receives besides its socket or datagram.
 *
 * @example
 * ```ts
 * await serveTcp(9001, async (socket, peer, { signal }: HandlerContext) => {
 *   for await (const line of readLines(socket)) {
 *     if (signal.aborted) break; // shutting down: stop at a message boundary
 *     socket.write(line + "\n");
 *   }
 * });
 * ```
 */
export interface HandlerContext {
  /** Aborts when the server starts shutting down: stop at the next message boundary. */
  readonly signal: AbortSignal;
  /** The connection's PROXY header, on a listener with `proxyProtocol` (undefined otherwise, and for peers served `"direct"`). */
  readonly proxy?: ProxyInfo | undefined;
}

/**
 * The default `drainTimeout`: 30 000 ms, as in Tako.
 *
 * @example
 * ```ts
 * await drain.drain(options.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT);
 * ```
 */
export const DEFAULT_DRAIN_TIMEOUT = 30_000;

/**
 * One tracked unit of in-flight work. Call {@link DrainUnit.done} exactly when it ends; calling it
 * again is harmless.
 *
 * @example
 * ```ts
 * const unit = drain.track(() => socket.destroy());
 * socket.once("close", () => unit.done());
 * ```
 */
export class DrainUnit {
  #drain: Drain | undefined;
  /** Destroys the unit's resources at the drain deadline. */
  readonly forceClose: () => void;

  constructor(drain: Drain, forceClose: () => void) {
    this.#drain = drain;
    this.forceClose = forceClose;
  }

  /** Marks the unit finished; it is forgotten at once. */
  done(): void {
    const drain = this.#drain;
    if (drain === undefined) return;
    this.#drain = undefined;
    drain.release(this);
  }
}

/**
 * Tracks in-flight units and drains them on shutdown: every unit shares one `AbortSignal` that
 * aborts when the drain starts, the drain waits until all units are done or `timeout` passes, then
 * force-closes the rest and reports `{ drained, forced, durationMs }`. Nothing is kept for a unit
 * after it ends. Every Tako listener uses this one implementation.
 *
 * @example
 * ```ts
 * const drain = new Drain();
 * server.on("connection", (socket) => {
 *   const unit = drain.track(() => socket.destroy());
 *   socket.once("close", () => unit.done());
 *   handle(socket, drain.context);
 * });
 * const report = await drain.drain(5_000); // { drained: 3, forced: 0, durationMs: 12 }
 * ```
 */
export class Drain {
  readonly #controller = new AbortController();
  readonly #units = new Set<DrainUnit>();
  #drained = 0;
  #onIdle: (() => void) | undefined;
  #result: Promise<DrainReport> | undefined;

  /** The context handed to every handler; its signal aborts when the drain starts. */
  readonly context: HandlerContext = Object.freeze({ signal: this.#controller.signal });

  /** Aborts when the drain starts. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Units in flight now. */
  get active(): number {
    return this.#units.size;
  }

  /** Whether the drain has started. */
  get draining(): boolean {
    return this.#result !== undefined;
  }

  /** Starts tracking a unit; `forceClose` is called if it is still running at the drain deadline. */
  track(forceClose: () => void): DrainUnit {
    const unit = new DrainUnit(this, forceClose);
    this.#units.add(unit);
    return unit;
  }

  /** @internal Called by {@link DrainUnit.done}. */
  release(unit: DrainUnit): void {
    if (!this.#units.delete(unit)) return;
    if (this.#result === undefined) return;
    this.#drained++;
    if (this.#units.size === 0) this.#onIdle?.();
  }

  /**
   * Starts the drain (once; later calls return the same report): aborts the shared signal, waits
   * for every unit up to `timeout` ms, then force-closes what is left.
   */
  drain(timeout: number = DEFAULT_DRAIN_TIMEOUT, reason?: unknown): Promise<DrainReport> {
    if (this.#result !== undefined) return this.#result;
    checkDuration("drainTimeout", timeout);
    const started = performance.now();
    this.#result = new Promise<DrainReport>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.#onIdle = undefined;
        let forced = 0;
        for (const unit of [...this.#units]) {
          this.#units.delete(unit);
          forced++;
          try {
            unit.forceClose();
          } catch {
            // A failing destroy must not stop the others from being closed.
          }
        }
        resolve({ drained: this.#drained, forced, durationMs: Math.round((performance.now() - started) * 100) / 100 });
      };
      this.#onIdle = finish;
      const timer = setTimeout(finish, timeout);
      if (this.#units.size === 0) finish();
    });
    this.#controller.abort(reason ?? new DOMException("server is shutting down", "AbortError"));
    return this.#result;
  }
}
