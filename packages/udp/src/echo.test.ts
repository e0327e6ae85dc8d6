import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveUdp, type UdpServer } from "@tako/udp";
import { TestClient } from "./test-support.ts";

const COUNT = 10_000;
const MAX_IPV4_PAYLOAD = 65_507;
/** Sizes spread evenly from 1 to 65 507 bytes: all distinct (the step is about 6.5), so a reply is matched by its length. */
const sizes = Array.from({ length: COUNT }, (_, i) => 1 + Math.floor((i * (MAX_IPV4_PAYLOAD - 1)) / (COUNT - 1)));
const pool = randomBytes(MAX_IPV4_PAYLOAD + 4096);
const payload = (i: number): Buffer => {
  const offset = (i * 7919) % 4096;
  return pool.subarray(offset, offset + (sizes[i] ?? 0));
};

describe("echo of 10 000 datagrams, 1 to 65 507 bytes", () => {
  let server: UdpServer;
  let client: TestClient;

  beforeAll(async () => {
    server = await serveUdp("127.0.0.1:0", async (data, peer, socket) => {
      await socket.sendTo(data, peer);
    });
    client = await TestClient.open("udp4", 4 * 1024 * 1024);
  });
  afterAll(async () => {
    await client.close();
    await server.shutdown();
  });

  it("returns every datagram whole and byte-exact, with no loss and no retransmission", async () => {
    expect(new Set(sizes).size).toBe(COUNT);
    expect(sizes[0]).toBe(1);
    expect(sizes[COUNT - 1]).toBe(MAX_IPV4_PAYLOAD);
    // Window by bytes: never more outstanding than a quarter of the smaller receive buffer (Linux
    // reports twice what it grants, and a datagram costs the kernel more than its payload), so
    // neither kernel buffer can overrun; one datagram is always allowed.
    const budget = Math.min(client.socket.getRecvBufferSize(), server.socket.socket.getRecvBufferSize()) / 4;
    const outstanding = new Map<number, number>(); // size -> index
    let outstandingBytes = 0;
    let next = 0;
    let received = 0;
    const mismatches: string[] = [];
    const deadline = Date.now() + 45_000;
    while (received < COUNT) {
      while (next < COUNT && (outstanding.size === 0 || outstandingBytes + (sizes[next] ?? 0) <= budget)) {
        const data = payload(next);
        outstanding.set(data.length, next);
        outstandingBytes += data.length;
        client.socket.send(data, server.address.port, "127.0.0.1");
        next++;
      }
      const reply = await client.next(Math.max(1, deadline - Date.now())).catch(() => {
        throw new Error(`reply missing: ${received} of ${COUNT} received, ${outstanding.size} outstanding (sizes ${[...outstanding.keys()].slice(0, 5).join(", ")})`);
      });
      const index = outstanding.get(reply.data.length);
      if (index === undefined) {
        mismatches.push(`unexpected reply of ${reply.data.length} bytes`);
        continue;
      }
      outstanding.delete(reply.data.length);
      outstandingBytes -= reply.data.length;
      if (!reply.data.equals(payload(index))) mismatches.push(`datagram ${index} (${reply.data.length} bytes) differs`);
      received++;
    }
    expect(mismatches).toEqual([]);
    expect(received).toBe(COUNT);
    expect(server.stats()).toMatchObject({ accepted: COUNT, dropped: 0, handlerErrors: 0 });
  });
});
