import { setMaxListeners } from "node:events";
import type * as net from "node:net";
import type { SocketAddress } from "./address.ts";
import { checkFunction, isThenable } from "./check.ts";
import { channels } from "./diagnostics.ts";
import { Drain, DrainUnit, type HandlerContext } from "./drain.ts";
import { isPeerGone, ProtocolError, TakoError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { resolveProxyProtocolOption } from "./proxy/policy.ts";
import { reportHandlerError, reportProtocolError, ServerHandle, type Server } from "./server.ts";
import { DEFAULT_MAX_QUEUE, DEFAULT_QUEUE_TIMEOUT, validateStreamListenerOptions, type StreamListenerOptions } from "./stream-options.ts";
import { ProxyHeaderPhase } from "./stream-proxy-phase.ts";

/**
 * A per-connection handler. It receives the real socket, the peer and a context whose `signal`
 * aborts when shutdown starts. A returned promise ends the connection when it settles (resolved:
 * ended after pending writes flush; rejected: reported and destroyed); any other return value
 * means the handler owns the socket, which stays open until either side closes it.
 * Iterating the socket (`for await`) does not destroy it when the loop ends or breaks, on every
 * Node version, so the handler can still reply after the loop.
 *
 * @example
 * ```ts
 * const echo: StreamHandler<SocketAddress> = async (socket) => {
 *   for await (const chunk of socket) socket.write(chunk);
 * };
 * ```
 */
export type StreamHandler<Peer> = (socket: net.Socket, peer: Peer, ctx: HandlerContext) => unknown;

/**
 * What a stream listener hands {@link serveStream}: the server it created, how to bind it, and
 * how to describe a peer.
 *
 * @example
 * ```ts
 * const init: StreamListenerInit<SocketAddress, SocketAddress> = {
 *   kind: "tcp", server: net.createServer(), handler, options,
 *   bind: async (server) => {
 *     await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 *     return { address: toSocketAddress(server.address() as net.AddressInfo) };
 *   },
 *   peerOf: (socket) => toSocketAddress({ address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily }),
 * };
 * ```
 */
export interface StreamListenerInit<Peer, Address> {
  /** Which listener this is, for diagnostics and logs. */
  readonly kind: "tcp" | "unix";
  /**
   * The server, created by the caller (`net.createServer()`). The machine sets its accepted
   * sockets' mode itself: `allowHalfOpen` on (a promise handler can read to the client's EOF and
   * still write its reply; the server's side ends when the promise resolves; for a handler that
   * returns no promise the server's side ends when the client's does, as Node's default) and
   * `pauseOnConnect` off (handlers get Node's usual socket state; queued sockets are held unread
   * anyway).
   */
  readonly server: net.Server;
  /** The per-connection handler. */
  readonly handler: StreamHandler<Peer>;
  /** The listener options (validated again here). */
  readonly options: StreamListenerOptions;
  /** Binds (listen). Rejects with BindError (OS code kept). `release` runs after the drain. */
  bind(server: net.Server): Promise<{ address: Address; release?: () => void | Promise<void> }>;
  /**
   * The peer of an accepted socket, as handed to the handler. Throwing a `TakoError` refuses the
   * connection (destroyed before any handler, counted in `stats().rejected`); any other throw means
   * the socket was already lost (destroyed, not counted).
   */
  peerOf(socket: net.Socket): Peer;
}

/**
 * Per-connection state, stored on the socket so the event listeners can be shared functions. It
 * is the connection's drain unit too (destroying the socket at the drain deadline): one object per
 * connection, no closures.
 */
class Connection extends DrainUnit {
  readonly machine: StreamMachine<unknown, unknown>;
  readonly peer: unknown;
  readonly socket: net.Socket;

  constructor(machine: StreamMachine<unknown, unknown>, peer: unknown, socket: net.Socket) {
    super();
    this.machine = machine;
    this.peer = peer;
    this.socket = socket;
  }

  override forceClose(): void {
    this.socket.destroy();
  }
}

const kConn = Symbol("tako.connection");
const kQueued = Symbol("tako.queued");

interface TrackedSocket extends net.Socket {
  [kConn]?: Connection;
  [kQueued]?: StreamMachine<unknown, unknown>;
}

/** An 'error' listener on every socket: a peer going away is normal; anything else is logged at debug. */
function onSocketError(this: TrackedSocket, error: Error): void {
  if (isPeerGone(error)) return;
  const conn = this[kConn];
  conn?.machine.logger?.debug({ err: error, peer: conn.peer, kind: conn.machine.kind }, "socket error");
}

function onSocketIdle(this: net.Socket): void {
  this.destroy();
}

function onConnectionClose(this: TrackedSocket): void {
  const conn = this[kConn];
  if (conn === undefined) return;
  conn.done();
  const machine = conn.machine;
  machine.lingering.delete(this);
  if (channels.connectionClosed.hasSubscribers) channels.connectionClosed.publish({ kind: machine.kind, server: machine.handle, peer: conn.peer });
  machine.onSlotFree();
}

/** The handler's promise resolved: end after pending writes flush, discard unread input so EOF is seen. */
function endSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  socket.end();
  socket.resume();
  socket.once("finish", onEndFlushed);
}

