import { connect, type Socket } from "node:net";

/** Resolves with everything the socket sends until it ends (or closes). */
export function readAll(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("error", reject);
    socket.once("close", () => resolve(Buffer.concat(chunks)));
    socket.resume();
  });
}

/** Resolves with the first `n` bytes the socket sends. */
export function readBytes(socket: Socket, n: number): Promise<Buffer> {
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
export function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.on("error", () => {});
    socket.resume();
    if (socket.closed) resolve();
    else socket.once("close", () => resolve());
  });
}

/**
 * One connection to 127.0.0.1:`port`: sends `line` and a newline, and resolves with the reply up to
 * and including its newline. Never rejects: a close before the reply resolves with `CLOSED after
 * "<what came>"`, an error with its code, no reply within `timeoutMs` with `TIMEOUT`.
 */
export function lineExchange(port: number, line: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((settle) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    const timer = setTimeout(() => {
      socket.destroy();
      settle("TIMEOUT");
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write(`${line}\n`));
    socket.on("data", (chunk: string) => {
      reply += chunk;
      if (reply.endsWith("\n")) {
        clearTimeout(timer);
        socket.end();
        settle(reply);
      }
    });
    socket.once("end", () => {
      clearTimeout(timer);
      if (!reply.endsWith("\n")) settle(`CLOSED after ${JSON.stringify(reply)}`);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      settle(error.code ?? "ERROR");
    });
  });
}
