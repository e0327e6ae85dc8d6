/** Option checks shared by the readers: a clear InvalidConfigError naming the field, before any byte is read. */
import { constants } from "node:buffer";
import { InvalidConfigError } from "@tako/core";
import { checkKnownKeys } from "@tako/core/listener";

/**
 * The default `maxLineLength` of `lines()`: 64 KiB.
 *
 * @example
 * ```ts
 * lines(socket, { maxLineLength: 4 * DEFAULT_MAX_LINE_LENGTH }); // allow 256 KiB lines
 * ```
 */
export const DEFAULT_MAX_LINE_LENGTH = 65_536;
/**
 * The default `maxFrameSize` of `lengthPrefixed()` and `netstrings()`: 1 MiB.
 *
 * @example
 * ```ts
 * if (payload.length > DEFAULT_MAX_FRAME_SIZE) throw new Error("the peer would refuse this frame");
 * ```
 */
export const DEFAULT_MAX_FRAME_SIZE = 1_048_576;

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return typeof value;
}

/** The options object itself: undefined or a plain object with only known keys. */
export function checkOptions<T extends object>(what: string, options: T | undefined, known: readonly string[]): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) throw new InvalidConfigError("options", `${what} options must be an object; got ${describe(options)}`);
  checkKnownKeys(`${what} option`, options, known);
  return options;
}

/** A byte limit: an integer from 1 to `max` (what a Buffer, or a string, can hold). */
export function checkLimit(field: string, value: unknown, fallback: number, max: number = constants.MAX_LENGTH): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidConfigError(field, `${field} must be an integer number of bytes from 1 to ${max}; got ${describe(value)}`);
  }
  return value;
}

/** An AbortSignal, or undefined. */
export function checkSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw new InvalidConfigError("signal", `signal must be an AbortSignal; got ${describe(value)}`);
  return value;
}

/** One of a fixed set of strings. */
export function checkChoice<T extends string>(field: string, value: unknown, choices: readonly T[], fallback: T | undefined): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "string" || !choices.includes(value as T)) {
    throw new InvalidConfigError(field, `${field} must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}; got ${describe(value)}`);
  }
  return value as T;
}
