import { checkBoolean, checkCount, checkDuration, checkKnownKeys, checkOptionsObject } from "./check.ts";

/**
 * Settings for the HTTP-over-Unix server (`@tako/unix-http`), the Rust `ServerConfig`.
 * Durations are milliseconds.
 *
 * @example
 * ```ts
 * const config: Partial<ServerConfig> = { headersTimeout: 10_000, maxBodySize: 64 * 1024, keepAlive: false };
 * await serveUnixHttpWithConfig("/run/app.sock", router, config);
 * ```
 */
export interface ServerConfig {
  /** How long shutdown waits for in-flight work before destroying it. Default 30 000. */
  readonly drainTimeout: number;
  /** Time a client has to send the complete request headers (Tako's header read timeout). Default 30 000. */
  readonly headersTimeout: number;
  /** Time a client has to send the complete request, body included; 0 disables. Default 300 000. */
  readonly requestTimeout: number;
  /** Whether connections are kept alive between requests; false answers every response with `Connection: close`. Default true. */
  readonly keepAlive: boolean;
  /** How long an idle kept-alive connection stays open. Default 5 000. */
  readonly keepAliveTimeout: number;
  /** Most connections open at once; further ones are closed at accept. Default `Infinity`. */
  readonly maxConnections: number;
  /** Largest request header block in bytes; past it the answer is 431. Default 16 384. */
  readonly maxHeaderSize: number;
  /** Largest request body in bytes; past it the answer is 413. Default 1 048 576 (1 MiB). */
  readonly maxBodySize: number;
}

/**
 * The defaults of every {@link ServerConfig} field.
 *
 * @example
 * ```ts
 * DEFAULT_SERVER_CONFIG.drainTimeout; // 30000
 * ```
 */
export const DEFAULT_SERVER_CONFIG: Readonly<ServerConfig> = Object.freeze({
  drainTimeout: 30_000,
  headersTimeout: 30_000,
  requestTimeout: 300_000,
  keepAlive: true,
  keepAliveTimeout: 5_000,
  maxConnections: Number.POSITIVE_INFINITY,
  maxHeaderSize: 16_384,
  maxBodySize: 1_048_576,
});

type FieldKind = "duration" | "boolean" | "count" | "size";
const FIELDS: Record<keyof ServerConfig, FieldKind> = {
  drainTimeout: "duration",
  headersTimeout: "duration",
  requestTimeout: "duration",
  keepAlive: "boolean",
  keepAliveTimeout: "duration",
  maxConnections: "count",
  maxHeaderSize: "size",
  maxBodySize: "size",
};

/**
 * Validates a partial {@link ServerConfig}, fills in defaults and returns a frozen config.
 * Wrong types, negative or non-finite durations and unknown keys throw {@link InvalidConfigError}.
 *
 * @example
 * ```ts
 * const config = validateServerConfig({ drainTimeout: 5_000, maxBodySize: 64 * 1024 });
 * config.keepAlive; // true (the default)
 * ```
 */
export function validateServerConfig(input: Partial<ServerConfig> = {}): Readonly<ServerConfig> {
  checkOptionsObject("ServerConfig", input, "ServerConfig");
  checkKnownKeys("ServerConfig", input, Object.keys(FIELDS));
  const out: Record<string, unknown> = { ...DEFAULT_SERVER_CONFIG };
  for (const [field, kind] of Object.entries(FIELDS)) {
    const value = (input as Record<string, unknown>)[field];
    if (value === undefined) continue;
    if (kind === "duration") out[field] = checkDuration(field, value);
    else if (kind === "boolean") out[field] = checkBoolean(field, value);
    else out[field] = checkCount(field, value, { min: 1, allowInfinity: kind === "count" });
  }
  return Object.freeze(out as unknown as ServerConfig);
}

/**
 * A validated, frozen server configuration produced by {@link ServerBuilder.build}.
 *
 * @example
 * ```ts
 * const built = Server.builder().config({ maxConnections: 256 }).build();
 * built.config.maxConnections; // 256
 * ```
 */
export class BuiltServer {
  /** The validated, frozen config. */
  readonly config: Readonly<ServerConfig>;

  constructor(config: Readonly<ServerConfig>) {
    this.config = config;
  }
}

/**
 * Builds a validated {@link ServerConfig}, as the Rust `Server::builder()`.
 *
 * @example
 * ```ts
 * const built = Server.builder().config({ drainTimeout: 5_000 }).build();
 * ```
 */
export class ServerBuilder {
  #config: Partial<ServerConfig> = {};

  /** Merges `config` into what is set so far; validated at {@link build}. */
  config(config: Partial<ServerConfig>): this {
    this.#config = { ...this.#config, ...config };
    return this;
  }

  /** Validates the config (throwing {@link InvalidConfigError}) and returns a frozen {@link BuiltServer}. */
  build(): BuiltServer {
    return new BuiltServer(validateServerConfig(this.#config));
  }
}
