/**
 * Throughput cases: fresh servers per case, one per implementation (pinned to the server core),
 * one load client (pinned to the other core); each case warms every server up, then runs `reps` rounds in which
 * every implementation is measured once, in a rotating order (ABAB..., BABA...), so drift hits all
 * alike. Each rep yields ours/baseline ratios; rows report their median and spread.
 */
import { coreBusy, readCoreTimes } from "../cpustat.ts";
import type { ChildHandle } from "../rpc.ts";
import { judge, type Goal, type Row } from "../results.ts";
import type { Usage } from "../server-main.ts";
import type { ServerSpec, Target } from "../servers/types.ts";
import { summarize } from "../stats.ts";

/** One measured client run: the figure, and side figures to keep. */
export interface Measurement {
  readonly figure: number;
  readonly detail: Record<string, number>;
}

/** A throughput case against a group's servers. */
export interface ThroughputCase {
  readonly id: string;
  readonly name: string;
  readonly unit: string;
  readonly source: string;
  readonly reps: number;
  /** The reps are split into this many blocks, each with fresh server processes (default 1). */
  readonly blocks?: number;
  /** Goals on ours/baseline per baseline impl. */
  readonly goals: Record<string, Goal>;
  /** Runs the client once against a target; warmupMs/durationMs as given. */
  measure(client: ChildHandle, target: Target, warmupMs: number, durationMs: number): Promise<Measurement>;
  /** Extra rows from the per-rep side figures (e.g. p99 latency, lower is better). */
  readonly sideRows?: ReadonlyArray<{ readonly key: string; readonly id: string; readonly name: string; readonly unit: string; readonly goals: Record<string, Goal> }>;
  /** Checks a server's answer once after warm-up (e.g. the HTTP body); throws when wrong. */
  check?(client: ChildHandle, target: Target, impl: string): Promise<void>;
}

/** A group of cases sharing one set of servers. */
export interface Group {
  readonly family: ServerSpec["family"];
  /** Ours first, then the baselines. */
  readonly impls: readonly ServerSpec["impl"][];
  readonly cases: readonly ThroughputCase[];
  /** A fresh Unix socket path per server, where the family needs one. */
  path?(impl: string): string;
  /** More of an impl's server spec in this group (e.g. `peerCredentials` for the baseline). */
  spec?(impl: string): Partial<ServerSpec>;
}

/** Hooks the runner provides. */
export interface GroupContext {
  readonly client: ChildHandle;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly caseWarmupMs: number;
  startServer(spec: ServerSpec): Promise<ChildHandle<{ target: Target }>>;
  /** Waits for the machine to be quiet before a rep; resolves with the busiest core's load seen. */
  quiet(): Promise<number>;
  log(line: string): void;
}

/**
 * Runs every case of a group, handing each case's rows to onRows. A case's reps run in blocks
 * (`blocks`, default 1), each with fresh server processes: no state of an earlier case carries
 * over, and the spread of the ratios includes the process-to-process variation (JIT and heap
 * layout), not only the rep-to-rep one.
 */
export async function runGroup(group: Group, ctx: GroupContext, onRows: (rows: readonly Row[]) => void, onError: (id: string, error: unknown) => void): Promise<void> {
  for (const c of group.cases) {
    try {
      onRows(await runCase(c, group, ctx));
    } catch (error) {
      onError(c.id, error);
    }
  }
}

async function startServers(group: Group, ctx: GroupContext): Promise<Map<string, ChildHandle<{ target: Target }>>> {
  const servers = new Map<string, ChildHandle<{ target: Target }>>();
  try {
    for (const impl of group.impls) {
      const spec: ServerSpec = { ...group.spec?.(impl), family: group.family, impl, ...(group.path ? { path: group.path(impl) } : {}) };
      servers.set(impl, await ctx.startServer(spec));
    }
  } catch (error) {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    throw error;
  }
  return servers;
}

