import { STATUS_CODES } from "node:http";
import { type Context, EMPTY_PARAMS } from "./context.ts";
import { ClientGoneError, HttpError, MiddlewareError } from "./errors.ts";
import { isThenable } from "@tako/core/listener";
import type { ErrorHandler, Handler, MaybePromise, Middleware, Next } from "./handler.ts";
import { text, toResponse, type HandlerResult } from "./response.ts";

/**
 * @internal Turns an error into the error response: reports it unless it is an
 * {@link HttpError}, then runs the error hook. Never throws or rejects.
 */
export function failWith(hook: ErrorHandler | undefined, error: unknown, request: Request, ctx: Context): MaybePromise<Response> {
  let httpError: HttpError;
  if (error instanceof HttpError) httpError = error;
  else if (error instanceof ClientGoneError) httpError = new HttpError(400, "incomplete request body", { cause: error });
  else {
    ctx.host.report(error, ctx.peer);
    httpError = new HttpError(500, undefined, { cause: error });
  }
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
      (result) => shape(result, httpError, ctx),
      (hookError: unknown) => {
        ctx.host.report(hookError, ctx.peer);
        return errorResponse(httpError);
      },
    );
  }
  return shape(shaped, httpError, ctx);
}

/** The error hook's result as the error response (the error's status unless it is a Response). */
function shape(result: HandlerResult, error: HttpError, ctx: Context): Response {
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

/** The default error response: the status text (or an exposed message) as plain text. */
export function errorResponse(error: HttpError): Response {
  const body = error.expose ? error.message : (STATUS_CODES[error.status] ?? `HTTP ${error.status}`);
  try {
    return text(body, { status: error.status, headers: error.headers });
  } catch {
    return text(body, { status: error.status }); // headers that Headers refuses are dropped
  }
}

/** Runs the middleware `chain` from `index`, then `final`. */
export function runChain(chain: readonly Middleware[], index: number, final: Handler, request: Request, ctx: Context): MaybePromise<HandlerResult> {
  const mw = chain[index];
  if (mw === undefined) return final(request, ctx);
  let called = false;
  const next: Next = async () => {
    if (called) throw new MiddlewareError("next() called more than once in one middleware");
    called = true;
    return toResponse(await runChain(chain, index + 1, final, request, ctx));
  };
  return mw(request, ctx, next);
}

/** Percent-decodes parameter values; a malformed escape is a 400. */
export function decodeParams(raw: Record<string, string> | undefined): Readonly<Record<string, string>> {
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

/** @internal The raw path of a request target: origin-form up to the query, the path of an absolute-form one, `*` as is. */
export function targetPath(url: string): string {
  const query = url.indexOf("?");
  const path = query < 0 ? url : url.slice(0, query);
  if (path.charCodeAt(0) === 47 /* "/" */ || path === "*") return path;
  try {
    return new URL(url).pathname; // absolute-form target
  } catch {
    return path; // not a URL either: the router answers 400
  }
}
