/**
 * The HTTP/1.1 keep-alive load client: `connections` sockets, one request in flight on each,
 * pre-built request bytes, responses framed by Content-Length straight from a fixed read buffer
 * (`onread`). No HTTP library, no per-response objects, so the client stays far from its core's
 * limit where autocannon does not.
 */
import * as net from "node:net";
import { LatencyHistogram } from "../stats.ts";
import { connected, connectOptions, openMany, sleep, Window, type RunWindow } from "./common.ts";

/** Arguments of the `http` command. */
export interface HttpArgs {
  readonly path: string;
  /** Request path, e.g. `/users/42`. */
  readonly url: string;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** What the `http` command reports. */
export interface HttpResult extends RunWindow {
  readonly requests: number;
  readonly requestsPerSec: number;
  /** Responses whose status was not 2xx, or that could not be framed. */
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const LENGTH_LOWER = Buffer.from("ontent-length:");
const LENGTH_UPPER = Buffer.from("ontent-Length:");

/** Parses an unsigned decimal starting at `from` (skipping spaces), up to CR. -1 if none. */
function parseLength(buf: Buffer, from: number, end: number): number {
  let i = from;
  while (i < end && buf[i] === 0x20) i++;
  let n = -1;
  while (i < end) {
    const c = buf[i] as number;
    if (c < 0x30 || c > 0x39) break;
    n = (n < 0 ? 0 : n * 10) + (c - 0x30);
    i++;
  }
  return n;
}

/** Finds `needle` in buf[from, end), or -1 (a match past `end` is stale buffer content). */
function find(buf: Buffer, needle: Buffer, from: number, end: number): number {
  const i = buf.indexOf(needle, from);
  return i >= 0 && i + needle.length <= end ? i : -1;
}

/** Runs the closed-loop keep-alive load and reports requests/s and latency over the window. */
export async function runHttp(args: HttpArgs): Promise<HttpResult> {
  const request = Buffer.from(`GET ${args.url} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: tako-bench\r\n\r\n`, "latin1");
  const histogram = new LatencyHistogram();
  let requests = 0;
  let errors = 0;
  let running = true;
  const sockets = await openMany(args.connections, 64, () => {
    let sentAt = 0;
    let bodyLeft = 0; // body bytes of the current response still to come
    let head: Buffer | null = null; // a response head split across reads
    const complete = () => {
      requests++;
      histogram.record(performance.now() - sentAt);
      if (running) {
        sentAt = performance.now();
        socket.write(request);
      }
    };
    // Consumes buf[start, end) of response bytes; returns false on a framing error.
    const consume = (buf: Buffer, start: number, end: number): boolean => {
      let off = start;
      while (off < end) {
        if (bodyLeft > 0) {
          const take = Math.min(bodyLeft, end - off);
          bodyLeft -= take;
          off += take;
          if (bodyLeft === 0) complete();
          continue;
        }
        const headEnd = find(buf, CRLFCRLF, off, end);
        if (headEnd < 0) {
          const rest = Buffer.from(buf.subarray(off, end));
          head = head === null ? rest : Buffer.concat([head, rest]);
          return head.length < 65536;
        }
        // Status: "HTTP/1.1 200 ..." -> the digit at off + 9.
        if (buf[off + 9] !== 0x32) errors++;
        let at = find(buf, LENGTH_LOWER, off, headEnd);
        if (at < 0) at = find(buf, LENGTH_UPPER, off, headEnd);
        if (at < 0) return false;
        const length = parseLength(buf, at + LENGTH_LOWER.length, headEnd);
        if (length < 0) return false;
        off = headEnd + 4;
        bodyLeft = length;
        if (length === 0) complete();
      }
      return true;
    };
    const socket: net.Socket = net.connect({
      ...connectOptions({ path: args.path }),
      onread: {
        buffer: Buffer.allocUnsafe(16384),
        callback(nread: number, buf: Buffer): boolean {
          let ok: boolean;
          if (head !== null) {
            const joined = Buffer.concat([head, buf.subarray(0, nread)]);
            head = null;
            ok = consume(joined, 0, joined.length);
          } else {
            ok = consume(buf, 0, nread);
          }
          if (!ok) {
            errors++;
            socket.destroy();
          }
          return true;
        },
      },
    });
    (socket as net.Socket & { kick?: () => void }).kick = () => {
      sentAt = performance.now();
      socket.write(request);
    };
    return connected(socket);
  });
  for (const socket of sockets) (socket as net.Socket & { kick: () => void }).kick();
  await sleep(args.warmupMs);
  const window = new Window();
  const n0 = requests;
  const e0 = errors;
  histogram.reset();
  window.start();
  await sleep(args.durationMs);
  const counted = requests - n0;
  const w = window.stop();
  const p50Ms = histogram.percentile(0.5);
  const p99Ms = histogram.percentile(0.99);
  const errorsIn = errors - e0;
  running = false;
  for (const socket of sockets) socket.destroy();
  return { ...w, requests: counted, requestsPerSec: (counted / w.ms) * 1000, errors: errorsIn, p50Ms, p99Ms };
}
