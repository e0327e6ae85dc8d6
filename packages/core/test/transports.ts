// The stream machine (serveStream) behind both stream listeners, so its tests run once per
// transport: the real serveTcp on loopback and the real serveUnix on a socket file.
import { once } from "node:events";
import * as net from "node:net";
import type { Server, StreamListenerOptions } from "@tako/core";
import type { StreamHandler } from "@tako/core/listener";
import { serveTcp, type SocketAddress } from "@tako/tcp";
import { socketDir } from "@tako/test-kit";
import { serveUnix, type UnixPeerAddr } from "@tako/unix";
import { afterAll, expect } from "vitest";

/** One stream listener, as the machine's tests drive it. */
export interface StreamTransport {
  readonly kind: "tcp" | "unix";
  /** Serves `handler` on a fresh address (127.0.0.1:0, or a new socket file). */
  serve(handler: StreamHandler<never>, options?: StreamListenerOptions): Promise<Server<unknown>>;
  /** A connected client. */
  connect(server: Server<unknown>): Promise<net.Socket>;
  /** The error code a new connection fails with (e.g. ECONNREFUSED), or "connected". */
  tryConnect(server: Server<unknown>): Promise<string>;
  /** The code a connection gets once the server is gone: ECONNREFUSED for TCP, ENOENT for Unix (the file is removed). */
  readonly goneCode: string;
  /** Matches the peer the handler (and the reports) get for `client`. */
  peerOf(client: net.Socket): unknown;
  /** Matches how a report on stderr names that peer. */
  peerText(client: net.Socket): RegExp;
}

const dir = socketDir();
afterAll(() => dir.remove());

function attempt(options: net.NetConnectOpts): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(options);
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

async function connected(options: net.NetConnectOpts): Promise<net.Socket> {
  const socket = net.connect(options);
  await once(socket, "connect");
  return socket;
}

const tcpPort = (server: Server<unknown>) => (server.address as SocketAddress).port;

/** serveTcp on 127.0.0.1, for the few tests that only TCP has. */
export const TCP: StreamTransport = {
  kind: "tcp",
  serve: (handler, options) => serveTcp("127.0.0.1:0", handler as StreamHandler<SocketAddress>, options),
  connect: (server) => connected({ port: tcpPort(server), host: "127.0.0.1" }),
  tryConnect: (server) => attempt({ port: tcpPort(server), host: "127.0.0.1" }),
  goneCode: "ECONNREFUSED",
  peerOf: (client) => ({ address: "127.0.0.1", port: client.localPort, family: "IPv4" }),
  peerText: (client) => new RegExp(`for 127\\.0\\.0\\.1:${client.localPort}\\b`),
};

const unix: StreamTransport = {
  kind: "unix",
  serve: (handler, options) => serveUnix(dir.path(), handler as StreamHandler<UnixPeerAddr>, options),
  connect: (server) => connected({ path: server.address as string }),
  tryConnect: (server) => attempt({ path: server.address as string }),
  goneCode: "ENOENT",
  // An unnamed client (the usual kind); the credentials beside `path` depend on the platform.
  peerOf: () => expect.objectContaining({ path: null }),
  peerText: () => /for \{"path":null\b/,
};

/** Both stream listeners, for `describe.each`. */
export const TRANSPORTS: ReadonlyArray<readonly [string, StreamTransport]> = [
  ["tcp", TCP],
  ["unix", unix],
];
