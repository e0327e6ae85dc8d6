/** Shared bits of the load clients. */
import * as net from "node:net";
import type { Target } from "../servers/types.ts";

/** What every load run reports besides its own figures. */
export interface RunWindow {
  /** Length of the measured window, ms. */
  readonly ms: number;
  /** The client's CPU use over the window, as a fraction of one core (0..1). */
  readonly clientCpu: number;
}

/** Measures wall time and this process's CPU time between `start()` and `stop()`. */
export class Window {
  #t0 = 0;
  #cpu0 = 0;

  start(): void {
    this.#t0 = performance.now();
    const c = process.cpuUsage();
    this.#cpu0 = c.user + c.system;
  }

  stop(): RunWindow {
    const ms = performance.now() - this.#t0;
    const c = process.cpuUsage();
    const cpuUs = c.user + c.system - this.#cpu0;
    return { ms, clientCpu: cpuUs / 1000 / ms };
  }
}

/** Resolves after ms. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Connection options for a target, TCP (with TCP_NODELAY) or Unix. */
export function connectOptions(target: Target): net.NetConnectOpts {
  return "path" in target ? { path: target.path } : { host: target.host, port: target.port, noDelay: true };
}

/** Opens `count` connections, at most `concurrency` handshakes at a time. */
export async function openMany<T>(count: number, concurrency: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await open(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
}

/**
 * Resolves with `socket` once it connected (rejects on an error before that); errors after the
 * connect are ignored, as the load loop sees a lost connection its own way.
 */
export function connected(socket: net.Socket): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.removeListener("error", reject);
      socket.on("error", () => {});
      resolve(socket);
    });
  });
}

/** Connects one socket, resolving once connected (rejects on error). */
export function connectSocket(options: net.NetConnectOpts): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(options);
    const onError = (err: Error) => reject(err);
    socket.once("error", onError);
    socket.once("connect", () => {
      socket.off("error", onError);
      resolve(socket);
    });
  });
}