async function runCase(c: ThroughputCase, group: Group, ctx: GroupContext): Promise<[Row, ...Row[]]> {
  const impls = group.impls;
  const ours = impls[0] as string;
  const figures = new Map<string, number[]>(impls.map((i) => [i, []]));
  const details = new Map<string, Map<string, number[]>>(impls.map((i) => [i, new Map()]));
  const blocks = Math.max(1, Math.min(c.blocks ?? 1, c.reps));
  let rep = 0;
  for (let block = 0; block < blocks; block++) {
    const blockEnd = Math.round(((block + 1) * c.reps) / blocks);
    const servers = await startServers(group, ctx);
    try {
      ctx.log(`${c.id}: warm-up${blocks > 1 ? ` (server set ${block + 1}/${blocks})` : ""}`);
      for (const impl of impls) {
        const server = servers.get(impl) as ChildHandle<{ target: Target }>;
        if (ctx.caseWarmupMs > 0) await c.measure(ctx.client, server.ready.target, 0, ctx.caseWarmupMs);
        if (block === 0) await c.check?.(ctx.client, server.ready.target, impl);
      }
      for (; rep < blockEnd; rep++) {
        const loadBefore = await ctx.quiet();
        const order = impls.map((_, k) => impls[(k + rep) % impls.length] as string);
        for (const impl of order) {
          const server = servers.get(impl) as ChildHandle<{ target: Target }>;
          const u0 = await server.call<Usage>("usage");
          const t0 = readCoreTimes();
          const m = await c.measure(ctx.client, server.ready.target, ctx.warmupMs, ctx.durationMs);
          const busy = coreBusy(t0, readCoreTimes());
          const u1 = await server.call<Usage>("usage");
          (figures.get(impl) as number[]).push(m.figure);
          const d = details.get(impl) as Map<string, number[]>;
          const side: Record<string, number> = { ...m.detail, serverCpu: (u1.cpuUs - u0.cpuUs) / 1000 / (u1.wallMs - u0.wallMs) };
          // Server CPU time per unit of the figure (µs per request/message/datagram, or per MB):
          // much steadier than throughput when something else shares the machine.
          side["serverUsPerUnit"] = ((side["serverCpu"] as number) / m.figure) * 1e6;
          busy.forEach((b, core) => {
            side[`core${core}Busy`] = b;
          });
          side["otherLoadBefore"] = loadBefore;
          for (const [k, v] of Object.entries(side)) {
            if (!d.has(k)) d.set(k, []);
            (d.get(k) as number[]).push(v);
          }
        }
        ctx.log(`${c.id}: rep ${rep + 1}/${c.reps} ${impls.map((i) => `${i}=${fmt((figures.get(i) as number[])[rep] as number)}`).join(" ")}`);
      }
    } finally {
      await Promise.all([...servers.values()].map((s) => s.stop()));
    }
  }
  const detail: Record<string, Record<string, number>> = {};
  for (const impl of impls) {
    detail[impl] = {};
    for (const [k, v] of details.get(impl) as Map<string, number[]>) (detail[impl] as Record<string, number>)[k] = summarize(v).median;
  }
  const rowFor = (id: string, name: string, unit: string, better: "higher" | "lower", series: (impl: string) => number[], goals: Record<string, Goal>): Row => {
    const oursSeries = series(ours);
    return {
      id,
      name,
      unit,
      better,
      source: c.source,
      reps: c.reps,
      ours,
      oursFigure: summarize(oursSeries),
      comparisons: impls.slice(1).map((base) => {
        const baseSeries = series(base);
        const ratio = summarize(oursSeries.map((v, r) => v / (baseSeries[r] as number)));
        const goal = goals[base] ?? null;
        const cpuOurs = (details.get(ours) as Map<string, number[]>).get("serverUsPerUnit") ?? [];
        const cpuBase = (details.get(base) as Map<string, number[]>).get("serverUsPerUnit") ?? [];
        const cpuPerUnitRatio = better === "higher" ? summarize(cpuOurs.map((v, r) => v / (cpuBase[r] as number))) : undefined;
        return { baseline: base, baselineFigure: summarize(baseSeries), ratio, goal, met: judge(ratio, goal), cpuPerUnitRatio };
      }),
      perRep: Object.fromEntries(impls.map((i) => [i, series(i).map((v) => Math.round(v * 1000) / 1000)])),
      detail: better === "higher" ? detail : {},
    };
  };
  const rows: [Row, ...Row[]] = [rowFor(c.id, c.name, c.unit, "higher", (i) => figures.get(i) as number[], c.goals)];
  for (const side of c.sideRows ?? []) {
    rows.push(rowFor(side.id, side.name, side.unit, "lower", (i) => (details.get(i) as Map<string, number[]>).get(side.key) ?? [], side.goals));
  }
  return rows;
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toString() : n.toPrecision(3);
}
