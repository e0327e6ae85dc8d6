import { expect } from "vitest";

/** Resolves after `ms` milliseconds. */
export { setTimeout as sleep } from "node:timers/promises";

/**
 * Waits until `check()` is true, polling every 5 ms (vitest's `expect.poll`); fails after
 * `timeoutMs` with `what` in the message. For a value to compare, use `expect.poll` directly.
 */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  await expect.poll(check, { interval: 5, timeout: timeoutMs, message: `timed out waiting until ${what}` }).toBe(true);
}
