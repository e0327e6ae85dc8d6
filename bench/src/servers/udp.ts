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

/** Ours: `serveUdp` with the seed's echo handler (`await socket.sendTo(data, peer)`). */
export async function startTakoUdp(): Promise<RunningServer> {
  const { serveUdp } = await import("@tako/udp");
  const server = await serveUdp("127.0.0.1:0", async (data, peer, socket) => {
    await socket.sendTo(data, peer);
  });
  return {
    target: { host: server.address.address, port: server.address.port },
    connections: async () => server.stats().active,
    shutdown: () => server.shutdown(),
  };
}
