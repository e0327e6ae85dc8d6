// The iterator contract every reader shares, on real TCP sockets: the signal ends iteration at a
// frame boundary (at once on an idle connection), `break` leaves the socket usable with its unread
// bytes put back, and a consumer that stops pulling stops the socket.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { encodeFrame, lengthPrefixed, lines, netstrings } from "./index.ts";
import { collect, settle, take, tcpPair } from "./test-support.ts";

describe("signal", () => {
  it("ends at a line boundary: the partial line is never yielded, and stays in the socket", async () => {
    const pair = await tcpPair();
    try {
      const controller = new AbortController();
      pair.client.write("a\nb\npart");
      const got: string[] = [];
      for await (const line of lines(pair.server, { signal: controller.signal })) {
        got.push(line);
        if (line === "b") controller.abort();
      }
      expect(got).toEqual(["a", "b"]);
      expect(pair.server.destroyed).toBe(false);
      // The unframed bytes went back into the socket, ahead of what follows.
      pair.client.write("ial\n");
      expect(await take(lines(pair.server), 1)).toEqual(["partial"]);
    } finally {
      pair.close();
    }
  });

  it("resolves a next() waiting on an idle connection at once, for every reader", async () => {
    const pair = await tcpPair();
    try {
      for (const open of [
        (signal: AbortSignal) => lines(pair.server, { signal }),
        (signal: AbortSignal) => lengthPrefixed(pair.server, { prefix: "u32be", signal }),
        (signal: AbortSignal) => netstrings(pair.server, { signal }),
      ]) {
        const controller = new AbortController();
        const reader = open(controller.signal);
        const pending = reader.next();
        let settled = false;
        void pending.then(() => (settled = true));
        await sleep(50);
        expect(settled).toBe(false); // really waiting: nothing was sent
        const abortedAt = performance.now();
        controller.abort();
        await expect(pending).resolves.toEqual({ value: undefined, done: true });
        expect(performance.now() - abortedAt).toBeLessThan(1000);
        await expect(reader.next()).resolves.toEqual({ value: undefined, done: true });
      }
      expect(pair.server.destroyed).toBe(false);
    } finally {
      pair.close();
    }
  });

  it("an already aborted signal yields nothing, even with frames buffered", async () => {
    const frames = Readable.from([encodeFrame("x", { prefix: "u8" })]);
    expect(await collect(lengthPrefixed(frames, { prefix: "u8", signal: AbortSignal.abort() }))).toEqual([]);
  });

  it("ends inside a frame being received without yielding its part", async () => {
    const pair = await tcpPair();
    try {
      const controller = new AbortController();
      pair.client.write(Buffer.concat([encodeFrame("one", { prefix: "u16be" }), encodeFrame("two, in two writes", { prefix: "u16be" }).subarray(0, 7)]));
      const reader = lengthPrefixed(pair.server, { prefix: "u16be", signal: controller.signal });
      expect(String((await reader.next()).value)).toBe("one");
      const pending = reader.next();
      await sleep(20);
      controller.abort();
      expect(await pending).toEqual({ value: undefined, done: true });
      // The five bytes of "two" received so far (and its prefix) went back: a new reader completes it.
      pair.client.write(encodeFrame("two, in two writes", { prefix: "u16be" }).subarray(7));
      expect((await take(lengthPrefixed(pair.server, { prefix: "u16be" }), 1)).map(String)).toEqual(["two, in two writes"]);
    } finally {
      pair.close();
    }
  });
});

