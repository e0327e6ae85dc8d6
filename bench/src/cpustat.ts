/**
 * Whole-core busy time from /proc/stat (Linux): shows whether anything besides the bench's own
 * server and client ran on the cores during a measurement (other load, or kernel softirq time that
 * process CPU figures do not include).
 */
import { readFileSync } from "node:fs";

/** Busy and total jiffies per core. */
export type CoreTimes = ReadonlyArray<{ readonly busy: number; readonly total: number }>;

/** Reads per-core times, or null where /proc/stat is not available. */
export function readCoreTimes(): CoreTimes | null {
  let text: string;
  try {
    text = readFileSync("/proc/stat", "utf8");
  } catch {
    return null;
  }
  const out: Array<{ busy: number; total: number }> = [];
  for (const line of text.split("\n")) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const f = (m[2] as string).split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    out[Number(m[1])] = { busy: total - idle, total };
  }
  return out;
}

/** Busy fraction (0..1) of each core between two readings. */
export function coreBusy(before: CoreTimes | null, after: CoreTimes | null): number[] {
  if (before === null || after === null) return [];
  return after.map((a, i) => {
    const b = before[i];
    if (b === undefined) return Number.NaN;
    const total = a.total - b.total;
    return total > 0 ? (a.busy - b.busy) / total : Number.NaN;
  });
}

/** Samples how busy the machine is over `ms` (before anything of ours runs). */
export async function idleCheck(ms: number): Promise<number[]> {
  const before = readCoreTimes();
  await new Promise((r) => setTimeout(r, ms));
  return coreBusy(before, readCoreTimes());
}

/**
 * Waits, between measurements (when nothing of ours runs), until no core is more than
 * `threshold` busy, sampling `sampleMs` at a time, for at most what is left of a total budget.
 * Returns the last sample's busiest core (0..1), or 0 where /proc/stat is missing.
 */
export class QuietGate {
  readonly #threshold: number;
  readonly #sampleMs: number;
  #budgetMs: number;
  /** Total time spent waiting, ms. */
  waitedMs = 0;
  /** Measurements that started with a busy machine after the budget ran out. */
  noisyStarts = 0;

  constructor(budgetMs: number, threshold = 0.2, sampleMs = 100) {
    this.#budgetMs = budgetMs;
    this.#threshold = threshold;
    this.#sampleMs = sampleMs;
  }

  async wait(): Promise<number> {
    let busiest = await this.#sample();
    while (busiest > this.#threshold && this.#budgetMs > 0) {
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 400));
      busiest = await this.#sample();
      const spent = performance.now() - t0;
      this.#budgetMs -= spent;
      this.waitedMs += spent;
    }
    if (busiest > this.#threshold) this.noisyStarts++;
    return busiest;
  }

  async #sample(): Promise<number> {
    const busy = await idleCheck(this.#sampleMs);
    return busy.length === 0 ? 0 : Math.max(...busy.filter((b) => Number.isFinite(b)));
  }
}
