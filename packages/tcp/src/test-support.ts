import { once } from "node:events";
import * as net from "node:net";

/** Connects a real client and waits until it is connected. */
export async function connect(port: number, host = "127.0.0.1"): Promise<net.Socket> {
  const socket = net.connect({ port, host });
  await once(socket, "connect");
  return socket;
}

/** Connecting fails with this code (e.g. ECONNREFUSED), or resolves "connected". */
export function tryConnect(port: number, host = "127.0.0.1"): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}
