import { STATUS_CODES } from "node:http";
import { type Logger } from "@tako/core";
import { channels, checkLogger, isThenable } from "@tako/core/listener";
import { UnixPeerAddr } from "@tako/unix";
import { addRoute, createRouter, findAllRoutes, routeNodeKeys, compareRoutes, type RouterContext } from "rou3";
import { compileRouter } from "rou3/compiler";
import { Context, type RequestContext, type RequestHost } from "./context.ts";
import { ClientGoneError, DuplicateRouteError, HttpError, InvalidRouteError } from "./errors.ts";
import { rawBodyOf, text, toResponse, type HandlerResult } from "./response.ts";
import { translatePath, type PathParams } from "./route-path.ts";

/**
 * A value or a promise of it.
 *
 * @example
 * ```ts
 * const later: MaybePromise<string> = Promise.resolve("hi");
 * ```
 */
export type MaybePromise<T> = T | Promise<T>;

/**
 * A route handler: a Web `Request` (built only when touched) and the {@link RequestContext};
 * returns a {@link HandlerResult}, directly or as a promise.
 *
 * @example
 * ```ts
 * const hello: Handler = (req, ctx) => `hello ${ctx.params.name}`;
 * ```
 */
export type Handler<P = Readonly<Record<string, string>>> = (req: Request, ctx: RequestContext<P>) => MaybePromise<HandlerResult>;

/**
 * What middleware calls to run the rest of the chain; resolves with its response. Call it at most once.
 *
 * @example
 * ```ts
 * router.use(async (req, ctx, next: Next) => {
 *   const res = await next();
 *   return res.status === 404 ? "custom not found" : res;
 * });
 * ```
 */
export type Next = () => Promise<Response>;

/**
 * Middleware: runs before the handler, in registration order (global ones first, then the
 * route's). It may answer by itself (short-circuit: return without calling `next`), or call
 * `next()` and return that response, changed or replaced (wrap). Errors thrown by what runs
 * inside `next()` propagate to it.
 *
 * @example
 * ```ts
 * const timing: Middleware = async (req, ctx, next) => {
 *   const started = performance.now();
 *   const res = await next();
 *   res.headers.set("server-timing", `app;dur=${performance.now() - started}`);
 *   return res;
 * };
 * ```
 */
export type Middleware = (req: Request, ctx: RequestContext, next: Next) => MaybePromise<HandlerResult>;

/**
 * The error hook: shapes every error response (400, 404, 405, 413, 500, 503 and thrown
 * {@link HttpError}s). Return a Response or any {@link HandlerResult} (which gets the error's
 * status), or `undefined` for the default plain-text answer.
 *
 * @example
 * ```ts
 * router.onError((error) => json({ error: error.expose ? error.message : "internal error" }));
 * ```
 */
export type ErrorHandler = (error: HttpError, req: Request, ctx: RequestContext) => MaybePromise<HandlerResult>;

/**
 * Options for `new Router()`.
 *
 * @example
 * ```ts
 * const router = new Router({ logger: pino() });
 * ```
 */
export interface RouterOptions {
  /** Where `router.fetch` reports handler failures (a server reports to its own logger). Default: stderr. */
  readonly logger?: Logger | undefined;
}

/**
 * Options for {@link Router.fetch}.
 *
 * @example
 * ```ts
 * await router.fetch(new Request("http://localhost/peer"), { peer: new UnixPeerAddr("/run/client.sock") });
 * ```
 */
export interface RouterFetchInit {
  /** The peer the handlers see. Default: an unnamed `UnixPeerAddr`. */
  readonly peer?: UnixPeerAddr | undefined;
  /** `ctx.signal`. Default: the request's signal. */
  readonly signal?: AbortSignal | undefined;
}

/** HTTP method token (RFC 9110). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
const NO_MIDDLEWARE: readonly Middleware[] = Object.freeze([]);

/** @internal Symbols for the server's access to the router. */
export const kHandle = Symbol("tako.router.handle");
/** @internal */
export const kFail = Symbol("tako.router.fail");

