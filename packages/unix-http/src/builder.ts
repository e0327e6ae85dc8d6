import { BuiltServer, InvalidConfigError, ServerBuilder, type Server as CoreServer } from "@tako/core";
import { checkKnownKeys, checkOptionsObject } from "@tako/core/listener";
import type { UnixAddressInput } from "@tako/unix";
import type { Router } from "./router.ts";
import { serveUnixHttp, type ServeUnixHttpOptions } from "./serve.ts";

/**
 * What `spawnUnixHttp` takes besides the built config: the shutdown signal, a logger, and the
 * socket file's mode and backlog, `peerCredentials`, the protocols and the PROXY option.
 *
 * @example
 * ```ts
 * const options: SpawnUnixHttpOptions = { signal: shutdownSignal(), mode: 0o660 };
 * ```
 */
export type SpawnUnixHttpOptions = Pick<ServeUnixHttpOptions, "signal" | "logger" | "mode" | "backlog" | "peerCredentials" | "protocols" | "proxyProtocol">;

const SPAWN_OPTION_KEYS: readonly string[] = Object.freeze(["signal", "logger", "mode", "backlog", "peerCredentials", "protocols", "proxyProtocol"]);

/**
 * Serves `router` on `path` with the config of `built` (the defaults without one): the Rust
 * builder's `spawn_unix_http`. Same handle and errors as {@link serveUnixHttp}.
 *
 * @example
 * ```ts
 * const built = Server.builder().config({ maxConnections: 64 }).build();
 * const server = await spawnUnixHttp("/tmp/app.sock", router, built, { signal: shutdownSignal() });
 * ```
 */
export function spawnUnixHttp(path: UnixAddressInput, router: Router, built?: BuiltServer, options: SpawnUnixHttpOptions = {}): Promise<CoreServer<string>> {
  if (built !== undefined && !(built instanceof BuiltServer)) {
    return Promise.reject(new InvalidConfigError("built", "spawnUnixHttp takes what Server.builder().config(c).build() returns"));
  }
  try {
    checkOptionsObject("spawnUnixHttp options", options);
    checkKnownKeys("spawnUnixHttp options", options, SPAWN_OPTION_KEYS);
  } catch (error) {
    return Promise.reject(error);
  }
  return serveUnixHttp(path, router, { ...(built?.config ?? {}), ...options });
}

/**
 * The built, validated config with `spawnUnixHttp`: what `Server.builder().config(c).build()`
 * returns when `Server` comes from `@tako/unix-http`.
 *
 * @example
 * ```ts
 * const server = await Server.builder().config({ keepAlive: false }).build().spawnUnixHttp("/tmp/app.sock", router);
 * ```
 */
export class UnixHttpBuiltServer extends BuiltServer {
  /** Serves `router` on `path` with this config; see {@link spawnUnixHttp}. */
  spawnUnixHttp(path: UnixAddressInput, router: Router, options?: SpawnUnixHttpOptions): Promise<CoreServer<string>> {
    return spawnUnixHttp(path, router, this, options);
  }
}

/**
 * Core's `ServerBuilder` whose `build()` returns a {@link UnixHttpBuiltServer}.
 *
 * @example
 * ```ts
 * const built = new UnixHttpServerBuilder().config({ drainTimeout: 5_000 }).build();
 * ```
 */
export class UnixHttpServerBuilder extends ServerBuilder {
  /** Validates the config (throwing `InvalidConfigError`) and returns a {@link UnixHttpBuiltServer}. */
  override build(): UnixHttpBuiltServer {
    return new UnixHttpBuiltServer(super.build().config);
  }
}

/**
 * `Server.builder()`, the Rust builder: `Server.builder().config(c).build().spawnUnixHttp(path, router)`.
 * As a type, `Server` is the handle every `serveUnixHttp*` resolves to (address: the socket path,
 * or `@name`).
 *
 * @example
 * ```ts
 * import { Router, Server } from "@tako/unix-http";
 * const server: Server = await Server.builder().config({ drainTimeout: 5_000 }).build().spawnUnixHttp("/tmp/app.sock", new Router());
 * ```
 */
export const Server: { builder(): UnixHttpServerBuilder } = Object.freeze({
  builder: () => new UnixHttpServerBuilder(),
});
/**
 * The server handle, with the socket path (or `@name`) as its address.
 *
 * @example
 * ```ts
 * const server: Server = await serveUnixHttp("/tmp/app.sock", router);
 * server.address; // "/tmp/app.sock"
 * ```
 */
export type Server = CoreServer<string>;
