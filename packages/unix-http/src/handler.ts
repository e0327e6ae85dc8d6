import type { Logger } from "@tako/core";
import type { UnixPeerAddr } from "@tako/unix";
import type { RequestContext } from "./context.ts";
import type { HttpError } from "./errors.ts";
import type { HandlerResult } from "./response.ts";

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
 * What middleware calls to run the rest of the chain; resolves with its response. Call it at most
 * once. For a WebSocket upgrade that the route would accept, it resolves with a placeholder
 * Response (status 200): return it to let the upgrade through (headers set on it are added to the
 * handshake's 101 response), or return another response to refuse the upgrade with it.
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
 * inside `next()` propagate to it. It runs for WebSocket upgrades too, before the handshake.
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
 * The error hook: shapes every error response (400, 404, 405, 413, 426, 500, 503 and thrown
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
 * Options for `router.fetch`.
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
