/** UDP echo servers: ours (`@tako/udp`) and plain `dgram`, both answering each datagram to its sender. */
import * as dgram from "node:dgram";
import type { UdpHandler } from "@tako/udp";
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
 * `send` the fire-and-forget reply (`socket.send(data, peer)`, the handler returns at once).
 */
export async function startTakoUdp(send = false): Promise<RunningServer> {
  const { serveUdp } = await import("@tako/udp");
  const handler: UdpHandler = send
    ? (data, peer, socket) => socket.send(data, peer)
    : async (data, peer, socket) => {
        await socket.sendTo(data, peer);
      };
  const server = await serveUdp("127.0.0.1:0", handler);
  return {
    target: { host: server.address.address, port: server.address.port },
    connections: async () => server.stats().active,
    shutdown: () => server.shutdown(),
  };
}
