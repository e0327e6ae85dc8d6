/**
 * The shutdown and memory cases. Each rep starts fresh server processes (a shutdown ends a
 * server; memory needs a clean process), ours and the baseline interleaved in rotating order.
 */
import type { ChildHandle } from "../rpc.ts";
import { judge, type Row } from "../results.ts";
import type { Memory } from "../server-main.ts";
import type { ServerSpec, Target } from "../servers/types.ts";
import { summarize } from "../stats.ts";
import { CLIENTS, socketPath } from "./definitions.ts";
import type { GroupContext } from "./throughput.ts";

type Start = GroupContext["startServer"];

/** Context of the lifecycle cases. */
export interface LifecycleContext {
  readonly client: ChildHandle;
  startServer(spec: ServerSpec, options?: { gc?: boolean }): ReturnType<Start>;
  log(line: string): void;
}

/** Options of a shutdown case. */
export interface ShutdownCase {
  readonly id: string;
  readonly name: string;
  readonly family: "tcp-echo" | "http";
  readonly connections: number;
  readonly reps: number;
}

/** Time from `shutdown()` to finished, with `connections` idle connections held by the client. */
export async function runShutdown(c: ShutdownCase, ctx: LifecycleContext): Promise<Row> {
  const impls = ["tako", "node"] as const;
  const times = new Map<string, number[]>(impls.map((i) => [i, []]));
  const closedAll = new Map<string, number[]>(impls.map((i) => [i, []]));
  const lastClose = new Map<string, number[]>(impls.map((i) => [i, []]));
  for (let rep = 0; rep < c.reps; rep++) {
    const order = rep % 2 === 0 ? impls : ([...impls].reverse() as unknown as typeof impls);
    for (const impl of order) {
      const spec: ServerSpec = { family: c.family, impl, variant: "graceful", ...(c.family === "http" ? { path: socketPath(`sd-${impl}`) } : {}) };
      const server = await ctx.startServer(spec);
      try {
        const target: Target = server.ready.target;
        await ctx.client.call("hold", { target, count: c.connections, ...(c.family === "http" ? { httpUrl: "/" } : {}) });
        await new Promise((r) => setTimeout(r, 100)); // let the server see every connection
        const { ms, startedAt } = await server.call<{ ms: number; startedAt: number }>("shutdown", {}, 60_000);
        const closed = await ctx.client.call<{ held: number; closed: number; lastCloseAt: number }>("waitClosed", { timeoutMs: 5_000 });
        (lastClose.get(impl) as number[]).push(closed.lastCloseAt - startedAt);
        (times.get(impl) as number[]).push(ms);
        (closedAll.get(impl) as number[]).push(closed.closed / Math.max(1, closed.held));
        ctx.log(`${c.id}: rep ${rep + 1}/${c.reps} ${impl}=${ms.toFixed(1)} ms (client saw ${closed.closed}/${closed.held} closed)`);
      } finally {
        await ctx.client.call("release");
        await server.stop();
      }
    }
  }
  const ours = times.get("tako") as number[];
  const base = times.get("node") as number[];
  const oursFigure = summarize(ours);
  const ratio = summarize(ours.map((v, r) => v / (base[r] as number)));
  return {
    id: c.id,
    name: c.name,
    unit: "ms",
    better: "lower",
    source: CLIENTS.server,
    reps: c.reps,
    ours: "tako",
    oursFigure,
    comparisons: [{ baseline: "node", baselineFigure: summarize(base), ratio, goal: null, met: null }],
    perRep: { tako: ours, node: base },
    absoluteGoal: { max: 100, met: judge(oursFigure, { max: 100 }) as string },
    detail: Object.fromEntries(
      impls.map((i) => [i, { closedFraction: summarize(closedAll.get(i) as number[]).median, clientSawLastCloseMs: summarize(lastClose.get(i) as number[]).median }]),
    ),
    notes: [
      "clientSawLastCloseMs: when the load client saw the last of its connections closed, ms after shutdown() was called (wall clocks of two processes)",
      c.family === "http"
        ? "baseline: node:http server.close() (closes idle keep-alive connections), time until its callback"
        : "baseline: plain net server.close() + socket.end() on every tracked socket, time until the close callback",
    ],
  };
}

