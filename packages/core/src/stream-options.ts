import { BASE_SERVE_OPTION_KEYS, checkBaseServeOptions, checkCount, checkDuration, checkOptionsObject, type BaseServeOptions } from "./check.ts";
import { InvalidConfigError } from "./errors.ts";
import { resolveProxyProtocolOption } from "./proxy/policy.ts";
import type { ProxyProtocolOption } from "./proxy/types.ts";

/**
 * Options every stream listener (`@tako/tcp`, `@tako/unix`) accepts: {@link BaseServeOptions}
 * (`signal`, `drainTimeout`, `logger`) and the connection caps. Durations are milliseconds.
 *
 * @example
 * ```ts
 * const options: StreamListenerOptions = { maxConnections: 512, onMaxConnections: "queue", idleTimeout: 60_000 };
 * ```
 */
export interface StreamListenerOptions extends BaseServeOptions {
  /** Most connections served at once. Default `Infinity`. */
  readonly maxConnections?: number | undefined;
  /**
   * What happens to a connection past `maxConnections`. `"queue"` (default): it is accepted and
   * waits, unread, for a free slot (bounded by `maxQueue` and `queueTimeout`). `"reject"`: it is
   * closed at once. Either way a refused connection counts in `stats().rejected`.
   */
  readonly onMaxConnections?: "queue" | "reject" | undefined;
  /** Most connections waiting for a slot (`"queue"` policy); past it new ones are closed. Default 1 024. */
  readonly maxQueue?: number | undefined;
  /** How long a queued connection may wait for a slot before it is closed; 0 = no limit. Default 30 000. */
  readonly queueTimeout?: number | undefined;
  /** Destroys a connection after this long with no traffic either way; 0 or undefined = off. */
  readonly idleTimeout?: number | undefined;
  /**
   * Read a PROXY protocol v1/v2 header before the handler: `true` (every connection must send
   * one) or `{ trusted, untrusted, timeout, maxHeaderSize }` (`trusted` and `untrusted` on TCP
   * only). The handler's `ctx.proxy` has the header; on TCP `peer` is the header's source.
   */
  readonly proxyProtocol?: ProxyProtocolOption | undefined;
}

/**
 * The default {@link StreamListenerOptions.maxQueue}: 1 024 waiting connections.
 *
 * @example
 * ```ts
 * await serveTcp(9001, handler, { maxConnections: 100, maxQueue: DEFAULT_MAX_QUEUE * 4 });
 * ```
 */
export const DEFAULT_MAX_QUEUE = 1024;
/**
 * The default {@link StreamListenerOptions.queueTimeout}: 30 000 ms.
 *
 * @example
 * ```ts
 * await serveTcp(9001, handler, { maxConnections: 100, queueTimeout: DEFAULT_QUEUE_TIMEOUT / 10 });
 * ```
 */
export const DEFAULT_QUEUE_TIMEOUT = 30_000;

/**
 * The option keys {@link StreamListenerOptions} knows; listeners add theirs and pass the lot to
 * `checkKnownKeys`.
 *
 * @example
 * ```ts
 * checkKnownKeys("serveTcp options", options, [...STREAM_LISTENER_OPTION_KEYS, "noDelay"]);
 * ```
 */
export const STREAM_LISTENER_OPTION_KEYS: readonly string[] = Object.freeze([
  ...BASE_SERVE_OPTION_KEYS,
  "maxConnections",
  "onMaxConnections",
  "maxQueue",
  "queueTimeout",
  "idleTimeout",
  "proxyProtocol",
]);

/**
 * Checks the values of {@link StreamListenerOptions} (not unknown keys: the listener does that
 * with its full key list). Throws {@link InvalidConfigError} naming the field.
 *
 * @example
 * ```ts
 * validateStreamListenerOptions({ maxConnections: 0 }); // throws InvalidConfigError (maxConnections)
 * ```
 */
export function validateStreamListenerOptions(options: StreamListenerOptions): void {
  const o = checkOptionsObject("options", options) as Record<string, unknown>;
  checkBaseServeOptions(options);
  if (o.idleTimeout !== undefined) checkDuration("idleTimeout", o.idleTimeout);
  if (o.queueTimeout !== undefined) checkDuration("queueTimeout", o.queueTimeout);
  if (o.maxConnections !== undefined) checkCount("maxConnections", o.maxConnections, { min: 1, allowInfinity: true });
  if (o.maxQueue !== undefined) checkCount("maxQueue", o.maxQueue, { min: 0 });
  if (o.onMaxConnections !== undefined && o.onMaxConnections !== "queue" && o.onMaxConnections !== "reject") {
    throw new InvalidConfigError("onMaxConnections", `onMaxConnections must be "queue" or "reject"; got ${JSON.stringify(o.onMaxConnections)}`);
  }
  // The shape, timeout and CIDRs; whether `trusted` is allowed is the listener's call (not on Unix).
  resolveProxyProtocolOption(o.proxyProtocol, { allowTrusted: true, field: "proxyProtocol" });
}
