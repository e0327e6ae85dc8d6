import { type StreamListenerOptions, type UnixProxyProtocolOption } from "@tako/core";
import { checkKnownKeys, checkOptionsObject, resolveProxyProtocolOption, STREAM_LISTENER_OPTION_KEYS, validateStreamListenerOptions } from "@tako/core/listener";
import { checkModeAndBacklog } from "./bind-unix.ts";
import { resolveUnixAddress, type UnixAddressInput } from "./unix-address.ts";
import type { SocketPath } from "./socket-path.ts";
import { resolvePeerCredentials, type PeerCredentialsMode } from "./unix-peer-of.ts";

/**
 * Options of {@link serveUnix}: the shared stream-listener options (`signal`, `drainTimeout`,
 * `logger`, `maxConnections`, `onMaxConnections`, `maxQueue`, `queueTimeout`, `idleTimeout`) plus
 * the socket file's `mode`, the listen `backlog` and `peerCredentials`. Durations are milliseconds.
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
   * Whether each peer's `pid`/`uid`/`gid` and bound name are read at accept (see `unixPeerOf`):
   * `"auto"` (default) where the koffi backend loads, else `null`s; `"required"`: startup fails
   * with `UnsupportedError` without a backend, and a connection whose credentials cannot be read
   * is closed (counted in `rejected`); `"off"`: never (every peer is all `null`).
   */
  readonly peerCredentials?: PeerCredentialsMode | undefined;
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
export const SERVE_UNIX_OPTION_KEYS: readonly string[] = Object.freeze([...STREAM_LISTENER_OPTION_KEYS, "mode", "backlog", "peerCredentials"]);

/**
 * Validates a socket path and {@link ServeUnixOptions} (values and unknown keys) without touching
 * anything (it may load the peer-credentials backend); throws what {@link serveUnix} would reject with.
 *
 * @example
 * ```ts
 * validateUnixOptions("@admin", { mode: 0o600 }); // throws InvalidConfigError (mode on an abstract socket)
 * ```
 */
export function validateUnixOptions(path: UnixAddressInput, options: ServeUnixOptions): SocketPath {
  const target = resolveUnixAddress(path, "serveUnix");
  checkOptionsObject("serveUnix options", options);
  // Before the shared check: on Unix a trusted/untrusted key is the error to name.
  resolveProxyProtocolOption(options.proxyProtocol, { allowTrusted: false, field: "proxyProtocol" });
  validateStreamListenerOptions(options);
  checkKnownKeys("serveUnix options", options, SERVE_UNIX_OPTION_KEYS);
  checkModeAndBacklog(target, options);
  resolvePeerCredentials(options.peerCredentials, "serveUnix options.peerCredentials");
  return target;
}
