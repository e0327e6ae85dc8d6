import { InvalidConfigError, type Logger } from "@tako/core";
import type { BaseServeOptions } from "@tako/core/listener";
import { expect } from "vitest";

/** One call a {@link recordingLogger} received. */
export interface LogRecord {
  readonly level: "error" | "warn" | "info" | "debug";
  readonly obj: object;
  readonly msg?: string | undefined;
}

/** A pino-shaped logger that keeps its calls in `records`. */
export interface RecordingLogger extends Logger {
  readonly records: LogRecord[];
}

/** A pino-shaped logger that records every call (all four methods). */
export function recordingLogger(): RecordingLogger {
  const records: LogRecord[] = [];
  const at = (level: LogRecord["level"]) => (obj: object, msg?: string) => void records.push({ level, obj, msg });
  return { records, error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
}

const noop = () => {};

/**
 * `BaseServeOptions` (signal, drainTimeout, logger) every listener must refuse with an
 * `InvalidConfigError` naming the field, before anything is bound: one table, run against each
 * listener, so they all follow core's one rule.
 */
export const BAD_BASE_OPTIONS: ReadonlyArray<readonly [what: string, options: BaseServeOptions, field: string]> = [
  ["a signal name instead of a signal", { signal: "SIGTERM" as never }, "signal"],
  ["a plain object as signal", { signal: {} as never }, "signal"],
  ["a negative drainTimeout", { drainTimeout: -1 }, "drainTimeout"],
  ["a drainTimeout string", { drainTimeout: "5s" as never }, "drainTimeout"],
  ["a logger without debug", { logger: { error: noop, warn: noop, info: noop } as never }, "logger"],
  ["a logger with only error", { logger: { error: noop } as never }, "logger"],
  ["console.log as logger", { logger: console.log as never }, "logger"],
];

/** What {@link captureStderr} collected, and how to stop. */
export interface CapturedStderr extends Disposable {
  /** Every chunk written to stderr since the capture started, as text. */
  readonly lines: string[];
  /** Puts the real `process.stderr.write` back. */
  restore(): void;
}

/** Collects what this process writes to stderr (and keeps it off the terminal) until `restore()`. */
export function captureStderr(): CapturedStderr {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  const restore = () => {
    process.stderr.write = write;
  };
  return { lines, restore, [Symbol.dispose]: restore };
}

/** Runs `fn`, expects it to throw an `InvalidConfigError` whose message names its field, and returns the field. */
export function invalidField(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as InvalidConfigError).code).toBe("ERR_TAKO_INVALID_CONFIG");
    expect((err as Error).message).toContain((err as InvalidConfigError).field);
    return (err as InvalidConfigError).field;
  }
  throw new Error("expected an InvalidConfigError, nothing was thrown");
}
