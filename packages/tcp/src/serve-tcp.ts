import * as net from "node:net";
import {
  BindError,
  formatAddress,
  InvalidConfigError,
  parseAddress,
  reusePortSupported,
  UnsupportedError,
  type AddressInput,
  type FdAddress,
  type HandlerContext,
  type ListenAddress,
  type Server,
  type ShutdownSignal,
  type SocketAddress,
} from "@tako/core";
import { assertReusePort, checkListenFd, isFdAddress, listenOnFd, peerAddressOf, serveStream, toSocketAddress, unsupportedFeature } from "@tako/core/listener";
import { validateTcpOptions, type ServeTcpOptions } from "./options.ts";

/**
 * A TCP connection handler: the real `net.Socket`, the peer `{ address, port, family }` and a
 * context whose `signal` aborts when shutdown starts. With `proxyProtocol`, `peer` is the client
 * the PROXY header names and `ctx.proxy` the header (`via`: the real socket peer).
 *
 * - Return a promise (an `async` function): when it resolves the connection is ended after
 *   pending writes flush; when it rejects (or the handler throws) the error is reported and the
 *   connection destroyed. Either way the server keeps serving.
 * - Return anything else (`undefined`, or the stream `socket.pipe(socket)` returns): the handler
 *   owns the socket, which stays open until either side closes it (or `idleTimeout` / the drain
 *   deadline cuts it).
 *
 * @example
 * ```ts
 * const handler: TcpHandler = async (socket, peer, { signal }) => {
 *   for await (const chunk of socket) {
 *     if (signal.aborted) break;
 *     socket.write(chunk);
 *   }
 * };
 * ```
 */
export type TcpHandler = (socket: net.Socket, peer: SocketAddress, ctx: HandlerContext) => Promise<void> | void | unknown;

function listen(server: net.Server, address: ListenAddress, options: ServeTcpOptions): Promise<{ address: SocketAddress }> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.removeListener("listening", onListening);
      const text = formatAddress(address);
      if (options.reusePort && (error.code === "ENOTSUP" || error.code === "EOPNOTSUPP" || error.code === "ERR_INVALID_ARG_VALUE")) {
        reject(unsupportedFeature("reusePort for TCP", error.message, { cause: error }));
        return;
      }
      reject(new BindError(text, error));
    };
    const onListening = () => {
      server.removeListener("error", onError);
      resolve({ address: toSocketAddress(server.address() as net.AddressInfo) });
    };
    server.once("error", onError);
    server.once("listening", onListening);
    const listenOptions: net.ListenOptions & { reusePort?: boolean } = { host: address.host, port: address.port };
    if (options.backlog !== undefined) listenOptions.backlog = options.backlog;
    if (options.ipv6Only) listenOptions.ipv6Only = true;
    if (options.reusePort) listenOptions.reusePort = true;
    try {
      server.listen(listenOptions);
    } catch (error) {
      onError(error as NodeJS.ErrnoException);
    }
  });
}

/**
 * Adopts an inherited listening TCP socket (systemd socket activation, a supervisor): checks the
 * fd is one (else `InvalidAddressError` naming what it is), refuses options that only apply when
 * Tako creates the socket, and listens on it.
 */
async function listenInherited(server: net.Server, input: FdAddress, options: ServeTcpOptions): Promise<{ address: SocketAddress }> {
  await listenOnFd(server, input.fd, options.backlog);
  return { address: toSocketAddress(server.address() as net.AddressInfo) };
}

function checkInherited(input: FdAddress, options: ServeTcpOptions): void {
  for (const field of ["reusePort", "ipv6Only"] as const) {
    if (options[field]) {
      throw new InvalidConfigError(field, `${field} does not apply to an inherited socket (fd ${input.fd}): whoever created it set its options`);
    }
  }
  checkListenFd(input, "tcp", "serveTcp");
}

