import { DEFAULT_DRAIN_TIMEOUT, InvalidConfigError, reusePortSupported, UnsupportedError, type Logger, type ShutdownSignal } from "@tako/core";
import { BASE_SERVE_OPTION_KEYS, checkBaseServeOptions, checkBoolean, checkCount, checkKnownKeys, checkOptionsObject, type BaseServeOptions } from "@tako/core/listener";

/**
 * Options of {@link serveUdp}: {@link BaseServeOptions} (`signal`, `drainTimeout`, `logger`) and
 * the datagram settings. Every field is optional; unknown keys are rejected.
 *
 * @example
 * ```ts
 * const options: ServeUdpOptions = { maxInFlight: 256, drainTimeout: 5_000, signal: shutdownSignal() };
 * await serveUdp("0.0.0.0:9000", handler, options);
 * ```
 */
export interface ServeUdpOptions extends BaseServeOptions {
  /**
   * Most datagram handlers running at once. A datagram that arrives while this many handlers are
   * in flight is dropped and counted in `stats().dropped`, never queued. Default 1 024.
   */
  readonly maxInFlight?: number;
  /**
   * `SO_RCVBUF` in bytes, so a burst of datagrams (up to 64 KiB each) waits in the kernel instead of
   * being dropped there. Default 4 MiB. The kernel caps it at `net.core.rmem_max` (and Linux reports
   * twice the value it grants); read the effective size with `server.socket.socket.getRecvBufferSize()`.
   */
  readonly recvBufferSize?: number;
  /** `SO_SNDBUF` in bytes. Default: the operating system's default. */
  readonly sendBufferSize?: number;
  /**
   * `SO_REUSEPORT`: several sockets (in one or several processes) bind the same port and the kernel
   * spreads datagrams among them. Linux, FreeBSD, Solaris and AIX only; elsewhere `serveUdp`
   * rejects with `UnsupportedError`. Default false.
   */
  readonly reusePort?: boolean;
  /** For an IPv6 address: do not also accept IPv4 on `[::]`. Rejected with an IPv4 address. Default false. */
  readonly ipv6Only?: boolean;
}

/**
 * The default {@link ServeUdpOptions.maxInFlight}: 1 024 handlers in flight (at most 64 MiB of
 * datagrams held, at 64 KiB each).
 *
 * @example
 * ```ts
 * await serveUdp(9000, handler, { maxInFlight: DEFAULT_MAX_IN_FLIGHT * 4 });
 * ```
 */
export const DEFAULT_MAX_IN_FLIGHT = 1024;

/**
 * The default {@link ServeUdpOptions.recvBufferSize}: 4 MiB requested (the kernel may grant less).
 *
 * @example
 * ```ts
 * await serveUdp(9000, handler, { recvBufferSize: DEFAULT_RECV_BUFFER_SIZE * 2 });
 * ```
 */
export const DEFAULT_RECV_BUFFER_SIZE = 4 * 1024 * 1024;

/** Largest buffer size accepted for `recvBufferSize` / `sendBufferSize` (what `setsockopt` takes: a C int). */
const MAX_BUFFER_SIZE = 2 ** 31 - 1;

const KNOWN_KEYS: readonly string[] = Object.freeze([...BASE_SERVE_OPTION_KEYS, "maxInFlight", "recvBufferSize", "sendBufferSize", "reusePort", "ipv6Only"]);

/** Validated options with their defaults filled in. */
export interface ResolvedUdpOptions {
  readonly maxInFlight: number;
  readonly recvBufferSize: number;
  /** Whether `recvBufferSize` was the default (a failure to apply it is then only logged). */
  readonly recvBufferSizeIsDefault: boolean;
  readonly sendBufferSize: number | undefined;
  readonly reusePort: boolean;
  readonly ipv6Only: boolean;
  readonly signal: ShutdownSignal | undefined;
  readonly drainTimeout: number;
  readonly logger: Logger | undefined;
}

/**
 * Validates {@link ServeUdpOptions} before anything is bound: unknown keys, wrong types and values
 * out of range throw `InvalidConfigError` naming the field; `reusePort` where the platform or Node
 * lacks it throws `UnsupportedError`.
 *
 * @example
 * ```ts
 * resolveUdpOptions({ maxInFlight: 0 }); // throws InvalidConfigError (field "maxInFlight")
 * ```
 */
export function resolveUdpOptions(options: ServeUdpOptions = {}, platform: string = process.platform): ResolvedUdpOptions {
  checkOptionsObject("serveUdp options", options);
  checkKnownKeys("serveUdp options", options, KNOWN_KEYS);
  checkBaseServeOptions(options);
  const maxInFlight = checkCount("maxInFlight", options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, { min: 1 });
  const recvBufferSize = checkBufferSize("recvBufferSize", options.recvBufferSize ?? DEFAULT_RECV_BUFFER_SIZE);
  const sendBufferSize = options.sendBufferSize === undefined ? undefined : checkBufferSize("sendBufferSize", options.sendBufferSize);
  const reusePort = checkBoolean("reusePort", options.reusePort) ?? false;
  const ipv6Only = checkBoolean("ipv6Only", options.ipv6Only) ?? false;
  const { signal, logger, drainTimeout = DEFAULT_DRAIN_TIMEOUT } = options;
  if (reusePort) checkReusePortSupport(platform, process.versions.node);
  return {
    maxInFlight,
    recvBufferSize,
    recvBufferSizeIsDefault: options.recvBufferSize === undefined,
    sendBufferSize,
    reusePort,
    ipv6Only,
    signal,
    drainTimeout,
    logger,
  };
}

/**
 * Throws `UnsupportedError` unless `dgram` can set `SO_REUSEPORT` here: Node >= 22.12 (or >= 23.1)
 * on Linux, FreeBSD, Solaris or AIX.
 *
 * @example
 * ```ts
 * checkReusePortSupport("darwin", "24.0.0"); // throws UnsupportedError (ERR_TAKO_UNSUPPORTED)
 * ```
 */
export function checkReusePortSupport(platform: string, nodeVersion: string): void {
  if (!reusePortSupported(platform)) {
    throw new UnsupportedError(`reusePort is not supported for UDP on ${platform} (only on Linux, FreeBSD, Solaris and AIX)`);
  }
  const [major = 0, minor = 0] = nodeVersion.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12) || (major === 23 && minor < 1)) {
    throw new UnsupportedError(`reusePort for UDP needs Node >= 22.12; this is Node ${nodeVersion}`);
  }
}

function checkBufferSize(field: string, value: unknown): number {
  const size = checkCount(field, value, { min: 1 });
  if (size > MAX_BUFFER_SIZE) throw new InvalidConfigError(field, `${field} must be at most ${MAX_BUFFER_SIZE} bytes; got ${size}`);
  return size;
}