/** Options of the memory case. */
export interface MemoryCase {
  readonly id: string;
  readonly name: string;
  readonly connections: number;
  readonly reps: number;
}

async function waitConnections(server: ChildHandle, want: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  let n = await server.call<number>("connections");
  while (n !== want && performance.now() - t0 < timeoutMs) {
    await new Promise((r) => setTimeout(r, 50));
    n = await server.call<number>("connections");
  }
  return n;
}

/**
 * Heap and RSS growth per idle raw TCP connection held open, ours vs plain `net`: two rows, the
 * heap one (`id`) judged, the RSS one (`id-rss`) shown.
 */
export async function runMemory(c: MemoryCase, ctx: LifecycleContext): Promise<[Row, Row]> {
  const impls = ["tako", "node"] as const;
  const rss = new Map<string, number[]>(impls.map((i) => [i, []]));
  const heap = new Map<string, number[]>(impls.map((i) => [i, []]));
  for (let rep = 0; rep < c.reps; rep++) {
    const order = rep % 2 === 0 ? impls : ([...impls].reverse() as unknown as typeof impls);
    for (const impl of order) {
      const server = await ctx.startServer({ family: "tcp-echo", impl }, { gc: true });
      try {
        const target = server.ready.target;
        // Warm the accept and close paths, so lazily created state is in the baseline figure.
        await ctx.client.call("hold", { target, count: 200 });
        await ctx.client.call("release");
        await waitConnections(server, 0, 10_000);
        const m0 = await server.call<Memory>("memory");
        const { ms } = await ctx.client.call<{ ms: number }>("hold", { target, count: c.connections, concurrency: 200 }, 120_000);
        const seen = await waitConnections(server, c.connections, 30_000);
        if (seen !== c.connections) throw new Error(`${impl} server sees ${seen} of ${c.connections} connections`);
        const m1 = await server.call<Memory>("memory");
        const perRss = (m1.rss - m0.rss) / c.connections;
        const perHeap = (m1.heapUsed - m0.heapUsed) / c.connections;
        (rss.get(impl) as number[]).push(perRss);
        (heap.get(impl) as number[]).push(perHeap);
        ctx.log(`${c.id}: rep ${rep + 1}/${c.reps} ${impl}: ${Math.round(perRss)} B RSS, ${Math.round(perHeap)} B heap per connection (opened in ${Math.round(ms)} ms)`);
      } finally {
        await ctx.client.call("release");
        await server.stop();
      }
    }
  }
  const row = (kind: "heap" | "rss", figures: Map<string, number[]>): Row => {
    const ours = figures.get("tako") as number[];
    const base = figures.get("node") as number[];
    const ratio = summarize(ours.map((v, r) => v / (base[r] as number)));
    // The goal is on the V8 heap (what the listener's own objects cost, to a few bytes run to
    // run); RSS moves with page-level noise (allocator arenas, kernel socket buffers) and is shown.
    const goal = kind === "heap" ? { max: 1.1 } : null;
    return {
      id: kind === "heap" ? c.id : `${c.id}-rss`,
      name: `${c.name}, ${kind === "heap" ? "V8 heap" : "RSS"}`,
      unit: "B/conn",
      better: "lower",
      source: CLIENTS.server,
      reps: c.reps,
      ours: "tako",
      oursFigure: summarize(ours),
      comparisons: [{ baseline: "node", baselineFigure: summarize(base), ratio, goal, met: goal === null ? null : judge(ratio, goal) }],
      perRep: { tako: ours, node: base },
      detail: Object.fromEntries(impls.map((i) => [i, { [kind === "heap" ? "rssPerConn" : "heapPerConn"]: summarize((kind === "heap" ? rss : heap).get(i) as number[]).median }])),
      notes:
        kind === "heap" ? ["heapUsed and RSS read in the server process after two full GCs (--expose-gc), before and after the connections are held; the goal is on the heap"] : [],
    };
  };
  return [row("heap", heap), row("rss", rss)];
}
