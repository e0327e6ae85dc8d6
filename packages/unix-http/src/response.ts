import { InvalidResponseError } from "./errors.ts";

/**
 * An object that becomes a JSON body: a plain object, an array, or anything with `toJSON` (such as
 * `UnixPeerAddr` or `Date`). Typed as `object` so interfaces fit; checked at run time (a class
 * instance without `toJSON` is an {@link InvalidResponseError}).
 *
 * @example
 * ```ts
 * const body: JsonBody = { id: 1, tags: ["a"] };
 * ```
 */
export type JsonBody = object;

/**
 * What a handler (or middleware) may return:
 * - a `Response`, sent as is;
 * - a `string`: 200, `text/plain; charset=utf-8`;
 * - a plain object or array, or an object with `toJSON` (such as `UnixPeerAddr`): 200, JSON;
 * - a `Uint8Array` or `ArrayBuffer`: 200, `application/octet-stream`;
 * - a `ReadableStream` or any async iterable of `Uint8Array`/`string` chunks: 200, streamed;
 * - `null` or `undefined`: 204.
 *
 * @example
 * ```ts
 * router.get("/", () => "hello");                 // 200 text/plain
 * router.get("/user", () => ({ id: 1 }));          // 200 application/json
 * router.delete("/user/{id}", () => undefined);    // 204
 * ```
 */
export type HandlerResult =
  | Response
  | string
  | JsonBody
  | Uint8Array
  | ArrayBuffer
  | ReadableStream<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>
  | null
  | undefined
  | void;

/** `text/plain; charset=utf-8`, the type of string results. */
export const TEXT_TYPE = "text/plain; charset=utf-8";
/** `application/json`, the type of JSON results. */
export const JSON_TYPE = "application/json";
/** `application/octet-stream`, the type of byte and stream results. */
export const OCTET_TYPE = "application/octet-stream";

const kRaw = Symbol("tako.rawBody");

/**
 * A Response that remembers the string or bytes it was made from, so the server can write them
 * with a `Content-Length` in one call instead of streaming the body.
 */
class RawResponse extends Response {
  readonly [kRaw]: string | Uint8Array;

  constructor(body: string | Uint8Array, init: ResponseInit) {
    super(body as ConstructorParameters<typeof Response>[0], init);
    this[kRaw] = body;
  }
}

/** @internal The string or bytes a helper-made Response carries, if it is one and its body is unread. */
export function rawBodyOf(response: Response): string | Uint8Array | undefined {
  return response instanceof RawResponse && !response.bodyUsed ? response[kRaw] : undefined;
}

function withType(init: ResponseInit | undefined, type: string): ResponseInit {
  const headers = new Headers(init?.headers);
  if (!headers.has("content-type")) headers.set("content-type", type);
  return { status: init?.status ?? 200, ...(init?.statusText === undefined ? {} : { statusText: init.statusText }), headers };
}

/**
 * A JSON response: `data` serialised with `JSON.stringify`, `Content-Type: application/json`
 * (unless `init.headers` sets one), status 200 unless `init.status` says otherwise.
 *
 * @example
 * ```ts
 * router.post("/users", async (req) => json(await createUser(await req.json()), { status: 201 }));
 * ```
 */
export function json(data: unknown, init?: ResponseInit): Response {
  const body = JSON.stringify(data);
  if (body === undefined) throw new InvalidResponseError(`json(): ${typeof data} cannot be serialised to JSON`);
  return new RawResponse(body, withType(init, JSON_TYPE));
}

/**
 * A plain-text response, `text/plain; charset=utf-8`, status 200 unless `init.status` says
 * otherwise.
 *
 * @example
 * ```ts
 * router.get("/teapot", () => text("short and stout", { status: 418 }));
 * ```
 */
export function text(body: string, init?: ResponseInit): Response {
  return new RawResponse(String(body), withType(init, TEXT_TYPE));
}

/**
 * An HTML response, `text/html; charset=utf-8`.
 *
 * @example
 * ```ts
 * router.get("/", () => html("<h1>hello from unix</h1>"));
 * ```
 */
export function html(body: string, init?: ResponseInit): Response {
  return new RawResponse(String(body), withType(init, "text/html; charset=utf-8"));
}

/**
 * A redirect to `location` (302 by default; 301, 303, 307 and 308 too), with no body.
 *
 * @example
 * ```ts
 * router.get("/old", () => redirect("/new", 308));
 * ```
 */
export function redirect(location: string, status: 301 | 302 | 303 | 307 | 308 = 302): Response {
  return new Response(null, { status, headers: { location } });
}

