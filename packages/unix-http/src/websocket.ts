import type { WebSocket, WebSocketServer } from "ws";
import type { RequestContext } from "./context.ts";
import { HttpError, InvalidRouteError } from "./errors.ts";

/**
 * A WebSocket route's handler: the `ws` package's `WebSocket` (open), the upgrade request (a lazy
 * Web `Request`) and the {@link RequestContext} (`params`, `peer`, `extensions`, `signal`). What it
 * returns is ignored unless it is a promise: a throw or a rejection is reported and closes the
 * socket with 1011.
 *
 * @example
 * ```ts
 * const echo: WebSocketHandler = (ws, req, ctx) => {
 *   ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
 *   ctx.signal.addEventListener("abort", () => ws.send("bye"));
 * };
 * ```
 */
export type WebSocketHandler<P = Readonly<Record<string, string>>> = (ws: WebSocket, req: Request, ctx: RequestContext<P>) => unknown;

/**
 * Options of `router.ws()`.
 *
 * @example
 * ```ts
 * router.ws("/events", handler, { maxPayload: 64 * 1024 } satisfies WebSocketRouteOptions);
 * ```
 */
export interface WebSocketRouteOptions {
  /** The largest message accepted, in bytes; a bigger one closes the connection with 1009. Default: 1 MiB. */
  readonly maxPayload?: number | undefined;
}

/** The default `maxPayload` of `router.ws()`: 1 MiB. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** @internal Marks the context of an upgrade request. */
export const kUpgrade = Symbol("tako.upgrade");

type WsModule = typeof import("ws");
let wsModule: Promise<WsModule> | undefined;

/** @internal The `ws` package, imported on first need (only servers with a WebSocket route load it). */
export function loadWs(): Promise<WsModule> {
  return (wsModule ??= import("ws"));
}

/**
 * @internal Extra 101 headers middleware set, per upgrade request. One map for the module: a
 * route's `ws` server (cached on the route) reads it whichever listener serves the Router.
 */
export const handshakeHeaders = new WeakMap<object, Headers>();

/** @internal A `router.ws()` endpoint: its handler, its limit, and its `ws` server (made on first upgrade). */
export class WebSocketRoute {
  readonly handler: WebSocketHandler;
  readonly maxPayload: number;
  #server: Promise<WebSocketServer> | undefined;

  constructor(handler: WebSocketHandler, options: WebSocketRouteOptions) {
    if (typeof handler !== "function") throw new InvalidRouteError("the WebSocket handler must be a function (ws, req, ctx)");
    if (typeof options !== "object" || options === null) throw new InvalidRouteError("router.ws options must be an object");
    for (const key of Object.keys(options)) {
      if (key !== "maxPayload") throw new InvalidRouteError(`unknown router.ws option ${JSON.stringify(key)} (known: maxPayload)`);
    }
    const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    if (typeof maxPayload !== "number" || !Number.isInteger(maxPayload) || maxPayload < 1 || maxPayload > 0x7fffffff) {
      throw new InvalidRouteError(`maxPayload must be an integer number of bytes from 1 to 2^31-1; got ${String(maxPayload)}`);
    }
    this.handler = handler;
    this.maxPayload = maxPayload;
  }

  /** The route's answer: the upgrade's go-ahead for an upgrade request, 426 for any other. */
  answer(ctx: object): Response {
    if ((ctx as { [kUpgrade]?: boolean })[kUpgrade] === true) return new UpgradeAccepted(this);
    throw new HttpError(426, "this path takes WebSocket connections only", { headers: { upgrade: "websocket", connection: "Upgrade" } });
  }

  /** The `ws` server of this route (no HTTP server of its own; deflate off; no client tracking, the drain tracks them). */
  server(): Promise<WebSocketServer> {
    return (this.#server ??= loadWs().then(({ WebSocketServer }) => {
      const wss = new WebSocketServer({ noServer: true, maxPayload: this.maxPayload, perMessageDeflate: false, clientTracking: false });
      wss.on("headers", (headers, req) => {
        const extra = handshakeHeaders.get(req);
        if (extra !== undefined) for (const [name, value] of extra) headers.push(`${name}: ${value}`);
      });
      return wss;
    }));
  }
}

/**
 * @internal What `next()` resolves with for an upgrade the route accepts (a Response cannot have
 * status 101). Returned through the middleware, it lets the handshake go on; its headers are added
 * to the 101 response.
 */
export class UpgradeAccepted extends Response {
  readonly route: WebSocketRoute;

  constructor(route: WebSocketRoute) {
    super(null, { status: 200 });
    this.route = route;
  }
}
