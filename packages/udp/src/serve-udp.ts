import { createSocket, type Socket } from "node:dgram";
import { lookup as dnsLookup, type LookupOneOptions } from "node:dns";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import {
  BindError,
  formatAddress,
  InvalidConfigError,
  parseAddress,
  type AddressInput,
  type FdAddress,
  type Server,
  type ServerStats,
  type ShutdownSignal,
  type SocketAddress,
} from "@tako/core";
import { assertReusePort, checkFunction, Drain, isFdAddress, ServerHandle, toSocketAddress, unsupportedFeature } from "@tako/core/listener";
import { bindInheritedUdp } from "./inherited.ts";
import { resolveUdpOptions, type ResolvedUdpOptions, type ServeUdpOptions } from "./options.ts";
import { KIND, Receiver, type UdpHandler } from "./receiver.ts";
import { UdpSocket } from "./udp-socket.ts";

/**
 * The handle `serveUdp` resolves to: the common Tako server handle (`address`, `finished`,
 * `shutdown()`, `stats()` with `dropped`, `await using`) plus the server's {@link UdpSocket}, for
 * datagrams that are not replies.
 *
 * @example
 * ```ts
 * await using server = await serveUdp("127.0.0.1:0", handler);
 * await server.socket.sendTo("hello", { address: "127.0.0.1", port: 9999 });
 * server.stats(); // { active, accepted, rejected, handlerErrors, protocolErrors, dropped, sendErrors }
 * ```
 */
export interface UdpServer extends Server<SocketAddress> {
  /** The bound socket handlers reply through. */
  readonly socket: UdpSocket;
  /** A snapshot of the counters, `dropped` included. */
  stats(): UdpServerStats;
}

/**
 * A UDP server's counters: `active` handlers in flight, datagrams `accepted` (handed to a
 * handler), `dropped` (arrived while `maxInFlight` handlers were running), `handlerErrors`,
 * `protocolErrors` (handlers that rejected with a `ProtocolError`: the sender's fault, not printed),
 * `sendErrors` (failed fire-and-forget `socket.send` calls); `rejected` is always 0 for UDP.
 *
 * @example
 * ```ts
 * const { active, accepted, dropped, sendErrors } = server.stats();
 * ```
 */
export interface UdpServerStats extends ServerStats {
  /** Datagrams dropped because `maxInFlight` handlers were already running. */
  readonly dropped: number;
  /** `socket.send` calls that failed (see {@link UdpSocket.send}); `sendTo` failures reject instead. */
  readonly sendErrors: number;
}

/**
 * What {@link serveUdp} binds: an address, or an inherited UDP socket `{ fd }` (a `listenFds()`
 * entry from `@tako/systemd`).
 *
 * @example
 * ```ts
 * const where: UdpAddressInput[] = ["127.0.0.1:9000", "[::1]:0", 9000, { fd: 3 }];
 * ```
 */
export type UdpAddressInput = AddressInput | FdAddress;

/**
 * Binds a UDP socket and calls `handler` for every datagram, concurrently, with at most
 * `maxInFlight` handlers in flight (datagrams past that are dropped and counted in
 * `stats().dropped`). Resolves once bound; bad input rejects before anything is bound, a bind
 * failure rejects with `BindError` carrying the OS code (`EADDRINUSE`, ...). The address picks
 * IPv4 or IPv6 (`"[::1]:9000"`); a host name is resolved first. `addr` may be `{ fd }` (or a
 * `listenFds()` entry from `@tako/systemd`): the server receives on that inherited UDP socket, of
 * the family read from the fd; an fd that is not a UDP socket is an `InvalidAddressError` naming
 * what it is.
 *
 * On shutdown (`options.signal`, or `server.shutdown()`) the server stops receiving at once,
 * aborts `ctx.signal`, waits up to `drainTimeout` for handlers in flight (their `sendTo` still
 * works), then closes the socket; handlers still running then are counted `forced`.
 *
 * @example
 * ```ts
 * import { serveUdp } from "@tako/udp";
 * const server = await serveUdp("127.0.0.1:9000", async (data, peer, socket) => {
 *   await socket.sendTo(data, peer);
 * });
 * console.log(server.address.port);
 * ```
 */
export async function serveUdp(addr: UdpAddressInput, handler: UdpHandler, options?: ServeUdpOptions): Promise<UdpServer> {
  checkFunction("handler", handler);
  const config = resolveUdpOptions(options);
  if (isFdAddress(addr)) {
    const inherited = await bindInheritedUdp(addr, options, lookupLiteral);
    try {
      applyBufferSizes(inherited, config);
    } catch (error) {
      closeQuietly(inherited);
      throw error;
    }
    return startServer(inherited, handler, config);
  }
  const listen = parseAddress(addr);
  const target = await resolveHost(listen.host, listen.port);
  if (config.ipv6Only && target.family === 4) {
    throw new InvalidConfigError("ipv6Only", `ipv6Only needs an IPv6 address, e.g. "[::]:${listen.port}"; got ${formatAddress({ host: target.address, port: listen.port })}`);
  }
  if (config.reusePort) await assertReusePort("udp"); // a runtime may accept the flag and ignore it (Deno)
  const socket = createSocket({ type: target.family === 6 ? "udp6" : "udp4", reusePort: config.reusePort, ipv6Only: config.ipv6Only, lookup: lookupLiteral });
  const where = formatAddress({ host: target.address, port: listen.port });
  try {
    await bind(socket, listen.port, target.address, where);
    applyBufferSizes(socket, config);
  } catch (error) {
    closeQuietly(socket);
    throw error;
  }
  return startServer(socket, handler, config);
}