/**
 * What {@link serveTcp} listens on: an address, or an inherited listening socket `{ fd }` (a
 * `listenFds()` entry from `@tako/systemd`).
 *
 * @example
 * ```ts
 * const where: TcpAddressInput[] = ["127.0.0.1:9001", 9001, { host: "::1", port: 0 }, { fd: 3 }];
 * ```
 */
export type TcpAddressInput = AddressInput | FdAddress;

/**
 * Serves raw TCP: calls `handler` once per accepted connection. Resolves once the socket is bound
 * (bind errors reject with a `BindError` carrying the OS code, e.g. `EADDRINUSE`); bad addresses
 * and options reject before anything is bound. `addr` may be `{ fd }` (or a `listenFds()` entry
 * from `@tako/systemd`): the server accepts on that inherited listening socket; an fd that is not
 * a listening TCP socket is an `InvalidAddressError` naming what it is.
 *
 * @example
 * ```ts
 * import { serveTcp, shutdownSignal } from "@tako/tcp";
 * using signal = shutdownSignal();
 * const server = await serveTcp("127.0.0.1:9001", (socket) => socket.pipe(socket), { signal });
 * console.log(`listening on port ${server.address.port}`);
 * console.log(await server.finished); // { drained, forced, durationMs }
 * ```
 */
export async function serveTcp(addr: TcpAddressInput, handler: TcpHandler, options: ServeTcpOptions = {}): Promise<Server<SocketAddress>> {
  const inherited = isFdAddress(addr) ? addr : undefined;
  const address = inherited === undefined ? parseAddress(addr as AddressInput) : undefined;
  validateTcpOptions(options);
  if (inherited !== undefined) checkInherited(inherited, options);
  if (options.reusePort && !reusePortSupported()) {
    throw new UnsupportedError(`reusePort is not supported on ${process.platform}`);
  }
  if (options.reusePort) await assertReusePort("tcp"); // feature-probed: a runtime may ignore the flag
  const keepAlive = options.keepAlive ?? false;
  const server = net.createServer({
    noDelay: options.noDelay ?? true,
    keepAlive: keepAlive !== false,
    keepAliveInitialDelay: typeof keepAlive === "number" ? keepAlive : 0,
  });
  return serveStream<SocketAddress, SocketAddress>({
    kind: "tcp",
    server,
    handler,
    options,
    bind: (s) => (inherited !== undefined ? listenInherited(s, inherited, options) : listen(s, address as ListenAddress, options)),
    peerOf: connectedPeerOf,
  });
}

/**
 * The handler's peer, read once at accept. A connection reset before its handler started has no
 * peer left (port 0): the throw tells the listener it is lost, so it is closed, not served.
 */
function connectedPeerOf(socket: net.Socket): SocketAddress {
  const peer = peerAddressOf(socket);
  if (peer.port === 0) throw new Error("the connection was reset before its handler started (no peer address)");
  return peer;
}

/**
 * The Rust `serve_tcp_with_shutdown`: {@link serveTcp} that shuts down when `signal` aborts or settles.
 *
 * @example
 * ```ts
 * const server = await serveTcpWithShutdown("127.0.0.1:9001", handler, AbortSignal.timeout(60_000));
 * ```
 */
export function serveTcpWithShutdown(addr: TcpAddressInput, handler: TcpHandler, signal: ShutdownSignal): Promise<Server<SocketAddress>> {
  return serveTcp(addr, handler, { signal });
}

/**
 * The Rust `serve_tcp_with_shutdown_and_drain`: {@link serveTcp} that shuts down on `signal` and
 * gives in-flight connections up to `drainTimeout` ms.
 *
 * @example
 * ```ts
 * using signal = shutdownSignal();
 * const server = await serveTcpWithShutdownAndDrain("127.0.0.1:9001", handler, signal, 5_000);
 * ```
 */
export function serveTcpWithShutdownAndDrain(addr: TcpAddressInput, handler: TcpHandler, signal: ShutdownSignal, drainTimeout: number): Promise<Server<SocketAddress>> {
  return serveTcp(addr, handler, { signal, drainTimeout });
}
