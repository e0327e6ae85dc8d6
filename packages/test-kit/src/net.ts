import type * as net from "node:net";

/** Resolves with everything the socket sends until it ends (or closes). */
export function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("error", reject);
    socket.once("close", () => resolve(Buffer.concat(chunks)));
    socket.resume();
  });
}

/** Resolves with the first `n` bytes the socket sends. */
export function readBytes(socket: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= n) {
        socket.off("data", onData);
        socket.off("error", reject);
        socket.off("close", onClose);
        socket.pause();
        resolve(Buffer.concat(chunks));
      }
    };
    const onClose = () => reject(new Error(`closed after ${length} of ${n} bytes`));
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", onClose);
    socket.resume();
  });
}

/** Resolves with whether the client saw the server close the connection (end or reset). */
export function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.on("error", () => {});
    socket.resume();
    if (socket.closed) resolve();
    else socket.once("close", () => resolve());
  });
}
