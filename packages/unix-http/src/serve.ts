import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import {
  DEFAULT_SERVER_CONFIG,
  InvalidConfigError,
  isPeerGone,
  validateServerConfig,
  type Logger,
  type Server,
  type ServerConfig,
  type ShutdownSignal,
} from "@tako/core";
import {
  channels,
  checkBaseServeOptions,
  checkKnownKeys,
  checkOptionsObject,
  Drain,
  isThenable,
  onShutdownSignal,
  reportHandlerError,
  ServerHandle,
} from "@tako/core/listener";
import { bindUnixSocket, resolvePeerCredentials, unixPeerOf, validateUnixSocketOptions, type BindUnixSocketOptions, type PeerCredentialsMode, type UnixAddressInput, type UnixPeerAddr, type UnixSocketBinding } from "@tako/unix";
import { Context, peerOf, type RequestHost } from "./context.ts";
import { HttpError } from "./errors.ts";
import { NodeRequest } from "./node-request.ts";
import { send } from "./node-send.ts";
import type { HandlerResult } from "./response.ts";
import { kFail, kHandle, Router, type MaybePromise } from "./router.ts";

/**
 * Options of {@link serveUnixHttp}: every {@link ServerConfig} field (all optional, defaults as in
 * `DEFAULT_SERVER_CONFIG`), plus the shutdown signal, a logger, the socket file's mode and how
 * peer credentials are read.
 *
 * @example
 * ```ts
 * const options: ServeUnixHttpOptions = { signal: shutdownSignal(), mode: 0o660, maxBodySize: 64 * 1024 };
 * ```
 */
export interface ServeUnixHttpOptions extends Partial<ServerConfig> {
  /** Starts shutdown when it aborts (an `AbortSignal`) or settles (a promise-like). */
  readonly signal?: ShutdownSignal | undefined;
  /** A pino-compatible logger. Default: silent, except handler errors to stderr. */
  readonly logger?: Logger | undefined;
  /** Permission bits of the socket file, e.g. `0o660`, applied before it appears at the path. Not for `@name` sockets. */
  readonly mode?: number | undefined;
  /** The listen backlog. Default: Node's (511). */
  readonly backlog?: number | undefined;
  /**
   * Whether each connection's peer `pid`/`uid`/`gid` and bound name are read at accept (`ctx.peer`):
   * `"auto"` (default) where the koffi backend loads, else `null`s; `"required"`: startup fails
   * with `UnsupportedError` without a backend, and a connection whose credentials cannot be read
   * is closed (counted in `rejected`); `"off"`: never.
   */
  readonly peerCredentials?: PeerCredentialsMode | undefined;
}

const CONFIG_KEYS = Object.keys(DEFAULT_SERVER_CONFIG);
/**
 * The option keys {@link serveUnixHttp} accepts.
 *
 * @example
 * ```ts
 * SERVE_UNIX_HTTP_OPTION_KEYS.includes("maxBodySize"); // true
 * ```
 */
export const SERVE_UNIX_HTTP_OPTION_KEYS: readonly string[] = Object.freeze([...CONFIG_KEYS, "signal", "logger", "mode", "backlog", "peerCredentials"]);

const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Serves `router` over HTTP/1.1 on the Unix socket `path` (`@name` for a Linux abstract socket),
 * and resolves with the server handle once it listens. The socket file is handled by
 * `@tako/unix` (stale files replaced, anything that is not a socket refused, `mode` applied
 * atomically, removed on shutdown only if it is still ours). Bad options reject before anything
 * is bound ({@link InvalidConfigError}, `InvalidSocketPathError`); a bind failure rejects with a
 * `BindError` carrying the OS code. `path` may be an inherited listening socket `{ fd }` (a
 * `listenFds()` entry from `@tako/systemd`), whose file is never probed, chmod-ed or removed.
 *
 * @example
 * ```ts
 * const router = new Router();
 * router.get("/", () => "hello from unix");
 * const server = await serveUnixHttp("/tmp/tako-http.sock", router, { signal: shutdownSignal() });
 * console.log(await server.finished); // { drained, forced, durationMs } after Ctrl-C
 * ```
 */