/**
 * A registered route, returned by `router.route()` and the method helpers, so middleware can be
 * attached to it alone.
 *
 * @example
 * ```ts
 * router.get("/admin", adminPage).use(requireLogin);
 * ```
 */
export class Route {
  /** The method, upper-case, or `"*"` for {@link Router.all}. */
  readonly method: string;
  /** The path as registered. */
  readonly path: string;
  /** @internal */
  readonly handler: Handler;
  /** @internal The `{*rest}` parameter's name, if the route has one. */
  readonly catchAll: string | undefined;
  readonly #middleware: Middleware[] = [];
  #chain: readonly Middleware[] = NO_MIDDLEWARE;
  #chainVersion = -1;

  /** @internal */
  constructor(method: string, path: string, handler: Handler, catchAll: string | undefined) {
    this.method = method;
    this.path = path;
    this.handler = handler;
    this.catchAll = catchAll;
  }

  /** Adds middleware that runs for this route only, after the global ones, in the order added. */
  use(...middleware: Middleware[]): this {
    for (const mw of middleware) {
      if (typeof mw !== "function") throw new TypeError("middleware must be a function (req, ctx, next)");
      this.#middleware.push(mw);
    }
    this.#chainVersion = -1;
    return this;
  }

  /** @internal The global middleware followed by the route's, cached until either changes. */
  chain(global: readonly Middleware[], version: number): readonly Middleware[] {
    if (this.#chainVersion !== version) {
      this.#chain = global.length + this.#middleware.length === 0 ? NO_MIDDLEWARE : [...global, ...this.#middleware];
      this.#chainVersion = version;
    }
    return this.#chain;
  }
}

type Match = { readonly data: Route; readonly params?: Record<string, string> };
type Finder = (method: string, path: string) => Match | undefined;

