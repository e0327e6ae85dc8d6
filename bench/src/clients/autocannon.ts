/** autocannon as a second, named figure source for the HTTP cases (it nearly fills its own core). */
import { Window, type RunWindow } from "./common.ts";

/** Arguments of the `autocannon` command. */
export interface AutocannonArgs {
  readonly path: string;
  readonly url: string;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** What the `autocannon` command reports. */
export interface AutocannonResult extends RunWindow {
  readonly requests: number;
  readonly requestsPerSec: number;
  readonly errors: number;
  readonly p99Ms: number;
}

/**
 * Runs autocannon in this (pinned) process: a warm-up run (if warmupMs > 0), then the measured run.
 * autocannon samples once a second, so a run lasts at least about a second whatever is asked.
 */
export async function runAutocannon(args: AutocannonArgs): Promise<AutocannonResult> {
  // Loaded on first use, so the client process starts light when autocannon is not asked for.
  const { default: autocannon } = await import("autocannon");
  const base = { url: `http://localhost${args.url}`, socketPath: args.path, connections: args.connections, pipelining: 1 };
  if (args.warmupMs > 0) await autocannon({ ...base, duration: args.warmupMs / 1000 });
  const window = new Window();
  window.start();
  const result = await autocannon({ ...base, duration: args.durationMs / 1000 });
  const w = window.stop();
  const requests = result.requests.total;
  return {
    ...w,
    requests,
    // autocannon's own clock (result.duration, s) excludes connection setup.
    requestsPerSec: requests / result.duration,
    errors: result.errors + result.timeouts + result.non2xx,
    p99Ms: result.latency.p99,
  };
}
