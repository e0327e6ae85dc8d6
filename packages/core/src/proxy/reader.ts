import type * as net from "node:net";
import { type SocketAddress, toSocketAddress } from "../address.ts";
import { checkDuration } from "../check.ts";
import { InvalidConfigError, ProtocolError } from "../errors.ts";
import { DEFAULT_MAX_HEADER_SIZE, PROXY_ERROR } from "./constants.ts";
import { checkMaxHeaderSize, ProxyHeaderParser } from "./parse.ts";
import type { ProxyInfo } from "./types.ts";

/** Called once with the header, or with why there is none (the socket is left to the caller). */
export type HeaderCallback = (error: Error | null, info: ProxyInfo | null) => void;

const kReader = Symbol("tako.proxyReader");

interface ReadingSocket extends net.Socket {
  [kReader]?: HeaderRead;
}

// Shared listeners (one set for every socket): the state lives on the socket.
function onReadable(this: ReadingSocket): void {
  this[kReader]?.drain();
}
function onEnd(this: ReadingSocket): void {
  this[kReader]?.closed();
}
function onClose(this: ReadingSocket): void {
  this[kReader]?.closed();
}
function onError(this: ReadingSocket, error: Error): void {
  this[kReader]?.finish(error, null);
}

/**
 * The deadlines of header reads that share one timeout: a FIFO list through the reads (so
 * deadline order), one timer for its head. A read costs two links and a number, not a Node
 * `Timeout` per connection; a settled read unlinks itself at once.
 */
class Deadlines {
  readonly timeout: number;
  head: HeaderRead | undefined;
  tail: HeaderRead | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Inside {@link fire}: reads added by the callbacks it runs wait for its re-arm. */
  firing = false;

  constructor(timeout: number) {
    this.timeout = timeout;
  }

  add(read: HeaderRead): void {
    read.deadline = performance.now() + this.timeout;
    read.prev = this.tail;
    if (this.tail === undefined) this.head = read;
    else this.tail.next = read;
    this.tail = read;
    if (this.timer === undefined && !this.firing) this.timer = setTimeout(this.fire, this.timeout).unref();
  }

  remove(read: HeaderRead): void {
    const { prev, next } = read;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    read.prev = undefined;
    read.next = undefined;
    // The timer stays armed even when the list runs empty: the next read (one connection after
    // another) reuses the list and its timer; a list still empty when the timer fires is dropped.
  }

  readonly fire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    // Reads past their deadline expire (each unlinks itself); the oldest left re-arms the timer,
    // and a list with none left is dropped (timeouts a caller of readProxyHeader varies do not pile up).
    this.firing = true;
    try {
      while (this.head !== undefined && this.head.deadline <= now + 1) this.head.expire();
    } finally {
      this.firing = false;
    }
    if (this.head !== undefined) this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(this.head.deadline - now))).unref();
    else deadlinesByTimeout.delete(this.timeout);
  };
}

/** One list per distinct timeout with reads pending (a listener's reads all share its policy's); an emptied list is dropped. */
const deadlinesByTimeout = new Map<number, Deadlines>();

function deadlinesFor(timeout: number): Deadlines {
  let deadlines = deadlinesByTimeout.get(timeout);
  if (deadlines === undefined) {
    deadlines = new Deadlines(timeout);
    deadlinesByTimeout.set(timeout, deadlines);
  }
  return deadlines;
}

/**
 * One header read on one socket: chunks with `socket.read()` on 'readable' (never byte by byte),
 * one deadline for the whole header (set once, gone when it settles), exactly the header
 * consumed and the rest `unshift`ed back in front of whatever is still buffered.
 */
class HeaderRead {
  readonly socket: ReadingSocket;
  readonly parser: ProxyHeaderParser;
  readonly callback: HeaderCallback;
  readonly deadlines: Deadlines;
  deadline = 0;
  prev: HeaderRead | undefined = undefined;
  next: HeaderRead | undefined = undefined;

  constructor(socket: ReadingSocket, timeout: number, maxHeaderSize: number, via: SocketAddress | null, callback: HeaderCallback) {
    this.socket = socket;
    this.parser = new ProxyHeaderParser(maxHeaderSize, via);
    this.callback = callback;
    this.deadlines = deadlinesFor(timeout);
    socket[kReader] = this;
    this.deadlines.add(this);
    socket.on("readable", onReadable);
    socket.on("end", onEnd);
    socket.on("close", onClose);
    socket.on("error", onError);
  }

  expire(): void {
    this.finish(new ProtocolError(`no complete PROXY header within the timeout (${this.parser.received} bytes received)`, { code: PROXY_ERROR.TIMEOUT }), null);
  }

  drain(): void {
    const socket = this.socket;
    let chunk: Buffer | null;
    while (socket[kReader] === this && (chunk = socket.read() as Buffer | null) !== null) {
      let result: ReturnType<ProxyHeaderParser["push"]>;
      try {
        result = this.parser.push(chunk);
      } catch (error) {
        this.finish(error as Error, null);
        return;
      }
      if (result === null) continue;
      // Detach first: unshift must not re-enter our 'readable' listener.
      this.detach();
      if (result.rest.length > 0) socket.unshift(result.rest);
      this.callback(null, result.info);
      return;
    }
  }

