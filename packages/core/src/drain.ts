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

/** The list operations on a unit's private links, for {@link Drain} (a unit list costs no Set). */
interface UnitLinks {
  /** Marks `unit` tracked by `drain` and puts it before `head`; returns the new head. */
  push(unit: DrainUnit, drain: Drain, head: DrainUnit | undefined): DrainUnit;
  /** Takes `unit` out of the list (it must be in it) and marks it untracked; returns the new head. */
  remove(unit: DrainUnit, head: DrainUnit | undefined): DrainUnit | undefined;
  /** The unit's drain, if it is tracked. */
  drainOf(unit: DrainUnit): Drain | undefined;
  next(unit: DrainUnit): DrainUnit | undefined;
}
let links: UnitLinks;

/**
 * One tracked unit of in-flight work. Call {@link DrainUnit.done} exactly when it ends; calling it
 * again is harmless. {@link Drain.track} makes one around a `forceClose` callback; a listener can
 * instead subclass it, overriding {@link DrainUnit.forceClose}, and start tracking its own
 * per-connection record with {@link Drain.add} (one object per connection instead of three).
 *
 * @example
 * ```ts
 * const unit = drain.track(() => socket.destroy());
 * socket.once("close", () => unit.done());
 * ```
 */
export class DrainUnit {
  #drain: Drain | undefined = undefined;
  // The drain's units are a doubly linked list through the units themselves: tracking one costs
  // two fields, where a Set entry cost every idle connection ~20-40 B.
  #prev: DrainUnit | undefined = undefined;
  #next: DrainUnit | undefined = undefined;

  static {
    links = {
      push(unit, drain, head) {
        unit.#drain = drain;
        unit.#next = head;
        if (head !== undefined) head.#prev = unit;
        return unit;
      },
      remove(unit, head) {
        const prev = unit.#prev;
        const next = unit.#next;
        if (prev === undefined) head = next;
        else prev.#next = next;
        if (next !== undefined) next.#prev = prev;
        unit.#prev = undefined;
        unit.#next = undefined;
        unit.#drain = undefined;
        return head;
      },
      drainOf: (unit) => unit.#drain,
      next: (unit) => unit.#next,
    };
  }

  /** Destroys the unit's resources at the drain deadline (subclasses override it). */
  forceClose(): void {}

  /** Marks the unit finished; it is forgotten at once. */
  done(): void {
    this.#drain?.release(this);
  }
}

/** The unit {@link Drain.track} makes: its `forceClose` is the callback it was given. */
class CallbackUnit extends DrainUnit {
  readonly #forceClose: () => void;

  constructor(forceClose: () => void) {
    super();
    this.#forceClose = forceClose;
  }

  override forceClose(): void {
    this.#forceClose();
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
 * const server = net.createServer();
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
  /** The units in flight, newest first (see {@link DrainUnit}), and how many. */
  #head: DrainUnit | undefined = undefined;
  #size = 0;
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
    return this.#size;
  }

  /** Whether the drain has started. */
  get draining(): boolean {
    return this.#result !== undefined;
  }

  /** Starts tracking a unit; `forceClose` is called if it is still running at the drain deadline. */
  track(forceClose: () => void): DrainUnit {
    return this.add(new CallbackUnit(forceClose));
  }

  /**
   * Starts tracking a unit the caller made (a {@link DrainUnit} subclass whose `forceClose`
   * closes its resource) and returns it. A unit is tracked once; adding one again does nothing.
   *
   * @example
   * ```ts
   * class Conn extends DrainUnit {
   *   readonly socket: net.Socket;
   *   constructor(socket: net.Socket) { super(); this.socket = socket; }
   *   override forceClose(): void { this.socket.destroy(); }
   * }
   * const conn = drain.add(new Conn(socket));
   * socket.once("close", () => conn.done());
   * ```
   */
  add<Unit extends DrainUnit>(unit: Unit): Unit {
    if (links.drainOf(unit) !== undefined) return unit;
    this.#head = links.push(unit, this, this.#head);
    this.#size++;
    return unit;
  }

  /** @internal Called by {@link DrainUnit.done}. */
  release(unit: DrainUnit): void {
    if (links.drainOf(unit) !== this) return;
    this.#head = links.remove(unit, this.#head);
    this.#size--;
    if (this.#result === undefined) return;
    this.#drained++;
    if (this.#size === 0) this.#onIdle?.();
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
        const left: DrainUnit[] = [];
        for (let unit = this.#head; unit !== undefined; unit = links.next(unit)) left.push(unit);
        for (const unit of left) this.#head = links.remove(unit, this.#head);
        this.#size = 0;
        const forced = left.length;
        for (const unit of left) {
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
      if (this.#size === 0) finish();
    });
    this.#controller.abort(reason ?? new DOMException("server is shutting down", "AbortError"));
    return this.#result;
  }
}
