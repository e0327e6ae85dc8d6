import { checkSignal, isAbortSignalLike } from "./check.ts";

/**
 * A shutdown trigger: an `AbortSignal`, or any promise-like that settles when shutdown should start.
 *
 * @example
 * ```ts
 * const signal: ShutdownSignal = once(process, "SIGHUP"); // or AbortSignal.timeout(60_000)
 * await serveUdp(9000, handler, { signal });
 * ```
 */
export type ShutdownSignal = AbortSignal | PromiseLike<unknown>;

/**
 * An `AbortSignal` that also removes its process listeners when disposed (`using`).
 *
 * @example
 * ```ts
 * using signal: DisposableAbortSignal = shutdownSignal();
 * ```
 */
export type DisposableAbortSignal = AbortSignal & Disposable;

/**
 * Returns an `AbortSignal` that aborts on the first of the given OS signals (SIGINT and SIGTERM by
 * default). While it is alive, those signals no longer kill the process: it is yours to drain and
 * exit. Disposing it (`using`, or `[Symbol.dispose]()`) removes its process listeners.
 *
 * @example
 * ```ts
 * using signal = shutdownSignal();
 * const server = await serveTcp("127.0.0.1:9001", handler, { signal });
 * console.log(await server.finished); // { drained, forced, durationMs } after Ctrl-C
 * ```
 */
export function shutdownSignal(signals: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM"]): DisposableAbortSignal {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    dispose();
    controller.abort(new ShutdownRequested(name));
  };
  const dispose = () => {
    for (const name of signals) process.off(name, onSignal);
  };
  for (const name of signals) process.once(name, onSignal);
  return Object.assign(controller.signal, { [Symbol.dispose]: dispose });
}

/**
 * The abort reason of a {@link shutdownSignal}: which OS signal asked for shutdown.
 *
 * @example
 * ```ts
 * signal.addEventListener("abort", () => console.log((signal.reason as ShutdownRequested).signal));
 * ```
 */
export class ShutdownRequested extends Error {
  /** The OS signal that fired, e.g. `"SIGTERM"`. */
  readonly signal: NodeJS.Signals;

  constructor(signal: NodeJS.Signals) {
    super(`shutdown requested by ${signal}`);
    this.name = "ShutdownRequested";
    this.signal = signal;
  }
}

/**
 * Calls `onShutdown` once when `signal` fires: an `AbortSignal` aborts, or a promise-like settles
 * (either way). Returns a function that stops listening. An already-aborted signal fires at once
 * (on a microtask). Anything else throws `InvalidConfigError` (signal).
 *
 * @example
 * ```ts
 * const stop = onShutdownSignal(options.signal, () => server.shutdown());
 * ```
 */
export function onShutdownSignal(value: ShutdownSignal | undefined, onShutdown: () => void): () => void {
  const signal = checkSignal(value);
  if (signal === undefined) return noop;
  if (isAbortSignalLike(signal)) {
    if (signal.aborted) {
      queueMicrotask(onShutdown);
      return noop;
    }
    signal.addEventListener("abort", onShutdown, { once: true });
    return () => signal.removeEventListener("abort", onShutdown);
  }
  let live = true;
  const fire = () => {
    if (live) {
      live = false;
      onShutdown();
    }
  };
  signal.then(fire, fire);
  return () => {
    live = false;
  };
}

function noop(): void {}
