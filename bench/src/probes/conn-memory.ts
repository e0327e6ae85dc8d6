/**
 * Heap and RSS per idle connection, ours vs plain `net`, without the suite (not part of it):
 *
 *   node src/probes/conn-memory.ts [connections=5000] [impl...=tako node]
 *
 * For each implementation: forks the bench's echo server (src/servers/echo.ts, TCP) with
 * --expose-gc, warms its accept and close paths with 200 connections, reads heapUsed and RSS after
 * two full GCs, opens <connections> idle connections from this process, waits until the server
 * counts them, reads again. Prints the deltas per connection. Heap figures repeat to a few bytes
 * run to run (they do not depend on the machine's load); RSS moves with page-level noise.
 */
import { fork } from "node:child_process";
import * as net from "node:net";
import { fileURLToPath } from "node:url";

interface Reply {
  readonly id: number;
  readonly value: unknown;
}

if (process.argv[2] === "--server") {
  const { startNodeEcho, startTakoEcho } = await import("../servers/echo.ts");
  const impl = process.argv[3];
  const server = impl === "node" ? await startNodeEcho({ family: "tcp-echo", impl: "node" }) : await startTakoEcho({ family: "tcp-echo", impl: "tako" });
  const gc = (globalThis as { gc?: () => void }).gc as () => void;
  process.on("message", async (m: { id: number; cmd: string }) => {
    let value: unknown;
    if (m.cmd === "target") value = server.target;
    else if (m.cmd === "connections") value = await server.connections();
    else if (m.cmd === "snapshot") value = (await import("node:v8")).writeHeapSnapshot(`/tmp/conn-${impl}-${process.env.SNAP_TAG ?? "x"}.heapsnapshot`);
    else {
      gc();
      gc();
      const u = process.memoryUsage();
      value = { heapUsed: u.heapUsed, rss: u.rss };
    }
    process.send?.({ id: m.id, value } satisfies Reply);
  });
  process.send?.({ id: 0, value: "ready" } satisfies Reply);
} else {
  const count = Number(process.argv[2] ?? 5000);
  const impls = process.argv.length > 3 ? process.argv.slice(3) : ["tako", "node"];
  for (const impl of impls) {
    const child = fork(fileURLToPath(import.meta.url), ["--server", impl], { execArgv: ["--expose-gc"] });
    let next = 1;
    const pending = new Map<number, (v: unknown) => void>();
    await new Promise<void>((resolve) =>
      child.on("message", (m: Reply) => {
        if (m.id === 0) resolve();
        else pending.get(m.id)?.(m.value);
      }),
    );
    const call = <T>(cmd: string) =>
      new Promise<T>((resolve) => {
        const id = next++;
        pending.set(id, resolve as (v: unknown) => void);
        child.send({ id, cmd });
      });
    const target = await call<{ host: string; port: number }>("target");
    const hold = async (n: number) => {
      const sockets: net.Socket[] = [];
      for (let i = 0; i < n; i += 200) {
        await Promise.all(
          Array.from(
            { length: Math.min(200, n - i) },
            () =>
              new Promise<void>((resolve, reject) => {
                const s = net.connect(target.port, target.host, () => resolve());
                s.once("error", reject);
                sockets.push(s);
              }),
          ),
        );
      }
      return sockets;
    };
    const until = async (want: number) => {
      while ((await call<number>("connections")) !== want) await new Promise((r) => setTimeout(r, 50));
    };
    for (const s of await hold(200)) s.destroy();
    await until(0);
    const m0 = await call<{ heapUsed: number; rss: number }>("memory");
    const held = await hold(count);
    await until(count);
    const m1 = await call<{ heapUsed: number; rss: number }>("memory");
    if (process.env.SNAP_TAG !== undefined) console.log(await call<string>("snapshot"));
    for (const s of held) s.destroy();
    child.kill();
    console.log(`${impl}: heap ${Math.round((m1.heapUsed - m0.heapUsed) / count)} B/conn, RSS ${Math.round((m1.rss - m0.rss) / count)} B/conn (${count} connections)`);
  }
}
