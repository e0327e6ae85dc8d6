/** Small, dependency-free statistics for per-rep figures and ratios. */

/** A distribution summary of per-rep values. */
export interface Summary {
  /** The median of the values. */
  readonly median: number;
  /** 25th and 75th percentiles (interquartile range). */
  readonly p25: number;
  readonly p75: number;
  readonly min: number;
  readonly max: number;
  /**
   * A distribution-free ~95 % confidence interval for the median (order statistics of the
   * binomial(n, 1/2)); equals [min, max] when there are too few values for one.
   */
  readonly ci95: readonly [number, number];
  readonly n: number;
}

/** Linear-interpolated quantile of sorted values, q in [0, 1]. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

function binomialCdfHalf(k: number, n: number): number {
  // P(X <= k) for X ~ Binomial(n, 1/2), n small (reps), exact via log-free summation.
  let sum = 0;
  let c = 1; // C(n, 0)
  for (let i = 0; i <= k; i++) {
    sum += c;
    c = (c * (n - i)) / (i + 1);
  }
  return sum / 2 ** n;
}

/** Summarises values; NaN values are left out. */
export function summarize(values: readonly number[]): Summary {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { median: Number.NaN, p25: Number.NaN, p75: Number.NaN, min: Number.NaN, max: Number.NaN, ci95: [Number.NaN, Number.NaN], n };
  // Largest k with P(X <= k - 1) <= 0.025 gives the interval [x(k), x(n + 1 - k)] (1-based).
  let k = 0;
  while (k + 1 <= n && binomialCdfHalf(k, n) <= 0.025) k++;
  const ci95: [number, number] = k >= 1 ? [sorted[k - 1] as number, sorted[n - k] as number] : [sorted[0] as number, sorted[n - 1] as number];
  return {
    median: quantile(sorted, 0.5),
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    min: sorted[0] as number,
    max: sorted[n - 1] as number,
    ci95,
    n,
  };
}

/**
 * A latency histogram with 10 µs buckets up to 2 s (larger values land in the last bucket);
 * cheap enough to record every request.
 */
export class LatencyHistogram {
  static readonly BUCKET_US = 10;
  readonly counts: Uint32Array = new Uint32Array(200_001);
  total = 0;

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    let i = Math.floor((ms * 1000) / LatencyHistogram.BUCKET_US);
    if (i >= this.counts.length) i = this.counts.length - 1;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.total++;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }

  /** The latency (ms, upper edge of its bucket) at quantile q. */
  percentile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const target = Math.ceil(this.total * q);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= target) return ((i + 1) * LatencyHistogram.BUCKET_US) / 1000;
    }
    return Number.NaN;
  }
}
