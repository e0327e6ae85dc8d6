import type { Socket } from "node:net";
import {
  DEFAULT_SERVER_CONFIG,
  InvalidConfigError,
  validateServerConfig,
  type Logger,
  type Server,
  type ServerConfig,
  type ShutdownSignal,
  type UnixProxyProtocolOption,
} from "@tako/core";
import { checkBaseServeOptions, checkKnownKeys, checkOptionsObject, readProxyHeader, resolveProxyProtocolOption } from "@tako/core/listener";
import { resolvePeerCredentials, validateUnixSocketOptions, type BindUnixSocketOptions, type PeerCredentialsMode, type UnixAddressInput } from "@tako/unix";
import { UnixHttpListener } from "./listener.ts";
import { rememberProxyInfo } from "./proxy-info.ts";
import { Router } from "./router.ts";

/**
 * A protocol `serveUnixHttp` can serve: `"http1"` (HTTP/1.1, with WebSocket upgrades) and
 * `"h2c"` (HTTP/2 over cleartext with prior knowledge).
 *
 * @example
 * ```ts
 * const protocols: UnixHttpProtocol[] = ["http1", "h2c"];
 * ```
 */
export type UnixHttpProtocol = "http1" | "h2c";

/**
 * Options of {@link serveUnixHttp}: every {@link ServerConfig} field (all optional, defaults as in
 * `DEFAULT_SERVER_CONFIG`), plus the shutdown signal, a logger, the socket file's mode and how
 * peer credentials are read.
 *
 * @example
 * ```ts
 * const options: ServeUnixHttpOptions = { signal: shutdownSignal(), mode: 0o660, maxBodySize: 64 * 1024 };
 * ```
 */
export interface ServeUnixHttpOptions extends Partial<ServerConfig> {
  /** Starts shutdown when it aborts (an `AbortSignal`) or settles (a promise-like). */
  readonly signal?: ShutdownSignal | undefined;
  /** A pino-compatible logger. Default: silent, except handler errors to stderr. */
  readonly logger?: Logger | undefined;
  /** Permission bits of the socket file, e.g. `0o660`, applied before it appears at the path. Not for `@name` sockets. */
  readonly mode?: number | undefined;
  /** The listen backlog. Default: Node's (511). */
  readonly backlog?: number | undefined;
  /**
   * Whether each connection's peer `pid`/`uid`/`gid` and bound name are read at accept (`ctx.peer`):
   * `"auto"` (default) where the koffi backend loads, else `null`s; `"required"`: startup fails
   * with `UnsupportedError` without a backend, and a connection whose credentials cannot be read
   * is closed (counted in `rejected`); `"off"`: never.
   */
  readonly peerCredentials?: PeerCredentialsMode | undefined;
  /**
   * The protocols served on the socket. Default `["http1"]`. `["http1", "h2c"]` serves HTTP/2
   * with prior knowledge beside HTTP/1.1 (told apart by the HTTP/2 preface); `["h2c"]` only HTTP/2.
   */
  readonly protocols?: readonly UnixHttpProtocol[] | undefined;
  /**
   * Every connection must start with a PROXY v1 or v2 header (HAProxy `send-proxy(-v2)` to a
   * `unix@` server, nginx stream `proxy_protocol on`): `true`, or `{ timeout }` (default 5 000 ms)
   * and `maxHeaderSize`. Handlers see it as `ctx.proxy` and `ctx.extensions.get(ProxyInfo)`; a
   * missing, malformed or late header closes the connection and counts in `stats().protocolErrors`.
   * A `trusted` list is for TCP listeners and an error here.
   */
  readonly proxyProtocol?: UnixProxyProtocolOption | undefined;
}

const CONFIG_KEYS = Object.keys(DEFAULT_SERVER_CONFIG);
/**
 * The option keys {@link serveUnixHttp} accepts.
 *
 * @example
 * ```ts
 * SERVE_UNIX_HTTP_OPTION_KEYS.includes("maxBodySize"); // true
 * ```
 */
export const SERVE_UNIX_HTTP_OPTION_KEYS: readonly string[] = Object.freeze([
  ...CONFIG_KEYS,
  "signal",
  "logger",
  "mode",
  "backlog",
  "peerCredentials",
  "protocols",
  "proxyProtocol",
]);

