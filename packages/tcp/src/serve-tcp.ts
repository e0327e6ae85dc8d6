import * as net from "node:net";
import {
  BindError,
  formatAddress,
  parseAddress,
  reusePortSupported,
  UnsupportedError,
  type AddressInput,
  type HandlerContext,
  type ListenAddress,
  type Server,
  type ShutdownSignal,
  type SocketAddress,
} from "@tako/core";
import { assertReusePort, serveStream, toSocketAddress, unsupportedFeature } from "@tako/core/listener";
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

function peerOf(socket: net.Socket): SocketAddress {
  return toSocketAddress({ address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily });
}

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
 * Serves raw TCP: calls `handler` once per accepted connection. Resolves once the socket is bound
 * (bind errors reject with a `BindError` carrying the OS code, e.g. `EADDRINUSE`); bad addresses
 * and options reject before anything is bound.
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
export async function serveTcp(addr: AddressInput, handler: TcpHandler, options: ServeTcpOptions = {}): Promise<Server<SocketAddress>> {
  const address = parseAddress(addr);
  validateTcpOptions(options);
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
    bind: (s) => listen(s, address, options),
    peerOf,
  });
}

/**
 * The Rust `serve_tcp_with_shutdown`: {@link serveTcp} that shuts down when `signal` aborts or settles.
 *
 * @example
 * ```ts
 * const server = await serveTcpWithShutdown("127.0.0.1:9001", handler, AbortSignal.timeout(60_000));
 * ```
 */
export function serveTcpWithShutdown(addr: AddressInput, handler: TcpHandler, signal: ShutdownSignal): Promise<Server<SocketAddress>> {
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
export function serveTcpWithShutdownAndDrain(addr: AddressInput, handler: TcpHandler, signal: ShutdownSignal, drainTimeout: number): Promise<Server<SocketAddress>> {
  return serveTcp(addr, handler, { signal, drainTimeout });
}
