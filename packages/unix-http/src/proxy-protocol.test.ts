/**
 * proxyProtocol on serveUnixHttp: the PROXY header read before the protocol sniff, on HTTP/1.1,
 * h2c and WebSocket upgrades; failures counted; header-phase connections closed at drain.
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import { encodeProxyHeader } from "@tako/core";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { InvalidConfigError, ProxyInfo, Router, serveUnixHttp, UnixPeerAddr, type Server } from "@tako/unix-http";
import { rawConnect, type RawConnection } from "./test-support.ts";
import { socketDir, until } from "@tako/test-kit";

const dir = socketDir();
afterAll(() => dir.remove());
const servers: Server[] = [];
const raws: RawConnection[] = [];
afterEach(async () => {
  for (const conn of raws.splice(0)) conn.socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.shutdown({ drainTimeout: 1_000 })));
});

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const HEADER = encodeProxyHeader({
  version: 2,
  source: { address: "203.0.113.7", port: 51_000, family: "IPv4" },
  destination: { address: "192.0.2.1", port: 443, family: "IPv4" },
  tlvs: { authority: "app.example" },
});

function proxiedRouter(calls: string[] = []): Router {
  const router = new Router();
  router.get("/who", (_req, ctx) => {
    calls.push("who");
    return {
      client: ctx.proxy?.source?.address ?? null,
      port: ctx.proxy?.source?.port ?? null,
      authority: ctx.proxy?.tlvs.authority ?? null,
      sameInExtensions: ctx.extensions.get(ProxyInfo) === ctx.proxy,
      peer: ctx.extensions.get(UnixPeerAddr),
    };
  });
  router.ws("/live", (ws, _req, ctx) => ws.send(ctx.proxy?.source?.address ?? "none"));
  return router;
}

async function serve(router: Router, options: Parameters<typeof serveUnixHttp>[2] = {}): Promise<Server> {
  const server = await serveUnixHttp(dir.path(), router, { logger: quiet, proxyProtocol: true, ...options });
  servers.push(server);
  return server;
}

async function raw(server: Server): Promise<RawConnection> {
  const conn = await rawConnect(server.address);
  raws.push(conn);
  return conn;
}

const EXPECTED = {
  client: "203.0.113.7",
  port: 51_000,
  authority: "app.example",
  sameInExtensions: true,
  peer: { path: null, pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() },
};

describe("proxyProtocol on serveUnixHttp", () => {
  it("HTTP/1.1: the handler sees the header as ctx.proxy and in ctx.extensions; keep-alive requests share it", async () => {
    const server = await serve(proxiedRouter());
    const conn = await raw(server);
    conn.socket.write(Buffer.concat([HEADER, Buffer.from("GET /who HTTP/1.1\r\nHost: x\r\n\r\n")]));
    await conn.waitFor("}");
    expect(JSON.parse(conn.received.slice(conn.received.indexOf("{")))).toEqual(EXPECTED);
    const before = conn.received.length;
    conn.socket.write("GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await conn.closed;
    expect(conn.received.slice(before)).toContain('"client":"203.0.113.7"');
  });

  it("h2c: the header comes first, then the HTTP/2 preface", async () => {
    const server = await serve(proxiedRouter(), { protocols: ["http1", "h2c"] });
    const session = http2.connect("http://x", {
      createConnection: () => {
        const socket = net.connect(server.address);
        socket.write(HEADER);
        return socket;
      },
    });
    session.on("error", () => {});
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ":path": "/who" });
        let text = "";
        stream.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        stream.on("end", () => resolve(text));
        stream.on("error", reject);
      });
      expect(JSON.parse(body)).toEqual(EXPECTED);
    } finally {
      session.destroy();
    }
  });

  it("WebSocket: the upgraded connection's handler sees it too", async () => {
    const server = await serve(proxiedRouter());
    const ws = new WebSocket("ws://x/live", {
      createConnection: () => {
        const socket = net.connect(server.address);
        socket.write(HEADER);
        return socket;
      },
    } as WebSocket.ClientOptions);
    try {
      const message = await new Promise<string>((resolve, reject) => {
        ws.once("message", (data) => resolve(String(data)));
        ws.once("error", reject);
      });
      expect(message).toBe("203.0.113.7");
    } finally {
      ws.terminate();
    }
  });

  it("a connection without a header is closed, counted in protocolErrors, and never reaches a handler", async () => {
    const calls: string[] = [];
    const server = await serve(proxiedRouter(calls));
    const conn = await raw(server);
    conn.socket.write("GET /who HTTP/1.1\r\nHost: x\r\n\r\n");
    await conn.closed;
    expect(conn.received).toBe("");
    expect(calls).toEqual([]);
    await until(() => server.stats().protocolErrors === 1, "the bad header is counted");
    expect(server.stats().accepted).toBe(0);
  });

  it("a header not complete by { timeout } closes the connection then", async () => {
    const server = await serve(proxiedRouter(), { proxyProtocol: { timeout: 300 } });
    const conn = await raw(server);
    conn.socket.write(HEADER.subarray(0, 10));
    const started = performance.now();
    await conn.closed;
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3_000);
    await until(() => server.stats().protocolErrors === 1, "the timeout is counted");
  });

  it("connections still in the header phase are closed at once when the drain starts", async () => {
    const server = await serve(proxiedRouter());
    const conns = await Promise.all([raw(server), raw(server), raw(server)]);
    conns[0]?.socket.write(HEADER.subarray(0, 5));
    const started = performance.now();
    const report = await server.shutdown({ drainTimeout: 5_000 });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(report.forced).toBe(0);
    await Promise.all(conns.map((conn) => conn.closed));
    expect(server.stats().protocolErrors).toBe(0);
  });

  it("refuses a trusted list (a TCP option) and bad values before binding", async () => {
    await expect(serveUnixHttp(dir.path(), new Router(), { proxyProtocol: { trusted: ["127.0.0.1"] } as never })).rejects.toThrow(InvalidConfigError);
    await expect(serveUnixHttp(dir.path(), new Router(), { proxyProtocol: { timeout: -1 } })).rejects.toThrow(InvalidConfigError);
    await expect(serveUnixHttp(dir.path(), new Router(), { proxyProtocol: "yes" as never })).rejects.toThrow(InvalidConfigError);
  });
});
