// readProxyHeader on real loopback sockets: exact consumption, payload order, one deadline, abort.
import { once } from "node:events";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ProtocolError } from "../errors.ts";
import { encodeProxyHeader } from "./encode.ts";
import { readProxyHeader } from "./reader.ts";

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A connected pair over loopback TCP: the server side (paused, unread) and the client. */
async function pair(): Promise<{ server: net.Socket; client: net.Socket }> {
  const listener = net.createServer();
  servers.push(listener);
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const accepted = once(listener, "connection") as Promise<[net.Socket]>;
  const client = net.connect((listener.address() as net.AddressInfo).port, "127.0.0.1");
  client.on("error", () => {});
  const [server] = await accepted;
  server.on("error", () => {});
  sockets.push(server, client);
  await once(client, "connect").catch(() => {});
  return { server, client };
}

function readRest(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.once("end", () => resolve(Buffer.concat(chunks)));
  });
}

const header = encodeProxyHeader({
  version: 2,
  source: { address: "198.51.100.9", port: 4000 },
  destination: { address: "127.0.0.1", port: 80 },
  tlvs: { crc32c: true, uniqueId: "abc" },
});

async function rejection(promise: Promise<unknown>): Promise<ProtocolError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProtocolError);
  return error as ProtocolError;
}

