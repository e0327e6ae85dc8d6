import { once } from "node:events";
import * as net from "node:net";
import { Readable } from "node:stream";
import fc from "fast-check";
import type { FrameSource } from "./source.ts";

/** `bytes` cut at `cuts` (positions, any order, duplicates allowed: empty chunks are real too). */
export function cut(bytes: Uint8Array, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => Math.min(bytes.length, Math.max(0, c))))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let last = 0;
  for (const c of [...at, bytes.length]) {
    pieces.push(Buffer.from(bytes.subarray(last, c)));
    last = c;
  }
  return pieces.filter((p, i) => p.length > 0 || i === 0);
}

/** The two kinds of source a reader takes: a Readable (read through 'data') or a plain async iterable. */
export type SourceKind = "readable" | "iterable";

/** A source that delivers `chunks` one at a time, as a Readable or as an async generator. */
export function sourceOf(chunks: readonly Buffer[], kind: SourceKind): FrameSource {
  if (kind === "readable")
    return Readable.from(
      chunks.filter((c) => c.length > 0),
      { objectMode: false },
    );
  return (async function* () {
    for (const chunk of chunks) yield chunk;
  })();
}

/** fast-check: cut positions as fractions, so they fit any input length. */
export const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 24 });

/** Cut positions for `length` bytes from fractions. */
export function positions(fractions: readonly number[], length: number): number[] {
  return fractions.map((f) => Math.floor(f * length));
}

/** Either source kind. */
export const kindArb = fc.constantFrom<SourceKind>("readable", "iterable");

/** Everything an async iterator yields. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** What an iteration ended with: the items, then the error if it threw. */
export async function settle<T>(iterable: AsyncIterable<T>): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  try {
    for await (const item of iterable) items.push(item);
  } catch (error) {
    return { items, error };
  }
  return { items, error: undefined };
}

/** A real TCP connection on loopback: the server's accepted socket and the connected client. */
export async function tcpPair(): Promise<{ server: net.Socket; client: net.Socket; close(): void }> {
  const listener = net.createServer({ allowHalfOpen: true });
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const accepted = once(listener, "connection") as Promise<[net.Socket]>;
  const client = net.connect((listener.address() as net.AddressInfo).port, "127.0.0.1");
  client.on("error", () => {});
  await once(client, "connect");
  const [server] = await accepted;
  server.on("error", () => {});
  listener.close();
  return {
    server,
    client,
    close() {
      server.destroy();
      client.destroy();
    },
  };
}

/** The first `n` items of an async iterator, then `return()` (a `break`). */
export async function take<T>(iterator: AsyncIterableIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  if (n === 0) return out;
  for await (const item of iterator) {
    out.push(item);
    if (out.length === n) break;
  }
  return out;
}
