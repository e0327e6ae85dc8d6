import * as diagnosticsChannel from "node:diagnostics_channel";
import { CHANNELS, InvalidConfigError, type DrainReport } from "@tako/core";
import { checkDuration, checkKnownKeys, isThenable } from "@tako/core/listener";
import { notify, watchdogInterval, type NotifyFields } from "./notify.ts";

/** What {@link notifyLifecycle} needs of a server: any Tako handle (`serveTcp`, `serveUdp`, `serveUnix`, `serveUnixHttp`). */
interface LifecycleServer {
  readonly address: unknown;
  readonly finished: Promise<DrainReport>;
  shutdown(): Promise<DrainReport>;
}

/**
 * Options of {@link notifyLifecycle}, passed as its last argument.
 *
 * @example
 * ```ts
 * notifyLifecycle(server, { extendInterval: 5_000, logger: console } satisfies LifecycleOptions);
 * ```
 */
export interface LifecycleOptions {
  /** While a drain runs, `EXTEND_TIMEOUT_USEC` is sent this often (ms), each asking for three intervals more. Default 1 000. */
  readonly extendInterval?: number;
  /** Where a failed notification is reported (once per kind of failure). Default: stderr. */
  readonly logger?: { warn(obj: unknown, msg?: string): void };
}

/**
 * The running lifecycle notifier: `ready` settles once `READY=1` was sent (`false`: no
 * `NOTIFY_SOCKET`); disposing it stops every timer and subscription.
 *
 * @example
 * ```ts
 * using lifecycle: Lifecycle = notifyLifecycle(server);
 * await lifecycle.ready;
 * ```
 */
export interface Lifecycle extends Disposable {
  /** Settles when every server is bound and `READY=1` has gone (`true`), or could not (`false`). */
  readonly ready: Promise<boolean>;
}

function isServer(value: unknown): value is LifecycleServer {
  return typeof value === "object" && value !== null && typeof (value as LifecycleServer).shutdown === "function" && (value as LifecycleServer).finished instanceof Promise;
}

/**
 * Tells systemd (`Type=notify`) how the servers are doing, for the life of the process:
 *
 * - `READY=1` (with `STATUS=listening on ...`) once every server is bound; servers may be given
 *   as the promises `serve*` returns.
 * - `STOPPING=1` the moment any of them starts shutting down (it listens on `tako:shutdown`).
 * - `EXTEND_TIMEOUT_USEC` every `extendInterval` while a drain runs, so a drain longer than
 *   `TimeoutStopSec=` is not killed (the drain itself is bounded by `drainTimeout`).
 * - `WATCHDOG=1` at half of `WATCHDOG_USEC` when systemd set it for this process (`WatchdogSec=`;
 *   not when `WATCHDOG_PID` names another). The pings come from a timer, so a blocked event loop
 *   misses them and systemd restarts the service, which is the point.
 *
 * Without `NOTIFY_SOCKET` it does nothing. A failed notification is reported, never thrown.
 * Returns a {@link Lifecycle}; dispose it to stop.
 *
 * @example
 * ```ts
 * import { listenFds, notifyLifecycle } from "@tako/systemd";
 * import { serveTcp, shutdownSignal } from "@tako/tcp";
 * using signal = shutdownSignal();
 * const [socket] = listenFds();
 * const server = await serveTcp(socket ?? 9001, (s) => s.pipe(s), { signal });
 * using lifecycle = notifyLifecycle(server);
 * await server.finished;
 * ```
 */
export function notifyLifecycle(...args: (LifecycleServer | PromiseLike<LifecycleServer> | LifecycleOptions)[]): Lifecycle {
  const last = args.at(-1);
  const options: LifecycleOptions = last !== undefined && !isServer(last) && !isThenable(last) ? (args.pop() as LifecycleOptions) : {};
  checkKnownKeys("notifyLifecycle options", options, ["extendInterval", "logger"]);
  const extendInterval = checkDuration("extendInterval", options.extendInterval ?? 1_000);
  if (extendInterval === 0) throw new InvalidConfigError("extendInterval", "extendInterval must be more than 0 ms");
  if (args.length === 0) throw new InvalidConfigError("servers", "notifyLifecycle needs at least one server");
  for (const arg of args) {
    if (!isServer(arg) && !isThenable(arg))
      throw new InvalidConfigError("servers", "notifyLifecycle takes Tako server handles (or the promises serve* returns), then an optional options object");
  }
  const warned = new Set<string>();
  const send = (fields: NotifyFields): boolean => {
    try {
      return notify(fields);
    } catch (error) {
      const code = (error as { code?: string }).code ?? "error";
      if (!warned.has(code)) {
        warned.add(code);
        const text = `sd_notify failed: ${(error as Error).message} (further ${code} failures are not reported)`;
        if (options.logger) options.logger.warn({ err: error }, text);
        else process.stderr.write(`[tako] ${text}\n`);
      }
      return false;
    }
  };

  let disposed = false;
  const servers = new Set<unknown>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;
  let draining = 0;
  let extendTimer: NodeJS.Timeout | undefined;

  const extend = () => send({ EXTEND_TIMEOUT_USEC: Math.ceil(extendInterval * 3 * 1000) });
  const onShutdown = (message: unknown) => {
    const server = (message as { server?: unknown }).server;
    if (disposed || !servers.has(server)) return;
    if (!stopping) {
      stopping = true;
      send({ STOPPING: 1, STATUS: "draining" });
    }
    draining++;
    extend();
    if (extendTimer === undefined) {
      extendTimer = setInterval(extend, extendInterval);
      extendTimer.unref();
    }
    void (server as LifecycleServer).finished.then(() => {
      draining--;
      if (draining === 0 && extendTimer !== undefined) {
        clearInterval(extendTimer);
        extendTimer = undefined;
      }
    });
  };
  diagnosticsChannel.subscribe(CHANNELS.shutdown, onShutdown);

  const every = watchdogInterval();
  if (every !== undefined) {
    const ping = setInterval(() => send({ WATCHDOG: 1 }), every);
    ping.unref();
    timers.add(ping);
  }

  const ready = Promise.all(args as (LifecycleServer | PromiseLike<LifecycleServer>)[]).then(
    (resolved) => {
      for (const server of resolved) servers.add(server);
      if (disposed) return false;
      const addresses = resolved.map((server) => describeAddress(server.address)).join(", ");
      return send({ READY: 1, STATUS: `listening on ${addresses}` });
    },
    () => false,
  );

  return {
    ready,
    [Symbol.dispose]() {
      if (disposed) return;
      disposed = true;
      diagnosticsChannel.unsubscribe(CHANNELS.shutdown, onShutdown);
      for (const timer of timers) clearInterval(timer);
      timers.clear();
      if (extendTimer !== undefined) clearInterval(extendTimer);
      extendTimer = undefined;
    },
  };
}

function describeAddress(address: unknown): string {
  if (typeof address === "string") return address;
  if (typeof address === "object" && address !== null && "port" in address) {
    const { address: host, port, family } = address as { address: string; port: number; family: string };
    return family === "IPv6" ? `[${host}]:${port}` : `${host}:${port}`;
  }
  return String(address);
}
