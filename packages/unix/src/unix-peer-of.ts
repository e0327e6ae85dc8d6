import type * as net from "node:net";
import { InvalidConfigError, TakoError } from "@tako/core";
import { unsupportedFeature } from "@tako/core/listener";
import { loadedBackend, peerCredentialsBackend } from "./peer-credentials-backend.ts";
import { UNKNOWN_PEER, UnixPeerAddr } from "./unix-peer-addr.ts";

/**
 * How a listener gets its peers' credentials: `"auto"` (the default) reads them where a backend
 * loads and gives `null`s otherwise; `"required"` refuses to start without a backend and closes
 * any connection whose credentials cannot be read; `"off"` never reads (every peer is the one
 * shared all-`null` {@link UnixPeerAddr}).
 *
 * @example
 * ```ts
 * const mode: PeerCredentialsMode = "required";
 * await serveUnix("@admin", handler, { peerCredentials: mode });
 * ```
 */
export type PeerCredentialsMode = "auto" | "required" | "off";

const MODES: readonly string[] = ["auto", "required", "off"];

/**
 * A connection's peer credentials could not be read while `peerCredentials` is `"required"`: the
 * connection is closed before any handler sees it (and counted in `stats().rejected`). Code
 * `ERR_TAKO_PEER_CREDENTIALS`.
 *
 * @example
 * ```ts
 * try { unixPeerOf(socket, "required"); } catch (err) { err instanceof PeerCredentialsError; } // true for a dead fd
 * ```
 */
export class PeerCredentialsError extends TakoError {
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_TAKO_PEER_CREDENTIALS", message, options);
  }
}

/**
 * Validates a listener's `peerCredentials` option before anything is bound, and returns the mode
 * it will run with: `"required"` throws {@link UnsupportedError} naming why when no backend loads
 * (koffi missing, an unsupported platform, `TAKO_PEERCRED_BACKEND=none`); `"auto"` without a
 * backend runs as `"off"`. Anything else is an {@link InvalidConfigError}. For listener authors
 * (`@tako/unix-http` uses it).
 *
 * @example
 * ```ts
 * const mode = resolvePeerCredentials(options.peerCredentials, "serveUnix options.peerCredentials"); // "auto" | "required" | "off"
 * ```
 */
export function resolvePeerCredentials(value: unknown, field = "peerCredentials"): PeerCredentialsMode {
  if (value === undefined) value = "auto";
  if (typeof value !== "string" || !MODES.includes(value)) {
    throw new InvalidConfigError(field, `${field} must be "auto", "required" or "off"; got ${typeof value === "string" ? JSON.stringify(value) : String(value)}`);
  }
  if (value === "off") return "off";
  const backend = peerCredentialsBackend();
  if (typeof backend === "string") {
    if (value === "required") throw unsupportedFeature("peer credentials", `${field} is "required" but no peer-credentials backend is available: ${backend}`);
    return "off";
  }
  return value as PeerCredentialsMode;
}

const kPeer = Symbol("tako.unixPeer");

interface PeerSocket {
  [kPeer]?: UnixPeerAddr;
  _handle?: { fd?: unknown } | null;
}

/**
 * The {@link UnixPeerAddr} of an accepted Unix-socket connection. The first call that reads
 * (`"auto"` or `"required"`) asks the kernel once (`SO_PEERCRED` / `getpeereid` and `getpeername`
 * on the socket's fd) and caches the result on the socket; every later call returns that same
 * object, whatever mode it passes. `"off"` never reads (the shared all-`null` peer unless one was
 * cached). When the credentials cannot be read (no backend, no fd, the call fails), `"auto"` gives
 * the all-`null` peer and `"required"` throws {@link PeerCredentialsError}: never a wrong one.
 * Exported for listener authors (`@tako/unix-http` calls it on each connection).
 *
 * @example
 * ```ts
 * net.createServer((socket) => {
 *   const peer = unixPeerOf(socket, "auto");
 *   if (peer.uid !== 0) socket.destroy();
 * });
 * ```
 */
export function unixPeerOf(socket: net.Socket, mode: PeerCredentialsMode): UnixPeerAddr {
  const s = socket as net.Socket & PeerSocket;
  const cached = s[kPeer];
  if (cached !== undefined) return cached;
  if (mode === "off") return UNKNOWN_PEER;
  const peer = readPeer(s, mode);
  s[kPeer] = peer;
  return peer;
}

function readPeer(socket: PeerSocket, mode: PeerCredentialsMode): UnixPeerAddr {
  const backend = loadedBackend();
  if (typeof backend === "string") return unavailable(mode, backend);
  const fd = socket._handle?.fd;
  if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0) return unavailable(mode, "the socket has no file descriptor (closed, or not a Unix socket of this process)");
  const record = backend.read(fd);
  if (record === undefined) return unavailable(mode, `the kernel gave no credentials for fd ${fd}`);
  if (record.path === null && record.pid === null && record.uid === null && record.gid === null) return UNKNOWN_PEER;
  return new UnixPeerAddr(record);
}

function unavailable(mode: PeerCredentialsMode, why: string): UnixPeerAddr {
  if (mode === "required") throw new PeerCredentialsError(`cannot read the peer's credentials: ${why}`);
  return UNKNOWN_PEER;
}
