import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { Socket } from "node:net";
import { isPeerGone } from "@tako/core";
import { isThenable, type Counters } from "@tako/core/listener";
import { Context, EMPTY_PARAMS, type RequestHost } from "./context.ts";
import { HttpError } from "./errors.ts";
import type { MaybePromise } from "./handler.ts";
import { NodeRequest, type RequestSource } from "./node-request.ts";
import { targetPath } from "./dispatch.ts";
import { send, type SendTarget } from "./node-send.ts";
import type { HandlerResult } from "./response.ts";
import { kFail, kHandle, type Router } from "./router.ts";

/** @internal What an exchange needs from its server. */
export interface ExchangeHost extends RequestHost {
  readonly router: Router;
  readonly counters: Counters;
  readonly keepAlive: boolean;
  readonly draining: boolean;
  readonly signal: AbortSignal;
  /** The body size limit (`maxBodySize`). */
  readonly limit: number;
  /** Tracks the exchange in the drain until its response has closed. */
  track(exchange: Exchange): void;
}

/**
 * @internal One HTTP request and its response, over HTTP/1.1 or HTTP/2: Node's req and res, the
 * body state, the lazy Request and the handler's context (it is the `ctx` handlers get). It runs
 * the router and writes the result; a failure at any step goes through {@link Exchange.failed}.
 * On the synchronous path nothing else is allocated per request: no closures, no Request.
 */
export class Exchange extends Context implements RequestSource, SendTarget {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly h2: boolean;
  readonly head: boolean;
  readonly hasBody: boolean;
  readonly limit: number;
  readonly request: Request;
  readonly #server: ExchangeHost;
  /** The declared body length: Content-Length, -1 when unknown (chunked, HTTP/2 DATA), 0 for none. */
  readonly #length: number;
  #failedOnce = false;

  constructor(server: ExchangeHost, req: IncomingMessage, res: ServerResponse | Http2ServerResponse, socket: Socket, h2: boolean) {
    super(EMPTY_PARAMS, server.signal, server, undefined, socket);
    this.#server = server;
    this.req = req;
    this.res = res as ServerResponse;
    this.h2 = h2;
    this.head = req.method === "HEAD";
    this.limit = server.limit;
    this.#length = h2
      ? (req as unknown as { stream: { endAfterHeaders: boolean } }).stream.endAfterHeaders
        ? 0
        : declaredLength(req.rawHeaders, -1)
      : declaredLength(req.rawHeaders, 0);
    this.hasBody = this.#length !== 0;
    this.request = new NodeRequest(this) as unknown as Request;
  }

  /** HTTP/1.1: `Connection: close` when keep-alive is off, when draining, and when an unread body is still coming. */
  get closing(): boolean {
    return !this.h2 && (!this.#server.keepAlive || this.#server.draining || (this.hasBody && !this.req.complete));
  }

  get gone(): boolean {
    return this.h2 ? (this.res as unknown as Http2ServerResponse).stream.destroyed : this.res.destroyed;
  }

  onGone(abort: () => void): void {
    const res = this.res;
    if (res.writableFinished) return;
    res.once("close", () => {
      if (!res.writableFinished) abort();
    });
  }

  /** Ends the exchange at the drain deadline: the HTTP/1.1 connection, or the HTTP/2 stream. */
  forceClose(): void {
    if (this.h2) (this.res as unknown as Http2ServerResponse).stream.destroy();
    else this.req.socket.destroy();
  }

  /** Routes the request and answers it. */
  run(): void {
    const server = this.#server;
    if (server.draining) {
      // Shutdown has started: refused (not tracked), and the connection closes after the answer.
      server.counters.rejected++;
      this.reply(server.router[kFail](new HttpError(503, "the server is shutting down"), this.request, this));
      return;
    }
    server.counters.accepted++;
    let result: MaybePromise<HandlerResult>;
    if (this.#length > this.limit) {
      result = server.router[kFail](new HttpError(413, `the request body is over the ${this.limit}-byte limit`), this.request, this);
    } else {
      result = server.router[kHandle](this.req.method ?? "GET", targetPath(this.req.url ?? "/"), this.request, this);
    }
    // The drain unit is the in-flight request. A request answered synchronously and handed to the
    // kernel in full was never in flight across a tick: it needs no unit (the common fast path).
    if (isThenable<HandlerResult>(result)) {
      server.track(this);
      this.reply(result);
      return;
    }
    this.write(result);
    if (!this.gone && (!this.res.writableEnded || this.res.writableLength > 0)) server.track(this);
  }

  /** Writes the result once it is there. */
  reply(result: MaybePromise<HandlerResult>): void {
    if (isThenable<HandlerResult>(result)) {
      result.then(
        (value) => this.write(value),
        (error: unknown) => this.failed(error),
      );
      return;
    }
    this.write(result);
  }

  write(result: HandlerResult): void {
    if (this.res.headersSent || this.gone) return;
    let sending: void | Promise<void>;
    try {
      sending = send(this, result);
    } catch (error) {
      this.failed(error);
      return;
    }
    if (sending !== undefined) sending.catch((error: unknown) => this.failed(error));
  }

  /**
   * A result that could not be sent: mid-body, the connection (or stream) is cut; before the
   * headers, the error response is sent instead; and if that fails too, a bare 500.
   */
  failed(error: unknown): void {
    const res = this.res;
    if (res.headersSent || this.gone) {
      // Mid-stream: the status is gone; cut it so the client sees a truncated body.
      if (!isPeerGone(error)) this.#server.report(error, this.peer);
      res.destroy();
      return;
    }
    if (this.#failedOnce) {
      this.#server.report(error, this.peer);
      res.writeHead(
        500,
        this.h2
          ? { "content-type": "text/plain; charset=utf-8", "content-length": 21 }
          : { "content-type": "text/plain; charset=utf-8", "content-length": 21, connection: "close" },
      );
      res.end("Internal Server Error");
      return;
    }
    this.#failedOnce = true;
    this.reply(this.#server.router[kFail](error, this.request, this));
  }
}

/**
 * The declared body length from the raw header list, without building `req.headers`: the
 * Content-Length, -1 for a Transfer-Encoding body, else `otherwise`. Node's parser has already
 * refused conflicting or malformed framing headers.
 */
function declaredLength(raw: readonly string[], otherwise: number): number {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 14 && name.toLowerCase() === "content-length") return Number(raw[i + 1]);
    if (name.length === 17 && name.toLowerCase() === "transfer-encoding") return -1;
  }
  return otherwise;
}
