// The per-datagram path of serveUdp: the handler's types, the bound on handlers in flight, and the
// bookkeeping of async handlers (pooled slots, drain units only once shutdown starts).
import type { RemoteInfo } from "node:dgram";
import { ProtocolError, type HandlerContext, type Logger, type SocketAddress } from "@tako/core";
import { channels, isThenable, reportHandlerError, reportProtocolError, type Counters, type Drain, type DrainUnit, type ServerHandle } from "@tako/core/listener";
import type { ResolvedUdpOptions } from "./options.ts";
import type { UdpSocket } from "./udp-socket.ts";

/** The listener kind in diagnostics and logs. */
export const KIND = "udp";

/**
 * The sender of a datagram: `{ address, port, family }`, plus `size`, the datagram's length in
 * bytes. It is the `rinfo` object Node's `dgram` made for this datagram, handed over as is.
 *
 * @example
 * ```ts
 * await serveUdp(9000, (data, peer) => {
 *   console.log(`${peer.size} bytes from ${peer.address}:${peer.port} (${peer.family})`);
 * });
 * ```
 */
export interface UdpPeer extends SocketAddress {
  /** Length of the datagram in bytes. */
  readonly size: number;
}

/**
 * A datagram handler: called once per datagram with its bytes (a `Buffer` of its own, yours to
 * keep), the sender, the server's {@link UdpSocket} for replies, and the context whose `signal`
 * aborts when shutdown starts. Handlers run concurrently; a throw or rejection is reported and
 * the server keeps receiving.
 *
 * @example
 * ```ts
 * const echo: UdpHandler = async (data, peer, socket) => {
 *   await socket.sendTo(data, peer);
 * };
 * ```
 */
export type UdpHandler = (data: Buffer, peer: UdpPeer, socket: UdpSocket, ctx: HandlerContext) => Promise<void> | void;

function noop(): void {}

/** One in-flight async handler; pooled, so a datagram costs no closures of ours. */
class InFlight {
  peer: UdpPeer | undefined = undefined;
  /** The handler's unit in the drain; only made once shutdown starts (see {@link Receiver.startDrain}). */
  unit: DrainUnit | undefined = undefined;
  busy = false;
  readonly fulfilled: () => void;
  readonly rejected: (error: unknown) => void;

  constructor(receiver: Receiver) {
    this.fulfilled = () => receiver.settle(this);
    this.rejected = (error) => {
      receiver.fail(this.peer, error);
      receiver.settle(this);
    };
  }
}

/**
 * The per-datagram path: bound check, handler call, bookkeeping of async handlers.
 *
 * Handlers in flight are counted here, in pooled slots (at most `maxInFlight` of them), and are
 * registered with the core `Drain` (one unit each) only when shutdown starts: until then nothing
 * can drain them, and a drain unit per datagram (an object and a Set insertion and deletion) is the
 * largest cost of the path. From shutdown on, the Drain waits for, counts and reports them as it
 * does for every listener.
 */
export class Receiver {
  readonly #handler: UdpHandler;
  readonly #socket: UdpSocket;
  readonly #drain: Drain;
  readonly #ctx: HandlerContext;
  readonly #maxInFlight: number;
  readonly #logger: Logger | undefined;
  /** Every slot made so far (never more than maxInFlight), to find the busy ones at shutdown. */
  readonly #slots: InFlight[] = [];
  readonly #free: InFlight[] = [];
  #active = 0;
  #draining = false;
  /** Whether a handler is being called right now (shutdown may start from inside it). */
  #calling = false;
  /** The drain unit of the handler being called when shutdown started from inside it. */
  #callingUnit: DrainUnit | undefined = undefined;
  server!: ServerHandle<SocketAddress>;
  counters!: Counters;
  /** Datagrams dropped because `maxInFlight` handlers were already running. */
  dropped = 0;

  constructor(handler: UdpHandler, socket: UdpSocket, drain: Drain, config: ResolvedUdpOptions) {
    this.#handler = handler;
    this.#socket = socket;
    this.#drain = drain;
    this.#ctx = drain.context;
    this.#maxInFlight = config.maxInFlight;
    this.#logger = config.logger;
  }

  /** Async handlers in flight now. */
  get active(): number {
    return this.#active;
  }

  readonly onMessage = (data: Buffer, rinfo: RemoteInfo): void => {
    if (this.#active >= this.#maxInFlight) {
      this.dropped++;
      return;
    }
    this.counters.accepted++;
    const peer = rinfo as UdpPeer;
    if (channels.connection.hasSubscribers) channels.connection.publish({ kind: KIND, server: this.server, peer });
    let result: Promise<void> | void;
    this.#calling = true;
    try {
      result = this.#handler(data, peer, this.#socket, this.#ctx);
    } catch (error) {
      this.#calling = false;
      this.#releaseCallingUnit();
      this.fail(peer, error);
      this.#closed(peer);
      return;
    }
    this.#calling = false;
    if (!isThenable(result)) {
      this.#releaseCallingUnit();
      this.#closed(peer);
      return;
    }
    const slot = this.#free.pop() ?? this.#newSlot();
    slot.peer = peer;
    slot.busy = true;
    this.#active++;
    if (this.#draining) {
      slot.unit = this.#callingUnit ?? this.#drain.track(noop);
      this.#callingUnit = undefined;
    }
    (result instanceof Promise ? result : Promise.resolve(result)).then(slot.fulfilled, slot.rejected);
  };

  /** Shutdown starts: every handler in flight becomes a unit of the drain (before it starts waiting). */
  startDrain(): void {
    this.#draining = true;
    for (const slot of this.#slots) if (slot.busy) slot.unit = this.#drain.track(noop);
    if (this.#calling) this.#callingUnit = this.#drain.track(noop);
  }

  #releaseCallingUnit(): void {
    if (this.#callingUnit === undefined) return;
    this.#callingUnit.done();
    this.#callingUnit = undefined;
  }

  /** @internal An async handler settled. */
  settle(slot: InFlight): void {
    const peer = slot.peer;
    slot.busy = false;
    slot.peer = undefined;
    this.#active--;
    if (slot.unit !== undefined) {
      slot.unit.done();
      slot.unit = undefined;
    }
    this.#free.push(slot);
    if (peer !== undefined) this.#closed(peer);
  }

  /** @internal A handler threw or rejected. */
  fail(peer: UdpPeer | undefined, error: unknown): void {
    // A datagram that broke the protocol is the sender's fault: counted, not printed.
    if (error instanceof ProtocolError) reportProtocolError(this.server, KIND, this.#logger, peer, error);
    else reportHandlerError(this.server, KIND, this.#logger, peer, error);
  }

  #newSlot(): InFlight {
    const slot = new InFlight(this);
    this.#slots.push(slot);
    return slot;
  }

  #closed(peer: UdpPeer): void {
    if (channels.connectionClosed.hasSubscribers) channels.connectionClosed.publish({ kind: KIND, server: this.server, peer });
  }
}
