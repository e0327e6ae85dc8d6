import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { ProtocolError, type Logger } from "@tako/core";
import { isThenable, reportProtocolError, type Counters, type Drain, type ServerHandle } from "@tako/core/listener";
import type { WebSocket } from "ws";
import { Context, EMPTY_PARAMS, type RequestHost } from "./context.ts";
import { targetPath } from "./dispatch.ts";
import { NodeRequest, type RequestSource } from "./node-request.ts";
import { rawBodyOf, toResponse } from "./response.ts";
import { kFail, kHandle, type Router } from "./router.ts";
import { handshakeHeaders, kUpgrade, UpgradeAccepted } from "./websocket.ts";

/** The most of a refusal's body written on an upgrade connection (a refusal is a short answer). */
const MAX_REFUSAL_BODY = 64 * 1024;

/** @internal What the upgrade path needs from its server. */
export interface UpgradeHost extends RequestHost {
  readonly router: Router;
  readonly counters: Counters;
  readonly drain: Drain;
  readonly handle: ServerHandle<string>;
  readonly logger: Logger | undefined;
  readonly limit: number;
  /** The open WebSockets (each gets close 1001 when the drain starts). */
  readonly webSockets: Set<WebSocket>;
}

/** @internal The context (and Request source) of an HTTP/1.1 upgrade request. */
export class UpgradeExchange extends Context implements RequestSource {
  readonly [kUpgrade] = true;
  readonly req: IncomingMessage;
  readonly socket: Socket;
  readonly limit: number;
  readonly hasBody = false;
  readonly h2 = false;
  readonly request: Request;

  constructor(host: UpgradeHost, req: IncomingMessage, socket: Socket) {
    super(EMPTY_PARAMS, host.drain.signal, host, undefined, socket);
    this.req = req;
    this.socket = socket;
    this.limit = host.limit;
    this.request = new NodeRequest(this) as unknown as Request;
  }

  onGone(abort: () => void): void {
    if (this.socket.destroyed) abort();
    else this.socket.once("close", abort);
  }
}

/**
 * @internal Serves an HTTP/1.1 `Upgrade: websocket` request (Node's `'upgrade'` event): the router
 * runs it with its middleware; a WebSocket route's go-ahead completes the handshake and calls the
 * route's handler, anything else (404, 405, 401 from middleware, a plain route's answer) is written
 * on the socket with `Connection: close` and the socket is closed. The socket is a drain unit from
 * here until it closes: never left open, destroyed at the drain deadline.
 */
export function serveUpgrade(host: UpgradeHost, req: IncomingMessage, socket: Socket, head: Buffer): void {
  socket.on("error", () => {}); // resets are normal; the socket closes and its unit ends
  if (host.drain.draining) {
    host.counters.rejected++;
    void writeRefusal(socket, new Response("the server is shutting down", { status: 503 }), req.method === "HEAD");
    return;
  }
  const unit = host.drain.track(() => socket.destroy());
  socket.once("close", () => unit.done());
  host.counters.accepted++;
  const x = new UpgradeExchange(host, req, socket);
  // The same target rules as any request: an absolute-form target is routed by its path.
  Promise.resolve(host.router[kHandle](req.method ?? "GET", targetPath(req.url ?? "/"), x.request, x))
    .then((result) => (result instanceof UpgradeAccepted ? accept(host, x, result, head) : writeRefusal(socket, toResponse(result), req.method === "HEAD")))
    .catch(async (error: unknown) => {
      // A result that is no response (or a failing refusal): the router's error response, else a cut.
      try {
        await writeRefusal(socket, toResponse(await host.router[kFail](error, x.request, x)), false);
      } catch {
        socket.destroy();
      }
    });
}

async function accept(host: UpgradeHost, x: UpgradeExchange, accepted: UpgradeAccepted, head: Buffer): Promise<void> {
  const { socket, req } = x;
  const route = accepted.route;
  const wss = await route.server();
  if (socket.destroyed) return;
  if (host.drain.draining) {
    await writeRefusal(socket, new Response("the server is shutting down", { status: 503 }), false);
    return;
  }
  const extra = new Headers(accepted.headers);
  if (!extra.keys().next().done) handshakeHeaders.set(req, extra);
  // ws answers a malformed handshake (bad key or version) with 400 itself and closes the socket.
  wss.handleUpgrade(req, socket, head, (ws) => {
    host.webSockets.add(ws);
    ws.once("close", () => host.webSockets.delete(ws));
    ws.on("error", (error: Error & { code?: string }) => {
      // A peer breaking the WebSocket protocol (e.g. a message over maxPayload: ws closes with 1009).
      reportProtocolError(
        host.handle as ServerHandle<unknown>,
        "unix-http",
        host.logger,
        x.peer,
        new ProtocolError(error.message, { code: error.code ?? "ERR_TAKO_WEBSOCKET", cause: error }),
      );
    });
    if (host.drain.draining) {
      ws.close(1001, "server shutting down");
      return;
    }
    const failed = (error: unknown) => {
      host.report(error, x.peer);
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1011, "internal error");
    };
    try {
      const running = route.handler(ws, x.request, x);
      if (isThenable(running)) running.then(undefined, failed);
    } catch (error) {
      failed(error);
    }
  });
}

/** Writes `response` on an upgrade connection as a complete HTTP/1.1 answer, then closes the socket. */
async function writeRefusal(socket: Socket, response: Response, head: boolean): Promise<void> {
  let body: Uint8Array = new Uint8Array(0);
  const raw = rawBodyOf(response);
  if (raw !== undefined) body = typeof raw === "string" ? Buffer.from(raw) : raw;
  else if (response.body !== null) body = await readCapped(response.body);
  const status = response.status;
  let lines = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
  for (const [name, value] of response.headers) {
    if (name === "set-cookie" || name === "connection" || name === "content-length" || name === "transfer-encoding") continue;
    lines += `${name}: ${value}\r\n`;
  }
  for (const cookie of response.headers.getSetCookie()) lines += `set-cookie: ${cookie}\r\n`;
  lines += `content-length: ${body.byteLength}\r\nconnection: close\r\n\r\n`;
  if (socket.destroyed) return;
  socket.end(head || body.byteLength === 0 ? lines : Buffer.concat([Buffer.from(lines, "latin1"), body]), () => socket.destroy());
  // A client that never reads cannot hold the socket: it is a drain unit, destroyed at the deadline.
}

async function readCapped(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  try {
    while (size < MAX_REFUSAL_BODY) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, MAX_REFUSAL_BODY);
}

/** @internal Whether a request asks for a WebSocket upgrade (`Upgrade: websocket`). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return typeof upgrade === "string" && upgrade.toLowerCase() === "websocket";
}