/** @internal Whether `value` becomes a JSON body: an array, a plain object, or anything with `toJSON`. */
export function isJsonLike(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null || typeof (value as { toJSON?: unknown }).toJSON === "function";
}

/** @internal Whether `value` is an async iterable (ReadableStream, Node Readable, async generator). */
export function isAsyncIterable(value: object): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function";
}

const encoder = new TextEncoder();

/** @internal A body chunk as bytes: strings are UTF-8 encoded; anything but bytes is an error. */
export function toChunk(chunk: unknown): Uint8Array {
  if (typeof chunk === "string") return encoder.encode(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  throw new InvalidResponseError(`a streamed body yielded ${chunk === null ? "null" : typeof chunk}; stream Uint8Array or string chunks`);
}

/** @internal A byte stream over an async iterable of string or byte chunks (pull-based: backpressure holds). */
export function byteStream(source: AsyncIterable<unknown>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(toChunk(value));
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}

/** @internal Serialises a JSON-like result; throws {@link InvalidResponseError} when it cannot. */
export function stringifyJson(value: object): string {
  const body = JSON.stringify(value);
  if (body === undefined) throw new InvalidResponseError("the handler's result serialised to nothing (its toJSON returned undefined)");
  return body;
}

/** @internal The error for a result of no supported kind. */
export function unsupportedResult(value: unknown): InvalidResponseError {
  const what = value === null ? "null" : typeof value === "object" ? `an instance of ${(value as object).constructor?.name ?? "an unknown class"}` : `a ${typeof value}`;
  return new InvalidResponseError(
    `a handler returned ${what}; return a Response, a string, a plain object or array (JSON), a Uint8Array, a ReadableStream or async iterable, or nothing (204)`,
  );
}

/**
 * @internal What kind of {@link HandlerResult} a value is: the one classifier behind both
 * {@link toResponse} and the server's direct write path (`node-send.ts`). Throws
 * {@link InvalidResponseError} for a value of no supported kind.
 */
export function classify(result: unknown): ResultKind {
  if (typeof result === "string") return "text";
  if (result === null || result === undefined) return "empty";
  if (typeof result === "object") {
    if (result instanceof Response) return "response";
    if (result instanceof Uint8Array || result instanceof ArrayBuffer) return "bytes";
    if (result instanceof ReadableStream) return "stream";
    if (isAsyncIterable(result)) return "iterable";
    if (isJsonLike(result)) return "json";
  }
  throw unsupportedResult(result);
}

/** @internal The kinds {@link classify} tells apart. */
export type ResultKind = "text" | "empty" | "response" | "bytes" | "stream" | "iterable" | "json";

/** @internal A bytes result as a Uint8Array. */
export function bytesOf(result: Uint8Array | ArrayBuffer): Uint8Array {
  return result instanceof Uint8Array ? result : new Uint8Array(result);
}

/**
 * Converts any {@link HandlerResult} into a `Response` (what middleware gets from `next()` and
 * what `router.fetch` answers). `status` replaces the default status (200, or 204 for nothing)
 * of a result that is not already a Response. Throws {@link InvalidResponseError} for a result of
 * no supported kind.
 *
 * @example
 * ```ts
 * const res = toResponse({ ok: true }); // 200, application/json, body {"ok":true}
 * ```
 */
export function toResponse(result: unknown, status?: number): Response {
  switch (classify(result)) {
    case "response":
      return result as Response;
    case "text":
      return new RawResponse(result as string, { status: status ?? 200, headers: { "content-type": TEXT_TYPE } });
    case "empty":
      return new Response(null, { status: status ?? 204 });
    case "bytes":
      return new RawResponse(bytesOf(result as Uint8Array), { status: status ?? 200, headers: { "content-type": OCTET_TYPE } });
    case "stream":
    case "iterable":
      return new Response(byteStream(result as AsyncIterable<unknown>), { status: status ?? 200, headers: { "content-type": OCTET_TYPE } });
    case "json":
      return new RawResponse(stringifyJson(result as object), { status: status ?? 200, headers: { "content-type": JSON_TYPE } });
  }
}

/**
 * @internal The answer to a HEAD request made from `response` (the one place `router.fetch`
 * drops a body): same status and headers, a `Content-Length` where the body's size is known, no body.
 */
export async function headResponse(response: Response): Promise<Response> {
  const headers = new Headers(response.headers);
  const raw = rawBodyOf(response);
  if (raw !== undefined && !headers.has("content-length")) headers.set("content-length", String(typeof raw === "string" ? Buffer.byteLength(raw) : raw.byteLength));
  await response.body?.cancel().catch(() => {});
  return new Response(null, { status: response.status, statusText: response.statusText, headers });
}
