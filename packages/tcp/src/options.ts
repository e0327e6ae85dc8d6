import { type StreamListenerOptions } from "@tako/core";
import { checkBacklog, checkBoolean, checkDuration, checkKnownKeys, STREAM_LISTENER_OPTION_KEYS, validateStreamListenerOptions } from "@tako/core/listener";

/**
 * Options of {@link serveTcp}: the shared stream-listener options plus TCP socket settings.
 * Durations are milliseconds.
 *
 * @example
 * ```ts
 * await serveTcp("0.0.0.0:9001", handler, { maxConnections: 1_000, idleTimeout: 60_000, keepAlive: 30_000 });
 * ```
 */
export interface ServeTcpOptions extends StreamListenerOptions {
  /** TCP_NODELAY on accepted sockets (Nagle off). Default `true`. */
  readonly noDelay?: boolean | undefined;
  /** TCP keep-alive on accepted sockets: `true`, or the initial delay in ms. Default `false` (off). */
  readonly keepAlive?: boolean | number | undefined;
  /** The listen backlog (pending, not yet accepted connections). Default 511 (Node's). */
  readonly backlog?: number | undefined;
  /** SO_REUSEPORT: several servers (or processes) share the port and the kernel balances between them. Linux and some BSDs; elsewhere `UnsupportedError`. Default `false`. */
  readonly reusePort?: boolean | undefined;
  /** For an IPv6 address (`::`), accept IPv6 only (no IPv4-mapped clients). Default `false`. */
  readonly ipv6Only?: boolean | undefined;
}

/**
 * Every key {@link ServeTcpOptions} knows; anything else is rejected.
 *
 * @example
 * ```ts
 * SERVE_TCP_OPTION_KEYS.includes("noDelay"); // true
 * ```
 */
export const SERVE_TCP_OPTION_KEYS: readonly string[] = Object.freeze([...STREAM_LISTENER_OPTION_KEYS, "noDelay", "keepAlive", "backlog", "reusePort", "ipv6Only"]);

/**
 * Validates {@link ServeTcpOptions} (values and unknown keys); throws InvalidConfigError.
 *
 * @example
 * ```ts
 * validateTcpOptions({ noDelay: "yes" }); // throws InvalidConfigError (noDelay)
 * ```
 */
export function validateTcpOptions(options: ServeTcpOptions): void {
  validateStreamListenerOptions(options);
  checkKnownKeys("serveTcp options", options, SERVE_TCP_OPTION_KEYS);
  checkBoolean("noDelay", options.noDelay);
  checkBoolean("reusePort", options.reusePort);
  checkBoolean("ipv6Only", options.ipv6Only);
  if (options.keepAlive !== undefined && typeof options.keepAlive !== "boolean") checkDuration("keepAlive", options.keepAlive);
  checkBacklog(options.backlog);
}
