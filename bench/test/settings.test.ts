/**
 * --quick and the run-time estimate: the quick run keeps every rep count (so each ratio's
 * interval keeps its order statistics; HTTP at least 15) and only shortens the windows.
 */
import { describe, expect, it } from "vitest";
import { estimateRunSeconds } from "../src/budget.ts";
import { connRateGroups, connRateUnixGroup, credentialsGroup, echoGroups, framingGroups, h2cGroup, httpGroup, udpGroups, wsGroup } from "../src/cases/definitions.ts";
import type { Group } from "../src/cases/throughput.ts";
import { parseSettings, type Settings } from "../src/settings.ts";

const groups = (s: Settings): Group[] => [
  ...echoGroups(s, undefined),
  ...connRateGroups(s, undefined),
  connRateUnixGroup(s),
  credentialsGroup(s),
  ...udpGroups(s, undefined),
  httpGroup(s),
  h2cGroup(s),
  wsGroup(s),
  ...framingGroups(s),
];
const all = () => true;

describe("--quick", () => {
  it("keeps the reps of every case and shortens the windows", () => {
    const full = parseSettings([], {});
    const quick = parseSettings(["--quick"], {});
    expect(quick.quick).toBe(true);
    expect([quick.reps, quick.httpReps]).toEqual([full.reps, full.httpReps]);
    expect(quick.httpReps).toBeGreaterThanOrEqual(15);
    const reps = (s: Settings) => groups(s).flatMap((g) => g.cases.filter((c) => !c.source.startsWith("autocannon")).map((c) => [c.id, c.reps]));
    expect(reps(quick)).toEqual(reps(full));
    expect(quick.durationMs).toBeLessThan(full.durationMs);
    expect(quick.autocannonReps).toBe(0);
    expect(parseSettings(["--quick", "--duration=900", "--autocannon-reps=2"], {})).toMatchObject({ durationMs: 900, autocannonReps: 2 });
  });

  it("is estimated under 10 minutes where the full suite passes 12", () => {
    const full = estimateRunSeconds(groups(parseSettings([], {})), parseSettings([], {}), all);
    const quick = estimateRunSeconds(groups(parseSettings(["--quick"], {})), parseSettings(["--quick"], {}), all);
    expect(full / 60).toBeGreaterThan(12);
    expect(quick / 60).toBeLessThan(10);
  });

  it("the estimate of the committed run's cases is that run's 555 s to within 5 %", () => {
    const s = parseSettings([], {});
    const committed = (id: string) => ["tcp-echo", "unix-echo", "udp-echo", "http-", "shutdown-", "memory-"].some((p) => id.startsWith(p));
    const estimate = estimateRunSeconds(groups(s), s, committed);
    expect(Math.abs(estimate - 555) / 555).toBeLessThan(0.05);
  });
});
