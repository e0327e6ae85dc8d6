import { once } from "node:events";
import * as net from "node:net";
import type { Logger } from "@tako/core";

/** Connects a real client and waits until it is connected. */
export async function connect(port: number, host = "127.0.0.1"): Promise<net.Socket> {
  const socket = net.connect({ port, host });
  await once(socket, "connect");
  return socket;
}

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

/** Polls `predicate` until it holds, failing after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A pino-shaped logger that records calls. */
export function recordingLogger(): Logger & { records: Array<{ level: string; obj: object; msg?: string | undefined }> } {
  const records: Array<{ level: string; obj: object; msg?: string | undefined }> = [];
  const at = (level: string) => (obj: object, msg?: string) => void records.push({ level, obj, msg });
  return { records, error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
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
