import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { ProtocolError, type Logger, type ServerConfig, type ShutdownSignal } from "@tako/core";
import { channels, Drain, onShutdownSignal, reportHandlerError, reportProtocolError, ServerHandle, type Counters } from "@tako/core/listener";
import { bindUnixSocket, unixPeerOf, type BindUnixSocketOptions, type PeerCredentialsMode, type UnixAddressInput, type UnixPeerAddr, type UnixSocketBinding } from "@tako/unix";
import type { WebSocket } from "ws";
import { answerClientError } from "./client-error.ts";
import { peerOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { Exchange, type ExchangeHost } from "./exchange.ts";
import { ConnectionFront } from "./front.ts";
import { H2Side, headerListSize } from "./http2.ts";
import { kFail, type Router } from "./router.ts";
import { isWebSocketUpgrade, serveUpgrade, type UpgradeHost } from "./upgrade.ts";

/** @internal The protocols a listener serves and its prelude. */
export interface ListenerInit {
  readonly router: Router;
  readonly config: Readonly<ServerConfig>;
  readonly address: string;
  readonly logger: Logger | undefined;
  /** How each connection's peer credentials are read at accept. */
  readonly credentials: PeerCredentialsMode;
  readonly http1: boolean;
  readonly h2c: boolean;
  /**
   * The PROXY header reader (when `proxyProtocol` is set). No drain signal: the drain's first
   * step closes every connection still in the prelude (`closePending`) before the signal aborts.
   */
  readonly prelude: ((socket: Socket) => Promise<void>) | undefined;
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

/**
 * @internal One HTTP server on a Unix socket: the raw listener and its connection front, Node's
 * http server (HTTP/1.1, WebSocket upgrades) and http2 server (h2c), the drain, the handle.
 */
export class UnixHttpListener implements ExchangeHost, UpgradeHost {
  readonly handle: ServerHandle<string>;
  readonly router: Router;
  readonly logger: Logger | undefined;
  readonly drain = new Drain();
  readonly limit: number;
  readonly keepAlive: boolean;
  readonly webSockets = new Set<WebSocket>();
  readonly #config: Readonly<ServerConfig>;
  readonly #credentials: PeerCredentialsMode;
  /** HTTP/1.1 responses of the requests tracked by the drain (deleted when each closes). */
  readonly #inFlight = new Set<ServerResponse>();
  readonly #net: NetServer;
  readonly #front: ConnectionFront;
  readonly #http: HttpServer | undefined;
  readonly #h2: H2Side | undefined;
  #binding: UnixSocketBinding | undefined;
  #closed: Promise<void> = Promise.resolve();
  #stopSignal: () => void = () => {};

  constructor(init: ListenerInit) {
    const { router, config, logger } = init;
    this.router = router;
    this.#config = config;
    this.#credentials = init.credentials;
    this.logger = logger;
    this.limit = config.maxBodySize;
    this.keepAlive = config.keepAlive;
    this.#net = createNetServer();
    if (Number.isFinite(config.maxConnections)) this.#net.maxConnections = config.maxConnections;
    this.handle = new ServerHandle<string>({
      kind: "unix-http",
      address: init.address,
      drain: this.drain,
      drainTimeout: config.drainTimeout,
      logger,
      stopAccepting: () => this.#stopAccepting(),
      onDrainStart: () => {
        for (const ws of this.webSockets) ws.close(1001, "server shutting down");
      },
      afterDrain: () => this.#afterDrain(),
    });
    if (init.http1) this.#http = this.#createHttp1(config);
    if (init.h2c) {
      this.#h2 = new H2Side(config, {
        onRequest: (req, res, socket) => this.#onH2Request(req, res, socket),
        onSessionError: (error, socket) => this.#protocolError(error, socket),
      });
    }
    const http = this.#http;
    this.#front = new ConnectionFront({
      http1: http === undefined ? undefined : (socket) => http.emit("connection", socket),
      h2c: this.#h2?.accept,
      sniffTimeout: config.headersTimeout > 0 ? Math.min(Math.ceil(config.headersTimeout), 10_000) : 10_000,
      prelude: init.prelude,
      onPreludeError: (socket, error) => this.#protocolError(error, socket),
    });
    this.#net.on("connection", this.#onConnection);
    this.#net.on("drop", () => this.handle.counters.rejected++);
  }

  get counters(): Counters {
    return this.handle.counters;
  }

  get draining(): boolean {
    return this.drain.draining;
  }

  get signal(): AbortSignal {
    return this.drain.signal;
  }

  async bind(path: UnixAddressInput, options: BindUnixSocketOptions, signal: ShutdownSignal | undefined): Promise<void> {
    this.#binding = await bindUnixSocket(this.#net, path, options);
    // Node's http server starts its connection tracking (the header and request timers) on 'listening'.
    this.#http?.emit("listening");
    // Accept errors (EMFILE, ECONNABORTED) must never stop the server.
    this.#net.on("error", (error) => this.logger?.warn({ err: error, kind: "unix-http", address: this.handle.address }, "accept failed"));
    this.#stopSignal = onShutdownSignal(signal, () => void this.handle.shutdown());
    this.handle.announce();
    this.logger?.info({ kind: "unix-http", address: this.handle.address }, "listening");
  }

  report(error: unknown, peer: UnixPeerAddr): void {
    reportHandlerError(this.handle as ServerHandle<unknown>, "unix-http", this.logger, peer, error);
  }

  /** Tracks an exchange until its response is flushed (or the connection dies). */
  track(exchange: Exchange): void {
    const unit = this.drain.track(() => exchange.forceClose());
    const res = exchange.res;
    if (!exchange.h2) this.#inFlight.add(res);
    res.once("close", () => {
      this.#inFlight.delete(res);
      unit.done();
    });
  }

  #createHttp1(config: Readonly<ServerConfig>): HttpServer {
    const requestTimeout = Math.ceil(config.requestTimeout);
    // Node requires headersTimeout <= requestTimeout; headers cannot take longer than the request anyway.
    const headersTimeout = requestTimeout > 0 ? Math.min(Math.ceil(config.headersTimeout), requestTimeout) : Math.ceil(config.headersTimeout);
    const http = createHttpServer({
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: Math.ceil(config.keepAliveTimeout),
      maxHeaderSize: config.maxHeaderSize,
      connectionsCheckingInterval: checkingInterval(headersTimeout, requestTimeout),
    });
    // Node 22.x/24.x keep an idle socket 1 s past keepAliveTimeout; ours is exact, as configured.
    (http as { keepAliveTimeoutBuffer?: number }).keepAliveTimeoutBuffer = 0;
    // Only WebSocket upgrades leave the HTTP parser (an `Upgrade: h2c` request is served as HTTP/1.1).
    if (typeof (http as { shouldUpgradeCallback?: unknown }).shouldUpgradeCallback === "function") {
      (http as { shouldUpgradeCallback?: (req: IncomingMessage) => boolean }).shouldUpgradeCallback = isWebSocketUpgrade;
    }
    http.on("request", this.#onRequest);
    http.on("checkContinue", this.#onCheckContinue);
    http.on("clientError", answerClientError);
    http.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      try {
        serveUpgrade(this, req, socket, head);
      } catch (error) {
        this.report(error, peerOf(socket));
        socket.destroy();
      }
    });
    return http;
  }

  #protocolError(error: unknown, socket: Socket | undefined): void {
    const protocolError = error instanceof ProtocolError ? error : new ProtocolError(error instanceof Error ? error.message : String(error), { cause: error });
    reportProtocolError(this.handle as ServerHandle<unknown>, "unix-http", this.logger, socket === undefined ? undefined : peerOf(socket), protocolError);
  }

  #stopAccepting(): void {
    this.#stopSignal();
    this.#closed = new Promise((resolve) => this.#net.close(() => resolve()));
    this.#front.closePending();
    this.#h2?.goAway();
    const http = this.#http;
    if (http === undefined) return;
    // Idle keep-alive connections close now. Node counts a connection whose response has ended as
    // idle even while that response is still being written to a slow reader, and would destroy it
    // mid-body: those responses are marked unfinished for the duration of the call (their
    // connections close when the drain ends).
    const writing: ServerResponse[] = [];
    for (const res of this.#inFlight) {
      if (res.finished && !res.writableFinished) {
        res.finished = false;
        writing.push(res);
      }
    }
    try {
      http.closeIdleConnections();
    } finally {
      for (const res of writing) res.finished = true;
    }
  }

  async #afterDrain(): Promise<void> {
    // Whatever is left (connections half-way through sending a request) goes now.
    if (this.#http !== undefined) {
      this.#http.closeAllConnections();
      this.#http.close(); // stops Node's connection-checking timer
    }
    this.#h2?.destroyAll();
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
      this.logger?.debug({ err: error, kind: "unix-http" }, "connection refused before its first request");
      socket.destroy();
      return;
    }
    if (channels.connection.hasSubscribers) channels.connection.publish({ kind: "unix-http", server: this.handle, peer: peerOf(socket) });
    if (channels.connectionClosed.hasSubscribers) {
      socket.once("close", () => channels.connectionClosed.publish({ kind: "unix-http", server: this.handle, peer: peerOf(socket) }));
    }
    this.#front.accept(socket);
  };

  /** `Expect: 100-continue`: refuse a body over `maxBodySize` before the client sends it. */
  readonly #onCheckContinue = (req: IncomingMessage, res: ServerResponse): void => {
    const length = req.headers["content-length"];
    if (length === undefined || Number(length) <= this.limit) res.writeContinue();
    this.#onRequest(req, res);
  };

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      new Exchange(this, req, res, req.socket, false).run();
    } catch (error) {
      // A fault of ours, not of a handler (those are caught inside): never let it stop the server.
      this.report(error, peerOf(req.socket));
      res.destroy();
    }
  };

  #onH2Request(req: Http2ServerRequest, res: Http2ServerResponse, socket: Socket): void {
    try {
      const exchange = new Exchange(this, req as unknown as IncomingMessage, res, socket, true);
      if (headerListSize(req.rawHeaders) > this.#config.maxHeaderSize) {
        exchange.reply(this.router[kFail](new HttpError(431, "the request's headers are over the size limit"), exchange.request, exchange));
        return;
      }
      const requestTimeout = this.#config.requestTimeout;
      if (exchange.hasBody && requestTimeout > 0) this.#limitRequestTime(req, res, requestTimeout);
      exchange.run();
    } catch (error) {
      this.report(error, peerOf(socket));
      res.stream.destroy();
    }
  }

  /** HTTP/2 `requestTimeout`: a request body not complete in time gets 408 and its stream is closed. */
  #limitRequestTime(req: Http2ServerRequest, res: Http2ServerResponse, timeout: number): void {
    const timer = setTimeout(() => {
      if (req.complete) return;
      if (!res.headersSent && !res.stream.destroyed) {
        res.writeHead(408, { "content-type": "text/plain; charset=utf-8", "content-length": 15 });
        res.end("Request Timeout");
      }
      res.stream.close();
    }, Math.ceil(timeout));
    res.stream.once("close", () => clearTimeout(timer));
  }
}
