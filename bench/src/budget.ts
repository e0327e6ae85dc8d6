/**
 * How long a run will take, from its cases and settings, printed before it starts: the suite must
 * stay near 10 minutes (`--quick` when the full run passes 12), and every new case adds to it.
 * The per-step overheads are fitted to the committed runs (server start and IPC per measurement);
 * waits for a quiet machine come on top.
 */
import type { Group } from "./cases/throughput.ts";
import type { Settings } from "./settings.ts";

/** Seconds to start one server process (a block starts one per implementation). */
const SERVER_START_S = 0.15;
/** Seconds of IPC and bookkeeping around one measured run (lost in the fit: under 10 ms). */
const PER_RUN_S = 0;
/** Seconds autocannon adds to each of its runs (its own start and ramp). */
const AUTOCANNON_EXTRA_S = 1;

/** Estimated seconds of the throughput groups plus the lifecycle cases selected by `wanted`. */
export function estimateRunSeconds(groups: readonly Group[], s: Settings, wanted: (id: string) => boolean): number {
  let total = 0;
  for (const group of groups) {
    const impls = group.impls.length;
    for (const c of group.cases) {
      if (!wanted(c.id)) continue;
      const blocks = Math.max(1, Math.min(c.blocks ?? 1, c.reps));
      const window = c.source.startsWith("autocannon") ? Math.max(s.durationMs, s.autocannonDurationMs) / 1000 + AUTOCANNON_EXTRA_S : (s.warmupMs + s.durationMs) / 1000;
      total += blocks * impls * (SERVER_START_S + s.caseWarmupMs / 1000) + c.reps * impls * (window + PER_RUN_S);
    }
  }
  // Shutdown: a fresh server, hold, shut down, per impl and rep (~3 s). Memory: a fresh server,
  // 200 warm-up connections, then N opened at ~2 000/s and two GCs, per impl and rep.
  if (wanted("shutdown-tcp")) total += 2 * s.shutdownReps * 3;
  if (wanted("shutdown-http")) total += 2 * s.shutdownReps * 3;
  if (wanted("memory-tcp")) total += 2 * s.memoryReps * (1 + s.memoryConnections / 2000);
  return total;
}