describe("the source", () => {
  it("break leaves the socket open with the unread bytes put back: a line header, then length-prefixed frames", async () => {
    const pair = await tcpPair();
    try {
      pair.client.write(Buffer.concat([Buffer.from("HELLO 2\n"), encodeFrame("first", { prefix: "varint" }), encodeFrame("second", { prefix: "varint" })]));
      let header = "";
      for await (const line of lines(pair.server)) {
        header = line;
        break;
      }
      expect(header).toBe("HELLO 2");
      expect(pair.server.destroyed).toBe(false);
      const frames = await take(lengthPrefixed(pair.server, { prefix: "varint" }), 2);
      expect(frames.map(String)).toEqual(["first", "second"]);
      pair.server.write("still writable\n");
      pair.server.end();
      const reply = await collect(lines(pair.client));
      expect(reply).toEqual(["still writable"]);
    } finally {
      pair.close();
    }
  });

  it("serves next() calls made without awaiting each, in order", async () => {
    const pair = await tcpPair();
    try {
      const reader = lines(pair.server);
      const calls = [reader.next(), reader.next(), reader.next(), reader.next()];
      pair.client.write("1\n2");
      await sleep(10);
      pair.client.end("\n3\n");
      expect(await Promise.all(calls)).toEqual([
        { value: "1", done: false },
        { value: "2", done: false },
        { value: "3", done: false },
        { value: undefined, done: true },
      ]);
    } finally {
      pair.close();
    }
  });

  it("rethrows the stream's error after the frames received before it", async () => {
    const failing = new Readable({ read() {} });
    failing.push("a\nb\nc");
    setImmediate(() => failing.destroy(new Error("disk on fire")));
    const { items, error } = await settle(lines(failing));
    expect(items).toEqual(["a", "b"]);
    expect(error).toMatchObject({ message: "disk on fire" });
  });

  it("a socket destroyed by the server side ends the lines (the last partial one included, as at EOF)", async () => {
    const pair = await tcpPair();
    try {
      pair.client.write("x\ny");
      const reader = lines(pair.server);
      expect(await reader.next()).toEqual({ value: "x", done: false });
      setTimeout(() => pair.server.destroy(), 20);
      expect(await collect(reader)).toEqual(["y"]);
    } finally {
      pair.close();
    }
  });
});

/** A separate process writing `total` bytes of 64-byte lines to a port as fast as TCP lets it. */
function spawnWriter(port: number, total: number) {
  const script = `
    const net = require("node:net");
    const chunk = Buffer.from(("x".repeat(63) + "\\n").repeat(1024));
    const socket = net.connect(${port}, "127.0.0.1");
    let sent = 0;
    const pump = () => {
      while (sent < ${total}) {
        sent += chunk.length;
        if (!socket.write(chunk)) return socket.once("drain", pump);
      }
      socket.end(() => process.exit(0));
    };
    socket.on("connect", pump);
  `;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "inherit", "inherit"] });
  return { child, exited: once(child, "exit") as Promise<[number | null]> };
}

describe("backpressure", () => {
  it("a consumer that stops pulling pauses the socket while a real client writes 64 MiB; nothing is lost", { timeout: 60_000 }, async () => {
    const net = await import("node:net");
    const listener = net.createServer();
    listener.listen(0, "127.0.0.1");
    await once(listener, "listening");
    const total = 64 * 1024 * 1024;
    const accepted = once(listener, "connection") as Promise<[import("node:net").Socket]>;
    const writer = spawnWriter((listener.address() as import("node:net").AddressInfo).port, total);
    const [socket] = await accepted;
    listener.close();
    try {
      const reader = lines(socket, { maxLineLength: 1024 });
      expect((await reader.next()).value).toHaveLength(63); // one line read, then the consumer is busy elsewhere
      const rssBefore = process.memoryUsage().rss;
      // Wait until the server stops reading (the client is blocked by TCP flow control).
      let last = -1;
      await expect
        .poll(
          () => {
            const stalled = socket.bytesRead === last;
            last = socket.bytesRead;
            return stalled;
          },
          { timeout: 20_000, interval: 250 },
        )
        .toBe(true);
      expect(socket.isPaused()).toBe(true);
      // Held by us and by the stream: at most a few read chunks, nowhere near 64 MiB.
      expect(socket.bytesRead).toBeLessThan(2 * 1024 * 1024);
      expect(socket.readableLength).toBeLessThanOrEqual(socket.readableHighWaterMark + 65_536);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(32 * 1024 * 1024);
      // The consumer comes back: every line arrives, in order.
      let count = 1;
      for await (const line of reader) {
        if (line.length !== 63) throw new Error(`line ${count} is ${line.length} bytes`);
        count++;
      }
      expect(count).toBe(total / 64);
      expect((await writer.exited)[0]).toBe(0);
    } finally {
      socket.destroy();
      writer.child.kill();
    }
  });
});