export async function serveUnixHttp(path: UnixAddressInput, router: Router, options: ServeUnixHttpOptions = {}): Promise<Server<string>> {
  if (!(router instanceof Router)) throw new InvalidConfigError("router", "serveUnixHttp needs a Router (new Router())");
  checkOptionsObject("serveUnixHttp options", options);
  checkKnownKeys("serveUnixHttp options", options, SERVE_UNIX_HTTP_OPTION_KEYS);
  const { signal, logger, mode, backlog, peerCredentials, ...rest } = options;
  const config = validateServerConfig(definedOnly(rest) as Partial<ServerConfig>);
  checkBaseServeOptions({ signal, logger });
  const bindOptions = definedOnly({ mode, backlog }) as BindUnixSocketOptions;
  const target = validateUnixSocketOptions(path, bindOptions);
  const credentials = resolvePeerCredentials(peerCredentials, "serveUnixHttp options.peerCredentials");
  const listener = new UnixHttpListener(router, config, target.address, logger, credentials);
  await listener.bind(path, bindOptions, signal);
  return listener.handle;
}

/**
 * {@link serveUnixHttp} with a shutdown signal (the Rust `serve_unix_http_with_shutdown`).
 *
 * @example
 * ```ts
 * const server = await serveUnixHttpWithShutdown("/tmp/app.sock", router, shutdownSignal());
 * ```
 */
export function serveUnixHttpWithShutdown(path: UnixAddressInput, router: Router, signal: ShutdownSignal): Promise<Server<string>> {
  return serveUnixHttp(path, router, { signal });
}

/**
 * {@link serveUnixHttp} with a shutdown signal and a drain timeout in ms.
 *
 * @example
 * ```ts
 * const server = await serveUnixHttpWithShutdownAndDrain("/tmp/app.sock", router, shutdownSignal(), 10_000);
 * ```
 */
export function serveUnixHttpWithShutdownAndDrain(path: UnixAddressInput, router: Router, signal: ShutdownSignal, drainTimeout: number): Promise<Server<string>> {
  return serveUnixHttp(path, router, { signal, drainTimeout });
}

/**
 * {@link serveUnixHttp} with a {@link ServerConfig} (partial; validated, defaults filled in).
 *
 * @example
 * ```ts
 * const server = await serveUnixHttpWithConfig("/tmp/app.sock", router, { maxConnections: 256, keepAlive: false });
 * ```
 */
export async function serveUnixHttpWithConfig(path: UnixAddressInput, router: Router, config: Partial<ServerConfig>): Promise<Server<string>> {
  checkOptionsObject("ServerConfig", config, "config");
  checkKnownKeys("ServerConfig", config, CONFIG_KEYS);
  return serveUnixHttp(path, router, config);
}

/**
 * The declared body length from the raw header list, without building `req.headers`: the
 * Content-Length, -1 for a Transfer-Encoding body (length unknown), 0 for none. Node's parser has
 * already refused conflicting or malformed framing headers.
 */
function bodyLength(raw: readonly string[]): number {
  let length = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 14 && name.toLowerCase() === "content-length") length = Number(raw[i + 1]);
    else if (name.length === 17 && name.toLowerCase() === "transfer-encoding") return -1;
  }
  return length;
}

function definedOnly(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value;
  return out;
}

/**
 * Node checks `headersTimeout` and `requestTimeout` on a timer; a twentieth of the shorter one
 * (10 ms to 1 s) cuts slow clients close to their deadline without a busy timer.
 */
function checkingInterval(headersTimeout: number, requestTimeout: number): number {
  const shortest = Math.min(headersTimeout > 0 ? headersTimeout : Infinity, requestTimeout > 0 ? requestTimeout : Infinity);
  if (shortest === Infinity) return 1_000;
  return Math.max(10, Math.min(1_000, Math.floor(shortest / 20)));
}

/** One HTTP server on a Unix socket: Node's http server, the drain, the handle. */
class UnixHttpListener implements RequestHost {
  readonly handle: ServerHandle<string>;
  readonly #router: Router;
  readonly #config: Readonly<ServerConfig>;
  readonly #logger: Logger | undefined;
  readonly #credentials: PeerCredentialsMode;
  readonly #drain = new Drain();
  /** Responses of the requests tracked by the drain (deleted when each closes). */
  readonly #inFlight = new Set<ServerResponse>();
  readonly #http: HttpServer;
  #binding: UnixSocketBinding | undefined;
  #closed: Promise<void> = Promise.resolve();
  #stopSignal: () => void = () => {};

