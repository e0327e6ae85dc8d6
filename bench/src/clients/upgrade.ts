/**
 * Load clients for the h2c and WebSocket cases. h2c: `sessions` HTTP/2 connections (Node's
 * http2 client), `streams` requests in flight on each, closed loop. WebSocket: `connections`
 * `ws` clients (`ws+unix:`), one message in flight on each, closed loop.
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import { openMany, sleep, Window, type RunWindow } from "./common.ts";

/** Arguments of the `h2c` command. */
export interface H2cArgs {
  readonly path: string;
  readonly url: string;
  readonly sessions: number;
  readonly streams: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** What the `h2c` command reports. */
export interface H2cResult extends RunWindow {
  readonly requests: number;
  readonly requestsPerSec: number;
  readonly errors: number;
}

/** Closed-loop HTTP/2 load: each of `sessions * streams` slots sends the next request when its response ends. */
export async function runH2c(args: H2cArgs): Promise<H2cResult> {
  let requests = 0;
  let errors = 0;
  let running = true;
  const sessions = await openMany(
    args.sessions,
    16,
    () =>
      new Promise<http2.ClientHttp2Session>((resolve, reject) => {
        const session = http2.connect("http://localhost", { createConnection: () => net.connect(args.path) });
        session.once("error", reject);
        session.once("connect", () => {
          session.off("error", reject);
          session.on("error", () => {});
          resolve(session);
        });
      }),
  );
  const headers = { ":method": "GET", ":path": args.url };
  const fire = (session: http2.ClientHttp2Session) => {
    const stream = session.request(headers, { endStream: true });
    stream.on("response", (h) => {
      if (h[":status"] !== 200) errors++;
    });
    stream.on("data", () => {});
    stream.on("error", () => errors++);
    stream.on("close", () => {
      requests++;
      if (running && !session.destroyed) fire(session);
    });
  };
  for (const session of sessions) for (let i = 0; i < args.streams; i++) fire(session);
  await sleep(args.warmupMs);
  const window = new Window();
  const n0 = requests;
  const e0 = errors;
  window.start();
  await sleep(args.durationMs);
  const counted = requests - n0;
  const w = window.stop();
  running = false;
  const errorsIn = errors - e0;
  for (const session of sessions) session.destroy();
  return { ...w, requests: counted, requestsPerSec: (counted / w.ms) * 1000, errors: errorsIn };
}

/** Arguments of the `wsEcho` command. */
export interface WsEchoArgs {
  readonly path: string;
  readonly url: string;
  readonly connections: number;
  readonly size: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** What the `wsEcho` command reports. */
export interface WsEchoResult extends RunWindow {
  readonly messages: number;
  readonly messagesPerSec: number;
}

/** Closed-loop WebSocket echo: every connection sends its next message when the echo arrives. */
export async function runWsEcho(args: WsEchoArgs): Promise<WsEchoResult> {
  const { WebSocket } = await import("ws");
  const payload = Buffer.alloc(args.size, 0x61);
  let messages = 0;
  let running = true;
  const sockets = await openMany(
    args.connections,
    16,
    () =>
      new Promise<InstanceType<typeof WebSocket>>((resolve, reject) => {
        const ws = new WebSocket(`ws+unix:${args.path}:${args.url}`, { perMessageDeflate: false });
        ws.once("error", reject);
        ws.once("open", () => {
          ws.off("error", reject);
          ws.on("error", () => {});
          resolve(ws);
        });
      }),
  );
  for (const ws of sockets) {
    ws.on("message", () => {
      messages++;
      if (running) ws.send(payload, { binary: true });
    });
    ws.send(payload, { binary: true });
  }
  await sleep(args.warmupMs);
  const window = new Window();
  const n0 = messages;
  window.start();
  await sleep(args.durationMs);
  const counted = messages - n0;
  const w = window.stop();
  running = false;
  for (const ws of sockets) ws.terminate();
  return { ...w, messages: counted, messagesPerSec: (counted / w.ms) * 1000 };
}
