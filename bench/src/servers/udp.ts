/** UDP echo servers: ours (`@tako/udp`) and plain `dgram`, both answering each datagram to its sender. */
import * as dgram from "node:dgram";
import type { RunningServer } from "./types.ts";

/** The plain `dgram` echo server, written the obvious way. */
export async function startNodeUdp(): Promise<RunningServer> {
  const socket = dgram.createSocket("udp4");
  socket.on("error", () => {});
  socket.on("message", (msg, rinfo) => {
    socket.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve());
  });
  const info = socket.address();
  return {
    target: { host: info.address, port: info.port },
    connections: async () => 0,
    shutdown: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * Ours: `serveUdp` with the seed's echo handler (`await socket.sendTo(data, peer)`), or with
 * `sync` a handler that sends without waiting (`socket.socket.send(...)`, returning nothing): the
 * listener's own cost without the promise round trip of `sendTo`.
 */
export async function startTakoUdp(sync = false): Promise<RunningServer> {
  const { serveUdp } = await import("@tako/udp");
  const handler = sync
    ? (data: Buffer, peer: { port: number; address: string }, socket: { socket: dgram.Socket }): void => {
        socket.socket.send(data, peer.port, peer.address);
      }
    : async (data: Buffer, peer: { port: number; address: string }, socket: { sendTo(d: Buffer, p: { port: number; address: string }): Promise<number> }): Promise<void> => {
        await socket.sendTo(data, peer);
      };
  const server = await serveUdp("127.0.0.1:0", handler);
  return {
    target: { host: server.address.address, port: server.address.port },
    connections: async () => server.stats().active,
    shutdown: () => server.shutdown(),
  };
}