/**
 * Our side is ended and flushed; the connection now waits for the client's FIN. Normally that is
 * the client's business, but during a drain there is nothing left to wait for: a client that
 * keeps its side open (`nc`, a half-open-capable peer) must not hold shutdown until the deadline.
 */
function onEndFlushed(this: TrackedSocket): void {
  const machine = this[kConn]?.machine;
  if (machine === undefined || this.destroyed) return;
  if (machine.drain.draining) this.destroy();
  else machine.lingering.add(this);
}

/**
 * `for await (const chunk of socket)` without destroying the socket when the loop ends (Node 22
 * destroys it at the client's EOF, so a reply written after the loop was lost) or breaks: the
 * handler's settlement decides how the connection ends, on every Node version. Errors still
 * destroy it.
 */
function iterateKeepingSocketOpen(this: net.Socket): NodeJS.AsyncIterator<unknown> {
  return this.iterator({ destroyOnReturn: false });
}

/** One queued connection's deadline, FIFO order = deadline order (one timeout for all). */
type QueueEntry = number;

class StreamMachine<Peer, Address> {
  readonly kind: "tcp" | "unix";
  readonly server: net.Server;
  readonly handler: StreamHandler<Peer>;
  readonly logger: Logger | undefined;
  readonly drain = new Drain();
  readonly maxConnections: number;
  readonly reject: boolean;
  readonly maxQueue: number;
  readonly queueTimeout: number;
  readonly idleTimeout: number;
  readonly peerOf: (socket: net.Socket) => Peer;
  handle: ServerHandle<Address> | undefined;
  /** Sockets accepted before the handle existed (bind still finishing). */
  early: net.Socket[] | undefined = [];
  /** Sockets waiting for a slot, with their deadline (ms, performance.now()). */
  readonly queue = new Map<net.Socket, QueueEntry>();
  queueTimer: NodeJS.Timeout | undefined;
  readonly warned = new Set<string>();
  /** Connections whose handler finished and whose reply is flushed, waiting for the client's FIN. */
  readonly lingering = new Set<net.Socket>();
  /** The PROXY header phase, when `proxyProtocol` is on. */
  readonly proxy: ProxyHeaderPhase | undefined;

  constructor(init: StreamListenerInit<Peer, Address>) {
    const o = init.options;
    this.kind = init.kind;
    this.server = init.server;
    this.handler = init.handler;
    this.logger = o.logger;
    this.maxConnections = o.maxConnections ?? Number.POSITIVE_INFINITY;
    this.reject = o.onMaxConnections === "reject";
    this.maxQueue = o.maxQueue ?? DEFAULT_MAX_QUEUE;
    this.queueTimeout = o.queueTimeout ?? DEFAULT_QUEUE_TIMEOUT;
    this.idleTimeout = o.idleTimeout ?? 0;
    this.peerOf = init.peerOf;
    const policy = resolveProxyProtocolOption(o.proxyProtocol, { allowTrusted: init.kind === "tcp", field: "proxyProtocol" });
    this.proxy = policy && new ProxyHeaderPhase(policy, this as StreamMachine<unknown, unknown>);
  }