describe("readProxyHeader", () => {
  it("consumes exactly the header: payload in the same chunk reaches the next reader intact, with via set", async () => {
    const { server, client } = await pair();
    const payload = Buffer.from("hello after the header\n".repeat(100));
    client.end(Buffer.concat([header, payload]));
    const info = await readProxyHeader(server, { timeout: 5_000 });
    expect(info.source).toEqual({ address: "198.51.100.9", port: 4000, family: "IPv4" });
    expect(info.via).toEqual({ address: "127.0.0.1", port: client.localPort, family: "IPv4" });
    expect(info.tlvs.uniqueId?.toString()).toBe("abc");
    expect(await readRest(server)).toEqual(payload);
  });

  it("a header split byte by byte, then payload: the same header, the payload in order", async () => {
    const { server, client } = await pair();
    client.setNoDelay(true);
    const reading = readProxyHeader(server, { timeout: 10_000 });
    const v1 = Buffer.from("PROXY TCP6 2001:db8::1 ::1 1234 80\r\n");
    for (const byte of v1) {
      client.write(Buffer.of(byte));
      await new Promise((resolve) => setImmediate(resolve));
    }
    client.end("payload");
    const info = await reading;
    expect(info).toMatchObject({ version: 1, source: { address: "2001:db8::1", port: 1234 } });
    expect((await readRest(server)).toString()).toBe("payload");
  });

  it("bytes already buffered before the read starts are seen", async () => {
    const { server, client } = await pair();
    client.write(Buffer.concat([header, Buffer.from("x")]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const info = await readProxyHeader(server, { timeout: 5_000 });
    expect(info.version).toBe(2);
    client.end();
    expect((await readRest(server)).toString()).toBe("x");
  });

  it("rejects a malformed header at once, without waiting for the timeout", async () => {
    const { server, client } = await pair();
    client.write("GET / HTTP/1.1\r\n\r\n");
    const started = performance.now();
    const error = await rejection(readProxyHeader(server, { timeout: 10_000 }));
    expect(error.code).toBe("ERR_TAKO_PROXY_HEADER");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("a v2 header declaring 65 535 bytes with no body: refused past maxHeaderSize, or awaited until the deadline without allocating", async () => {
    const head = Buffer.from(header.subarray(0, 16));
    head.writeUInt16BE(0xffff, 14);
    const small = await pair();
    small.client.write(head);
    expect((await rejection(readProxyHeader(small.server, { timeout: 10_000 }))).message).toMatch(/past maxHeaderSize 4096/);

    const big = await pair();
    big.client.write(head);
    const before = process.memoryUsage().arrayBuffers;
    const error = await rejection(readProxyHeader(big.server, { timeout: 300, maxHeaderSize: 65551 }));
    expect(error.code).toBe("ERR_TAKO_PROXY_TIMEOUT");
    expect(error.message).toMatch(/16 bytes received/);
    // Nothing of the declared 64 KiB was allocated while waiting (noise from the runtime is far smaller).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(60_000);
  });

  it("one deadline for the whole header: a drip-fed header is cut at the timeout, not reset per byte", async () => {
    const { server, client } = await pair();
    client.setNoDelay(true);
    const line = Buffer.from("PROXY TCP4 192.0.2.1 192.0.2.2 1111 2222\r\n");
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < line.length && !client.destroyed) client.write(line.subarray(sent, ++sent));
    }, 100);
    const started = performance.now();
    const error = await rejection(readProxyHeader(server, { timeout: 700 }));
    clearInterval(drip);
    const elapsed = performance.now() - started;
    expect(error.code).toBe("ERR_TAKO_PROXY_TIMEOUT");
    expect(elapsed).toBeGreaterThanOrEqual(650);
    // A per-byte reset would have let the whole line in (42 x 100 ms = 4.2 s) and succeeded.
    expect(sent).toBeLessThan(line.length);
    expect(elapsed).toBeLessThan(10_000);
  });

  it("clears its deadline after a good header (a connection idle after it is not cut)", async () => {
    const { server, client } = await pair();
    const events = ["readable", "end", "close", "error"] as const;
    const before = events.map((e) => server.listenerCount(e));
    client.write(header);
    await readProxyHeader(server, { timeout: 200 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(server.destroyed).toBe(false);
    expect(events.map((e) => server.listenerCount(e))).toEqual(before);
    client.end("late");
    expect((await readRest(server)).toString()).toBe("late");
  });

  it("reads sharing a timeout each expire at their own deadline; one that succeeds or fails leaves the others' deadlines as they were", async () => {
    const timeout = 400;
    const first = await pair();
    const started = performance.now();
    const a = rejection(readProxyHeader(first.server, { timeout })).then((e) => ({ e, at: performance.now() - started }));
    // A second read 200 ms later (same timeout, so the same deadline list), a third that succeeds
    // and a fourth that fails at once: both unlink themselves from the middle of the list.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await pair();
    const b = rejection(readProxyHeader(second.server, { timeout })).then((e) => ({ e, at: performance.now() - started }));
    const third = await pair();
    third.client.write(header);
    const good = readProxyHeader(third.server, { timeout });
    const fourth = await pair();
    fourth.client.write("GET / HTTP/1.1\r\n\r\n");
    const bad = rejection(readProxyHeader(fourth.server, { timeout }));
    expect((await good).source).toEqual({ address: "198.51.100.9", port: 4000, family: "IPv4" });
    expect((await bad).code).toBe("ERR_TAKO_PROXY_HEADER");
    const [ra, rb] = await Promise.all([a, b]);
    expect([ra.e.code, rb.e.code]).toEqual(["ERR_TAKO_PROXY_TIMEOUT", "ERR_TAKO_PROXY_TIMEOUT"]);
    expect(ra.at).toBeGreaterThanOrEqual(timeout - 5);
    // The second expires at its own deadline (~600 ms), not with the first (~400 ms).
    expect(rb.at).toBeGreaterThanOrEqual(200 + timeout - 5);
    expect(rb.at - ra.at).toBeGreaterThanOrEqual(150);
  });

  it("a deadline list that ran empty arms again for the next read", async () => {
    const done = await pair();
    done.client.write(header);
    await readProxyHeader(done.server, { timeout: 250 });
    const later = await pair();
    const started = performance.now();
    const error = await rejection(readProxyHeader(later.server, { timeout: 250 }));
    expect(error.code).toBe("ERR_TAKO_PROXY_TIMEOUT");
    expect(performance.now() - started).toBeGreaterThanOrEqual(245);
  });

  it("rejects at once when the signal aborts, and when it was aborted already", async () => {
    const { server } = await pair();
    const controller = new AbortController();
    const reading = readProxyHeader(server, { timeout: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error("draining")), 50);
    const error = await rejection(reading);
    expect(error.code).toBe("ERR_TAKO_PROXY_ABORTED");
    expect(server.listenerCount("readable")).toBe(0);
    expect((await rejection(readProxyHeader(server, { timeout: 1_000, signal: AbortSignal.abort() }))).code).toBe("ERR_TAKO_PROXY_ABORTED");
  });

  it("a peer that closes before a byte, or inside the header: CLOSED, then HEADER", async () => {
    const silent = await pair();
    silent.client.end();
    expect((await rejection(readProxyHeader(silent.server, { timeout: 5_000 }))).code).toBe("ERR_TAKO_PROXY_CLOSED");
    const partial = await pair();
    partial.client.end(header.subarray(0, 20));
    const error = await rejection(readProxyHeader(partial.server, { timeout: 5_000 }));
    expect(error.code).toBe("ERR_TAKO_PROXY_HEADER");
    expect(error.message).toMatch(/ended inside the PROXY header \(20 bytes/);
  });

  it("validates its options", () => {
    const socket = new net.Socket();
    expect(() => readProxyHeader(socket, { timeout: 0 })).toThrow(/more than 0/);
    expect(() => readProxyHeader(socket, { timeout: 100, maxHeaderSize: 10 })).toThrow(/16 to 65551/);
  });
});
