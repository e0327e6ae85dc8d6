/**
 * Holds many idle connections open (for the shutdown and memory cases). For HTTP, each connection
 * first completes one keep-alive request so it sits idle between requests, as a real client's would.
 */
import type * as net from "node:net";
import type { Target } from "../servers/types.ts";
import { connectOptions, connectSocket, openMany } from "./common.ts";

/** Arguments of the `hold` command. */
export interface HoldArgs {
  readonly target: Target;
  readonly count: number;
  /** If set, send `GET <httpUrl>` on each connection and wait for its response first. */
  readonly httpUrl?: string;
  readonly concurrency?: number;
}

let held: net.Socket[] = [];
let closed = 0;
/** Wall-clock time (ms since the epoch, sub-ms precision) of the last close seen. */
let lastCloseAt = 0;

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

function waitResponse(socket: net.Socket, url: string): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString("latin1");
      const headEnd = text.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const m = /content-length:\s*(\d+)/i.exec(text.slice(0, headEnd));
      if (m === null) return reject(new Error(`no content-length in ${JSON.stringify(text.slice(0, headEnd))}`));
      if (text.length >= headEnd + 4 + Number(m[1])) {
        socket.off("data", onData);
        resolve({ head: text.slice(0, headEnd), body: Buffer.from(text.slice(headEnd + 4, headEnd + 4 + Number(m[1])), "latin1").toString("utf8") });
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(`GET ${url} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  });
}

/** One keep-alive GET on a fresh connection: the response head and body (to check a server's answer). */
export async function fetchOnce(args: { path: string; url: string }): Promise<{ head: string; body: string }> {
  const socket = await connectSocket({ path: args.path });
  try {
    return await waitResponse(socket, args.url);
  } finally {
    socket.destroy();
  }
}

/** Opens and holds `count` connections; resolves when all are open (and, for HTTP, answered). */
export async function hold(args: HoldArgs): Promise<{ opened: number; ms: number }> {
  const t0 = performance.now();
  closed = 0;
  const sockets = await openMany(args.count, args.concurrency ?? 100, async () => {
    const socket = await connectSocket(connectOptions(args.target));
    socket.on("error", () => {});
    if (args.httpUrl !== undefined) await waitResponse(socket, args.httpUrl);
    socket.once("close", () => {
      closed++;
      lastCloseAt = epochMs();
    });
    socket.resume();
    return socket;
  });
  held = sockets;
  return { opened: sockets.length, ms: performance.now() - t0 };
}

/** How many held connections the server has closed so far. */
export function heldStatus(): { held: number; closed: number } {
  return { held: held.length, closed };
}

/** Waits until every held connection is closed (by the server), up to timeoutMs. */
export async function waitClosed(args: { timeoutMs: number }): Promise<{ held: number; closed: number; ms: number; lastCloseAt: number }> {
  const t0 = performance.now();
  while (closed < held.length && performance.now() - t0 < args.timeoutMs) await new Promise((r) => setTimeout(r, 5));
  return { held: held.length, closed, ms: performance.now() - t0, lastCloseAt };
}

/** Destroys every held connection. */
export function release(): { released: number } {
  const n = held.length;
  for (const socket of held) socket.destroy();
  held = [];
  return { released: n };
}
