// serveTcp with proxyProtocol, over real loopback sockets (the real senders are in the e2e tests).
import { execFileSync } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { CHANNELS, encodeProxyHeader, InvalidConfigError, serveTcp, type HandlerContext, type SocketAddress, type TcpHandler } from "@tako/tcp";
import { tryConnect } from "./test-support.ts";
import { closed, readAll, recordingLogger, sleep } from "@tako/test-kit";

const source = { address: "203.0.113.7", port: 51234 };
const destination = { address: "10.0.0.1", port: 9001 };
const v2 = encodeProxyHeader({ version: 2, source, destination, tlvs: { crc32c: true, alpn: "h2", uniqueId: "req-42" } });

interface Seen {
  peer: SocketAddress;
  ctx: HandlerContext;
}

/** A handler that records what it was given, answers `peer|payload` once the client ends. */
function recorder(): { seen: Seen[]; handler: TcpHandler } {
  const seen: Seen[] = [];
  return {
    seen,
    handler: async (socket, peer, ctx) => {
      seen.push({ peer, ctx });
      const chunks: Buffer[] = [];
      for await (const chunk of socket) chunks.push(chunk as Buffer);
      socket.write(`${peer.address}:${peer.port}|${Buffer.concat(chunks).toString()}`);
    },
  };
}

async function connect(port: number, localAddress?: string): Promise<net.Socket> {
  const socket = net.connect({ port, host: "127.0.0.1", ...(localAddress ? { localAddress } : {}) });
  socket.on("error", () => {});
  await once(socket, "connect");
  socket.setNoDelay(true);
  return socket;
}

/** Sends `data`, half-closes, resolves with the answer. */
async function exchange(port: number, data: Buffer | string, localAddress?: string): Promise<string> {
  const socket = await connect(port, localAddress);
  const answer = readAll(socket);
  socket.end(data);
  return (await answer).toString();
}

