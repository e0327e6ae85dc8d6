/**
 * A structured logger; pino (and anything with its `(obj, msg)` signature) satisfies it.
 *
 * @example
 * ```ts
 * import pino from "pino";
 * await serveTcp(9001, handler, { logger: pino() });
 * ```
 */
export interface Logger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}
