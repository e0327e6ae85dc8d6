import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import { serveUdp, type UdpServer } from "@tako/udp";
import { gate, TestClient, waitFor } from "./test-support.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Heap plus Buffer memory after a full collection. */
function memory(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const FLOOD = 100_000;
const SIZE = 512;
const MAX_IN_FLIGHT = 64;
const MiB = 1024 * 1024;

describe("a flood of 100 000 datagrams against slow handlers", () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  it("keeps memory bounded, counts the drops and answers normally afterwards", async () => {
    const release = gate();
    let maxActiveSeen = 0;
    let server!: UdpServer;
    server = await serveUdp(
      "127.0.0.1:0",
      async (data, peer, socket) => {
        maxActiveSeen = Math.max(maxActiveSeen, server.stats().active);
        await release.promise;
        await socket.sendTo(data.subarray(0, 8), peer);
      },
      { maxInFlight: MAX_IN_FLIGHT },
    );
    cleanup.push(() => server.shutdown({ drainTimeout: 0 }));
    const client = await TestClient.open();
    cleanup.push(() => client.close());
    client.socket.connect(server.address.port, "127.0.0.1");
    await new Promise((resolve) => client.socket.once("connect", resolve));

    const before = memory();
    const payload = Buffer.alloc(SIZE, 0x5a);
    let sent = 0;
    let maxActiveSampled = 0;
    // Batches of 256, then turns of the event loop until the server has read nearly all of them
    // (libuv reads a few dozen datagrams per turn): the kernel buffer does not overrun, so nearly
    // every datagram reaches the bound check instead of being dropped by the kernel.
    while (sent < FLOOD) {
      const batch: Array<Promise<void>> = [];
      for (let i = 0; i < 256 && sent < FLOOD; i++, sent++) {
        batch.push(new Promise<void>((resolve, reject) => client.socket.send(payload, (error) => (error ? reject(error) : resolve()))));
      }
      await Promise.all(batch);
      const seen = () => server.stats().accepted + server.stats().dropped;
      for (let turn = 0; turn < 1_000 && seen() < sent - 512; turn++) await new Promise(setImmediate);
      maxActiveSampled = Math.max(maxActiveSampled, server.stats().active);
    }
    await waitFor(() => server.stats().accepted + server.stats().dropped >= FLOOD * 0.5, 10_000, "the server to read the flood");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const during = server.stats();
    const growth = memory() - before;

    expect(during.accepted).toBe(MAX_IN_FLIGHT); // the handlers are held: nothing else ran
    expect(during.active).toBe(MAX_IN_FLIGHT);
    expect(maxActiveSeen).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(maxActiveSampled).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(during.dropped).toBeGreaterThanOrEqual(FLOOD * 0.5 - MAX_IN_FLIGHT);
    expect(during.accepted + during.dropped).toBeLessThanOrEqual(FLOOD);
    // Holding all 100 000 datagrams (512 B each, plus a handler frame and a promise) would take
    // well over 50 MiB; the bound keeps 64 of them.
    expect(growth).toBeLessThan(16 * MiB);

    release.open();
    await waitFor(() => server.stats().active === 0, 10_000, "the held handlers to finish");
    await waitFor(() => client.pending === MAX_IN_FLIGHT, 10_000, "the held handlers' replies");
    for (let i = 0; i < MAX_IN_FLIGHT; i++) expect((await client.next()).data.toString()).toBe("ZZZZZZZZ");
    client.socket.send("after the flood");
    const reply = await client.next();
    expect(reply.data.toString()).toBe("after th");
    expect(server.stats()).toMatchObject({ active: 0, accepted: MAX_IN_FLIGHT + 1, handlerErrors: 0 });
  });
});
