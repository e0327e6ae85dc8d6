import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { CHANNELS, type Server } from "@tako/core";
import { closed, readAll, readBytes } from "@tako/test-kit";
import type { StreamHandler } from "@tako/core/listener";
import { TRANSPORTS } from "./transports.ts";

/** A line protocol that stops at a message boundary when the drain starts, then says goodbye. */
const politeLines: StreamHandler<never> = async (socket, _peer, { signal }) => {
  const lines = createInterface({ input: socket, crlfDelay: Infinity });
  const stop = () => lines.close();
  signal.addEventListener("abort", stop, { once: true });
  try {
    for await (const line of lines) socket.write(`${line}\n`);
  } finally {
    signal.removeEventListener("abort", stop);
  }
  socket.write("bye\n");
};

describe.each(TRANSPORTS)("%s: drain", (_name, t) => {
  it("an idle server shuts down in milliseconds, not at the drain timeout", async () => {
    const server = await t.serve(politeLines, { drainTimeout: 30_000 });
    const report = await server.shutdown();
    expect(report).toMatchObject({ drained: 0, forced: 0 });
    expect(report.durationMs).toBeLessThan(1_000);
    expect(await t.tryConnect(server)).toBe(t.goneCode);
  });

  it("in-flight handlers see the signal, finish their message and are counted as drained", async () => {
    const server = await t.serve(politeLines, { drainTimeout: 10_000 });
    const clients = await Promise.all([t.connect(server), t.connect(server)]);
    for (const client of clients) {
      client.write("hello\n");
      expect((await readBytes(client, 6)).toString()).toBe("hello\n");
    }
    const rest = clients.map((client) => readAll(client));
    const report = await server.shutdown();
    expect(report).toMatchObject({ drained: 2, forced: 0 });
    for (const text of await Promise.all(rest)) expect(text.toString()).toBe("bye\n");
    expect(await server.finished).toBe(report);
    expect(server.stats()).toMatchObject({ active: 0, accepted: 2 });
  });

  it("a handler that ignores the signal is destroyed at the deadline; the report has both counts", async () => {
    let calls = 0;
    const server = await t.serve(
      // The first connection ignores the signal (and never settles); the others are polite.
      (socket, peer, ctx) => (++calls === 1 ? new Promise(() => {}) : politeLines(socket, peer, ctx)),
      { drainTimeout: 300 },
    );
    const stubborn = await t.connect(server);
    await expect.poll(() => calls).toBe(1);
    const polite = await t.connect(server);
    polite.write("hi\n");
    expect((await readBytes(polite, 3)).toString()).toBe("hi\n");
    const politeRest = readAll(polite);
    const stubbornClosed = closed(stubborn);
    const started = performance.now();
    const report = await server.shutdown();
    expect(report).toMatchObject({ drained: 1, forced: 1 });
    expect(report.durationMs).toBeGreaterThanOrEqual(250);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    await stubbornClosed;
    expect((await politeRest).toString()).toBe("bye\n");
    expect(server.stats().active).toBe(0);
  });

  it("refuses new clients as soon as shutdown starts, while in-flight ones drain", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const server = await t.serve(async (socket) => {
      await gate;
      socket.write("done");
    });
    const inflight = await t.connect(server);
    await expect.poll(() => server.stats().active).toBe(1);
    const reply = readAll(inflight);
    const shutdown = server.shutdown();
    expect(await t.tryConnect(server)).toBe("ECONNREFUSED");
    expect(server.stats().active).toBe(1);
    release();
    expect((await reply).toString()).toBe("done");
    expect(await shutdown).toMatchObject({ drained: 1, forced: 0 });
  });

  it("shutdown twice returns the same report; finished settles with it; a shorter drainTimeout can be given", async () => {
    const server = await t.serve(() => new Promise(() => {}), { drainTimeout: 30_000 });
    const client = await t.connect(server);
    await expect.poll(() => server.stats().active).toBe(1);
    const a = server.shutdown({ drainTimeout: 50 });
    const b = server.shutdown();
    expect(b).toBe(a);
    const report = await a;
    expect(report).toMatchObject({ drained: 0, forced: 1 });
    expect(await server.finished).toBe(report);
    expect(await server.shutdown()).toBe(report);
    await closed(client);
  });

  it("await using shuts the server down at the end of the block", async () => {
    let gone: Server<unknown> | undefined;
    {
      await using server = await t.serve(async (socket) => void socket.end("x"));
      gone = server;
      expect((await readAll(await t.connect(server))).toString()).toBe("x");
    }
    expect(await gone.finished).toMatchObject({ drained: expect.any(Number), forced: 0 });
    expect(await t.tryConnect(gone)).toBe(t.goneCode);
  });

  it("shuts down when the signal option aborts (AbortSignal) or settles (a promise)", async () => {
    const controller = new AbortController();
    const viaSignal = await t.serve(politeLines, { signal: controller.signal });
    let resolve!: () => void;
    const viaPromise = await t.serve(politeLines, { signal: new Promise<void>((r) => (resolve = r)) });
    const client = await t.connect(viaSignal);
    client.write("a\n");
    expect((await readBytes(client, 2)).toString()).toBe("a\n");
    const rest = readAll(client);
    controller.abort();
    expect(await viaSignal.finished).toMatchObject({ drained: 1, forced: 0 });
    expect((await rest).toString()).toBe("bye\n");
    expect(await t.tryConnect(viaPromise)).toBe("connected");
    await expect.poll(() => viaPromise.stats().active).toBe(0);
    resolve();
    expect(await viaPromise.finished).toMatchObject({ drained: 0, forced: 0 });
    expect(await t.tryConnect(viaPromise)).toBe(t.goneCode);
  });

  it("an already-aborted signal shuts the server down right after it binds", async () => {
    const server = await t.serve(politeLines, { signal: AbortSignal.abort() });
    expect(await server.finished).toMatchObject({ drained: 0, forced: 0 });
  });

  it("publishes listening, connection, connection-closed, shutdown and drain-done", async () => {
    const seen: Array<{ name: string; server: unknown; peer?: unknown }> = [];
    const subs = Object.entries({
      listening: CHANNELS.listening,
      connection: CHANNELS.connection,
      closed: CHANNELS.connectionClosed,
      shutdown: CHANNELS.shutdown,
      drained: CHANNELS.drainDone,
    }).map(([name, channel]) => {
      const fn = (message: unknown) => {
        const m = message as { kind: string; server: unknown; peer?: unknown };
        if (m.kind === t.kind) seen.push({ name, server: m.server, peer: m.peer });
      };
      subscribe(channel, fn);
      return () => unsubscribe(channel, fn);
    });
    try {
      const server = await t.serve(async (socket) => void socket.end());
      const client = await t.connect(server);
      const peer = t.peerOf(client);
      await once(client.resume(), "close");
      const mine = () => seen.filter((m) => m.server === server);
      await expect.poll(() => mine().length).toBe(3);
      await server.shutdown();
      expect(mine().map((m) => m.name)).toEqual(["listening", "connection", "closed", "shutdown", "drained"]);
      expect(mine()[1]?.peer).toEqual(peer);
      expect(mine()[2]?.peer).toEqual(peer);
    } finally {
      for (const unsub of subs) unsub();
    }
  });
});
