import { type Logger } from "@tako/core";
import { type BaseServeOptions } from "@tako/core/listener";

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
