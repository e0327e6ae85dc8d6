import * as net from "node:net";
import { type HandlerContext, type Server, type ShutdownSignal } from "@tako/core";
import { serveStream } from "@tako/core/listener";
import { bindUnixSocket } from "./bind-unix.ts";
import type { UnixAddressInput } from "./unix-address.ts";
import { validateUnixOptions, type ServeUnixOptions } from "./options.ts";
import type { UnixPeerAddr } from "./unix-peer-addr.ts";
import { resolvePeerCredentials, unixPeerOf } from "./unix-peer-of.ts";

/**
 * A Unix-socket connection handler: the real `net.Socket`, the peer ({@link UnixPeerAddr}: the
 * client's `pid`/`uid`/`gid` and bound `path`, each `null` where unknown) and a context whose `signal` aborts when shutdown
 * starts. With `proxyProtocol`, `ctx.proxy` is the connection's PROXY header (the TCP client a
 * proxy in front accepted); `peer` stays the socket's peer.
 *
 * - Return a promise (an `async` function): when it resolves the connection is ended after
 *   pending writes flush; when it rejects (or the handler throws) the error is reported and the
 *   connection destroyed. Either way the server keeps serving.
 * - Return anything else (`undefined`, or what `socket.pipe(socket)` returns): the handler owns
 *   the socket, which stays open until either side closes it (or `idleTimeout` / the drain
 *   deadline cuts it).
 *
 * @example
 * ```ts
 * const handler: UnixHandler = async (socket, peer, { signal }) => {
 *   for await (const chunk of socket) {
 *     socket.write(chunk);
 *     if (signal.aborted) break;
 *   }
 * };
 * ```
 */
export type UnixHandler = (socket: net.Socket, peer: UnixPeerAddr, ctx: HandlerContext) => Promise<void> | void | unknown;

/**
 * Serves a Unix domain socket: calls `handler` once per accepted connection. `path` is a
 * filesystem path (at most 107 bytes on Linux) or `@name` / `\0name` for a Linux abstract socket.
 * The socket file is made safely (see `bindUnixSocket`: symlinks and other files refused, a live
 * socket is `EADDRINUSE`, a stale one replaced, `mode` applied before the file appears) and
 * removed after the drain if it is still the one this server bound. Each peer's credentials
 * (`pid`, `uid`, `gid`) and bound name are read from the kernel at accept (`peerCredentials`,
 * default `"auto"`). Resolves once listening with
 * the handle; `server.address` is the path (`@name` for abstract). Bad paths and options reject
 * before anything is bound. `path` may be `{ fd }` (or a `listenFds()` entry from
 * `@tako/systemd`): the server accepts on that inherited listening socket, whose file it never
 * probes, chmods or removes; `server.address` is its path as the kernel reports it.
 *
 * @example
 * ```ts
 * import { serveUnix, shutdownSignal } from "@tako/unix";
 * using signal = shutdownSignal();
 * const server = await serveUnix("/tmp/tako.sock", async (socket) => {
 *   for await (const chunk of socket) socket.write(chunk);
 * }, { signal, mode: 0o600 });
 * console.log(await server.finished); // { drained, forced, durationMs } after Ctrl-C
 * ```
 */
export async function serveUnix(path: UnixAddressInput, handler: UnixHandler, options: ServeUnixOptions = {}): Promise<Server<string>> {
  validateUnixOptions(path, options);
  const { mode, backlog } = options;
  const credentials = resolvePeerCredentials(options.peerCredentials, "serveUnix options.peerCredentials");
  return serveStream<UnixPeerAddr, string>({
    kind: "unix",
    server: net.createServer(),
    handler,
    options,
    bind: async (server) => {
      const binding = await bindUnixSocket(server, path, { mode, backlog });
      return { address: binding.address, release: () => binding.release() };
    },
    // Read when the connection is admitted, cached on the socket; under "required" a failed read
    // throws PeerCredentialsError, which the machine counts as a refused connection.
    peerOf: (socket) => unixPeerOf(socket, credentials),
  });
}

/**
 * The Rust `serve_unix_with_shutdown`: {@link serveUnix} that shuts down when `signal` aborts or settles.
 *
 * @example
 * ```ts
 * using signal = shutdownSignal();
 * const server = await serveUnixWithShutdown("/tmp/tako.sock", handler, signal);
 * ```
 */
export function serveUnixWithShutdown(path: UnixAddressInput, handler: UnixHandler, signal: ShutdownSignal): Promise<Server<string>> {
  return serveUnix(path, handler, { signal });
}

/**
 * The Rust `serve_unix_with_shutdown_and_drain`: {@link serveUnix} that shuts down on `signal` and
 * gives in-flight connections up to `drainTimeout` ms.
 *
 * @example
 * ```ts
 * using signal = shutdownSignal();
 * const server = await serveUnixWithShutdownAndDrain("/tmp/tako.sock", handler, signal, 5_000);
 * ```
 */
export function serveUnixWithShutdownAndDrain(path: UnixAddressInput, handler: UnixHandler, signal: ShutdownSignal, drainTimeout: number): Promise<Server<string>> {
  return serveUnix(path, handler, { signal, drainTimeout });
}
