import { afterEach, describe, expect, it } from "vitest";
import { ClosedError } from "@tako/core";
import { serveUdp, type UdpServer } from "@tako/udp";
import { gate, sleep, TestClient, waitFor } from "./test-support.ts";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function open(): Promise<TestClient> {
  const client = await TestClient.open();
  cleanup.push(() => client.close());
  return client;
}

describe("drain", () => {
  it("stops receiving at once, lets in-flight handlers finish and their replies arrive", async () => {
    const release = gate();
    const abortedWhenReplying: boolean[] = [];
    const server = await serveUdp("127.0.0.1:0", async (data, peer, socket, ctx) => {
      await release.promise;
      abortedWhenReplying.push(ctx.signal.aborted);
      await socket.sendTo(Buffer.concat([Buffer.from("done "), data]), peer);
    });
    const client = await open();
    for (let i = 0; i < 5; i++) await client.send(`job ${i}`, server.address.port);
    await waitFor(() => server.stats().active === 5, 5_000, "5 handlers in flight");

    const report = server.shutdown({ drainTimeout: 10_000 });
    // Sent after shutdown started: never handed to a handler.
    await client.send("late", server.address.port);
    await sleep(50);
    expect(server.stats()).toMatchObject({ active: 5, accepted: 5 });
    release.open();

    expect(await report).toMatchObject({ drained: 5, forced: 0 });
    expect(await server.finished).toEqual(await report);
    expect(abortedWhenReplying).toEqual([true, true, true, true, true]);
    const replies = new Set<string>();
    for (let i = 0; i < 5; i++) replies.add((await client.next()).data.toString());
    expect(replies).toEqual(new Set(["done job 0", "done job 1", "done job 2", "done job 3", "done job 4"]));
    expect(server.stats()).toMatchObject({ active: 0, accepted: 5 });
    expect(server.socket.closed).toBe(true);
  });

  it("counts handlers still running at the deadline as forced; their later sendTo rejects with ClosedError", async () => {
    const slow = gate();
    const outcomes: unknown[] = [];
    const server = await serveUdp("127.0.0.1:0", async (data, peer, socket) => {
      if (data.toString() === "quick") {
        await sleep(10);
        await socket.sendTo("quick done", peer);
        return;
      }
      await slow.promise;
      try {
        await socket.sendTo("too late", peer);
        outcomes.push("sent");
      } catch (error) {
        outcomes.push(error);
      }
    });
    const client = await open();
    await client.send("slow 1", server.address.port);
    await client.send("slow 2", server.address.port);
    await client.send("quick", server.address.port);
    await waitFor(() => server.stats().accepted === 3);

    const report = await server.shutdown({ drainTimeout: 200 });
    expect(report).toMatchObject({ drained: 1, forced: 2 });
    expect(report.durationMs).toBeGreaterThanOrEqual(150);
    expect(report.durationMs).toBeLessThan(5_000);
    expect((await client.next()).data.toString()).toBe("quick done");

    expect(server.stats().active).toBe(2); // forced, but still running: reported as such
    slow.open();
    await waitFor(() => outcomes.length === 2);
    expect(server.stats().active).toBe(0);
    for (const outcome of outcomes) {
      expect(outcome).toBeInstanceOf(ClosedError);
      expect((outcome as ClosedError).code).toBe("ERR_TAKO_CLOSED");
    }
    expect(server.stats().handlerErrors).toBe(0);
  });

  it("a handler that starts the shutdown itself is waited for, and its reply goes out", async () => {
    let shutdown: Promise<unknown> | undefined;
    const server: UdpServer = await serveUdp("127.0.0.1:0", async (data, peer, socket) => {
      if (data.toString() === "stop") {
        shutdown = server.shutdown({ drainTimeout: 10_000 });
        await sleep(50);
        await socket.sendTo("bye", peer);
      }
    });
    const client = await open();
    await client.send("stop", server.address.port);
    expect((await client.next()).data.toString()).toBe("bye");
    await waitFor(() => shutdown !== undefined);
    expect(await shutdown).toMatchObject({ drained: 1, forced: 0 });

    const sync = await serveUdp("127.0.0.1:0", () => {
      shutdown = sync.shutdown();
    });
    await client.send("stop", sync.address.port);
    expect(await sync.finished).toMatchObject({ drained: 1, forced: 0 });
  });

  it("an idle server shuts down at once, and shutdown twice returns the same report", async () => {
    const server = await serveUdp("127.0.0.1:0", () => {});
    const first = server.shutdown();
    const second = server.shutdown({ drainTimeout: 1 });
    expect(second).toBe(first);
    const report = await first;
    expect(report).toMatchObject({ drained: 0, forced: 0 });
    expect(report.durationMs).toBeLessThan(1_000);
    expect(server.socket.closed).toBe(true);
  });

  it("the port is free again after shutdown", async () => {
    const server = await serveUdp("127.0.0.1:0", () => {});
    const { port } = server.address;
    await server.shutdown();
    const again = await serveUdp(`127.0.0.1:${port}`, () => {});
    expect(again.address.port).toBe(port);
    await again.shutdown();
  });

  it("shuts down when the underlying socket is closed from outside", async () => {
    const server = await serveUdp("127.0.0.1:0", () => {});
    server.socket.socket.close();
    expect(await server.finished).toMatchObject({ forced: 0 });
  });
});
