import { STATUS_CODES } from "node:http";
import { InvalidConfigError, TakoError } from "@tako/core";

/**
 * Anything `new Headers(init)` takes.
 *
 * @example
 * ```ts
 * const headers: HeadersInit = { "retry-after": "5" };
 * ```
 */
export type HeadersInit = ConstructorParameters<typeof Headers>[0];

/**
 * Options for {@link HttpError}.
 *
 * @example
 * ```ts
 * throw new HttpError(429, "slow down", { headers: { "retry-after": "5" } });
 * ```
 */
export interface HttpErrorOptions extends ErrorOptions {
  /** Whether `message` may be sent to the client. Default: true below 500, false from 500 up. */
  readonly expose?: boolean;
  /** Extra response headers, e.g. `{ "retry-after": "5" }`. */
  readonly headers?: HeadersInit;
}

/**
 * An HTTP error response, thrown by a handler or middleware (or produced by the router for 404,
 * 405, 400, 413, 503) and handed to the {@link Router.onError} hook. Throwing it answers with its
 * `status`; it is not reported as a handler failure. Below 500 its `message` is the response body;
 * from 500 up the body is the status text only, unless `expose` is set.
 * Code: `ERR_TAKO_HTTP`.
 *
 * @example
 * ```ts
 * router.get("/admin", (req) => {
 *   if (!req.headers.get("authorization")) throw new HttpError(401, "log in first");
 *   return "welcome";
 * });
 * ```
 */
export class HttpError extends TakoError {
  /** The response status, 400 to 599. */
  readonly status: number;
  /** Whether {@link HttpError.message} is safe to send as the body. */
  readonly expose: boolean;
  /** Extra response headers. */
  readonly headers: HeadersInit | undefined;

  constructor(status: number, message?: string, options: HttpErrorOptions = {}) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new InvalidConfigError("status", `HttpError status must be an integer from 400 to 599; got ${String(status)}`);
    }
    super("ERR_TAKO_HTTP", message ?? STATUS_CODES[status] ?? `HTTP ${status}`, options);
    this.status = status;
    this.expose = options.expose ?? status < 500;
    this.headers = options.headers;
  }
}

/**
 * A route that cannot be registered: a path that does not start with `/`, a bad parameter name, a
 * `{*rest}` that is not the last segment, an unknown method token.
 * Code: `ERR_TAKO_INVALID_ROUTE`.
 *
 * @example
 * ```ts
 * router.get("users/{id}", handler); // throws InvalidRouteError: the path must start with "/"
 * ```
 */
export class InvalidRouteError extends TakoError {
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_TAKO_INVALID_ROUTE", message, options);
  }
}

/**
 * The same method and path registered twice (`/users/{id}` and `/users/:name` are the same path).
 * Code: `ERR_TAKO_DUPLICATE_ROUTE`.
 *
 * @example
 * ```ts
 * router.get("/users/{id}", a);
 * router.get("/users/:name", b); // throws DuplicateRouteError
 * ```
 */
export class DuplicateRouteError extends TakoError {
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_TAKO_DUPLICATE_ROUTE", message, options);
  }
}

/**
 * A handler returned something that is not a response: a number, a boolean, a function, a class
 * instance without `toJSON`. Reported as a handler failure and answered with 500.
 * Code: `ERR_TAKO_INVALID_RESPONSE`.
 *
 * @example
 * ```ts
 * router.get("/n", () => 42 as never); // GET /n -> 500, reported with InvalidResponseError
 * ```
 */
export class InvalidResponseError extends TakoError {
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_TAKO_INVALID_RESPONSE", message, options);
  }
}

/**
 * A middleware called `next()` a second time: the rest of the chain runs once per request.
 * Reported as a handler failure and answered with 500. Code: `ERR_TAKO_NEXT_CALLED_TWICE`.
 *
 * @example
 * ```ts
 * router.use(async (req, ctx, next) => {
 *   await next();
 *   return next(); // rejects with MiddlewareError
 * });
 * ```
 */
export class MiddlewareError extends TakoError {
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_TAKO_NEXT_CALLED_TWICE", message, options);
  }
}

/**
 * @internal The request body stream failed because the client went away (reset, or closed before
 * the body was complete). Normal traffic: never reported as a handler failure. Its code is
 * `ECONNRESET`, so `isPeerGone` knows it.
 */
export class ClientGoneError extends TakoError {
  constructor(options?: ErrorOptions) {
    super("ECONNRESET", "the client went away before the request body was complete", options);
  }
}
