/**
 * Echo servers over TCP and Unix sockets: ours (`@tako/tcp`, `@tako/unix`) and plain `net`.
 * The per-connection code is the same in both (`socket.pipe(socket)`), so any difference is
 * the listener's.
 */
import * as net from "node:net";
import type { RunningServer, ServerSpec, Target } from "./types.ts";

function noop(): void {}

/** The plain `net` echo server, written the obvious way. */
export async function startNodeEcho(spec: ServerSpec): Promise<RunningServer> {
  const graceful = spec.variant === "graceful";
  const sockets = new Set<net.Socket>();
  // noDelay matches @tako/tcp's default (TCP_NODELAY on); it does nothing on a Unix socket.
  const server = net.createServer({ noDelay: spec.family === "tcp-echo" }, (socket) => {
    socket.on("error", noop);
    if (graceful) {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    }
    socket.pipe(socket);
  });
  const target = await listen(server, spec);
  return {
    target,
    connections: () => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    shutdown: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.end();
      }),
  };
}

async function listen(server: net.Server, spec: ServerSpec): Promise<Target> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (spec.family === "unix-echo") server.listen(spec.path, () => resolve());
    else server.listen(0, "127.0.0.1", () => resolve());
  });
  if (spec.family === "unix-echo") return { path: spec.path as string };
  const info = server.address() as net.AddressInfo;
  return { host: info.address, port: info.port };
}

/**
 * The handler ours runs: the same `socket.pipe(socket)` as the plain server. In the graceful
 * variant it also stops when shutdown starts (resolving lets Tako end the connection after
 * pending writes flush), and forgets its abort listener when the client leaves first.
 */
function takoHandler(graceful: boolean) {
  if (!graceful) {
    return (socket: net.Socket): void => {
      socket.pipe(socket);
    };
  }
  return (socket: net.Socket, _peer: unknown, ctx: { readonly signal: AbortSignal }): Promise<void> => {
    socket.pipe(socket);
    return new Promise<void>((resolve) => {
      const done = () => {
        ctx.signal.removeEventListener("abort", done);
        socket.off("close", done);
        resolve();
      };
      ctx.signal.addEventListener("abort", done);
      socket.once("close", done);
    });
  };
}

/**
 * Ours: `serveTcp` or `serveUnix` with the same per-connection code. With `proxy`, the TCP
 * listener requires a PROXY header on every connection (`proxyProtocol: true`) and its target
 * says so, so the load client sends one.
 */
export async function startTakoEcho(spec: ServerSpec, options: { readonly proxy?: boolean } = {}): Promise<RunningServer> {
  const handler = takoHandler(spec.variant === "graceful");
  if (spec.family === "unix-echo") {
    const { serveUnix } = await import("@tako/unix");
    const server = await serveUnix(spec.path as string, handler, spec.peerCredentials === undefined ? {} : { peerCredentials: spec.peerCredentials });
    return {
      target: { path: spec.path as string },
      connections: async () => server.stats().active,
      shutdown: () => server.shutdown(),
    };
  }
  const { serveTcp } = await import("@tako/tcp");
  const server = await serveTcp("127.0.0.1:0", handler, options.proxy === true ? { proxyProtocol: true } : {});
  return {
    target: { host: server.address.address, port: server.address.port, ...(options.proxy === true ? { proxy: 2 as const } : {}) },
    connections: async () => server.stats().active,
    shutdown: () => server.shutdown(),
  };
}