/**
 * Serves `router` over HTTP/1.1 (and, with `protocols`, HTTP/2 cleartext) on the Unix socket
 * `path` (`@name` for a Linux abstract socket), and resolves with the server handle once it listens. The socket file is handled by
 * `@tako/unix` (stale files replaced, anything that is not a socket refused, `mode` applied
 * atomically, removed on shutdown only if it is still ours). Bad options reject before anything
 * is bound ({@link InvalidConfigError}, `InvalidSocketPathError`); a bind failure rejects with a
 * `BindError` carrying the OS code. `path` may be an inherited listening socket `{ fd }` (a
 * `listenFds()` entry from `@tako/systemd`), whose file is never probed, chmod-ed or removed.
 *
 * @example
 * ```ts
 * const router = new Router();
 * router.get("/", () => "hello from unix");
 * const server = await serveUnixHttp("/tmp/tako-http.sock", router, { signal: shutdownSignal() });
 * console.log(await server.finished); // { drained, forced, durationMs } after Ctrl-C
 * ```
 */
export async function serveUnixHttp(path: UnixAddressInput, router: Router, options: ServeUnixHttpOptions = {}): Promise<Server<string>> {
  if (!(router instanceof Router)) throw new InvalidConfigError("router", "serveUnixHttp needs a Router (new Router())");
  checkOptionsObject("serveUnixHttp options", options);
  checkKnownKeys("serveUnixHttp options", options, SERVE_UNIX_HTTP_OPTION_KEYS);
  const { signal, logger, mode, backlog, peerCredentials, protocols, proxyProtocol, ...rest } = options;
  const config = validateServerConfig(definedOnly(rest) as Partial<ServerConfig>);
  checkBaseServeOptions({ signal, logger });
  const served = checkProtocols(protocols);
  const policy = resolveProxyProtocolOption(proxyProtocol, { allowTrusted: false, field: "proxyProtocol" });
  const bindOptions = definedOnly({ mode, backlog }) as BindUnixSocketOptions;
  const target = validateUnixSocketOptions(path, bindOptions);
  const credentials = resolvePeerCredentials(peerCredentials, "serveUnixHttp options.peerCredentials");
  const listener = new UnixHttpListener({
    router,
    config,
    address: target.address,
    logger,
    credentials,
    http1: served.has("http1"),
    h2c: served.has("h2c"),
    prelude:
      policy === undefined
        ? undefined
        : async (socket: Socket) => {
            rememberProxyInfo(socket, await readProxyHeader(socket, { timeout: policy.timeout, maxHeaderSize: policy.maxHeaderSize }));
          },
  });
  await listener.bind(path, bindOptions, signal);
  return listener.handle;
}

/**
 * {@link serveUnixHttp} with a shutdown signal (the Rust `serve_unix_http_with_shutdown`).
 *
 * @example
 * ```ts
 * const server = await serveUnixHttpWithShutdown("/tmp/app.sock", router, shutdownSignal());
 * ```
 */
export function serveUnixHttpWithShutdown(path: UnixAddressInput, router: Router, signal: ShutdownSignal): Promise<Server<string>> {
  return serveUnixHttp(path, router, { signal });
}

/**
 * {@link serveUnixHttp} with a shutdown signal and a drain timeout in ms.
 *
 * @example
 * ```ts
 * const server = await serveUnixHttpWithShutdownAndDrain("/tmp/app.sock", router, shutdownSignal(), 10_000);
 * ```
 */
export function serveUnixHttpWithShutdownAndDrain(path: UnixAddressInput, router: Router, signal: ShutdownSignal, drainTimeout: number): Promise<Server<string>> {
  return serveUnixHttp(path, router, { signal, drainTimeout });
}

/**
 * {@link serveUnixHttp} with a {@link ServerConfig} (partial; validated, defaults filled in).
 *
 * @example
 * ```ts
 * const server = await serveUnixHttpWithConfig("/tmp/app.sock", router, { maxConnections: 256, keepAlive: false });
 * ```
 */
export async function serveUnixHttpWithConfig(path: UnixAddressInput, router: Router, config: Partial<ServerConfig>): Promise<Server<string>> {
  checkOptionsObject("ServerConfig", config, "config");
  checkKnownKeys("ServerConfig", config, CONFIG_KEYS);
  return serveUnixHttp(path, router, config);
}

function definedOnly(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value;
  return out;
}

function checkProtocols(protocols: unknown): Set<UnixHttpProtocol> {
  if (protocols === undefined) return new Set(["http1"]);
  if (!Array.isArray(protocols) || protocols.length === 0) {
    throw new InvalidConfigError("protocols", `protocols must be a non-empty array of "http1" and "h2c"; got ${JSON.stringify(protocols)}`);
  }
  const served = new Set<UnixHttpProtocol>();
  for (const protocol of protocols) {
    if (protocol !== "http1" && protocol !== "h2c") throw new InvalidConfigError("protocols", `unknown protocol ${JSON.stringify(protocol)} (known: "http1", "h2c")`);
    if (served.has(protocol)) throw new InvalidConfigError("protocols", `protocol ${JSON.stringify(protocol)} is listed twice`);
    served.add(protocol);
  }
  return served;
}