  closed(): void {
    const received = this.parser.received;
    const error =
      received === 0
        ? new ProtocolError("connection closed before sending a PROXY header", { code: PROXY_ERROR.CLOSED })
        : new ProtocolError(`connection ended inside the PROXY header (${received} bytes received)`, { code: PROXY_ERROR.HEADER });
    this.finish(error, null);
  }

  finish(error: Error, info: ProxyInfo | null): void {
    if (this.socket[kReader] !== this) return;
    this.detach();
    this.callback(error, info);
  }

  detach(): void {
    const socket = this.socket;
    socket[kReader] = undefined;
    this.deadlines.remove(this);
    socket.removeListener("readable", onReadable);
    socket.removeListener("end", onEnd);
    socket.removeListener("close", onClose);
    socket.removeListener("error", onError);
  }
}

/**
 * Starts reading a PROXY header from `socket`; `callback` runs once. `via` is the socket's peer
 * when the caller has read it already (`null` for none), `undefined` to read it here. Returns a
 * function that cancels the read (the callback is not called then). The caller validated the options.
 */
export function startProxyHeaderRead(socket: net.Socket, timeout: number, maxHeaderSize: number, via: SocketAddress | null | undefined, callback: HeaderCallback): () => void {
  const peer =
    via !== undefined
      ? via
      : typeof socket.remoteAddress === "string"
        ? toSocketAddress({ address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily })
        : null;
  const read = new HeaderRead(socket as ReadingSocket, timeout, maxHeaderSize, peer, callback);
  if (socket.destroyed) read.closed();
  return () => {
    if ((socket as ReadingSocket)[kReader] === read) read.detach();
  };
}

/**
 * Options of {@link readProxyHeader}.
 *
 * @example
 * ```ts
 * const options: ReadProxyHeaderOptions = { timeout: 5_000, maxHeaderSize: 4_096, signal: ctx.signal };
 * ```
 */
export interface ReadProxyHeaderOptions {
  /** The whole header must be in by then, in ms (one deadline, not reset per chunk). */
  readonly timeout: number;
  /** Largest v2 header accepted, 16 to 65 551 bytes. Default 4 096. */
  readonly maxHeaderSize?: number | undefined;
  /** Aborting it rejects at once (`ERR_TAKO_PROXY_ABORTED`), e.g. a drain starting. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Reads the PROXY v1 or v2 header a connection must start with (package-author API: listeners
 * call it before handing the socket on). Reads chunks, consumes exactly the header and puts the
 * bytes after it back (`unshift`), so the next reader sees them intact and in order. Resolves
 * with the {@link ProxyInfo} (`via` = the socket's TCP peer, `null` on Unix sockets). Rejects
 * with a {@link ProtocolError}: `ERR_TAKO_PROXY_HEADER` (malformed, or the peer ended inside it),
 * `ERR_TAKO_PROXY_TIMEOUT` (not complete within `timeout`; the timer is cleared on success),
 * `ERR_TAKO_PROXY_ABORTED` (`signal` aborted), `ERR_TAKO_PROXY_CLOSED` (closed before sending a
 * byte); or with the socket's own error (`ECONNRESET`). It never destroys the socket: on a
 * rejection the caller does.
 *
 * @example
 * ```ts
 * const server = net.createServer();
 * server.on("connection", async (socket) => {
 *   try {
 *     const info = await readProxyHeader(socket, { timeout: 5_000, signal: drain.signal });
 *     serve(socket, info.source ?? info.via);
 *   } catch {
 *     socket.destroy();
 *   }
 * });
 * ```
 */
export function readProxyHeader(socket: net.Socket, options: ReadProxyHeaderOptions): Promise<ProxyInfo> {
  if (typeof options !== "object" || options === null) throw new InvalidConfigError("options", "readProxyHeader needs { timeout }");
  const timeout = checkDuration("timeout", options.timeout);
  if (timeout === 0) throw new InvalidConfigError("timeout", "timeout must be more than 0 ms");
  const max = options.maxHeaderSize === undefined ? DEFAULT_MAX_HEADER_SIZE : checkMaxHeaderSize("maxHeaderSize", options.maxHeaderSize);
  const signal = options.signal;
  return new Promise<ProxyInfo>((resolve, reject) => {
    const aborted = () => new ProtocolError("PROXY header read aborted", { code: PROXY_ERROR.ABORTED, cause: signal?.reason });
    if (signal?.aborted) {
      reject(aborted());
      return;
    }
    let settled = false;
    const onAbort = () => {
      cancel();
      settled = true;
      reject(aborted());
    };
    const cancel = startProxyHeaderRead(socket, timeout, max, undefined, (error, info) => {
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve(info as ProxyInfo);
    });
    if (!settled) signal?.addEventListener("abort", onAbort, { once: true });
  });
}
