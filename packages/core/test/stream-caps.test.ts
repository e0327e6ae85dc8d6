import { once } from "node:events";
import type * as net from "node:net";
import { describe, expect, it } from "vitest";
import { closed, readAll, readBytes, sleep, until } from "@tako/test-kit";
import type { StreamHandler } from "@tako/core/listener";
import { TRANSPORTS } from "./transports.ts";

const echo: StreamHandler<never> = async (socket) => {
  for await (const chunk of socket) socket.write(chunk);
};

/** Whether the client has seen the connection close, without waiting for it. */
function watchClosed(socket: net.Socket): () => boolean {
  let done = false;
  void closed(socket).then(() => (done = true));
  return () => done;
}

describe.each(TRANSPORTS)("%s: maxConnections: queue (the default policy)", (_name, t) => {
  it("an extra connection waits unread, then is served in full when a slot frees", async () => {
    const received: number[] = [];
    await using server = await t.serve(
      async (socket) => {
        let n = 0;
        for await (const chunk of socket) n += (chunk as Buffer).length;
        received.push(n);
        socket.write(String(n));
      },
      { maxConnections: 1 },
    );
    const first = await t.connect(server);
    await until(() => server.stats().active === 1, "first connection served");
    const second = await t.connect(server);
    // The waiting client writes far more than the socket buffers hold: nobody reads it, so its
    // own write buffer backs up (backpressure reaches the client, nothing piles up in the server).
    const size = 32 * 1024 * 1024;
    const block = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < size / block.length; i++) second.write(block);
    second.end();
    let last = -1;
    await until(() => {
      const now = second.writableLength;
      const settled = now === last;
      last = now;
      return settled;
    }, "the waiting client's writes to stall");
    expect(second.writableLength).toBeGreaterThan(size / 2);
    expect(server.stats()).toMatchObject({ active: 1, accepted: 1, rejected: 0 });
    expect(received).toEqual([]);
    const reply = readAll(second);
    first.end("x");
    expect((await readAll(first)).toString()).toBe("1");
    expect((await reply).toString()).toBe(String(size));
    expect(server.stats()).toMatchObject({ active: 0, accepted: 2, rejected: 0 });
  });

  it("serves queued connections first-in first-out", async () => {
    const order: string[] = [];
    await using server = await t.serve(
      async (socket) => {
        const [first] = (await once(socket, "data")) as [Buffer];
        order.push(String(first));
        await sleep(20);
        socket.write(`ok ${String(first)}`);
      },
      { maxConnections: 1 },
    );
    const replies: Array<Promise<Buffer>> = [];
    for (const name of ["a", "b", "c", "d"]) {
      const client = await t.connect(server);
      client.write(name);
      replies.push(readAll(client));
      await until(() => server.stats().accepted >= 1, "first served");
    }
    expect((await Promise.all(replies)).map(String)).toEqual(["ok a", "ok b", "ok c", "ok d"]);
    expect(order).toEqual(["a", "b", "c", "d"]);
  });

  it("the queue is bounded by maxQueue: past it, connections are closed at once and counted", async () => {
    await using server = await t.serve(echo, { maxConnections: 1, maxQueue: 1, drainTimeout: 100 });
    const active = await t.connect(server);
    await until(() => server.stats().active === 1, "slot taken");
    const queued = await t.connect(server);
    const queuedClosed = watchClosed(queued);
    const extra = await t.connect(server);
    await closed(extra);
    expect(server.stats()).toMatchObject({ active: 1, rejected: 1 });
    expect(queuedClosed()).toBe(false);
    queued.write("q");
    active.end();
    expect((await readBytes(queued, 1)).toString()).toBe("q");
    queued.end();
  });

  it("queueTimeout closes a connection that waited too long, and counts it", async () => {
    await using server = await t.serve(echo, { maxConnections: 1, queueTimeout: 200, drainTimeout: 100 });
    const active = await t.connect(server);
    await until(() => server.stats().active === 1, "slot taken");
    const waiting = await t.connect(server);
    const started = performance.now();
    await closed(waiting);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(server.stats()).toMatchObject({ active: 1, accepted: 1, rejected: 1 });
    active.write("still");
    expect((await readBytes(active, 5)).toString()).toBe("still");
    active.end();
  });

  it("a queued client that hangs up leaves the queue (its place is reused, nothing leaks)", async () => {
    await using server = await t.serve(echo, { maxConnections: 1, maxQueue: 1, queueTimeout: 0 });
    const active = await t.connect(server);
    await until(() => server.stats().active === 1, "slot taken");
    for (let i = 0; i < 20; i++) {
      const quitter = await t.connect(server);
      quitter.end(); // hangs up while waiting
      await closed(quitter);
    }
    // If the quitters were still queued, this one would be refused (maxQueue 1).
    const last = await t.connect(server);
    const lastClosed = watchClosed(last);
    await sleep(100);
    expect(lastClosed()).toBe(false);
    expect(server.stats()).toMatchObject({ rejected: 0, accepted: 1 });
    active.end();
    last.write("hi");
    expect((await readBytes(last, 2)).toString()).toBe("hi");
    expect(server.stats()).toMatchObject({ rejected: 0, accepted: 2 });
    last.end();
  });

  it("queued connections are closed as soon as shutdown starts", async () => {
    // The handler ignores the drain signal; it ends when its client does.
    const server = await t.serve((socket) => once(socket, "end"), { maxConnections: 1, drainTimeout: 5_000 });
    const active = await t.connect(server);
    await until(() => server.stats().active === 1, "slot taken");
    const queued = await Promise.all([t.connect(server), t.connect(server)]);
    await sleep(50);
    const shutdown = server.shutdown();
    await Promise.all(queued.map((q) => closed(q)));
    expect(server.stats()).toMatchObject({ active: 1, rejected: 2 });
    active.destroy();
    expect(await shutdown).toMatchObject({ drained: 1, forced: 0 });
  });
});