  constructor(router: Router, config: Readonly<ServerConfig>, address: string, logger: Logger | undefined, credentials: PeerCredentialsMode) {
    this.#router = router;
    this.#credentials = credentials;
    this.#config = config;
    this.#logger = logger;
    const requestTimeout = Math.ceil(config.requestTimeout);
    // Node requires headersTimeout <= requestTimeout; headers cannot take longer than the request anyway.
    const headersTimeout = requestTimeout > 0 ? Math.min(Math.ceil(config.headersTimeout), requestTimeout) : Math.ceil(config.headersTimeout);
    this.#http = createServer({
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: Math.ceil(config.keepAliveTimeout),
      maxHeaderSize: config.maxHeaderSize,
      connectionsCheckingInterval: checkingInterval(headersTimeout, requestTimeout),
    });
    // Node 22.x/24.x keep an idle socket 1 s past keepAliveTimeout; ours is exact, as configured.
    (this.#http as { keepAliveTimeoutBuffer?: number }).keepAliveTimeoutBuffer = 0;
    if (Number.isFinite(config.maxConnections)) this.#http.maxConnections = config.maxConnections;
    this.handle = new ServerHandle<string>({
      kind: "unix-http",
      address,
      drain: this.#drain,
      drainTimeout: config.drainTimeout,
      logger,
      stopAccepting: () => this.#stopAccepting(),
      afterDrain: () => this.#afterDrain(),
    });
    this.#http.on("request", this.#onRequest);
    this.#http.on("checkContinue", this.#onCheckContinue);
    this.#http.on("connection", this.#onConnection);
    this.#http.on("drop", () => this.handle.counters.rejected++);
  }

  async bind(path: UnixAddressInput, options: BindUnixSocketOptions, signal: ShutdownSignal | undefined): Promise<void> {
    this.#binding = await bindUnixSocket(this.#http, path, options);
    // Accept errors (EMFILE, ECONNABORTED) must never stop the server.
    this.#http.on("error", (error) => this.#logger?.warn({ err: error, kind: "unix-http", address: this.handle.address }, "accept failed"));
    this.#stopSignal = onShutdownSignal(signal, () => void this.handle.shutdown());
    this.handle.announce();
    this.#logger?.info({ kind: "unix-http", address: this.handle.address }, "listening");
  }

  report(error: unknown, peer: UnixPeerAddr): void {
    reportHandlerError(this.handle as ServerHandle<unknown>, "unix-http", this.#logger, peer, error);
  }

  #stopAccepting(): void {
    this.#stopSignal();
    // http.Server#close() closes the listener and the idle keep-alive connections. Node counts a
    // connection whose response has ended as idle even while that response is still being
    // written to a slow reader, and would destroy it mid-body: those responses are marked
    // unfinished for the duration of the call (their connections close when the drain ends).
    const writing: ServerResponse[] = [];
    for (const res of this.#inFlight) {
      if (res.finished && !res.writableFinished) {
        res.finished = false;
        writing.push(res);
      }
    }
    try {
      this.#closed = new Promise((resolve) => this.#http.close(() => resolve()));
    } finally {
      for (const res of writing) res.finished = true;
    }
  }

  async #afterDrain(): Promise<void> {
    // Whatever is left (connections half-way through sending a request) goes now.
    this.#http.closeAllConnections();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
    await this.#binding?.release();
  }

  readonly #onConnection = (socket: Socket): void => {
    // The peer is read here, once, and cached on the socket (ctx.peer and peerOf find it there).
    try {
      unixPeerOf(socket, this.#credentials);
    } catch (error) {
      // "required" and the kernel gave no credentials: never serve this connection.
      this.handle.counters.rejected++;
      this.#logger?.debug({ err: error, kind: "unix-http" }, "connection refused before its first request");
      socket.destroy();
      return;
    }
    if (channels.connection.hasSubscribers) channels.connection.publish({ kind: "unix-http", server: this.handle, peer: peerOf(socket) });
    if (channels.connectionClosed.hasSubscribers) {
      socket.once("close", () => channels.connectionClosed.publish({ kind: "unix-http", server: this.handle, peer: peerOf(socket) }));
    }
  };

  /** `Expect: 100-continue`: refuse a body over `maxBodySize` before the client sends it. */
  readonly #onCheckContinue = (req: IncomingMessage, res: ServerResponse): void => {
    const length = req.headers["content-length"];
    if (length === undefined || Number(length) <= this.#config.maxBodySize) res.writeContinue();
    this.#onRequest(req, res);
  };

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      this.#serve(req, res);
    } catch (error) {
      // A fault of ours, not of a handler (those are caught inside): never let it stop the server.
      this.report(error, peerOf(req.socket));
      res.destroy();
    }
  };

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const drain = this.#drain;
    const length = bodyLength(req.rawHeaders);
    const hasBody = length !== 0;
    const request = new NodeRequest(req, res, this.#config.maxBodySize, hasBody) as unknown as Request;
    const ctx = new Context(EMPTY_PARAMS, drain.signal, this, undefined, req.socket);
    if (drain.draining) {
      // Shutdown has started: refused (not tracked), and the connection closes after the answer.
      this.handle.counters.rejected++;
      this.#reply(req, res, hasBody, this.#router[kFail](new HttpError(503, "the server is shutting down"), request, ctx), request, ctx);
      return;
    }
    this.handle.counters.accepted++;
    let result: MaybePromise<HandlerResult>;
    if (length > this.#config.maxBodySize) {
      result = this.#router[kFail](new HttpError(413, `the request body is over the ${this.#config.maxBodySize}-byte limit`), request, ctx);
    } else {
      const url = req.url ?? "/";
      const query = url.indexOf("?");
      let path = query < 0 ? url : url.slice(0, query);
      if (path.charCodeAt(0) !== 47 /* "/" */ && path !== "*") {
        try {
          path = new URL(url).pathname; // absolute-form target
        } catch {
          // Not a URL either: the router answers 400.
        }
      }
      result = this.#router[kHandle](req.method ?? "GET", path, request, ctx);
    }
    // The drain unit is the in-flight request. A request answered synchronously and handed to the
    // kernel in full was never in flight across a tick: it needs no unit (the common fast path).
    if (isThenable<HandlerResult>(result)) {
      this.#track(req, res);
      result.then(
        (value) => this.#write(req, res, hasBody, value, request, ctx, false),
        (error: unknown) => this.#sendFailed(req, res, hasBody, error, request, ctx, false),
      );
      return;
    }
    this.#write(req, res, hasBody, result, request, ctx, false);
    if (!res.destroyed && (!res.writableEnded || res.writableLength > 0)) this.#track(req, res);
  }

  /** Tracks the request until its response is flushed (or the connection dies). */
  #track(req: IncomingMessage, res: ServerResponse): void {
    const unit = this.#drain.track(() => req.socket.destroy());
    this.#inFlight.add(res);
    res.once("close", () => {
      this.#inFlight.delete(res);
      unit.done();
    });
  }

  /**
   * Writes the result once it is there. A result that cannot be sent becomes the error response
   * (`retry` false), and if that cannot be sent either, a bare 500.
   */
  #reply(req: IncomingMessage, res: ServerResponse, hasBody: boolean, result: MaybePromise<HandlerResult>, request: Request, ctx: Context, retry = false): void {
    if (isThenable<HandlerResult>(result)) {
      result.then(
        (value) => this.#write(req, res, hasBody, value, request, ctx, retry),
        (error: unknown) => this.#sendFailed(req, res, hasBody, error, request, ctx, retry),
      );
      return;
    }
    this.#write(req, res, hasBody, result, request, ctx, retry);
  }

  #write(req: IncomingMessage, res: ServerResponse, hasBody: boolean, result: HandlerResult, request: Request, ctx: Context, retry: boolean): void {
    if (res.headersSent || res.destroyed) return;
    // Connection: close when keep-alive is off, when draining, and when an unread body is still coming.
    const close = !this.#config.keepAlive || this.#drain.draining || (hasBody && !req.complete);
    let sending: void | Promise<void>;
    try {
      sending = send(res, result, close);
    } catch (error) {
      this.#sendFailed(req, res, hasBody, error, request, ctx, retry);
      return;
    }
    if (sending !== undefined) sending.catch((error: unknown) => this.#sendFailed(req, res, hasBody, error, request, ctx, true));
  }

  #sendFailed(req: IncomingMessage, res: ServerResponse, hasBody: boolean, error: unknown, request: Request, ctx: Context, retry: boolean): void {
    if (res.headersSent || res.destroyed) {
      // Mid-stream: the status is gone; cut the connection so the client sees a truncated body.
      if (!isPeerGone(error)) this.report(error, ctx.peer);
      res.destroy();
      return;
    }
    if (retry) {
      this.report(error, ctx.peer);
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8", "content-length": 21, connection: "close" });
      res.end("Internal Server Error");
      return;
    }
    this.#reply(req, res, hasBody, this.#router[kFail](error, request, ctx), request, ctx, true);
  }
}
