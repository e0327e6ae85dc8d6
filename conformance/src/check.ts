/**
 * What a conformance check is, and the small assertion helpers the checks share. Plain code that
 * runs unchanged on Node, Bun and Deno (no test framework: vitest does not run reliably there).
 */
import { fileURLToPath } from "node:url";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A check: one behaviour of the published packages, exercised with real sockets and clients. */
export interface Check {
  /** Stable id, the key in expectations.json: `<area>.<behaviour>`. */
  readonly id: string;
  /** One line for the output and the README matrix. */
  readonly title: string;
  /** Throws (an assertion failure, or the listener's own error) unless the behaviour holds. */
  readonly run: (env: CheckEnv) => Promise<void>;
  /**
   * For a check whose feature is on another branch, not yet on main: why it waits, and how to see
   * that it has landed (so the runner can say "enable me"). Such a check is listed, never run.
   */
  readonly pending?: { readonly waitingFor: string; readonly landed: () => Promise<boolean> };
}

/** What a check gets: a private temporary directory, removed afterwards, and a cleanup list. */
export interface CheckEnv {
  readonly dir: string;
  /** Runs `fn` after the check, pass or fail (servers to shut down, clients to destroy). */
  defer(fn: () => unknown): void;
}

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new AssertionError(`${what}: expected ${e}, got ${a}`);
}

/** Awaits `promise`, failing with `what` after `ms`. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AssertionError(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` every 10 ms until it returns true, failing with `what` after `ms`. */
export async function until(ms: number, what: string, probe: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new AssertionError(`${what}: not within ${ms} ms`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Expects `promise` to reject; returns the error. */
export async function rejects(promise: Promise<unknown>, what: string): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new AssertionError(`${what}: expected a rejection, it resolved`);
}

/** Runs one check with a fresh temporary directory and its deferred cleanups. */
export async function runWithEnv(check: Check, timeoutMs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tako-conf-"));
  const cleanups: Array<() => unknown> = [];
  try {
    await within(timeoutMs, check.id, check.run({ dir, defer: (fn) => cleanups.push(fn) }));
  } finally {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // cleanup of a failed check: the failure itself is what is reported
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The conformance package's own directory. */
export const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
