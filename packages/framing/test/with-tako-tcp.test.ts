// lines() inside a real Tako TCP listener: an over-long line closes only its connection and counts
// as a protocol error (not a handler error), and a drain ends an idle connection's loop at once.
import { once } from "node:events";
import * as net from "node:net";
import { serveTcp } from "@tako/tcp";
import { describe, expect, it } from "vitest";
import { lines } from "../src/index.ts";

function client(port: number): { socket: net.Socket; text: () => string; closed: Promise<void> } {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (text += chunk));
  return { socket, text: () => text, closed: new Promise((resolve) => socket.once("close", () => resolve())) };
}

describe("lines() in a serveTcp handler", () => {
  it("an over-long line closes that connection only, counted in stats().protocolErrors; the drain ends idle loops at once", async () => {
    const server = await serveTcp(
      "127.0.0.1:0",
      async (socket, _peer, { signal }) => {
        for await (const line of lines(socket, { maxLineLength: 1024, signal })) socket.write(`${line}\n`);
        socket.write("bye\n"); // after the loop: the drain ended it at a line boundary
      },
      { drainTimeout: 10_000 },
    );
    try {
      const good = client(server.address.port);
      const bad = client(server.address.port);
      await Promise.all([once(good.socket, "connect"), once(bad.socket, "connect")]);
      good.socket.write("hello\n");
      await expect.poll(good.text).toBe("hello\n");
      bad.socket.write("x".repeat(4096)); // no newline, past the limit
      await bad.closed;
      expect(bad.text()).toBe("");
      await expect.poll(() => server.stats().protocolErrors).toBe(1);
      expect(server.stats().handlerErrors).toBe(0);
      good.socket.write("still here\n");
      await expect.poll(good.text).toBe("hello\nstill here\n");
      // `good` is idle, its handler waiting in lines(): the drain must not wait for drainTimeout.
      const report = await server.shutdown();
      expect(report).toMatchObject({ drained: 1, forced: 0 });
      expect(report.durationMs).toBeLessThan(5_000);
      await good.closed;
      expect(good.text()).toBe("hello\nstill here\nbye\n");
    } finally {
      await server.shutdown();
    }
  });
});
