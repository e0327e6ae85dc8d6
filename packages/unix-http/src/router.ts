import { channels, checkFunction, checkLogger, isThenable } from "@tako/core/listener";
import { Context, EMPTY_PARAMS, type RequestHost } from "./context.ts";
import { decodeParams, failWith, runChain } from "./dispatch.ts";
import { HttpError } from "./errors.ts";
import type { ErrorHandler, Handler, MaybePromise, Middleware, RouterFetchInit, RouterOptions } from "./handler.ts";
import { headResponse, toResponse, type HandlerResult } from "./response.ts";
import type { PathParams } from "./route-path.ts";
import { Route, RouteTable, type Match } from "./route-table.ts";
import { WebSocketRoute, type WebSocketHandler, type WebSocketRouteOptions } from "./websocket.ts";

export type { ErrorHandler, Handler, MaybePromise, Middleware, Next, RouterFetchInit, RouterOptions } from "./handler.ts";
export { Route } from "./route-table.ts";

/** @internal Symbols for the server's access to the router. */
export const kHandle = Symbol("tako.router.handle");
/** @internal */
export const kFail = Symbol("tako.router.fail");

/**
 * Routes HTTP requests to handlers, matched by rou3. Paths use Tako syntax: `{name}` (or
 * `:name`) captures a segment, `{*rest}` (last segment only) the rest of the path; parameters are
 * percent-decoded. Unknown paths answer 404 (or the fallback), a known path with another method
 * 405 with `Allow`; HEAD is served by GET without a body; OPTIONS answers 204 with `Allow` unless
 * routed. `router.ws()` adds WebSocket endpoints. Serve it with `serveUnixHttp` (HTTP/1.1 and,
 * with `protocols`, h2c), or call {@link Router.fetch} with no socket at all.
 *
 * @example
 * ```ts
 * const router = new Router();
 * router.get("/", () => "hello from unix");
 * router.get("/users/{id}", (req, ctx) => ({ id: ctx.params.id }));
 * const res = await router.fetch(new Request("http://localhost/users/7")); // {"id":"7"}
 * ```
 */
export class Router {
  readonly #table = new RouteTable();
  #middleware: Middleware[] = [];
  #version = 0;
  #fallback: Route | undefined;
  #onError: ErrorHandler | undefined;
  readonly #host: RequestHost;

