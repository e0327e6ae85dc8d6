import type * as net from "node:net";
import type { SocketAddress } from "./address.ts";
import type { Drain, HandlerContext } from "./drain.ts";
import { isPeerGone, ProtocolError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { PROXY_ERROR } from "./proxy/constants.ts";
import type { ProxyPolicy } from "./proxy/policy.ts";
import { startProxyHeaderRead } from "./proxy/reader.ts";
import type { ProxyInfo } from "./proxy/types.ts";
import { reportProtocolError, type ServerHandle } from "./server.ts";

/** What the header phase needs from the stream machine that owns it. */
export interface ProxyPhaseHost {
  readonly kind: "tcp" | "unix";
  readonly logger: Logger | undefined;
  readonly drain: Drain;
  readonly handle: ServerHandle<unknown> | undefined;
  /** Runs the handler (counted in `accepted`, tracked by the drain). */
  serve(socket: net.Socket, handle: ServerHandle<unknown>, peer: unknown, ctx: HandlerContext): void;
  /** A slot was freed: the next queued connection may start. */
  onSlotFree(): void;
}

const kDirect = Symbol("tako.proxyDirect");

interface MarkedSocket extends net.Socket {
  [kDirect]?: true;
}

/**
 * The PROXY header phase of a stream listener, between accept and the handler. A connection
 * from a peer the policy trusts (every connection, without a `trusted` list) must send a
 * complete valid header within `timeout` before its handler runs; an untrusted one is refused at
 * once (`"reject"`, counted in `rejected`) or served as is (`"direct"`, `ctx.proxy` undefined).
 * A header that is malformed or late destroys the connection and counts in `protocolErrors`; one
 * that closes before sending a byte (a plain TCP health check) or resets is not counted.
 * Connections in the phase hold a `maxConnections` slot (the timeout bounds how long), are not
 * yet `active`, `accepted` or part of the drain report, and are closed at once when a drain starts.
 */
export class ProxyHeaderPhase {
  readonly policy: ProxyPolicy;
  readonly #host: ProxyPhaseHost;
  /** Sockets whose header is being read. */
  readonly pending = new Set<net.Socket>();

  constructor(policy: ProxyPolicy, host: ProxyPhaseHost) {
    this.policy = policy;
    this.#host = host;
  }

  /**
   * At accept, for a policy with a `trusted` list (see {@link ProxyPolicy.everyone}): `"reject"`
   * when the socket must be refused now (untrusted under `"reject"`), else `"ok"`. `address` is
   * the peer's, read once by the listener (the same read the handler's peer comes from).
   */
  admit(socket: net.Socket, address: string): "ok" | "reject" {
    const decision = this.policy.decide(address);
    if (decision === "reject") return "reject";
    if (decision === "direct") (socket as MarkedSocket)[kDirect] = true;
    return "ok";
  }

  /** Whether the socket's handler runs without a header (an untrusted peer under `"direct"`). */
  isDirect(socket: net.Socket): boolean {
    return (socket as MarkedSocket)[kDirect] === true;
  }

  /** Reads the header, then serves the connection or ends it. `peer` is the socket's own peer, read at accept. */
  begin(socket: net.Socket, peer: unknown): void {
    this.pending.add(socket);
    // TCP: the header's `via` is the socket's peer, already read (a socket without one never gets here); Unix sockets have none.
    const via = this.#host.kind === "tcp" ? (peer as SocketAddress) : null;
    startProxyHeaderRead(socket, this.policy.timeout, this.policy.maxHeaderSize, via, (error, info) => {
      this.pending.delete(socket);
      // The slot passes from the phase to the handler: no onSlotFree.
      if (error === null && info !== null && this.#serve(socket, info, peer)) return;
      if (error !== null) this.#report(error, peer);
      socket.destroy();
      this.#host.onSlotFree();
    });
  }

  /** Runs the handler with its own context (TCP: peer = the header's source, else the socket peer). */
  #serve(socket: net.Socket, info: ProxyInfo, socketPeer: unknown): boolean {
    const host = this.#host;
    const handle = host.handle;
    if (handle === undefined || host.drain.draining || socket.destroyed) return false;
    const peer = host.kind === "tcp" && info.source !== null ? info.source : socketPeer;
    host.serve(socket, handle, peer, Object.freeze({ signal: host.drain.signal, proxy: info }));
    return true;
  }

  #report(error: Error, peer: unknown): void {
    const host = this.#host;
    const handle = host.handle;
    if (handle === undefined || host.drain.draining) return;
    if (error instanceof ProtocolError) {
      if (error.code === PROXY_ERROR.CLOSED || error.code === PROXY_ERROR.ABORTED) return;
      reportProtocolError(handle, host.kind, host.logger, peer, error);
    } else if (!isPeerGone(error)) {
      host.logger?.debug({ err: error, kind: host.kind }, "connection lost during its PROXY header");
    }
  }

  /** Drain start: every connection still in the phase is closed now. */
  closeAll(): void {
    for (const socket of [...this.pending]) socket.destroy();
  }
}
