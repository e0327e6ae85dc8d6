import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { InvalidResponseError } from "./errors.ts";
import { bytesOf, classify, JSON_TYPE, OCTET_TYPE, rawBodyOf, stringifyJson, TEXT_TYPE, type HandlerResult } from "./response.ts";

/**
 * @internal Where {@link send} writes: the exchange of one request, over HTTP/1.1 or HTTP/2 (an
 * `Http2ServerResponse` is driven through the same calls as a `ServerResponse`).
 */
export interface SendTarget {
  readonly res: ServerResponse;
  /** HEAD: headers only, bodies are dropped (streams cancelled). */
  readonly head: boolean;
  /** HTTP/2: no status text, no connection-specific headers. */
  readonly h2: boolean;
  /** Whether the response must say `Connection: close` (HTTP/1.1 only). */
  readonly closing: boolean;
  /** Whether the response's stream is destroyed. */
  readonly gone: boolean;
}

/**
 * @internal Writes a handler's result: strings, JSON and bytes in one `writeHead` + `end` with a
 * `Content-Length` (no Web Response on that path), Responses with their status and headers,
 * streams with backpressure. Throws synchronously for a result of no supported kind (nothing
 * written yet); the promise, if any, rejects when a streamed body fails.
 */
export function send(x: SendTarget, result: HandlerResult): void | Promise<void> {
  switch (classify(result)) {
    case "text":
      sendBody(x, TEXT_TYPE, result as string);
      return;
    case "json":
      sendBody(x, JSON_TYPE, stringifyJson(result as object));
      return;
    case "bytes":
      sendBody(x, OCTET_TYPE, bytesOf(result as Uint8Array));
      return;
    case "empty":
      x.res.writeHead(204, x.closing ? CLOSE : undefined);
      x.res.end();
      return;
    case "response":
      return sendResponse(x, result as Response);
    case "stream":
      x.res.writeHead(200, x.closing ? { "content-type": OCTET_TYPE, connection: "close" } : { "content-type": OCTET_TYPE });
      return pumpStream(x, result as ReadableStream<unknown>);
    case "iterable":
      x.res.writeHead(200, x.closing ? { "content-type": OCTET_TYPE, connection: "close" } : { "content-type": OCTET_TYPE });
      return pumpIterable(x, result as AsyncIterable<unknown>);
  }
}

const CLOSE: OutgoingHttpHeaders = Object.freeze({ connection: "close" }) as OutgoingHttpHeaders;

/** Headers HTTP/2 forbids (RFC 9113 8.2.2); Node would drop them with a warning. */
const H2_FORBIDDEN = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

function sendBody(x: SendTarget, type: string, body: string | Uint8Array): void {
  const length = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
  x.res.writeHead(200, x.closing ? { "content-type": type, "content-length": length, connection: "close" } : { "content-type": type, "content-length": length });
  x.res.end(body);
}

/** Status codes that never carry a body. */
function bodiless(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

function sendResponse(x: SendTarget, response: Response): void | Promise<void> {
  if (response.bodyUsed) throw new InvalidResponseError("a handler or middleware returned a Response whose body was already read");
  const res = x.res;
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie" && !(x.h2 && H2_FORBIDDEN.has(name))) headers[name] = value;
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  if (x.closing) headers.connection = "close";
  const status = response.status;
  const statusText = x.h2 || response.statusText === "" ? undefined : response.statusText;
  const raw = rawBodyOf(response);
  if (raw !== undefined || response.body === null) {
    if (!bodiless(status) && headers["content-length"] === undefined) {
      headers["content-length"] = raw === undefined ? 0 : typeof raw === "string" ? Buffer.byteLength(raw) : raw.byteLength;
    }
    res.writeHead(status, statusText, headers);
    res.end(bodiless(status) ? undefined : raw);
    return;
  }
  res.writeHead(status, statusText, headers);
  if (bodiless(status)) {
    res.end();
    response.body.cancel().catch(() => {});
    return;
  }
  return pumpStream(x, response.body);
}

/** Resolves when `res` can take more data, or has closed. */
function writable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function checkChunk(chunk: unknown): string | Uint8Array {
  if (typeof chunk === "string" || chunk instanceof Uint8Array) return chunk;
  throw new InvalidResponseError(`a streamed body yielded ${chunk === null ? "null" : typeof chunk}; stream Uint8Array or string chunks`);
}

/** Streams a ReadableStream with backpressure; cancels it if the client goes away (or for HEAD). */
async function pumpStream(x: SendTarget, stream: ReadableStream<unknown>): Promise<void> {
  const res = x.res;
  if (x.head) {
    res.end();
    await stream.cancel().catch(() => {});
    return;
  }
  const reader = stream.getReader();
  const onClose = () => {
    if (!res.writableFinished) reader.cancel().catch(() => {});
  };
  res.once("close", onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || x.gone) break;
      if (!res.write(checkChunk(value))) await writable(res);
    }
    if (!x.gone) res.end();
  } catch (error) {
    reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    res.off("close", onClose);
  }
}

/** Streams an async iterable (async generator, Node Readable) with backpressure. */
async function pumpIterable(x: SendTarget, source: AsyncIterable<unknown>): Promise<void> {
  const res = x.res;
  const iterator = source[Symbol.asyncIterator]();
  if (x.head) {
    res.end();
    await iterator.return?.();
    return;
  }
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await iterator.next();
      if (done) {
        finished = true;
        break;
      }
      if (x.gone) break;
      if (!res.write(checkChunk(value))) await writable(res);
    }
    if (!x.gone) res.end();
  } finally {
    if (!finished) await Promise.resolve(iterator.return?.()).catch(() => {});
  }
}
