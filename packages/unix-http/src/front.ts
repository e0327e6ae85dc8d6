import type { Socket } from "node:net";

/** The HTTP/2 connection preface (RFC 9113 3.4), 24 bytes. */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** @internal Where the front hands a connection once its prelude and sniff are done. */
export interface FrontInit {
  /** Serves an HTTP/1.1 connection (emits it into the http.Server); absent when `protocols` has no "http1". */
  readonly http1: ((socket: Socket) => void) | undefined;
  /** Serves an HTTP/2 connection; absent without "h2c". */
  readonly h2c: ((socket: Socket) => void) | undefined;
  /** How long a connection may take to show which protocol it speaks (both protocols on). */
  readonly sniffTimeout: number;
  /**
   * The prelude (the PROXY header), run before the sniff: resolves when the connection may go on,
   * rejects to refuse it (the front destroys it). Absent without `proxyProtocol`.
   */
  readonly prelude: ((socket: Socket) => Promise<void>) | undefined;
  /** A prelude failure (counted and reported by the server). */
  onPreludeError(socket: Socket, error: unknown): void;
}

/**
 * @internal The connection front of `serveUnixHttp`: every accepted socket goes through the
 * prelude (a PROXY header, when configured) and a protocol sniff (HTTP/1.1 vs the HTTP/2 preface,
 * when both are served; at most 24 bytes, bounded in time), then into the http or http2 server.
 * With one protocol and no prelude, the socket goes straight through (nothing per connection).
 * Sockets still in the prelude or the sniff are tracked and closed at once by {@link closePending}.
 */
export class ConnectionFront {
  readonly #init: FrontInit;
  readonly #pending = new Set<Socket>();
  readonly #direct: ((socket: Socket) => void) | undefined;
  #closed = false;

  constructor(init: FrontInit) {
    this.#init = init;
    this.#direct = init.prelude === undefined && (init.http1 === undefined || init.h2c === undefined) ? (init.http1 ?? init.h2c) : undefined;
  }

  readonly accept = (socket: Socket): void => {
    if (this.#direct !== undefined) {
      this.#direct(socket);
      return;
    }
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#pending.add(socket);
    socket.on("error", noop); // a reset in the prelude is normal; the socket closes
    socket.once("close", () => this.#pending.delete(socket));
    const prelude = this.#init.prelude;
    if (prelude === undefined) {
      this.#sniff(socket);
      return;
    }
    prelude(socket).then(
      () => {
        if (socket.destroyed) return;
        if (this.#closed) socket.destroy();
        else this.#sniff(socket);
      },
      (error: unknown) => {
        this.#pending.delete(socket);
        if (!socket.destroyed) this.#init.onPreludeError(socket, error);
        socket.destroy();
      },
    );
  };

  /** Drain: connections that have not reached a server yet are closed now. */
  closePending(): void {
    this.#closed = true;
    for (const socket of this.#pending) socket.destroy();
    this.#pending.clear();
  }

  #sniff(socket: Socket): void {
    const { http1, h2c } = this.#init;
    if (http1 === undefined || h2c === undefined) {
      this.#handOver(socket, (http1 ?? h2c) as (socket: Socket) => void, http1 !== undefined);
      return;
    }
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.off("data", onData);
      socket.destroy();
    }, this.#init.sniffTimeout);
    const onData = (chunk: Buffer) => {
      seen = seen.byteLength === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.byteLength, PREFACE.byteLength);
      const prefix = seen.compare(PREFACE, 0, n, 0, n) === 0;
      if (prefix && n < PREFACE.byteLength) return; // could still be HTTP/2: wait for the rest
      clearTimeout(timer);
      socket.off("data", onData);
      socket.pause();
      socket.unshift(seen);
      this.#handOver(socket, prefix ? h2c : http1, !prefix);
    };
    socket.on("data", onData);
  }

  #handOver(socket: Socket, serve: (socket: Socket) => void, resume: boolean): void {
    this.#pending.delete(socket);
    socket.off("error", noop);
    serve(socket);
    // Node's http parser reads what the sniff put back only once the socket flows again.
    if (resume) socket.resume();
  }
}

function noop(): void {}
