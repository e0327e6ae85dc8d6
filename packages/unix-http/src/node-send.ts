import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { InvalidResponseError } from "./errors.ts";
import { isAsyncIterable, isJsonLike, JSON_TYPE, OCTET_TYPE, rawBodyOf, stringifyJson, TEXT_TYPE, unsupportedResult, type HandlerResult } from "./response.ts";

/**
 * @internal Writes a handler's result to a Node response: strings, JSON and bytes in one
 * `writeHead` + `end` with a `Content-Length` (no Web Response on that path), Responses with their
 * status and headers, streams with backpressure. Throws synchronously for a result of no supported
 * kind (nothing written yet); the promise, if any, rejects when a streamed body fails.
 * `close` adds `Connection: close`.
 */
export function send(res: ServerResponse, result: HandlerResult, close: boolean): void | Promise<void> {
  if (typeof result === "string") {
    sendBody(res, 200, TEXT_TYPE, result, close);
    return;
  }
  if (result === null || result === undefined) {
    res.writeHead(204, close ? CLOSE : undefined);
    res.end();
    return;
  }
  if (typeof result === "object") {
    if (result instanceof Response) return sendResponse(res, result, close);
    if (result instanceof Uint8Array) {
      sendBody(res, 200, OCTET_TYPE, result, close);
      return;
    }
    if (result instanceof ArrayBuffer) {
      sendBody(res, 200, OCTET_TYPE, new Uint8Array(result), close);
      return;
    }
    if (result instanceof ReadableStream) {
      res.writeHead(200, close ? { "content-type": OCTET_TYPE, connection: "close" } : { "content-type": OCTET_TYPE });
      return pumpStream(res, result);
    }
    if (isAsyncIterable(result)) {
      res.writeHead(200, close ? { "content-type": OCTET_TYPE, connection: "close" } : { "content-type": OCTET_TYPE });
      return pumpIterable(res, result);
    }
    if (isJsonLike(result)) {
      sendBody(res, 200, JSON_TYPE, stringifyJson(result), close);
      return;
    }
  }
  throw unsupportedResult(result);
}

const CLOSE: OutgoingHttpHeaders = Object.freeze({ connection: "close" }) as OutgoingHttpHeaders;

function sendBody(res: ServerResponse, status: number, type: string, body: string | Uint8Array, close: boolean): void {
  const length = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
  res.writeHead(status, close ? { "content-type": type, "content-length": length, connection: "close" } : { "content-type": type, "content-length": length });
  res.end(body);
}

/** Status codes that never carry a body. */
function bodiless(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

function sendResponse(res: ServerResponse, response: Response, close: boolean): void | Promise<void> {
  if (response.bodyUsed) throw new InvalidResponseError("a handler or middleware returned a Response whose body was already read");
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") headers[name] = value;
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  if (close) headers.connection = "close";
  const status = response.status;
  const statusText = response.statusText === "" ? undefined : response.statusText;
  const raw = rawBodyOf(response);
  if (raw !== undefined || response.body === null) {
    if (!bodiless(status) && headers["content-length"] === undefined) {
      headers["content-length"] = raw === undefined ? 0 : typeof raw === "string" ? Buffer.byteLength(raw) : raw.byteLength;
    }
    res.writeHead(status, statusText, headers);
    res.end(bodiless(status) ? undefined : raw);
    return;
  }
  const body = response.body;
  res.writeHead(status, statusText, headers);
  if (bodiless(status) || res.req.method === "HEAD") {
    res.end();
    body.cancel().catch(() => {});
    return;
  }
  return pumpStream(res, body);
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

/** Streams a ReadableStream to `res` with backpressure; cancels it if the client goes away. */
async function pumpStream(res: ServerResponse, stream: ReadableStream<unknown>): Promise<void> {
  if (res.req.method === "HEAD") {
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
      if (done || res.destroyed) break;
      if (!res.write(checkChunk(value))) await writable(res);
    }
    if (!res.destroyed) res.end();
  } catch (error) {
    reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    res.off("close", onClose);
  }
}

/** Streams an async iterable (async generator, Node Readable) to `res` with backpressure. */
async function pumpIterable(res: ServerResponse, source: AsyncIterable<unknown>): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  if (res.req.method === "HEAD") {
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
      if (res.destroyed) break;
      if (!res.write(checkChunk(value))) await writable(res);
    }
    if (!res.destroyed) res.end();
  } finally {
    if (!finished) await Promise.resolve(iterator.return?.()).catch(() => {});
  }
}
