import type { Socket } from "node:dgram";
import { ClosedError } from "@tako/core";

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

/**
 * The bound socket a UDP handler replies through (Rust's `Arc<UdpSocket>`). `sendTo` returns a
 * promise of the bytes sent; once the socket is closed it rejects with `ClosedError`
 * (`ERR_TAKO_CLOSED`) instead of throwing asynchronously. `socket` is the underlying
 * `dgram.Socket` for anything else (multicast, TTL, `getRecvBufferSize()`).
 *
 * @example
 * ```ts
 * await serveUdp("127.0.0.1:9000", async (data, peer, socket) => {
 *   const sent = await socket.sendTo(data, peer); // bytes sent
 * });
 * ```
 */
export class UdpSocket {
  /** The underlying `dgram.Socket`. */
  readonly socket: Socket;
  #closed = false;

  /** Wraps a `dgram.Socket`; `serveUdp` makes one per server, handlers receive it. */
  constructor(socket: Socket) {
    this.socket = socket;
    socket.once("close", () => {
      this.#closed = true;
    });
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

  #failure(error: unknown): unknown {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ERR_SOCKET_DGRAM_NOT_RUNNING" || (this.#closed && code === "ECANCELED")) return this.#closedError(error);
    return error;
  }

  #closedError(cause: unknown): ClosedError {
    return new ClosedError("cannot send: the UDP socket is closed", cause === undefined ? undefined : { cause });
  }
}