/**
 * Routes HTTP requests to handlers, matched by rou3. Paths use Tako syntax: `{name}` (or
 * `:name`) captures a segment, `{*rest}` (last segment only) the rest of the path; parameters are
 * percent-decoded. Unknown paths answer 404 (or the fallback), a known path with another method
 * 405 with `Allow`; HEAD is served by GET without a body; OPTIONS answers 204 with `Allow` unless
 * routed. Serve it with `serveUnixHttp`, or call {@link Router.fetch} with no socket at all.
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
  readonly #routes: RouterContext<Route> = createRouter<Route>();
  /** Every route under the method `""`, to list the methods a path allows. */
  readonly #paths: RouterContext<Route> = createRouter<Route>();
  /** Registered patterns per method and rou3 node, for the duplicate check. */
  readonly #registered = new Map<string, string[]>();
  readonly #methods = new Set<string>();
  #find: Finder | undefined;
  #middleware: Middleware[] = [];
  #version = 0;
  #hasHeadRoutes = false;
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
    if (typeof method !== "string" || (method !== "*" && !TOKEN.test(method))) {
      throw new InvalidRouteError(`invalid HTTP method ${JSON.stringify(method)}`);
    }
    if (typeof handler !== "function") throw new InvalidRouteError(`the handler for ${method} ${String(path)} must be a function`);
    const upper = method.toUpperCase();
    const translated = translatePath(path);
    const rouMethod = upper === "*" ? "" : upper;
    let nodeKeys: string[];
    try {
      nodeKeys = routeNodeKeys(translated.pattern);
    } catch (error) {
      throw new InvalidRouteError(`invalid route path ${JSON.stringify(path)}: ${(error as Error).message}`, { cause: error });
    }
    for (const key of nodeKeys) {
      const same = this.#registered.get(`${rouMethod} ${key}`)?.find((other) => compareRoutes(other, translated.pattern) === "equal");
      if (same !== undefined) {
        throw new DuplicateRouteError(`${upper === "*" ? "ALL" : upper} ${path} is already registered (as a path matching the same requests)`);
      }
    }
    const route = new Route(upper, path, handler as Handler, translated.catchAll);
    try {
      addRoute(this.#routes, rouMethod, translated.pattern, route);
    } catch (error) {
      throw new InvalidRouteError(`invalid route path ${JSON.stringify(path)}: ${(error as Error).message}`, { cause: error });
    }
    addRoute(this.#paths, "", translated.pattern, route);
    for (const key of nodeKeys) {
      const slot = `${rouMethod} ${key}`;
      const list = this.#registered.get(slot);
      if (list) list.push(translated.pattern);
      else this.#registered.set(slot, [translated.pattern]);
    }
    if (upper === "HEAD") this.#hasHeadRoutes = true;
    this.#methods.add(upper);
    this.#find = undefined;
    return route;
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
   * Adds global middleware: it runs for every request (404s, 405s and the fallback included),
   * before route middleware, in the order added.
   *
   * @example
   * ```ts
   * router.use(async (req, ctx, next) => (req.headers.get("x-token") === "s3cret" ? next() : new Response(null, { status: 401 })));
   * ```
   */
  use(...middleware: Middleware[]): this {
    for (const mw of middleware) {
      if (typeof mw !== "function") throw new TypeError("middleware must be a function (req, ctx, next)");
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
    if (typeof handler !== "function") throw new TypeError("the fallback must be a function (req, ctx)");
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
    if (typeof handler !== "function") throw new TypeError("the error handler must be a function (error, req, ctx)");
    this.#onError = handler;
    return this;
  }

  /**
   * Answers `request` without any socket: routing, middleware, errors and result conversion run
   * exactly as when served. Handy in tests.
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
    if (request.method !== "HEAD") return response;
    const headers = new Headers(response.headers);
    const raw = rawBodyOf(response);
    if (raw !== undefined && !headers.has("content-length")) headers.set("content-length", String(typeof raw === "string" ? Buffer.byteLength(raw) : raw.byteLength));
    await response.body?.cancel().catch(() => {});
    return new Response(null, { status: response.status, statusText: response.statusText, headers });
  }

  /**
   * @internal Routes and runs a request; never throws or rejects: failures become error results.
   * `path` is the raw (percent-encoded) path of the request target.
   */
  [kHandle](method: string, path: string, request: Request, ctx: Context): MaybePromise<HandlerResult> {
    let match: Match | undefined;
    try {
      if (path.charCodeAt(0) !== 47 /* "/" */) return this.#oddTarget(method, path, request, ctx);
      match = this.#match(method, path);
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

  /**
   * @internal Turns an error into the error response: reports it unless it is an
   * {@link HttpError}, then runs the error hook. Never throws or rejects.
   */
  [kFail](error: unknown, request: Request, ctx: Context): MaybePromise<Response> {
    let httpError: HttpError;
    if (error instanceof HttpError) httpError = error;
    else if (error instanceof ClientGoneError) httpError = new HttpError(400, "incomplete request body", { cause: error });
    else {
      ctx.host.report(error, ctx.peer);
      httpError = new HttpError(500, undefined, { cause: error });
    }
    const hook = this.#onError;
    if (hook === undefined) return errorResponse(httpError);
    let shaped: MaybePromise<HandlerResult>;
    try {
      shaped = hook(httpError, request, ctx);
    } catch (hookError) {
      ctx.host.report(hookError, ctx.peer);
      return errorResponse(httpError);
    }
    if (isThenable<HandlerResult>(shaped)) {
      return Promise.resolve(shaped).then(
        (result) => this.#shape(result, httpError, ctx),
        (hookError: unknown) => {
          ctx.host.report(hookError, ctx.peer);
          return errorResponse(httpError);
        },
      );
    }
    return this.#shape(shaped, httpError, ctx);
  }

  #shape(result: HandlerResult, error: HttpError, ctx: Context): Response {
    if (result === undefined) return errorResponse(error);
    let response: Response;
    try {
      response = result instanceof Response ? result : toResponse(result, error.status);
    } catch (shapeError) {
      ctx.host.report(shapeError, ctx.peer);
      return errorResponse(error);
    }
    const allow = error.status === 405 ? new Headers(error.headers).get("allow") : null;
    if (allow !== null && !response.headers.has("allow")) {
      try {
        response.headers.set("allow", allow);
      } catch {
        // An immutable-headers Response (e.g. from fetch()); keep it as it is.
      }
    }
    return response;
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

  #match(method: string, path: string): Match | undefined {
    if (method === "HEAD") {
      if (this.#hasHeadRoutes) {
        const head = this.#lookup("HEAD", path);
        if (head !== undefined && head.data.method === "HEAD") return head;
        return this.#lookup("GET", path) ?? head;
      }
      return this.#lookup("GET", path);
    }
    return this.#lookup(method, path);
  }

  #lookup(method: string, path: string): Match | undefined {
    const find = (this.#find ??= compileRouter(this.#routes) as Finder);
    const match = find(method, path);
    if (match === undefined || match.data.catchAll === undefined || match.params?.[match.data.catchAll]) return match;
    // A {*rest} needs at least one character; look for the next best route that fits.
    const all = findAllRoutes(this.#routes, method, path);
    for (let i = all.length - 1; i >= 0; i--) {
      const candidate = all[i] as Match;
      if (candidate.data.catchAll === undefined || candidate.params?.[candidate.data.catchAll]) return candidate;
    }
    return undefined;
  }

  /** The methods some route on `path` answers, with HEAD (when GET is there) and OPTIONS. */
  #allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const match of findAllRoutes(this.#paths, "", path)) {
      const route = match.data;
      if (route.catchAll !== undefined && !match.params?.[route.catchAll]) continue;
      methods.add(route.method);
    }
    if (methods.size === 0) return [];
    if (methods.has("GET")) methods.add("HEAD");
    methods.add("OPTIONS");
    methods.delete("*");
    return [...methods].sort();
  }

  /** No route for this method: 405 or OPTIONS' answer for a known path, else the fallback or 404. */
  #miss(method: string, path: string, request: Request, ctx: Context): MaybePromise<HandlerResult> {
    const allowed = this.#allowed(path);
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
      const methods = new Set([...this.#methods].filter((m) => m !== "*"));
      if (methods.has("GET")) methods.add("HEAD");
      methods.add("OPTIONS");
      return new Response(null, { status: 204, headers: { allow: [...methods].sort().join(", ") } });
    }
    return this[kFail](new HttpError(400, "the request target is not a path"), request, ctx);
  }
}

function runChain(chain: readonly Middleware[], index: number, final: Handler, request: Request, ctx: Context): MaybePromise<HandlerResult> {
  const mw = chain[index];
  if (mw === undefined) return final(request, ctx);
  let called = false;
  const next: Next = async () => {
    if (called) throw new Error("next() called more than once in one middleware");
    called = true;
    return toResponse(await runChain(chain, index + 1, final, request, ctx));
  };
  return mw(request, ctx, next);
}

/** Percent-decodes parameter values; a malformed escape is a 400. */
function decodeParams(raw: Record<string, string> | undefined): Readonly<Record<string, string>> {
  if (raw === undefined) return EMPTY_PARAMS;
  let decoded: Record<string, string> | undefined;
  for (const key in raw) {
    const value = raw[key] as string;
    if (value.indexOf("%") < 0) continue;
    decoded ??= { ...raw };
    try {
      decoded[key] = decodeURIComponent(value);
    } catch {
      throw new HttpError(400, `malformed percent-encoding in path parameter ${JSON.stringify(key)}`);
    }
  }
  return decoded ?? raw;
}

/** The default error response: the status text (or an exposed message) as plain text. */
function errorResponse(error: HttpError): Response {
  const body = error.expose ? error.message : (STATUS_CODES[error.status] ?? `HTTP ${error.status}`);
  try {
    return text(body, { status: error.status, headers: error.headers });
  } catch {
    return text(body, { status: error.status }); // headers that Headers refuses are dropped
  }
}

