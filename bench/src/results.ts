/** The shape of bench results (bench/results/latest.json) and the verdict on goals. */
import type { MachineInfo } from "./machine.ts";
import type { Summary } from "./stats.ts";

/** A goal on the median ratio: at least `min` (higher is better) or at most `max` (lower is better). */
export type Goal = { readonly min: number } | { readonly max: number };

/** A comparison of ours against one baseline in one case. */
export interface Comparison {
  readonly baseline: string;
  readonly baselineFigure: Summary;
  /** ours / baseline per rep, summarised (median, IQR, 95 % CI of the median). */
  readonly ratio: Summary;
  readonly goal: Goal | null;
  /**
   * Server CPU time per unit, ours / baseline per rep (lower is better): the servers' efficiency,
   * which holds up better than throughput when something else shares the machine.
   */
  readonly cpuPerUnitRatio?: Summary | undefined;
  /** "yes" / "no", with "(within noise)" when the median's 95 % CI straddles the goal. */
  readonly met: string | null;
}

/** One result row: a measured quantity of ours against each baseline. */
export interface Row {
  readonly id: string;
  readonly name: string;
  readonly unit: string;
  /** "higher" or "lower" is better, for the figures and the ratios. */
  readonly better: "higher" | "lower";
  /** What produced the figures (the load client, or the server's own clock). */
  readonly source: string;
  readonly reps: number;
  readonly ours: string;
  readonly oursFigure: Summary;
  readonly comparisons: readonly Comparison[];
  /** An absolute goal on ours' median figure (shutdown time). */
  readonly absoluteGoal?: { readonly max: number; readonly met: string } | undefined;
  /** Per implementation: the figure of every rep, in rep order (ratios pair reps by index). */
  readonly perRep: Record<string, readonly number[]>;
  /** Per implementation: medians of side figures (client CPU, server CPU, loss, p50...). */
  readonly detail: Record<string, Record<string, number>>;
  readonly notes?: readonly string[];
}

/** A case that could not run. */
export interface CaseError {
  readonly id: string;
  readonly error: string;
}

/** The whole run. */
export interface Results {
  readonly startedAt: string;
  readonly durationSec: number;
  readonly smoke: boolean;
  /** A `--quick` run (shorter windows, same reps). */
  readonly quick?: boolean;
  readonly machine: MachineInfo;
  /** Busy fraction of each core in the second before the run started (should be near 0). */
  readonly idleBefore: readonly number[];
  readonly settings: Record<string, unknown>;
  /** Time spent waiting for other load to pass, and reps that started on a busy machine anyway. */
  readonly quiet: { readonly waitedMs: number; readonly noisyStarts: number };
  readonly clients: Record<string, string>;
  readonly rows: readonly Row[];
  readonly errors: readonly CaseError[];
}

/** Judges a median ratio (and its CI) against a goal. */
export function judge(ratio: Summary, goal: Goal | null): string | null {
  if (goal === null || !Number.isFinite(ratio.median)) return null;
  const [lo, hi] = ratio.ci95;
  if ("min" in goal) {
    if (ratio.median >= goal.min) return lo >= goal.min ? "yes" : "yes (within noise)";
    return hi < goal.min ? "no" : "no (within noise)";
  }
  if (ratio.median <= goal.max) return hi <= goal.max ? "yes" : "yes (within noise)";
  return lo > goal.max ? "no" : "no (within noise)";
}
