import type { IncomingMessage } from "node:http";
import { ClientGoneError, HttpError } from "./errors.ts";

/** @internal What a {@link NodeRequest} reads from: the exchange of one request. */
export interface RequestSource {
  /** Node's request (an `Http2ServerRequest` on HTTP/2 reads the same way). */
  readonly req: IncomingMessage;
  /** `maxBodySize`. */
  readonly limit: number;
  /** Whether a body follows the headers. */
  readonly hasBody: boolean;
  /** HTTP/2: pseudo-headers are skipped, `:authority` is the host. */
  readonly h2: boolean;
  /** Calls `abort` if the client goes away before the exchange is complete. */
  onGone(abort: () => void): void;
}

/**
 * @internal The `Request` a handler gets when served over a socket: a lazy stand-in for a Web
 * `Request`. `method`, `url` and `headers` are read from Node's `IncomingMessage` without building
 * a `Request`; anything else (`body`, `text()`, `json()`, `signal`, `clone()`, ...) builds the real
 * one once and delegates to it. `instanceof Request` holds. The body is streamed with the
 * `maxBodySize` limit: past it, reading rejects with a 413 {@link HttpError}.
 */
export class NodeRequest {
  readonly #source: RequestSource;
  #url: string | undefined;
  #headers: Headers | undefined;
  #request: Request | undefined;

  constructor(source: RequestSource) {
    this.#source = source;
  }

  get method(): string {
    return this.#source.req.method ?? "GET";
  }

  get url(): string {
    return (this.#url ??= requestUrl(this.#source.req, this.#source.h2));
  }

  get headers(): Headers {
    return (this.#headers ??= this.#request?.headers ?? headersOf(this.#source.req.rawHeaders));
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#source.hasBody ? this.#materialize().body : null;
  }

  get bodyUsed(): boolean {
    return this.#request?.bodyUsed ?? false;
  }

  get [Symbol.toStringTag](): string {
    return "Request";
  }

  /** The real `Request`, built on first need. */
  #materialize(): Request {
    if (this.#request !== undefined) return this.#request;
    const controller = new AbortController();
    const source = this.#source;
    source.onGone(() => controller.abort(new DOMException("the client went away before the response was complete", "AbortError")));
    const method = this.method;
    const body = source.hasBody && method !== "GET" && method !== "HEAD" ? limitedBody(source.req, source.limit) : null;
    this.#request = new Request(this.url, {
      method,
      headers: this.headers,
      body,
      signal: controller.signal,
      ...(body === null ? {} : { duplex: "half" }),
    } as RequestInit);
    return this.#request;
  }

  static {
    // Every other member of Request.prototype delegates to the real Request.
    const own = new Set<PropertyKey>(Reflect.ownKeys(NodeRequest.prototype));
    for (const key of Reflect.ownKeys(Request.prototype)) {
      if (own.has(key)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(Request.prototype, key);
      if (descriptor === undefined) continue;
      if (descriptor.get !== undefined) {
        Object.defineProperty(NodeRequest.prototype, key, {
          configurable: true,
          enumerable: descriptor.enumerable ?? false,
          get(this: NodeRequest) {
            return Reflect.get(this.#materialize(), key);
          },
        });
      } else if (typeof descriptor.value === "function") {
        Object.defineProperty(NodeRequest.prototype, key, {
          configurable: true,
          writable: true,
          enumerable: descriptor.enumerable ?? false,
          value(this: NodeRequest, ...args: unknown[]) {
            const request = this.#materialize();
            return (Reflect.get(request, key) as (...a: unknown[]) => unknown).apply(request, args);
          },
        });
      }
    }
    Object.setPrototypeOf(NodeRequest.prototype, Request.prototype);
  }
}

/** @internal A Web `Headers` from Node's raw header list (repeated fields appended in order). */
export function headersOf(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.charCodeAt(0) !== 58 /* ":" an HTTP/2 pseudo-header */) headers.append(name, raw[i + 1] as string);
  }
  return headers;
}

const HOST = /^[A-Za-z0-9.\-_~%!$&'()*+,;=:[\]]+$/;

/** @internal The absolute URL of a request: `http://<Host header (HTTP/2: :authority) or localhost><target>`. */
export function requestUrl(req: IncomingMessage, h2 = false): string {
  const target = req.url ?? "/";
  if (!target.startsWith("/")) {
    try {
      return new URL(target).href; // absolute-form, as a proxy may send it
    } catch {
      return "http://localhost/";
    }
  }
  const host = h2 ? ((req.headers[":authority"] as string | undefined) ?? req.headers.host) : req.headers.host;
  try {
    if (host !== undefined && HOST.test(host)) return new URL(`http://${host}${target}`).href;
  } catch {
    // An unusable Host header: fall back to localhost.
  }
  return new URL(`http://localhost${target}`).href;
}

/**
 * @internal The request body as a byte stream that stops at `limit` bytes: the chunk that crosses
 * it errors the stream with a 413 {@link HttpError} (nothing past the limit is buffered). Reading
 * is pull-driven: Node's stream is paused while the consumer's queue is full.
 */
export function limitedBody(req: IncomingMessage, limit: number): ReadableStream<Uint8Array> {
  let received = 0;
  let cleanup = (): void => {};
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const fail = (error: unknown) => {
          cleanup();
          req.pause();
          try {
            controller.error(error);
          } catch {
            // Already closed or errored.
          }
        };
        const onData = (chunk: Buffer) => {
          received += chunk.byteLength;
          if (received > limit) {
            fail(new HttpError(413, `the request body is over the ${limit}-byte limit`));
            return;
          }
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        };
        const onEnd = () => {
          cleanup();
          controller.close();
        };
        const onError = (error: unknown) => fail(new ClientGoneError({ cause: error }));
        const onClose = () => {
          if (!req.complete) fail(new ClientGoneError());
        };
        cleanup = () => {
          req.off("data", onData);
          req.off("end", onEnd);
          req.off("error", onError);
          req.off("close", onClose);
        };
        req.on("data", onData);
        req.on("end", onEnd);
        req.on("error", onError);
        req.on("close", onClose);
      },
      pull() {
        req.resume();
      },
      cancel() {
        cleanup();
        req.pause();
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}
