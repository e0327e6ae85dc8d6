import { InvalidConfigError } from "@tako/core";
import { checkDuration } from "@tako/core/listener";
import { sendDatagram } from "./native.ts";

/**
 * What {@link notify} sends: an object of sd_notify(3) fields (`{ READY: 1, STATUS: "warming up" }`,
 * values are turned to strings; `undefined` ones are left out) or a ready-made `"KEY=value\n..."` string.
 *
 * @example
 * ```ts
 * const fields: NotifyFields = { STATUS: "replaying the journal", EXTEND_TIMEOUT_USEC: 10_000_000 };
 * ```
 */
export type NotifyFields = string | Readonly<Record<string, string | number | boolean | bigint | undefined>>;

const FIELD_NAME = /^[A-Z_][A-Z0-9_]*$/;

function format(fields: NotifyFields): string {
  if (typeof fields === "string") {
    if (fields === "" || !fields.includes("=")) throw new InvalidConfigError("fields", `a notify message is KEY=value lines; got ${JSON.stringify(fields)}`);
    return fields;
  }
  if (typeof fields !== "object" || fields === null) throw new InvalidConfigError("fields", "notify takes an object of fields or a KEY=value string");
  const lines: string[] = [];
  for (const [key, raw] of Object.entries(fields)) {
    if (raw === undefined) continue;
    if (!FIELD_NAME.test(key)) throw new InvalidConfigError("fields", `notify field names are upper-case (A-Z, 0-9, _); got ${JSON.stringify(key)}`);
    const value = typeof raw === "boolean" ? (raw ? "1" : "0") : String(raw);
    if (value.includes("\n")) throw new InvalidConfigError(key, `the ${key} value must be one line`);
    lines.push(`${key}=${value}`);
  }
  if (lines.length === 0) throw new InvalidConfigError("fields", "notify needs at least one field");
  return lines.join("\n");
}

/**
 * Sends one sd_notify(3) message to the service manager: one datagram to `$NOTIFY_SOCKET` (a path,
 * or `@name` for the abstract namespace). Returns `false`, sending nothing, when `NOTIFY_SOCKET`
 * is unset (not run by systemd, or `Type=simple`); `true` once sent. The send goes through koffi
 * (Node has no Unix datagram socket): an `UnsupportedError` if it cannot load; a failed send
 * throws a `SystemCallError` with the errno name (`ECONNREFUSED` when no manager listens).
 *
 * @example
 * ```ts
 * notify({ STATUS: "loading 3 of 10 shards" });
 * notify("READY=1\nSTATUS=serving");
 * ```
 */
export function notify(fields: NotifyFields): boolean {
  const message = format(fields);
  const target = process.env.NOTIFY_SOCKET;
  if (target === undefined || target === "") return false;
  if (!target.startsWith("/") && !target.startsWith("@")) {
    throw new InvalidConfigError("NOTIFY_SOCKET", `NOTIFY_SOCKET must be an absolute path or @abstract name; got ${JSON.stringify(target)} (vsock addresses are not supported)`);
  }
  sendDatagram(target, Buffer.from(message, "utf8"));
  return true;
}

/**
 * `READY=1`: startup is finished (for `Type=notify` units, systemd starts the units ordered
 * after this one now). Optionally with a `STATUS=` text.
 *
 * @example
 * ```ts
 * const server = await serveTcp(listenFds()[0] ?? 9001, handler);
 * ready(`listening on ${server.address.port}`);
 * ```
 */
export function ready(status?: string): boolean {
  return notify({ READY: 1, STATUS: status });
}

/**
 * `STOPPING=1`: shutdown has begun.
 *
 * @example
 * ```ts
 * signal.addEventListener("abort", () => stopping("draining connections"));
 * ```
 */
export function stopping(status?: string): boolean {
  return notify({ STOPPING: 1, STATUS: status });
}

/**
 * `RELOADING=1` with `MONOTONIC_USEC` (the `CLOCK_MONOTONIC` time, which `Type=notify-reload`
 * needs, systemd 253+); send {@link ready} when the reload is done.
 *
 * @example
 * ```ts
 * process.on("SIGHUP", async () => { reloading(); await loadConfig(); ready(); });
 * ```
 */
export function reloading(status?: string): boolean {
  // process.hrtime is CLOCK_MONOTONIC on Linux (libuv's uv_hrtime).
  return notify({ RELOADING: 1, MONOTONIC_USEC: process.hrtime.bigint() / 1000n, STATUS: status });
}

/**
 * `STATUS=text`: a one-line status shown by `systemctl status`.
 *
 * @example
 * ```ts
 * status(`${server.stats().active} connections`);
 * ```
 */
export function status(text: string): boolean {
  if (typeof text !== "string") throw new InvalidConfigError("text", "status text must be a string");
  return notify({ STATUS: text });
}

/**
 * `WATCHDOG=1`: the service is alive (`WatchdogSec=`). {@link notifyLifecycle} sends it on its own
 * at half of `WATCHDOG_USEC`.
 *
 * @example
 * ```ts
 * setInterval(() => watchdog(), 5_000).unref();
 * ```
 */
export function watchdog(): boolean {
  return notify({ WATCHDOG: 1 });
}

/**
 * `EXTEND_TIMEOUT_USEC`: asks systemd for `ms` more milliseconds (from now) before the start,
 * reload or stop timeout fires; send it again before it runs out.
 *
 * @example
 * ```ts
 * extendTimeout(30_000); // a long drain: 30 s more before systemd kills us
 * ```
 */
export function extendTimeout(ms: number): boolean {
  checkDuration("ms", ms);
  return notify({ EXTEND_TIMEOUT_USEC: Math.ceil(ms * 1000) });
}

/**
 * The watchdog interval for this process: half of `WATCHDOG_USEC` in ms, or `undefined` when the
 * watchdog is off or meant for another process (`WATCHDOG_PID` set and not ours), as
 * sd_watchdog_enabled(3) decides.
 *
 * @example
 * ```ts
 * const every = watchdogInterval(); // 5000 with WatchdogSec=10
 * ```
 */
export function watchdogInterval(): number | undefined {
  const usec = process.env.WATCHDOG_USEC;
  if (usec === undefined || !/^\d+$/.test(usec) || Number(usec) === 0) return undefined;
  const pid = process.env.WATCHDOG_PID;
  if (pid !== undefined && pid !== "" && Number(pid) !== process.pid) return undefined;
  return Math.max(1, Number(usec) / 2000);
}