  /** Slots taken: running handlers plus connections still sending their PROXY header. */
  inUse(): number {
    return this.proxy === undefined ? this.drain.active : this.drain.active + this.proxy.pending.size;
  }

  readonly onConnection = (socket: net.Socket): void => {
    socket.on("error", onSocketError);
    this.admit(socket);
  };

  /** Serves, queues or refuses a freshly accepted socket. */
  admit(socket: net.Socket): void {
    const handle = this.handle;
    if (handle === undefined) {
      if (this.early === undefined) socket.destroy();
      else this.early.push(socket);
      return;
    }
    if (this.drain.draining) {
      handle.counters.rejected++;
      socket.destroy();
      return;
    }
    // A PROXY `trusted` list judges the peer's address now; the peer read for it is the handler's.
    let peer: Peer | undefined;
    if (this.proxy !== undefined && !this.proxy.policy.everyone) {
      peer = this.peerOrRefuse(socket, handle);
      if (peer === undefined) return;
      if (this.proxy.admit(socket, (peer as SocketAddress).address) === "reject") {
        handle.counters.rejected++;
        socket.destroy();
        return;
      }
    }
    if (this.inUse() < this.maxConnections) {
      this.start(socket, handle, peer);
      return;
    }
    if (this.reject || this.queue.size >= this.maxQueue) {
      handle.counters.rejected++;
      socket.destroy();
      return;
    }
    this.enqueue(socket); // read again when its turn comes (the queue is the overload path)
  }

  readonly onServerError = (error: NodeJS.ErrnoException): void => {
    // Accept errors (EMFILE, ENFILE, ECONNABORTED) arrive here once listening; they never stop the server.
    if (this.logger) {
      this.logger.warn({ err: error, kind: this.kind }, "accept failed");
      return;
    }
    const code = error.code ?? "unknown";
    if (this.warned.has(code) || isPeerGone(error)) return;
    this.warned.add(code);
    process.stderr.write(`[tako] ${this.kind} accept failed: ${code}: ${error.message} (further ${code} errors are not printed)\n`);
  };

  /** Starts a connection's header phase or handler; `peer` when it was read already (at admit). */
  start(socket: net.Socket, handle: ServerHandle<Address>, peer?: Peer): void {
    if (socket.destroyed) return;
    if (peer === undefined) {
      peer = this.peerOrRefuse(socket, handle);
      if (peer === undefined) return;
    }
    if (this.proxy !== undefined && !this.proxy.isDirect(socket)) this.proxy.begin(socket, peer);
    else this.serve(socket, handle, peer, this.drain.context);
  }

  /** The socket's peer (see {@link StreamListenerInit.peerOf}), or `undefined` once the socket is destroyed for lack of one. */
  peerOrRefuse(socket: net.Socket, handle: ServerHandle<Address>): Peer | undefined {
    try {
      return this.peerOf(socket);
    } catch (error) {
      socket.destroy();
      if (error instanceof TakoError) {
        // The listener refused the peer (e.g. required peer credentials that cannot be read).
        handle.counters.rejected++;
        this.logger?.debug({ err: error, kind: this.kind }, "connection refused before its handler started");
        return undefined;
      }
      // The socket died between accept and now (reset: no remote address left): nothing to serve.
      this.logger?.debug({ err: error, kind: this.kind }, "connection lost before its handler started");
      return undefined;
    }
  }

