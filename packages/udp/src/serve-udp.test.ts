import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { afterEach, describe, expect, it } from "vitest";
import { CHANNELS, type HandlerContext } from "@tako/core";
import { serveUdp, serveUdpWithShutdown, serveUdpWithShutdownAndDrain, UdpSocket, type UdpPeer, type UdpServer } from "@tako/udp";
import { gate, sleep, TestClient, waitFor } from "./test-support.ts";

const echo = async (data: Buffer, peer: UdpPeer, socket: UdpSocket) => {
  await socket.sendTo(data, peer);
};

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function open(type: "udp4" | "udp6" = "udp4"): Promise<TestClient> {
  const client = await TestClient.open(type);
  cleanup.push(() => client.close());
  return client;
}

async function serve(...args: Parameters<typeof serveUdp>): Promise<UdpServer> {
  const server = await serveUdp(...args);
  cleanup.push(() => server.shutdown({ drainTimeout: 0 }));
  return server;
}

describe("serveUdp", () => {
  it("echoes over IPv4 and reports the bound address, the peer and the stats", async () => {
    let seen: UdpPeer | undefined;
    const server = await serve("127.0.0.1:0", async (data, peer, socket) => {
      seen = peer;
      await socket.sendTo(data, peer);
    });
    expect(server.address).toEqual({ address: "127.0.0.1", port: expect.any(Number), family: "IPv4" });
    expect(server.address.port).toBeGreaterThan(0);
    expect(server.socket).toBeInstanceOf(UdpSocket);
    const client = await open();
    expect(await client.ask("hello", server.address.port)).toBe("hello");
    expect(seen).toMatchObject({ address: "127.0.0.1", port: client.port, family: "IPv4", size: 5 });
    await waitFor(() => server.stats().active === 0);
    expect(server.stats()).toEqual({ active: 0, accepted: 1, rejected: 0, handlerErrors: 0, protocolErrors: 0, dropped: 0, sendErrors: 0 });
  });

  it("serves IPv6 on ::1", async () => {
    let family: string | undefined;
    const server = await serve("[::1]:0", async (data, peer, socket) => {
      family = peer.family;
      await socket.sendTo(Buffer.concat([Buffer.from("v6:"), data]), peer);
    });
    expect(server.address).toMatchObject({ address: "::1", family: "IPv6" });
    const client = await open("udp6");
    const reply = await client.ask("ping", server.address.port);
    expect(reply).toBe("v6:ping");
    expect(family).toBe("IPv6");
  });

  it("accepts a port number, { host, port } and a host name", async () => {
    const byObject = await serve({ host: "127.0.0.1", port: 0 }, echo);
    expect(byObject.address.address).toBe("127.0.0.1");
    const byName = await serve("localhost:0", echo);
    expect(["127.0.0.1", "::1"]).toContain(byName.address.address);
    const client = await open(byName.address.family === "IPv6" ? "udp6" : "udp4");
    expect(await client.ask("by name", byName.address.port)).toBe("by name");
    const byPort = await serve(0, echo);
    expect(byPort.address).toMatchObject({ address: "0.0.0.0", family: "IPv4" });
    const v4 = await open();
    expect(await v4.ask("any", byPort.address.port)).toBe("any");
  });

  it("runs handlers concurrently and hands each its own datagram buffer", async () => {
    const release = gate();
    const kept: Buffer[] = [];
    const server = await serve("127.0.0.1:0", async (data, peer, socket) => {
      kept.push(data);
      await release.promise;
      await socket.sendTo(data, peer);
    });
    const client = await open();
    for (let i = 0; i < 10; i++) await client.send(`message ${i}`, server.address.port);
    await waitFor(() => server.stats().active === 10, 5_000, "10 handlers in flight");
    release.open();
    const replies = new Set<string>();
    for (let i = 0; i < 10; i++) replies.add((await client.next()).data.toString());
    expect(replies).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `message ${i}`)));
    expect(kept.map((b) => b.toString()).sort()).toEqual([...replies].sort());
  });

  it("handles a synchronous handler without tracking it", async () => {
    const server = await serve("127.0.0.1:0", (data, peer, socket) => {
      void socket.sendTo(data.toString().toUpperCase(), peer);
    });
    const client = await open();
    expect(await client.ask("sync", server.address.port)).toBe("SYNC");
    expect(server.stats()).toMatchObject({ active: 0, accepted: 1, handlerErrors: 0 });
  });

  it("drops datagrams past maxInFlight and counts them, never queueing", async () => {
    const release = gate();
    const server = await serve(
      "127.0.0.1:0",
      async (data, peer, socket) => {
        await release.promise;
        await socket.sendTo(data, peer);
      },
      { maxInFlight: 2 },
    );
    const client = await open();
    for (let i = 0; i < 5; i++) await client.send(`d${i}`, server.address.port);
    await waitFor(() => server.stats().dropped === 3, 5_000, "3 drops");
    expect(server.stats()).toMatchObject({ active: 2, accepted: 2, dropped: 3 });
    release.open();
    const got = [(await client.next()).data.toString(), (await client.next()).data.toString()];
    expect(got.sort()).toEqual(["d0", "d1"]);
    await waitFor(() => server.stats().active === 0);
    expect(await client.ask("after", server.address.port)).toBe("after");
    expect(server.stats()).toMatchObject({ accepted: 3, dropped: 3 });
  });

  it("gives every handler the server's context, whose signal aborts on shutdown", async () => {
    const contexts: HandlerContext[] = [];
    const server = await serveUdp("127.0.0.1:0", (_data, _peer, _socket, ctx) => {
      contexts.push(ctx);
    });
    const client = await open();
    await client.send("a", server.address.port);
    await client.send("b", server.address.port);
    await waitFor(() => contexts.length === 2);
    expect(contexts[0]?.signal.aborted).toBe(false);
    expect(contexts[1]).toBe(contexts[0]);
    await server.shutdown();
    expect(contexts[0]?.signal.aborted).toBe(true);
  });

  it("supports await using", async () => {
    let socket: UdpSocket | undefined;
    {
      await using server = await serveUdp("127.0.0.1:0", echo);
      socket = server.socket;
      expect(socket.closed).toBe(false);
    }
    expect(socket.closed).toBe(true);
  });

  it("serveUdpWithShutdown shuts down on an AbortSignal or a promise", async () => {
    const controller = new AbortController();
    const a = await serveUdpWithShutdown("127.0.0.1:0", echo, controller.signal);
    const client = await open();
    expect(await client.ask("x", a.address.port)).toBe("x");
    controller.abort();
    expect(await a.finished).toMatchObject({ drained: 0, forced: 0 });
    expect(a.socket.closed).toBe(true);

    const trigger = gate();
    const b = await serveUdpWithShutdown("127.0.0.1:0", echo, trigger.promise);
    trigger.open();
    expect(await b.finished).toMatchObject({ forced: 0 });
  });

  it("serveUdpWithShutdownAndDrain bounds the drain by its timeout", async () => {
    const controller = new AbortController();
    const server = await serveUdpWithShutdownAndDrain("127.0.0.1:0", () => sleep(2_000), controller.signal, 50);
    const client = await open();
    await client.send("slow", server.address.port);
    await waitFor(() => server.stats().active === 1);
    controller.abort();
    const report = await server.finished;
    expect(report).toMatchObject({ drained: 0, forced: 1 });
    expect(report.durationMs).toBeLessThan(1_500);
  });

  it("publishes listening, connection per datagram, connection-closed, shutdown and drain-done", async () => {
    const events: Array<[string, Record<string, unknown>]> = [];
    const listeners = Object.entries(CHANNELS).map(([name, channel]) => {
      const fn = (message: unknown) => events.push([name, message as Record<string, unknown>]);
      subscribe(channel, fn);
      return () => unsubscribe(channel, fn);
    });
    try {
      const server = await serveUdp("127.0.0.1:0", async (data, peer, socket) => {
        await socket.sendTo(data, peer);
      });
      const client = await open();
      await client.ask("one", server.address.port);
      await waitFor(() => events.some(([name]) => name === "connectionClosed"));
      await server.shutdown();
      const mine = events.filter(([, message]) => message.server === server);
      expect(mine.map(([name]) => name)).toEqual(["listening", "connection", "connectionClosed", "shutdown", "drainDone"]);
      expect(mine[0]?.[1]).toMatchObject({ kind: "udp", address: server.address });
      expect(mine[1]?.[1]).toMatchObject({ kind: "udp", peer: { address: "127.0.0.1", port: client.port } });
      expect(mine[4]?.[1]).toMatchObject({ kind: "udp", report: { drained: 0, forced: 0 } });
    } finally {
      for (const stop of listeners) stop();
    }
  });

  it("logs listening and shutdown to a logger", async () => {
    const lines: string[] = [];
    const log = (level: string) => (_obj: object, msg?: string) => void lines.push(`${level} ${msg}`);
    const logger = { error: log("error"), warn: log("warn"), info: log("info"), debug: log("debug") };
    const server = await serveUdp("127.0.0.1:0", echo, { logger });
    await server.shutdown();
    expect(lines).toEqual(["info listening", "info shutting down", "info drained"]);
  });
});