describe.each(TRANSPORTS)("%s: maxConnections: reject", (_name, t) => {
  it("closes extra connections at once and counts them; a freed slot serves again", async () => {
    await using server = await t.serve(echo, { maxConnections: 2, onMaxConnections: "reject" });
    const a = await t.connect(server);
    const b = await t.connect(server);
    await until(() => server.stats().active === 2, "both served");
    for (let i = 0; i < 3; i++) await closed(await t.connect(server));
    expect(server.stats()).toMatchObject({ active: 2, accepted: 2, rejected: 3 });
    a.end();
    await closed(a);
    await until(() => server.stats().active === 1, "slot freed");
    const c = await t.connect(server);
    c.write("c");
    expect((await readBytes(c, 1)).toString()).toBe("c");
    expect(server.stats()).toMatchObject({ active: 2, accepted: 3, rejected: 3 });
    b.end();
    c.end();
  });
});

describe.each(TRANSPORTS)("%s: idleTimeout", (_name, t) => {
  it("destroys a connection with no traffic either way for idleTimeout ms", async () => {
    await using server = await t.serve((socket) => void socket.resume(), { idleTimeout: 200 });
    const client = await t.connect(server);
    const started = performance.now();
    await closed(client);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    await until(() => server.stats().active === 0, "connection released");
  });

  it("keeps a connection with traffic alive past idleTimeout", async () => {
    await using server = await t.serve(echo, { idleTimeout: 600 });
    const client = await t.connect(server);
    const isClosed = watchClosed(client);
    for (let i = 0; i < 15; i++) {
      client.write("."); // 1.5 s of traffic, one byte every 100 ms
      await sleep(100);
    }
    expect(isClosed()).toBe(false);
    expect(server.stats().active).toBe(1);
    await closed(client);
  });

  it("is off by default", async () => {
    await using server = await t.serve((socket) => void socket.resume(), { drainTimeout: 50 });
    const client = await t.connect(server);
    const isClosed = watchClosed(client);
    await sleep(300);
    expect(isClosed()).toBe(false);
    client.destroy();
  });
});