  serve(socket: net.Socket, handle: ServerHandle<Address>, peer: Peer, ctx: HandlerContext): void {
    const tracked = socket as TrackedSocket;
    handle.counters.accepted++;
    tracked[kConn] = this.drain.add(new Connection(this as StreamMachine<unknown, unknown>, peer, socket));
    socket.on("close", onConnectionClose);
    if (this.idleTimeout > 0) {
      socket.setTimeout(this.idleTimeout);
      socket.on("timeout", onSocketIdle);
    }
    if (channels.connection.hasSubscribers) channels.connection.publish({ kind: this.kind, server: handle, peer, socket });
    socket[Symbol.asyncIterator] = iterateKeepingSocketOpen;
    let result: unknown;
    try {
      result = this.handler(socket, peer, ctx);
    } catch (error) {
      this.fail(socket, peer, error);
      return;
    }
    if (isThenable(result)) {
      result.then(
        () => endSocket(socket),
        (error: unknown) => this.fail(socket, peer, error),
      );
    } else {
      // The handler owns the socket: back to Node's default (allowHalfOpen false), so Node ends
      // our side when the client ends theirs and the connection cannot linger half-open. (A flag,
      // not an 'end' listener: a third 'end' listener costs every idle connection ~200 B.)
      socket.allowHalfOpen = false;
    }
  }

  fail(socket: net.Socket, peer: Peer, error: unknown): void {
    socket.destroy();
    if (isPeerGone(error) || this.isShutdownAbort(error)) return;
    const handle = this.handle as ServerHandle<unknown> | undefined;
    if (handle === undefined) return;
    // The peer broke the protocol: its fault, counted and published, printed only at debug.
    if (error instanceof ProtocolError) reportProtocolError(handle, this.kind, this.logger, peer, error);
    else reportHandlerError(handle, this.kind, this.logger, peer, error);
  }

  /** A handler that rejects with the drain's own abort (it was waiting on `ctx.signal`) is not at fault. */
  isShutdownAbort(error: unknown): boolean {
    const signal = this.drain.signal;
    if (!signal.aborted) return false;
    return error === signal.reason || (error instanceof Error && error.name === "AbortError");
  }

  enqueue(socket: net.Socket): void {
    const tracked = socket as TrackedSocket;
    tracked[kQueued] = this as StreamMachine<unknown, unknown>;
    const deadline = this.queueTimeout > 0 ? performance.now() + this.queueTimeout : Number.POSITIVE_INFINITY;
    this.queue.set(socket, deadline);
    socket.once("close", onQueuedClose);
    // A queued socket is never read: what the client sends stays in the stream's buffer (up to
    // its highWaterMark) and then in the kernel, so a waiting client meets backpressure. A client
    // that hangs up while waiting is seen: EOF with nothing buffered emits 'end', a reset 'close'.
    socket.once("end", onQueuedEnd);
    if (this.queueTimer === undefined && this.queueTimeout > 0) this.armQueueTimer(deadline);
  }

  leaveQueue(socket: net.Socket): boolean {
    if (!this.queue.delete(socket)) return false;
    const tracked = socket as TrackedSocket;
    tracked[kQueued] = undefined;
    socket.removeListener("close", onQueuedClose);
    socket.removeListener("end", onQueuedEnd);
    if (this.queue.size === 0 && this.queueTimer !== undefined) {
      clearTimeout(this.queueTimer);
      this.queueTimer = undefined;
    }
    return true;
  }

  armQueueTimer(deadline: number): void {
    const delay = Math.max(0, Math.ceil(deadline - performance.now()));
    this.queueTimer = setTimeout(this.expireQueue, delay);
    this.queueTimer.unref();
  }

  readonly expireQueue = (): void => {
    this.queueTimer = undefined;
    const now = performance.now();
    for (const [socket, deadline] of this.queue) {
      if (deadline > now) {
        this.armQueueTimer(deadline);
        return;
      }
      this.leaveQueue(socket);
      if (this.handle) this.handle.counters.rejected++;
      socket.destroy();
    }
  };

  /** A connection closed: hand its slot to the longest-waiting queued connection. */
  onSlotFree(): void {
    const handle = this.handle;
    if (handle === undefined || this.drain.draining) return;
    while (this.queue.size > 0 && this.inUse() < this.maxConnections) {
      const next = this.queue.keys().next().value as net.Socket;
      this.leaveQueue(next);
      if (next.destroyed) continue;
      this.start(next, handle);
    }
  }

