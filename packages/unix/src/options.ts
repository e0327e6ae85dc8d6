import { type StreamListenerOptions, type UnixProxyProtocolOption } from "@tako/core";
import { checkKnownKeys, checkOptionsObject, resolveProxyProtocolOption, STREAM_LISTENER_OPTION_KEYS, validateStreamListenerOptions } from "@tako/core/listener";
import { checkModeAndBacklog } from "./bind-unix.ts";
import { parseSocketPath, type SocketPath } from "./socket-path.ts";

/**
 * Options of {@link serveUnix}: the shared stream-listener options (`signal`, `drainTimeout`,
 * `logger`, `maxConnections`, `onMaxConnections`, `maxQueue`, `queueTimeout`, `idleTimeout`) plus
 * the socket file's `mode` and the listen `backlog`. Durations are milliseconds.
 *
 * @example
 * ```ts
 * await serveUnix("/run/app.sock", handler, { mode: 0o660, maxConnections: 64, idleTimeout: 60_000 });
 * ```
 */
export interface ServeUnixOptions extends StreamListenerOptions {
  /** Permission bits of the socket file, e.g. `0o660`; applied before the file appears at the path. Default: the umask decides. Not for abstract sockets. */
  readonly mode?: number | undefined;
  /** The listen backlog (pending, not yet accepted connections). Default 511 (Node's). */
  readonly backlog?: number | undefined;
  /**
   * Every connection must start with a PROXY v1/v2 header (HAProxy `server app unix@/run/app.sock
   * send-proxy-v2`): `true`, or `{ timeout, maxHeaderSize }`. No `trusted` list: the socket
   * file's permissions decide who may connect. `ctx.proxy` has the header; `peer` stays the
   * socket's `UnixPeerAddr`.
   */
  readonly proxyProtocol?: UnixProxyProtocolOption | undefined;
}

/**
 * Every key {@link ServeUnixOptions} knows; anything else is rejected.
 *
 * @example
 * ```ts
 * SERVE_UNIX_OPTION_KEYS.includes("mode"); // true
 * ```
 */
export const SERVE_UNIX_OPTION_KEYS: readonly string[] = Object.freeze([...STREAM_LISTENER_OPTION_KEYS, "mode", "backlog"]);

/**
 * Validates a socket path and {@link ServeUnixOptions} (values and unknown keys) without touching
 * anything; throws what {@link serveUnix} would reject with.
 *
 * @example
 * ```ts
 * validateUnixOptions("@admin", { mode: 0o600 }); // throws InvalidConfigError (mode on an abstract socket)
 * ```
 */
export function validateUnixOptions(path: string, options: ServeUnixOptions): SocketPath {
  const target = parseSocketPath(path);
  checkOptionsObject("serveUnix options", options);
  // Before the shared check: on Unix a trusted/untrusted key is the error to name.
  resolveProxyProtocolOption(options.proxyProtocol, { allowTrusted: false, field: "proxyProtocol" });
  validateStreamListenerOptions(options);
  checkKnownKeys("serveUnix options", options, SERVE_UNIX_OPTION_KEYS);
  checkModeAndBacklog(target, options);
  return target;
}
