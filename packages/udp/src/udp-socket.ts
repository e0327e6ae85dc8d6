import type { Socket } from "node:dgram";
import { ClosedError, type Logger } from "@tako/core";

/**
 * Where {@link UdpSocket.sendTo} sends: any `{ address, port }`, e.g. the `peer` a handler received.
 *
 * @example
 * ```ts
 * const collector: UdpTarget = { address: "10.0.0.5", port: 8125 };
 * await server.socket.sendTo("requests:1|c", collector);
 * ```
 */
export interface UdpTarget {
  /** IP address of the receiver, e.g. `"127.0.0.1"` or `"::1"`. */
  readonly address: string;
  /** Port of the receiver. */
  readonly port: number;
}

/** Failed `send` calls are logged at most this often. */
const LOG_INTERVAL_MS = 1_000;

/**
 * Options of a {@link UdpSocket} made by hand (`serveUdp` passes the server's own).
 *
 * @example
 * ```ts
 * const socket = new UdpSocket(dgram.createSocket("udp4"), { logger: console });
 * ```
 */
export interface UdpSocketOptions {
  /**
   * Where failures of {@link UdpSocket.send} are reported (`warn`, at most one line a second, with
   * the count of those not logged since); without one they are only counted.
   */
  readonly logger?: Logger | undefined;
}

/**
 * The bound socket a UDP handler replies through (Rust's `Arc<UdpSocket>`). `sendTo` returns a
 * promise of the bytes sent; once the socket is closed it rejects with `ClosedError`
 * (`ERR_TAKO_CLOSED`) instead of throwing asynchronously. `send` is the fire-and-forget fast
 * path: nothing to await, failures reported and counted instead. `socket` is the underlying
 * `dgram.Socket` for anything else (multicast, TTL, `getRecvBufferSize()`).
 *
 * @example
 * ```ts
 * await serveUdp("127.0.0.1:9000", async (data, peer, socket) => {
 *   const sent = await socket.sendTo(data, peer); // bytes sent
 * });
 * await serveUdp("127.0.0.1:9001", (data, peer, socket) => socket.send(data, peer)); // no waiting
 * ```
 */
export class UdpSocket {
  /** The underlying `dgram.Socket`. */
  readonly socket: Socket;
  readonly #logger: Logger | undefined;
  #closed = false;
  #sendErrors = 0;
  /** When the last failed `send` was logged, and how many failed since without a line. */
  #loggedAt = -Infinity;
  #unlogged = 0;

  /** Wraps a `dgram.Socket`; `serveUdp` makes one per server, handlers receive it. */
  constructor(socket: Socket, options: UdpSocketOptions = {}) {
    this.socket = socket;
    this.#logger = options.logger;
    socket.once("close", () => {
      this.#closed = true;
    });
  }

  /** How many {@link UdpSocket.send} calls failed (closed socket, `EMSGSIZE`, unreachable network, ...). */
  get sendErrors(): number {
    return this.#sendErrors;
  }

  /** Whether the socket has closed; `sendTo` then rejects with `ClosedError`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends one datagram to `peer` and resolves with the number of bytes sent. Rejects with
   * `ClosedError` after the socket closed, and with the OS error (e.g. `EMSGSIZE` for more than
   * 65 507 bytes over IPv4) when the send fails; never throws.
   *
   * @example
   * ```ts
   * const bytes = await socket.sendTo(Buffer.from("pong"), peer); // 4
   * ```
   */
  sendTo(data: Uint8Array | string, peer: UdpTarget): Promise<number> {
    if (this.#closed) return Promise.reject(this.#closedError(undefined));
    return new Promise<number>((resolve, reject) => {
      try {
        this.socket.send(data, peer.port, peer.address, (error, bytes) => {
          if (error) reject(this.#failure(error));
          else resolve(bytes);
        });
      } catch (error) {
        reject(this.#failure(error));
      }
    });
  }

  /**
   * Sends one datagram to `peer` without waiting: the fast path for replies whose outcome the
   * handler does not need (what `dgram`'s `send` without a callback is, minus the silence). It
   * never throws for a failed send: after the socket closed, or when the OS refuses the datagram
   * (`EMSGSIZE`, `ENETUNREACH`, ...), the failure is counted in {@link UdpSocket.sendErrors}
   * (`stats().sendErrors` of the server) and reported to the logger (at most one line a second,
   * so a persistent failure at full rate cannot flood it). Invalid arguments (data that
   * is not bytes or a string, a bad port) throw at once, as in `dgram`.
   *
   * @example
   * ```ts
   * await serveUdp("127.0.0.1:9000", (data, peer, socket) => {
   *   socket.send(data, peer); // echo; the handler returns at once
   * });
   * ```
   */
  send(data: Uint8Array | string, peer: UdpTarget): void {
    if (this.#closed) {
      this.#sendFailed(this.#closedError(undefined));
      return;
    }
    try {
      this.socket.send(data, peer.port, peer.address, this.#afterSend);
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== "ERR_SOCKET_DGRAM_NOT_RUNNING") throw error;
      this.#sendFailed(this.#closedError(error));
    }
  }

  /** One callback for every `send`, so a datagram costs no closure. */
  readonly #afterSend = (error: Error | null): void => {
    if (error) this.#sendFailed(this.#failure(error));
  };

  #sendFailed(error: unknown): void {
    this.#sendErrors++;
    if (this.#logger === undefined) return;
    const now = performance.now();
    if (now - this.#loggedAt < LOG_INTERVAL_MS) {
      this.#unlogged++;
      return;
    }
    this.#loggedAt = now;
    const unlogged = this.#unlogged;
    this.#unlogged = 0;
    this.#logger.warn(unlogged === 0 ? { kind: "udp", err: error } : { kind: "udp", err: error, unlogged }, "udp send failed");
  }

  #failure(error: unknown): unknown {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ERR_SOCKET_DGRAM_NOT_RUNNING" || (this.#closed && code === "ECANCELED")) return this.#closedError(error);
    return error;
  }

  #closedError(cause: unknown): ClosedError {
    return new ClosedError("cannot send: the UDP socket is closed", cause === undefined ? undefined : { cause });
  }
}