  /** Shutdown step 2: connections whose handler is done and whose reply is flushed close now. */
  closeLingering(): void {
    for (const socket of this.lingering) socket.destroy();
    this.lingering.clear();
  }

  /** Shutdown step 1: close the listening socket now and close every queued connection. */
  stopAccepting(): void {
    this.server.close();
    this.server.removeListener("connection", this.onConnection);
    const handle = this.handle;
    for (const socket of [...this.queue.keys()]) {
      this.leaveQueue(socket);
      if (handle) handle.counters.rejected++;
      socket.destroy();
    }
  }
}

function onQueuedClose(this: TrackedSocket): void {
  this[kQueued]?.leaveQueue(this);
}

function onQueuedEnd(this: TrackedSocket): void {
  if (this[kQueued]?.leaveQueue(this)) this.destroy();
}

/**
 * The one stream-listener machine behind `serveTcp` and `serveUnix`: binds the caller's
 * `net.Server`, runs the handler once per connection with the shared drain context, enforces
 * `maxConnections` (queue or reject), `idleTimeout`, the `proxyProtocol` header phase (a PROXY
 * header read before the handler, see `stream-proxy-phase.ts`), publishes `connection` and
 * `connection-closed`, keeps accept errors from stopping the server, and returns the common
 * {@link ServerHandle} whose shutdown closes the listening socket at once, aborts every handler's
 * signal, waits up to `drainTimeout` and destroys what is left.
 *
 * @example
 * ```ts
 * const server = await serveStream({
 *   kind: "tcp",
 *   server: net.createServer({ allowHalfOpen: true, noDelay: true }),
 *   handler: async (socket) => { for await (const chunk of socket) socket.write(chunk); },
 *   options: { drainTimeout: 5_000 },
 *   bind: async (s) => {
 *     await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
 *     return { address: toSocketAddress(s.address() as net.AddressInfo) };
 *   },
 *   peerOf: (socket) => toSocketAddress({ address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily }),
 * });
 * ```
 */
export async function serveStream<Peer, Address>(init: StreamListenerInit<Peer, Address>): Promise<Server<Address>> {
  validateStreamListenerOptions(init.options);
  checkFunction("handler", init.handler);
  const machine = new StreamMachine<Peer, Address>(init);
  // Every handler shares ctx.signal; thousands of them may listen for 'abort' at once.
  setMaxListeners(0, machine.drain.signal);
  const { server } = init;
  // net.Server reads these two fields for every accepted socket (see the `server` doc above).
  const modes = server as net.Server & { allowHalfOpen: boolean; pauseOnConnect: boolean };
  modes.allowHalfOpen = true;
  modes.pauseOnConnect = false;
  server.on("connection", machine.onConnection);
  let bound: Awaited<ReturnType<StreamListenerInit<Peer, Address>["bind"]>>;
  try {
    bound = await init.bind(server);
  } catch (error) {
    server.removeListener("connection", machine.onConnection);
    for (const socket of machine.early ?? []) socket.destroy();
    machine.early = undefined;
    if (server.listening) server.close();
    throw error;
  }
  server.on("error", machine.onServerError);
  const release = bound.release;
  const handle = new ServerHandle<Address>({
    kind: init.kind,
    address: bound.address,
    drain: machine.drain,
    drainTimeout: init.options.drainTimeout,
    signal: init.options.signal,
    logger: init.options.logger,
    stopAccepting: () => machine.stopAccepting(),
    onDrainStart: () => {
      machine.closeLingering();
      machine.proxy?.closeAll();
    },
    afterDrain: async () => {
      if (machine.queueTimer !== undefined) clearTimeout(machine.queueTimer);
      if (release) await release();
    },
  });
  machine.handle = handle;
  const early = machine.early ?? [];
  machine.early = undefined;
  for (const socket of early) machine.admit(socket);
  handle.announce();
  init.options.logger?.info({ kind: init.kind, address: bound.address }, "listening");
  return handle;
}
