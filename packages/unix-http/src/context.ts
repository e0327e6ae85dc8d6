import type { Socket } from "node:net";
import { UnixPeerAddr, unixPeerOf } from "@tako/unix";
import { Extensions } from "./extensions.ts";
import { ProxyInfo, proxyInfoOf } from "./proxy-info.ts";

/**
 * The second argument of every handler and middleware.
 *
 * @example
 * ```ts
 * router.get("/users/{id}", (req, ctx) => {
 *   ctx.params.id;                        // percent-decoded
 *   ctx.peer === ctx.extensions.get(UnixPeerAddr); // true
 *   ctx.signal;                           // aborts when the server starts shutting down
 *   ctx.proxy?.source;                    // with proxyProtocol: the client the proxy accepted
 *   return { id: ctx.params.id };
 * });
 * ```
 */
export interface RequestContext<P = Readonly<Record<string, string>>> {
  /** The route's parameters, percent-decoded (`{}` for a route without any). */
  readonly params: P;
  /** Per-request values keyed by class; holds the {@link UnixPeerAddr} from the start (and the {@link ProxyInfo} with `proxyProtocol`). */
  readonly extensions: Extensions;
  /** The connection's peer (for `router.fetch`, the `peer` passed, else an unnamed one). */
  readonly peer: UnixPeerAddr;
  /**
   * Aborts when the server starts shutting down (for `router.fetch`: the request's signal). The
   * Request's own `req.signal` aborts when the client goes away.
   */
  readonly signal: AbortSignal;
  /**
   * The connection's PROXY header when the server runs with `proxyProtocol` (also
   * `ctx.extensions.get(ProxyInfo)`); `undefined` otherwise and for `router.fetch`.
   */
  readonly proxy: ProxyInfo | undefined;
}

/** @internal Where a request's failures are reported (the server, or the router for `fetch`). */
export interface RequestHost {
  report(error: unknown, peer: UnixPeerAddr): void;
}

/**
 * @internal The peer of a connection: the {@link UnixPeerAddr} the listener read at accept (with its
 * `peerCredentials` mode) and cached on the socket; never read again here ("off").
 */
export function peerOf(socket: object): UnixPeerAddr {
  return unixPeerOf(socket as Socket, "off");
}

/** @internal The params of a context with no route parameters (one frozen object for all). */
export const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/** @internal The {@link RequestContext} implementation: `peer` and `extensions` are made only when read. */
export class Context implements RequestContext {
  params: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  /** @internal */
  readonly host: RequestHost;
  #peer: UnixPeerAddr | undefined;
  #socket: object | undefined;
  #extensions: Extensions | undefined;

  constructor(params: Readonly<Record<string, string>>, signal: AbortSignal, host: RequestHost, peer: UnixPeerAddr | undefined, socket: object | undefined) {
    this.params = params;
    this.signal = signal;
    this.host = host;
    this.#peer = peer;
    this.#socket = socket;
  }

  get peer(): UnixPeerAddr {
    if (this.#peer === undefined) this.#peer = this.#socket === undefined ? new UnixPeerAddr(null) : peerOf(this.#socket);
    return this.#peer;
  }

  get proxy(): ProxyInfo | undefined {
    return proxyInfoOf(this.#socket);
  }

  get extensions(): Extensions {
    if (this.#extensions === undefined) {
      this.#extensions = new Extensions([[UnixPeerAddr, this.peer]]);
      const proxy = this.proxy;
      if (proxy !== undefined) this.#extensions.set(ProxyInfo, proxy);
    }
    return this.#extensions;
  }
}
