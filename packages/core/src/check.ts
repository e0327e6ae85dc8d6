// The checks every listener runs on its options, so one rule holds everywhere: each throws an
// InvalidConfigError naming the field, before anything is bound.
import { InvalidConfigError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { ShutdownSignal } from "./shutdown.ts";

/**
 * Options every `serve*` function takes: the shutdown trigger, the drain deadline and a logger.
 * Listeners extend it with their own.
 *
 * @example
 * ```ts
 * interface MyServeOptions extends BaseServeOptions {
 *   readonly greeting?: string | undefined;
 * }
 * ```
 */
export interface BaseServeOptions {
  /** Starts shutdown when it aborts (an `AbortSignal`) or settles (a promise-like). */
  readonly signal?: ShutdownSignal | undefined;
  /** How long shutdown waits for in-flight work before destroying it, in ms. Default 30 000. */
  readonly drainTimeout?: number | undefined;
  /** A pino-compatible logger (`error`, `warn`, `info` and `debug`). Default: silent, except handler errors to stderr. */
  readonly logger?: Logger | undefined;
}

/**
 * The keys of {@link BaseServeOptions}; listeners add theirs and pass the lot to {@link checkKnownKeys}.
 *
 * @example
 * ```ts
 * checkKnownKeys("serveThing options", options, [...BASE_SERVE_OPTION_KEYS, "greeting"]);
 * ```
 */
export const BASE_SERVE_OPTION_KEYS: readonly string[] = Object.freeze(["signal", "drainTimeout", "logger"]);

/**
 * Checks the values of {@link BaseServeOptions} (`signal`, `drainTimeout`, `logger`; each may be
 * undefined).
 *
 * @example
 * ```ts
 * checkBaseServeOptions({ drainTimeout: -1 }); // throws InvalidConfigError (drainTimeout)
 * ```
 */
export function checkBaseServeOptions(options: BaseServeOptions): void {
  const o = options as Record<string, unknown>;
  checkSignal(o.signal);
  if (o.drainTimeout !== undefined) checkDuration("drainTimeout", o.drainTimeout);
  checkLogger(o.logger);
}

/**
 * Checks that options are an object (not null, not an array) and returns them; the error names
 * `field` (default `"options"`).
 *
 * @example
 * ```ts
 * const options = checkOptionsObject("serveTcp options", input ?? {});
 * ```
 */
export function checkOptionsObject<T extends object>(what: string, value: T, field = "options"): T {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidConfigError(field, `${what} must be an object; got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Checks a duration in milliseconds: a finite number, 0 or more.
 *
 * @example
 * ```ts
 * checkDuration("drainTimeout", options.drainTimeout ?? 30_000);
 * ```
 */
export function checkDuration(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new InvalidConfigError(field, `${field} must be a finite number of milliseconds, 0 or more; got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Checks a count or size: an integer of at least `min`, or `Infinity` where `allowInfinity` is set.
 *
 * @example
 * ```ts
 * checkCount("maxConnections", 100, { min: 1, allowInfinity: true });
 * ```
 */
export function checkCount(field: string, value: unknown, { min = 1, allowInfinity = false } = {}): number {
  const ok = typeof value === "number" && ((allowInfinity && value === Number.POSITIVE_INFINITY) || (Number.isInteger(value) && value >= min));
  if (!ok) {
    throw new InvalidConfigError(field, `${field} must be an integer of at least ${min}${allowInfinity ? " (or Infinity)" : ""}; got ${describeValue(value)}`);
  }
  return value as number;
}

/**
 * Checks an optional boolean: `undefined` or `true`/`false`.
 *
 * @example
 * ```ts
 * const noDelay = checkBoolean("noDelay", options.noDelay) ?? true;
 * ```
 */
export function checkBoolean(field: string, value: unknown): boolean | undefined {
  if (value !== undefined && typeof value !== "boolean") {
    throw new InvalidConfigError(field, `${field} must be a boolean; got ${describeValue(value)}`);
  }
  return value;
}

/** The largest listen backlog (the kernel's argument is a C int; it caps it at `somaxconn` anyway). */
const MAX_BACKLOG = 0x7fffffff;

/**
 * Checks an optional listen backlog: an integer from 0 to 2^31 - 1.
 *
 * @example
 * ```ts
 * checkBacklog(options.backlog); // undefined: Node's default, 511
 * ```
 */
export function checkBacklog(value: unknown): number | undefined {
  if (value !== undefined && (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_BACKLOG)) {
    throw new InvalidConfigError("backlog", `backlog must be an integer from 0 to ${MAX_BACKLOG}; got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Checks an optional shutdown trigger: an `AbortSignal` (anything with a boolean `aborted` and an
 * `addEventListener` method) or a promise-like.
 *
 * @example
 * ```ts
 * checkSignal("SIGTERM"); // throws InvalidConfigError (signal): pass shutdownSignal() instead
 * ```
 */
export function checkSignal(value: unknown): ShutdownSignal | undefined {
  if (value === undefined || isAbortSignalLike(value) || isThenable(value)) return value;
  throw new InvalidConfigError("signal", `signal must be an AbortSignal or a promise-like; got ${describeValue(value)}`);
}

/** The methods a {@link Logger} must have; a logger missing one is refused, never half-used. */
const LOGGER_METHODS = ["error", "warn", "info", "debug"] as const;

/**
 * Checks an optional logger: an object with all four methods `error`, `warn`, `info` and `debug`
 * (pino, `console`). A logger missing one is refused up front rather than failing later inside
 * an event listener, where a missing method would throw and bring the process down.
 *
 * @example
 * ```ts
 * checkLogger({ error: console.error }); // throws InvalidConfigError (logger): warn, info and debug are missing
 * ```
 */
export function checkLogger(value: unknown): Logger | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) {
    throw new InvalidConfigError("logger", `logger must be an object with error, warn, info and debug methods (pino-compatible); got ${describeValue(value)}`);
  }
  const missing = LOGGER_METHODS.filter((method) => typeof (value as Record<string, unknown>)[method] !== "function");
  if (missing.length > 0) {
    throw new InvalidConfigError("logger", `logger must have error, warn, info and debug methods (pino-compatible); missing: ${missing.join(", ")}`);
  }
  return value as Logger;
}

/**
 * Checks that a handler (or any callback argument) is a function.
 *
 * @example
 * ```ts
 * checkFunction("handler", handler); // throws InvalidConfigError (handler) for anything else
 * ```
 */
export function checkFunction<T extends (...args: never[]) => unknown>(field: string, value: T): T {
  if (typeof value !== "function") throw new InvalidConfigError(field, `${field} must be a function; got ${describeValue(value)}`);
  return value;
}

/**
 * Rejects option keys a function does not know, so a typo (`drainTimout`) fails loudly.
 *
 * @example
 * ```ts
 * checkKnownKeys("serveTcp options", options, ["signal", "drainTimeout"]);
 * ```
 */
export function checkKnownKeys(what: string, value: object, known: ReadonlyArray<string>): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new InvalidConfigError(key, `unknown ${what} key ${JSON.stringify(key)}; expected one of: ${known.join(", ")}`);
    }
  }
}

/** Platforms where the OS has SO_REUSEPORT with the semantics Node's `reusePort` needs (Node's documentation). */
const REUSE_PORT_PLATFORMS: ReadonlySet<string> = new Set(["linux", "freebsd", "sunos", "aix"]);

/**
 * Whether the `reusePort` option (SO_REUSEPORT) works on this platform: Linux, FreeBSD, Solaris,
 * AIX. Elsewhere `serveTcp` and `serveUdp` reject it with `UnsupportedError`.
 *
 * @example
 * ```ts
 * const server = await serveTcp(9001, handler, { reusePort: reusePortSupported() });
 * ```
 */
export function reusePortSupported(platform: string = process.platform): boolean {
  return REUSE_PORT_PLATFORMS.has(platform);
}

/**
 * Whether a value is a promise-like (an object or function with a `then` method).
 *
 * @example
 * ```ts
 * const result = handler(socket);
 * if (isThenable(result)) result.then(onDone, onFailed);
 * ```
 */
export function isThenable<T = unknown>(value: unknown): value is PromiseLike<T> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as PromiseLike<T>).then === "function";
}

/**
 * Whether a value behaves as an `AbortSignal` (a boolean `aborted` and `addEventListener`), so
 * signals from another realm or a polyfill are accepted too.
 *
 * @example
 * ```ts
 * if (isAbortSignalLike(signal) && signal.aborted) return;
 * ```
 */
export function isAbortSignalLike(value: unknown): value is AbortSignal {
  return typeof value === "object" && value !== null && typeof (value as AbortSignal).aborted === "boolean" && typeof (value as AbortSignal).addEventListener === "function";
}

/** A value as an error message shows it: strings quoted, primitives as is, anything else by type. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