describe("serveTcp proxyProtocol", () => {
  it("a v2 header and payload in one chunk: peer is the header's source, ctx.proxy.via the real peer, payload intact", async () => {
    const { seen, handler } = recorder();
    await using server = await serveTcp("127.0.0.1:0", handler, { proxyProtocol: { trusted: ["127.0.0.1"] } });
    const payload = "x".repeat(10_000);
    expect(await exchange(server.address.port, Buffer.concat([v2, Buffer.from(payload)]))).toBe(`203.0.113.7:51234|${payload}`);
    const [first] = seen;
    expect(first?.peer).toEqual({ address: "203.0.113.7", port: 51234, family: "IPv4" });
    expect(first?.ctx.proxy).toMatchObject({ version: 2, command: "PROXY", destination: { address: "10.0.0.1", port: 9001 }, via: { address: "127.0.0.1", family: "IPv4" } });
    expect(first?.ctx.proxy?.tlvs.alpn).toBe("h2");
    expect(first?.ctx.proxy?.tlvs.uniqueId?.toString()).toBe("req-42");
    expect(first?.ctx.signal.aborted).toBe(false);
    expect(server.stats()).toMatchObject({ accepted: 1, rejected: 0, protocolErrors: 0 });
  });

  it("a v1 header split byte by byte, then payload: the same peer, the payload in order", async () => {
    const { seen, handler } = recorder();
    await using server = await serveTcp("127.0.0.1:0", handler, { proxyProtocol: true });
    const socket = await connect(server.address.port);
    const answer = readAll(socket);
    for (const byte of Buffer.from("PROXY TCP6 2001:db8::9 ::1 40000 9001\r\n")) {
      socket.write(Buffer.of(byte));
      await sleep(1);
    }
    socket.write("first ");
    socket.end("second");
    expect((await answer).toString()).toBe("2001:db8::9:40000|first second");
    expect(seen[0]?.ctx.proxy?.version).toBe(1);
  });

  it("nothing reaches the handler before the header is complete (server-speaks-first banners wait)", async () => {
    let calls = 0;
    await using server = await serveTcp(
      "127.0.0.1:0",
      async (socket) => {
        calls++;
        socket.write("220 banner\r\n");
      },
      { proxyProtocol: true },
    );
    const socket = await connect(server.address.port);
    const got: Buffer[] = [];
    socket.on("data", (c: Buffer) => got.push(c));
    socket.write(v2.subarray(0, v2.length - 1));
    await sleep(200);
    expect(calls).toBe(0);
    expect(got).toEqual([]);
    socket.write(v2.subarray(v2.length - 1));
    await expect.poll(() => Buffer.concat(got).toString()).toBe("220 banner\r\n");
    expect(calls).toBe(1);
    socket.destroy();
  });

  it("a malformed header: destroyed, counted in protocolErrors, the handler never called", async () => {
    let calls = 0;
    await using server = await serveTcp("127.0.0.1:0", () => void calls++, { proxyProtocol: true });
    for (const bad of ["GET / HTTP/1.1\r\n\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "PROXY TCP4 ::1 ::1 1 2\r\n"]) {
      const socket = await connect(server.address.port);
      socket.write(bad);
      await closed(socket);
    }
    const crcBad = Buffer.from(v2);
    crcBad[20] = (crcBad[20] as number) ^ 1;
    const socket = await connect(server.address.port);
    socket.write(crcBad);
    await closed(socket);
    await expect.poll(() => server.stats().protocolErrors).toBe(4);
    expect(calls).toBe(0);
    expect(server.stats()).toMatchObject({ accepted: 0, active: 0, handlerErrors: 0 });
  });

  it("maxHeaderSize bounds a v2 header (4 096 by default), decided on its declared length", async () => {
    const big = encodeProxyHeader({ version: 2, source, destination, tlvs: { raw: [[0xe0, Buffer.alloc(6_000, 0x41)]] } });
    const { seen, handler } = recorder();
    await using strict = await serveTcp("127.0.0.1:0", handler, { proxyProtocol: true });
    const socket = await connect(strict.address.port);
    socket.write(big.subarray(0, 16)); // only the fixed part: refused without waiting for the rest
    await closed(socket);
    await expect.poll(() => strict.stats().protocolErrors).toBe(1);
    await using roomy = await serveTcp("127.0.0.1:0", handler, { proxyProtocol: { maxHeaderSize: 8_192 } });
    expect(await exchange(roomy.address.port, Buffer.concat([big, Buffer.from("ok")]))).toBe("203.0.113.7:51234|ok");
    expect(seen[0]?.ctx.proxy?.tlvs.raw.get(0xe0)?.length).toBe(6_000);
  });

  it("a bad header is published on tako:protocol-error with its code and the real peer, and logged at debug only", async () => {
    const messages: { kind: string; peer: SocketAddress; error: { code: string } }[] = [];
    const listener = (message: unknown) => void messages.push(message as (typeof messages)[number]);
    subscribe(CHANNELS.protocolError, listener);
    const logger = recordingLogger();
    try {
      await using server = await serveTcp("127.0.0.1:0", () => {}, { proxyProtocol: { timeout: 200 }, logger });
      const bad = await connect(server.address.port);
      bad.write("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n");
      await closed(bad);
      const late = await connect(server.address.port);
      await closed(late);
      await expect.poll(() => messages.length).toBe(2);
      expect(messages.map((m) => [m.kind, m.peer.address, m.error.code])).toEqual([
        ["tcp", "127.0.0.1", "ERR_TAKO_PROXY_HEADER"],
        ["tcp", "127.0.0.1", "ERR_TAKO_PROXY_TIMEOUT"],
      ]);
      expect(logger.records.filter((r) => r.level === "error" || r.level === "warn")).toEqual([]);
      expect(logger.records.filter((r) => r.level === "debug")).toHaveLength(2);
    } finally {
      unsubscribe(CHANNELS.protocolError, listener);
    }
  });

  it("a trusted peer that sends nothing is closed at the timeout and counted; one that closes silently is not counted", async () => {
    await using server = await serveTcp("127.0.0.1:0", () => {}, { proxyProtocol: { trusted: ["127.0.0.0/8"], timeout: 300 } });
    const started = performance.now(); // before connecting: the server's deadline starts at its accept
    const quiet = await connect(server.address.port);
    await closed(quiet);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(10_000);
    await expect.poll(() => server.stats().protocolErrors).toBe(1);
    const probe = await connect(server.address.port); // a plain TCP health check: connect, close
    probe.end();
    await closed(probe);
    await sleep(100);
    expect(server.stats().protocolErrors).toBe(1);
  });

  it("a header drip-fed 1 byte per 100 ms is cut at the deadline, not reset per byte", async () => {
    let calls = 0;
    await using server = await serveTcp("127.0.0.1:0", () => void calls++, { proxyProtocol: { timeout: 800 } });
    const started = performance.now();
    const socket = await connect(server.address.port);
    const line = Buffer.from("PROXY TCP4 192.0.2.1 192.0.2.2 1111 2222\r\n");
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < line.length && !socket.destroyed) socket.write(line.subarray(sent, ++sent));
    }, 100);
    await closed(socket);
    clearInterval(drip);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(sent).toBeLessThan(line.length); // the whole line takes 4.2 s: the deadline was not reset per byte
    expect(elapsed).toBeLessThan(10_000);
    expect(calls).toBe(0);
    await expect.poll(() => server.stats().protocolErrors).toBe(1);
  });

  it("the deadline is cleared after a good header: a connection idle past it is served", async () => {
    const { handler } = recorder();
    await using server = await serveTcp("127.0.0.1:0", handler, { proxyProtocol: { timeout: 200 } });
    const socket = await connect(server.address.port);
    const answer = readAll(socket);
    socket.write(v2);
    await sleep(600);
    expect(socket.destroyed).toBe(false);
    socket.end("late");
    expect((await answer).toString()).toBe("203.0.113.7:51234|late");
    expect(server.stats().protocolErrors).toBe(0);
  });

  it("an untrusted client (127.0.0.9, only 127.0.0.1 trusted) with a forged header is rejected at once and counted", async () => {
    const { seen, handler } = recorder();
    await using server = await serveTcp("127.0.0.1:0", handler, { proxyProtocol: { trusted: ["127.0.0.1"] } });
    const forged = await connect(server.address.port, "127.0.0.9");
    forged.write(v2);
    await closed(forged);
    await expect.poll(() => server.stats().rejected).toBe(1);
    expect(seen).toEqual([]);
    expect(await exchange(server.address.port, Buffer.concat([v2, Buffer.from("ok")]), "127.0.0.1")).toBe("203.0.113.7:51234|ok");
    expect(server.stats()).toMatchObject({ accepted: 1, rejected: 1, protocolErrors: 0 });
  });

  it("clients that reset right after connecting (HAProxy's plain health checks) are neither rejected nor protocol errors", async () => {
    await using server = await serveTcp("127.0.0.1:0", () => {}, { proxyProtocol: { trusted: ["127.0.0.1"] } });
    // A child process connects and resets 20 times while this event loop is blocked, so the
    // server accepts sockets that are already dead (no peer address left), as HAProxy's checks do.
    const script = `const net = require("node:net"); let left = 20;
      const next = () => { const s = net.connect(${server.address.port}, "127.0.0.1"); s.on("error", () => {});
        s.once("connect", () => { s.resetAndDestroy(); if (--left > 0) next(); }); };
      next();`;
    execFileSync(process.execPath, ["-e", script], { timeout: 20_000 });
    await sleep(300);
    expect(server.stats()).toMatchObject({ accepted: 0, rejected: 0, protocolErrors: 0, active: 0 });
  });

  it('untrusted: "direct" serves an untrusted client as is, header never parsed, ctx.proxy undefined', async () => {
    const { seen, handler } = recorder();
    await using server = await serveTcp("127.0.0.1:0", handler, { proxyProtocol: { trusted: ["127.0.0.1"], untrusted: "direct" } });
    const answer = await exchange(server.address.port, "PROXY TCP4 6.6.6.6 1.1.1.1 1 2\r\nhi", "127.0.0.9");
    expect(answer).toMatch(/^127\.0\.0\.9:\d+\|PROXY TCP4 6\.6\.6\.6 1\.1\.1\.1 1 2\r\nhi$/);
    expect(seen[0]?.ctx.proxy).toBeUndefined();
    expect(seen[0]?.peer.address).toBe("127.0.0.9");
    expect(await exchange(server.address.port, Buffer.concat([v2, Buffer.from("x")]), "127.0.0.1")).toBe("203.0.113.7:51234|x");
  });

  it("LOCAL (a health check) and UNKNOWN are served with the real peer", async () => {
    const { seen, handler } = recorder();
    await using server = await serveTcp("127.0.0.1:0", handler, { proxyProtocol: true });
    expect(await exchange(server.address.port, Buffer.concat([encodeProxyHeader({ version: 2, command: "LOCAL" }), Buffer.from("ping")]))).toMatch(/^127\.0\.0\.1:\d+\|ping$/);
    expect(await exchange(server.address.port, "PROXY UNKNOWN\r\npong")).toMatch(/^127\.0\.0\.1:\d+\|pong$/);
    expect(seen.map((s) => [s.ctx.proxy?.command, s.ctx.proxy?.source, s.ctx.proxy?.via?.address])).toEqual([
      ["LOCAL", null, "127.0.0.1"],
      ["PROXY", null, "127.0.0.1"],
    ]);
  });

  it("shutdown closes connections still in the header phase at once", async () => {
    await using server = await serveTcp("127.0.0.1:0", () => {}, { proxyProtocol: { timeout: 60_000 } });
    const sockets = await Promise.all([1, 2, 3].map(() => connect(server.address.port)));
    sockets[0]?.write(v2.subarray(0, 10));
    await sleep(100);
    const started = performance.now();
    const report = await server.shutdown({ drainTimeout: 30_000 });
    await Promise.all(sockets.map((s) => closed(s)));
    expect(performance.now() - started).toBeLessThan(5_000); // not the 60 s header timeout, nor the 30 s drain
    expect(report.forced).toBe(0);
    expect(server.stats()).toMatchObject({ active: 0, protocolErrors: 0 });
  });

  it("connections in the header phase hold a maxConnections slot only until their timeout", async () => {
    const { handler } = recorder();
    await using server = await serveTcp("127.0.0.1:0", handler, { maxConnections: 1, proxyProtocol: { timeout: 400 } });
    const started = performance.now(); // before the silent one is accepted, so before its deadline is armed
    const silent = await connect(server.address.port);
    await sleep(50);
    const answer = await exchange(server.address.port, Buffer.concat([v2, Buffer.from("queued")]));
    expect(answer).toBe("203.0.113.7:51234|queued");
    expect(performance.now() - started).toBeGreaterThanOrEqual(390); // it waited for the silent one's slot (400 ms)
    await closed(silent);
    expect(server.stats()).toMatchObject({ accepted: 1, protocolErrors: 1 });
  });

  it("without proxyProtocol every handler shares one context, and ctx.proxy is undefined", async () => {
    const { seen, handler } = recorder();
    await using server = await serveTcp("127.0.0.1:0", handler);
    await exchange(server.address.port, "a");
    await exchange(server.address.port, "b");
    expect(seen[0]?.ctx).toBe(seen[1]?.ctx);
    expect(seen[0]?.ctx.proxy).toBeUndefined();
    const proxied = recorder();
    await using other = await serveTcp("127.0.0.1:0", proxied.handler, { proxyProtocol: true });
    await exchange(other.address.port, v2);
    await exchange(other.address.port, v2);
    expect(proxied.seen[0]?.ctx).not.toBe(proxied.seen[1]?.ctx);
    expect(proxied.seen[0]?.ctx.signal).toBe(proxied.seen[1]?.ctx.signal);
  });

  it("bad proxyProtocol options reject before anything is bound", async () => {
    const probe = net.createServer();
    probe.listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    for (const proxyProtocol of [{ trusted: ["10.0.0.300"] }, { trusted: ["10.0.0.1/8"] }, { trusted: [] }, { timeout: 0 }, { timout: 5 }, { untrusted: "direct" }, "yes"]) {
      await expect(serveTcp(`127.0.0.1:${port}`, () => {}, { proxyProtocol: proxyProtocol as never })).rejects.toBeInstanceOf(InvalidConfigError);
    }
    expect(await tryConnect(port)).toBe("ECONNREFUSED");
  });
});