/**
 * `serveUdp` with a shutdown signal, the Rust `serve_udp_with_shutdown`: an `AbortSignal` or any
 * promise-like; the drain waits the default 30 000 ms.
 *
 * @example
 * ```ts
 * using signal = shutdownSignal();
 * const server = await serveUdpWithShutdown("0.0.0.0:9000", handler, signal);
 * await server.finished;
 * ```
 */
export function serveUdpWithShutdown(addr: UdpAddressInput, handler: UdpHandler, signal: ShutdownSignal): Promise<UdpServer> {
  return serveUdp(addr, handler, { signal });
}

/**
 * `serveUdp` with a shutdown signal and a drain timeout in ms (the Rust original has no drain for
 * UDP; this one stops receiving, awaits in-flight handlers up to `drainTimeout`, then closes).
 *
 * @example
 * ```ts
 * const server = await serveUdpWithShutdownAndDrain("0.0.0.0:9000", handler, shutdownSignal(), 5_000);
 * console.log(await server.finished); // { drained, forced, durationMs }
 * ```
 */
export function serveUdpWithShutdownAndDrain(addr: UdpAddressInput, handler: UdpHandler, signal: ShutdownSignal, drainTimeout: number): Promise<UdpServer> {
  return serveUdp(addr, handler, { signal, drainTimeout });
}

async function resolveHost(host: string, port: number): Promise<{ address: string; family: 4 | 6 }> {
  const family = isIP(host);
  if (family === 4 || family === 6) return { address: host, family };
  try {
    const found = await lookup(host);
    return { address: found.address, family: found.family === 6 ? 6 : 4 };
  } catch (error) {
    throw new BindError(formatAddress({ host, port }), error as NodeJS.ErrnoException);
  }
}

/**
 * `dgram` resolves the address of every `send` through its `lookup`; `dns.lookup` answers an IP
 * literal (what a peer always is) on the next tick. This answers it at once, with the same result,
 * and leaves host names to `dns.lookup`: one tick and a few allocations less per reply.
 */
function lookupLiteral(hostname: string, options: LookupOneOptions | number, callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dnsLookup(hostname, options as LookupOneOptions, callback);
}

function bind(socket: Socket, port: number, address: string, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      socket.off("listening", onListening);
      if (error.code === "ENOTSUP" || error.code === "EOPNOTSUPP")
        reject(unsupportedFeature("reusePort or ipv6Only for UDP", `cannot bind ${where}: ${error.code}`, { cause: error }));
      else reject(new BindError(where, error));
    };
    const onListening = () => {
      socket.off("error", onError);
      resolve();
    };
    socket.once("error", onError);
    socket.once("listening", onListening);
    socket.bind({ port, address });
  });
}

function applyBufferSizes(socket: Socket, config: ResolvedUdpOptions): void {
  try {
    socket.setRecvBufferSize(config.recvBufferSize);
  } catch (error) {
    // The default is a wish (the kernel caps it anyway); only an explicit size that fails is an error.
    if (!config.recvBufferSizeIsDefault) throw new InvalidConfigError("recvBufferSize", `cannot set recvBufferSize to ${config.recvBufferSize}`, { cause: error });
    config.logger?.debug({ kind: KIND, err: error }, "could not set the default receive buffer size");
  }
  if (config.sendBufferSize !== undefined) {
    try {
      socket.setSendBufferSize(config.sendBufferSize);
    } catch (error) {
      throw new InvalidConfigError("sendBufferSize", `cannot set sendBufferSize to ${config.sendBufferSize}`, { cause: error });
    }
  }
}

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // Already closed.
  }
}

class UdpServerHandle extends ServerHandle<SocketAddress> implements UdpServer {
  readonly socket: UdpSocket;
  readonly #receiver: Receiver;

  constructor(init: ConstructorParameters<typeof ServerHandle<SocketAddress>>[0], socket: UdpSocket, receiver: Receiver) {
    super(init);
    this.socket = socket;
    this.#receiver = receiver;
  }

  override stats(): UdpServerStats {
    // Handlers still running after a forced drain are still running: report them.
    return { ...super.stats(), active: this.#receiver.active, dropped: this.#receiver.dropped, sendErrors: this.socket.sendErrors };
  }
}

function startServer(raw: Socket, handler: UdpHandler, config: ResolvedUdpOptions): UdpServer {
  const socket = new UdpSocket(raw, { logger: config.logger });
  const drain = new Drain();
  const receiver = new Receiver(handler, socket, drain, config);
  const logger = config.logger;
  const address = toSocketAddress(raw.address());
  let closedByUs = false;
  const server = new UdpServerHandle(
    {
      kind: KIND,
      address,
      drain,
      drainTimeout: config.drainTimeout,
      signal: config.signal,
      logger,
      stopAccepting: () => {
        raw.off("message", receiver.onMessage);
        receiver.startDrain();
      },
      afterDrain: () =>
        new Promise<void>((resolve) => {
          if (socket.closed) return resolve();
          closedByUs = true;
          raw.close(() => resolve());
        }),
    },
    socket,
    receiver,
  );
  receiver.server = server;
  receiver.counters = server.counters;
  // Errors on a datagram socket (an ICMP error surfacing as ECONNREFUSED, a failed receive) are
  // never fatal: report and keep serving.
  raw.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "ECONNREFUSED" || error.code === "EHOSTUNREACH" || error.code === "ENETUNREACH") {
      logger?.debug({ kind: KIND, err: error }, "peer unreachable");
    } else {
      logger?.warn({ kind: KIND, err: error }, "udp socket error");
    }
  });
  raw.once("close", () => {
    if (!closedByUs) {
      logger?.warn({ kind: KIND, address }, "udp socket closed from outside; shutting down");
      void server.shutdown();
    }
  });
  raw.on("message", receiver.onMessage);
  logger?.info({ kind: KIND, address }, "listening");
  return server.announce();
}
