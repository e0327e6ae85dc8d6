import type { SocketAddress } from "./address.ts";
import { checkDuration } from "./check.ts";
import { ServerBuilder } from "./config.ts";
import { channels, type ListenerKind } from "./diagnostics.ts";
import { DEFAULT_DRAIN_TIMEOUT, type Drain, type DrainReport } from "./drain.ts";
import type { ProtocolError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { onShutdownSignal, type ShutdownSignal } from "./shutdown.ts";

/**
 * Counters every server keeps (UDP adds `dropped` and `sendErrors`).
 *
 * @example
 * ```ts
 * const { active, accepted, rejected, handlerErrors, protocolErrors }: ServerStats = server.stats();
 * ```
 */
export interface ServerStats {
  /** Connections (or datagram handlers, or requests) in flight now. */
  readonly active: number;
  /** Connections (or datagrams) accepted since start. */
  readonly accepted: number;
  /** Connections refused by a cap (`maxConnections` with `"reject"`, queue full or wait timeout). */
  readonly rejected: number;
  /** Handlers that threw or rejected (not counting {@link ProtocolError}s). */
  readonly handlerErrors: number;
  /** Connections (or datagrams) ended because the peer broke the protocol (a {@link ProtocolError}). */
  readonly protocolErrors: number;
}

/**
 * Options for {@link Server.shutdown}.
 *
 * @example
 * ```ts
 * await server.shutdown({ drainTimeout: 2_000 } satisfies ShutdownOptions);
 * ```
 */
export interface ShutdownOptions {
  /** Overrides the server's `drainTimeout` for this shutdown, in ms. */
  readonly drainTimeout?: number;
}

/**
 * The handle every `serve*` function resolves to once its socket is bound (Deno.serve's handle is
 * the model). `Address` is `{ address, port, family }` for TCP and UDP, the path string for Unix.
 *
 * @example
 * ```ts
 * await using server = await serveTcp("127.0.0.1:0", handler);
 * console.log(server.address.port, server.stats().active);
 * const report = await server.shutdown({ drainTimeout: 5_000 });
 * ```
 */
export interface Server<Address = SocketAddress | string> {
  /** Where the server is bound. */
  readonly address: Address;
  /** Settles after shutdown and drain, with the drain report. Never rejects. */
  readonly finished: Promise<DrainReport>;
  /** Stops accepting, drains, and resolves with the report; calling it again returns the same result. */
  shutdown(options?: ShutdownOptions): Promise<DrainReport>;
  /** A snapshot of the server's counters. */
  stats(): ServerStats;
  /** `await using` support: shuts down with the configured drain timeout. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * `Server.builder()`, the Rust builder: `Server.builder().config(c).build()` gives a validated,
 * frozen config (`@tako/unix-http` adds `spawnUnixHttp` to what `build()` returns).
 *
 * @example
 * ```ts
 * const built = Server.builder().config({ drainTimeout: 5_000 }).build();
 * ```
 */
export const Server: { builder(): ServerBuilder } = Object.freeze({
  builder: () => new ServerBuilder(),
});

/**
 * Mutable counters behind {@link ServerStats}; listeners increment them.
 *
 * @example
 * ```ts
 * handle.counters.rejected++; // a connection refused by a cap
 * ```
 */
export interface Counters {
  accepted: number;
  rejected: number;
  handlerErrors: number;
  protocolErrors: number;
}

/**
 * What a listener hands {@link ServerHandle} to get the common shutdown sequence.
 *
 * @example
 * ```ts
 * const init: ServerHandleInit<SocketAddress> = {
 *   kind: "udp", address, drain,
 *   stopAccepting: () => socket.removeListener("message", onMessage),
 *   afterDrain: () => new Promise<void>((resolve) => socket.close(() => resolve())),
 * };
 * ```
 */
export interface ServerHandleInit<Address> {
  readonly kind: ListenerKind;
  readonly address: Address;
  readonly drain: Drain;
  readonly drainTimeout?: number | undefined;
  readonly signal?: ShutdownSignal | undefined;
  readonly logger?: Logger | undefined;
  /** Step 1 of the drain: stop accepting now (close the listening socket). Must not wait for connections. */
  stopAccepting(): void | Promise<void>;
  /** Step 2, optional: tell live connections that shutdown began (beyond the shared signal). */
  onDrainStart?(): void;
  /** After the drain: release what is left (close the socket, remove the socket file). */
  afterDrain?(): void | Promise<void>;
}

/**
 * The one implementation of the {@link Server} handle, used by every listener: it runs the drain
 * sequence of DESIGN section 4 (stop accepting, abort the handlers' signal, wait up to
 * `drainTimeout`, force-close the rest), publishes `shutdown` and `drain-done`, and settles
 * `finished`.
 *
 * @example
 * ```ts
 * const handle = new ServerHandle({ kind: "tcp", address, drain, stopAccepting: () => server.close() });
 * ```
 */
export class ServerHandle<Address> implements Server<Address> {
  readonly address: Address;
  readonly finished: Promise<DrainReport>;
  /** The counters this server's listener increments. */
  readonly counters: Counters = { accepted: 0, rejected: 0, handlerErrors: 0, protocolErrors: 0 };
  readonly #init: ServerHandleInit<Address>;
  readonly #drainTimeout: number;
  #resolveFinished!: (report: DrainReport) => void;
  #shutdown: Promise<DrainReport> | undefined;
  readonly #stopListening: () => void;

  constructor(init: ServerHandleInit<Address>) {
    this.#init = init;
    this.address = init.address;
    this.#drainTimeout = checkDuration("drainTimeout", init.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT);
    this.finished = new Promise((resolve) => {
      this.#resolveFinished = resolve;
    });
    this.#stopListening = onShutdownSignal(init.signal, () => void this.shutdown());
  }

  /** Publishes `listening`; listeners call it once bound. */
  announce(): this {
    if (channels.listening.hasSubscribers) channels.listening.publish({ kind: this.#init.kind, server: this, address: this.address });
    return this;
  }

  stats(): ServerStats {
    const { accepted, rejected, handlerErrors, protocolErrors } = this.counters;
    return { active: this.#init.drain.active, accepted, rejected, handlerErrors, protocolErrors };
  }

  shutdown(options: ShutdownOptions = {}): Promise<DrainReport> {
    if (this.#shutdown === undefined) {
      const timeout = options.drainTimeout === undefined ? this.#drainTimeout : checkDuration("drainTimeout", options.drainTimeout);
      this.#shutdown = this.#run(timeout);
    }
    return this.#shutdown;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  async #run(timeout: number): Promise<DrainReport> {
    this.#stopListening();
    const { kind, drain, logger } = this.#init;
    if (channels.shutdown.hasSubscribers) channels.shutdown.publish({ kind, server: this });
    logger?.info({ kind, address: this.address }, "shutting down");
    const stopped = this.#step("stop accepting", () => this.#init.stopAccepting());
    const drained = drain.drain(timeout);
    this.#init.onDrainStart?.();
    const report = await drained;
    await stopped;
    await this.#step("release", () => this.#init.afterDrain?.());
    if (channels.drainDone.hasSubscribers) channels.drainDone.publish({ kind, server: this, report });
    logger?.info({ kind, ...report }, "drained");
    this.#resolveFinished(report);
    return report;
  }

  async #step(what: string, fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      (this.#init.logger ?? stderrLogger).error({ err: error, kind: this.#init.kind }, `shutdown step failed: ${what}`);
    }
  }
}

const stderrLogger: Pick<Logger, "error"> = {
  error(obj, msg) {
    const err = (obj as { err?: unknown }).err;
    process.stderr.write(`[tako] ${msg ?? "error"}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  },
};

/**
 * Reports a handler's failure once: on `diagnostics_channel` (`tako:handler-error`), to the
 * `logger` if given, else to stderr with the peer. Counts it in the server's stats.
 *
 * @example
 * ```ts
 * Promise.resolve(handler(socket, peer, ctx)).catch((error) => reportHandlerError(handle, "tcp", logger, peer, error));
 * ```
 */
export function reportHandlerError(server: ServerHandle<unknown>, kind: ListenerKind, logger: Logger | undefined, peer: unknown, error: unknown): void {
  server.counters.handlerErrors++;
  if (channels.handlerError.hasSubscribers) channels.handlerError.publish({ kind, server, peer, error });
  if (logger) {
    logger.error({ err: error, peer, kind }, `${kind} handler failed`);
  } else {
    const where = formatPeer(peer);
    stderrLogger.error({ err: error }, `${kind} handler failed${where ? ` for ${where}` : ""}`);
  }
}

/**
 * Reports a peer's protocol violation (a {@link ProtocolError}): counted in
 * `stats().protocolErrors`, published on `tako:protocol-error`, logged at debug if a logger is
 * set, and otherwise silent (it is the client's fault, not the server's).
 *
 * @example
 * ```ts
 * if (error instanceof ProtocolError) reportProtocolError(handle, "tcp", logger, peer, error);
 * ```
 */
export function reportProtocolError(server: ServerHandle<unknown>, kind: ListenerKind, logger: Logger | undefined, peer: unknown, error: ProtocolError): void {
  server.counters.protocolErrors++;
  if (channels.protocolError.hasSubscribers) channels.protocolError.publish({ kind, server, peer, error });
  logger?.debug({ err: error, peer, kind, code: error.code }, `${kind} protocol error`);
}

function formatPeer(peer: unknown): string {
  if (peer === null || peer === undefined) return "";
  if (typeof peer === "object" && "port" in peer && "address" in peer) {
    const p = peer as SocketAddress;
    return p.family === "IPv6" ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`;
  }
  try {
    return JSON.stringify(peer);
  } catch {
    return String(peer);
  }
}
