import { once } from "node:events";
import * as net from "node:net";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { serveTcp, type TcpHandler } from "@tako/tcp";
import { sleep } from "@tako/test-kit";

const echo: TcpHandler = (socket) => pipeline(socket, socket);

describe("load", () => {
  it("echoes correctly over 2 000 concurrent connections", { timeout: 60_000 }, async () => {
    const n = 2_000;
    let peak = 0;
    await using server = await serveTcp(
      "127.0.0.1:0",
      async (socket, peer, ctx) => {
        peak = Math.max(peak, server.stats().active);
        await echo(socket, peer, ctx);
      },
      { backlog: 4_096 },
    );
    const { port } = server.address;
    // Open all connections first (they stay open together), then talk on every one at once.
    const clients: net.Socket[] = [];
    for (let batch = 0; batch < n; batch += 250) {
      const opened = Array.from({ length: Math.min(250, n - batch) }, () => {
        const socket = net.connect({ port, host: "127.0.0.1" });
        return once(socket, "connect").then(() => socket);
      });
      clients.push(...(await Promise.all(opened)));
    }
    await expect.poll(() => server.stats().active, { timeout: 20_000 }).toBe(n);
    const results = await Promise.all(
      clients.map(async (socket, i) => {
        const message = `client ${i} says ${"x".repeat(i % 97)}\n`;
        const chunks: Buffer[] = [];
        socket.on("data", (chunk: Buffer) => chunks.push(chunk));
        const done = once(socket, "close");
        socket.end(message);
        await done;
        return Buffer.concat(chunks).toString() === message;
      }),
    );
    expect(results.filter((ok) => !ok)).toHaveLength(0);
    expect(peak).toBe(n);
    await expect.poll(() => server.stats().active).toBe(0);
    expect(server.stats()).toMatchObject({ accepted: n, rejected: 0, handlerErrors: 0 });
  });

  it("echoes 64 MiB to a slow reader with the server's buffering bounded (backpressure respected)", { timeout: 60_000 }, async () => {
    const total = 64 * 1024 * 1024;
    let serverSocket: net.Socket | undefined;
    let maxBuffered = 0;
    await using server = await serveTcp("127.0.0.1:0", (socket, peer, ctx) => {
      serverSocket = socket;
      return echo(socket, peer, ctx);
    });
    const client = net.connect({ port: server.address.port, host: "127.0.0.1" });
    await once(client, "connect");
    const sampler = setInterval(() => {
      if (serverSocket) maxBuffered = Math.max(maxBuffered, serverSocket.writableLength + serverSocket.readableLength);
    }, 2);

    // Writer: a counting byte pattern, respecting the client's own backpressure.
    const block = Buffer.alloc(256 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = i % 251;
    const writing = (async () => {
      for (let sent = 0; sent < total; sent += block.length) {
        if (!client.write(block)) await once(client, "drain");
      }
      client.end();
    })();

    // Reader: slow on purpose, pausing 10 ms after every 512 KiB, checking every byte.
    let received = 0;
    let corrupt = 0;
    let sinceNap = 0;
    const reading = new Promise<void>((resolve, reject) => {
      client.on("data", (chunk: Buffer) => {
        for (let i = 0; i < chunk.length; i += 4099) if (chunk[i] !== ((received + i) % block.length) % 251) corrupt++;
        received += chunk.length;
        sinceNap += chunk.length;
        if (sinceNap >= 512 * 1024) {
          sinceNap = 0;
          client.pause();
          void sleep(10).then(() => client.resume());
        }
      });
      client.once("close", () => resolve());
      client.once("error", reject);
    });
    await Promise.all([writing, reading]);
    clearInterval(sampler);
    expect(received).toBe(total);
    expect(corrupt).toBe(0);
    // Without backpressure the server would have buffered most of the 64 MiB (the reader is
    // slower than the writer). With it, the server holds at most about one stream buffer each way.
    expect(maxBuffered).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThan(2 * 1024 * 1024);
  });
});