  constructor(options: RouterOptions = {}) {
    const logger = checkLogger(options.logger);
    this.#host = {
      report(error, peer) {
        if (channels.handlerError.hasSubscribers) channels.handlerError.publish({ kind: "unix-http", server: undefined, peer, error });
        if (logger) logger.error({ err: error, peer, kind: "unix-http" }, "unix-http handler failed");
        else process.stderr.write(`[tako] unix-http handler failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      },
    };
  }

  /**
   * Registers `handler` for `method` (any token; `"*"` for every method) and `path`. Throws
   * {@link InvalidRouteError} for a bad method or path and {@link DuplicateRouteError} when the
   * method and path are already registered.
   *
   * @example
   * ```ts
   * router.route("PROPFIND", "/dav/{*path}", (req, ctx) => ctx.params.path);
   * ```
   */
  route<P extends string>(method: string, path: P, handler: Handler<PathParams<P>>): Route {
    return this.#table.add(method, path, handler as Handler);
  }

  /** Registers a GET handler (which also answers HEAD). @example router.get("/", () => "hi"); */
  get<P extends string>(path: P, handler: Handler<PathParams<P>>): Route {
    return this.route("GET", path, handler);
  }

  /** Registers a POST handler. @example router.post("/items", async (req) => json(await req.json(), { status: 201 })); */
  post<P extends string>(path: P, handler: Handler<PathParams<P>>): Route {
    return this.route("POST", path, handler);
  }

  /** Registers a PUT handler. @example router.put("/items/{id}", (req, ctx) => ctx.params.id); */
  put<P extends string>(path: P, handler: Handler<PathParams<P>>): Route {
    return this.route("PUT", path, handler);
  }

  /** Registers a PATCH handler. @example router.patch("/items/{id}", (req, ctx) => ctx.params.id); */
  patch<P extends string>(path: P, handler: Handler<PathParams<P>>): Route {
    return this.route("PATCH", path, handler);
  }

  /** Registers a DELETE handler. @example router.delete("/items/{id}", () => null); // 204 */
  delete<P extends string>(path: P, handler: Handler<PathParams<P>>): Route {
    return this.route("DELETE", path, handler);
  }

  /** Registers a HEAD handler (without one, HEAD is served by GET). @example router.head("/", () => null); */
  head<P extends string>(path: P, handler: Handler<PathParams<P>>): Route {
    return this.route("HEAD", path, handler);
  }

  /** Registers an OPTIONS handler (without one, OPTIONS answers 204 with `Allow`). @example router.options("/", () => null); */
  options<P extends string>(path: P, handler: Handler<PathParams<P>>): Route {
    return this.route("OPTIONS", path, handler);
  }

  /** Registers a handler for every method; a method-specific route on the same path wins. @example router.all("/echo", (req) => req.method); */
  all<P extends string>(path: P, handler: Handler<PathParams<P>>): Route {
    return this.route("*", path, handler);
  }

  /**
   * Registers a WebSocket endpoint at `path` (a GET route): an HTTP/1.1 upgrade request runs the
   * global and the route's middleware first (a middleware that answers refuses the upgrade with
   * that response, e.g. 401), then completes the handshake with the `ws` package (loaded on first
   * use) and calls `handler(ws, req, ctx)`. A plain request to the path gets 426; another method
   * 405. Messages over `maxPayload` bytes (default 1 MiB) close the connection with 1009;
   * per-message deflate is off. On shutdown `ctx.signal` aborts, then every open WebSocket gets
   * close code 1001 and is awaited up to `drainTimeout`, then terminated.
   *
   * @example
   * ```ts
   * router.ws("/events/{topic}", (ws, req, ctx) => {
   *   ws.send(`subscribed to ${ctx.params.topic}`);
   *   ws.on("message", (data) => ws.send(data));
   * }, { maxPayload: 64 * 1024 });
   * ```
   */
  ws<P extends string>(path: P, handler: WebSocketHandler<PathParams<P>>, options: WebSocketRouteOptions = {}): Route {
    const endpoint = new WebSocketRoute(handler as WebSocketHandler, options);
    return this.#table.add("GET", path, (_req, ctx) => endpoint.answer(ctx as Context));
  }

  /**
   * Adds global middleware: it runs for every request (404s, 405s, the fallback and WebSocket
   * upgrades included), before route middleware, in the order added.
   *
   * @example
   * ```ts
   * router.use(async (req, ctx, next) => (req.headers.get("x-token") === "s3cret" ? next() : new Response(null, { status: 401 })));
   * ```
   */
  use(...middleware: Middleware[]): this {
    for (const mw of middleware) {
      checkFunction("middleware", mw);
    }
    this.#middleware = [...this.#middleware, ...middleware];
    this.#version++;
    return this;
  }

  /**
   * Sets the handler for requests no route matches (instead of 404; a known path with another
   * method still gets 405). `ctx.params` is empty.
   *
   * @example
   * ```ts
   * router.fallback((req) => new Response(`nothing at ${new URL(req.url).pathname}`, { status: 404 }));
   * ```
   */
  fallback(handler: Handler): this {
    checkFunction("fallback", handler);
    this.#fallback = new Route("*", "*", handler, undefined);
    return this;
  }

  /**
   * Sets the error hook that shapes error responses; see {@link ErrorHandler}. A 500's error is the
   * {@link HttpError} whose `cause` is what was thrown (already reported by then).
   *
   * @example
   * ```ts
   * router.onError((error) => json({ status: error.status, error: error.expose ? error.message : "internal error" }));
   * ```
   */
  onError(handler: ErrorHandler): this {
    checkFunction("onError", handler);
    this.#onError = handler;
    return this;
  }

  /**
   * Answers `request` without any socket: routing, middleware, errors and result conversion run
   * exactly as when served. Handy in tests. (A WebSocket route answers 426 here: there is no
   * connection to upgrade.)
   *
   * @example
   * ```ts
   * const res = await router.fetch(new Request("http://localhost/"));
   * expect(await res.text()).toBe("hello from unix");
   * ```
   */
  async fetch(request: Request, init: RouterFetchInit = {}): Promise<Response> {
    const ctx = new Context(EMPTY_PARAMS, init.signal ?? request.signal, this.#host, init.peer, undefined);
    let path: string;
    try {
      path = new URL(request.url).pathname;
    } catch {
      path = "";
    }
    let response: Response;
    try {
      response = toResponse(await this[kHandle](request.method, path, request, ctx));
    } catch (error) {
      response = toResponse(await this[kFail](error, request, ctx));
    }
    return request.method === "HEAD" ? headResponse(response) : response;
  }

  /**
   * @internal Routes and runs a request; never throws or rejects: failures become error results.
   * `path` is the raw (percent-encoded) path of the request target.
   */
  [kHandle](method: string, path: string, request: Request, ctx: Context): MaybePromise<HandlerResult> {
    let match: Match | undefined;
    try {
      if (path.charCodeAt(0) !== 47 /* "/" */) return this.#oddTarget(method, path, request, ctx);
      match = this.#table.match(method, path);
      if (match !== undefined) ctx.params = decodeParams(match.params);
    } catch (error) {
      return this[kFail](error, request, ctx);
    }
    if (match === undefined) return this.#miss(method, path, request, ctx);
    const route = match.data;
    const chain = route.chain(this.#middleware, this.#version);
    if (chain.length === 0) return this.#call(route.handler, request, ctx);
    return this.#run(chain, route.handler, request, ctx);
  }

  /** @internal Turns an error into the error response (see `failWith`). Never throws or rejects. */
  [kFail](error: unknown, request: Request, ctx: Context): MaybePromise<Response> {
    return failWith(this.#onError, error, request, ctx);
  }

  #call(handler: Handler, request: Request, ctx: Context): MaybePromise<HandlerResult> {
    let result: MaybePromise<HandlerResult>;
    try {
      result = handler(request, ctx);
    } catch (error) {
      return this[kFail](error, request, ctx);
    }
    if (isThenable(result)) return Promise.resolve(result).then(undefined, (error: unknown) => this[kFail](error, request, ctx));
    return result;
  }

  async #run(chain: readonly Middleware[], final: Handler, request: Request, ctx: Context): Promise<HandlerResult> {
    try {
      return await runChain(chain, 0, final, request, ctx);
    } catch (error) {
      return this[kFail](error, request, ctx);
    }
  }

  /** No route for this method: 405 or OPTIONS' answer for a known path, else the fallback or 404. */
  #miss(method: string, path: string, request: Request, ctx: Context): MaybePromise<HandlerResult> {
    const allowed = this.#table.allowed(path);
    let final: Handler;
    if (allowed.length > 0) {
      const allow = allowed.join(", ");
      final =
        method === "OPTIONS"
          ? () => new Response(null, { status: 204, headers: { allow } })
          : (req, c) => this[kFail](new HttpError(405, undefined, { headers: { allow } }), req, c as Context);
    } else {
      final = this.#fallback?.handler ?? ((req, c) => this[kFail](new HttpError(404), req, c as Context));
    }
    if (this.#middleware.length === 0) return this.#call(final, request, ctx);
    return this.#run(this.#middleware, final, request, ctx);
  }

  /** A request target that is not a path: `OPTIONS *` lists every method; anything else is a 400. */
  #oddTarget(method: string, path: string, request: Request, ctx: Context): MaybePromise<HandlerResult> {
    if (method === "OPTIONS" && path === "*") {
      return new Response(null, { status: 204, headers: { allow: this.#table.methods().join(", ") } });
    }
    return this[kFail](new HttpError(400, "the request target is not a path"), request, ctx);
  }
}
