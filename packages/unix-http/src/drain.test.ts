/**
 * The drain sequence (docs/architecture.md, "The drain") for HTTP, and drainTimeout, with real connections.
 * The unit tracked is the in-flight request.
 */
import { existsSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { Router, serveUnixHttp } from "@tako/unix-http";
import { closedAfterEach, request } from "./test-support.ts";
import { sleep, socketDir, until } from "@tako/test-kit";

const dir = socketDir();
afterAll(() => dir.remove());

const { servers, connect } = closedAfterEach(500);

/** A router whose `/slow` handler waits for the test to release it. */
function slowRouter() {
  const started = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const router = new Router();
  router.get("/", () => "fast");
  router.get("/slow", async () => {
    started.resolve();
    await release.promise;
    return "slow done";
  });
  return { router, started, release };
}

function connectOutcome(path: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe("drain", () => {
  it("closes the listener at once and idle keep-alive connections at once; the in-flight request finishes with Connection: close", async () => {
    const { router, started, release } = slowRouter();
    const server = await serveUnixHttp(dir.path(), router, { drainTimeout: 10_000 });
    servers.push(server);
    const idle = await connect(server.address);
    idle.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await idle.waitFor("fast");
    const busy = await connect(server.address);
    busy.socket.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await started.promise;
    expect(server.stats().active).toBe(1);

    const t0 = performance.now();
    const finished = server.shutdown();
    await idle.closed; // idle keep-alive: closed at once
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(await connectOutcome(server.address)).toBe("ECONNREFUSED"); // listener closed: refused, not queued
    expect(busy.socket.destroyed).toBe(false); // in flight: still running

    release.resolve();
    await busy.closed;
    expect(busy.received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(busy.received.toLowerCase()).toContain("connection: close");
    expect(busy.received).toContain("slow done");
    expect(await finished).toMatchObject({ drained: 1, forced: 0 });
    expect(existsSync(server.address)).toBe(false);
  });

  it("a request arriving on a connection after shutdown started gets 503 with Connection: close", async () => {
    const { router, started, release } = slowRouter();
    const server = await serveUnixHttp(dir.path(), router, { drainTimeout: 10_000 });
    servers.push(server);
    const late = await connect(server.address);
    late.socket.write("GET / HTTP/1.1\r\nHost: x\r\n"); // headers begun: not idle, so not closed
    const busy = await connect(server.address);
    busy.socket.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await started.promise;
    const finished = server.shutdown();
    await sleep(50);
    late.socket.write("\r\n"); // the request completes after shutdown started
    await late.closed;
    expect(late.received).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(late.received.toLowerCase()).toContain("connection: close");
    expect(server.stats().rejected).toBe(1);
    release.resolve();
    expect(await finished).toMatchObject({ drained: 1, forced: 0 });
  });

  it("destroys what is left at drainTimeout and counts it", async () => {
    const { router, started } = slowRouter();
    const server = await serveUnixHttp(dir.path(), router, { drainTimeout: 200 });
    servers.push(server);
    const stuck = await connect(server.address);
    stuck.socket.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await started.promise;
    const t0 = performance.now();
    const report = await server.shutdown();
    expect(report).toMatchObject({ drained: 0, forced: 1 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    await stuck.closed;
    expect(stuck.received).toBe("");
    expect(server.stats().active).toBe(0);
  });

  it("Node internal, res.finished toggled around http.Server#close(): a large response answered at once still reaches a slow reader whole when shutdown starts", async () => {
    const big = "z".repeat(8 * 1024 * 1024);
    const router = new Router();
    router.get("/big", () => big);
    const server = await serveUnixHttp(dir.path(), router, { drainTimeout: 10_000 });
    servers.push(server);
    const conn = await connect(server.address);
    conn.socket.pause(); // the kernel buffers fill: the server cannot hand the body over in one go
    conn.socket.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => server.stats().accepted === 1, "the request is answered");
    await sleep(50);
    expect(server.stats().active).toBe(1); // still being written: in flight
    const finished = server.shutdown();
    await sleep(50);
    conn.socket.resume();
    await conn.closed;
    const body = conn.received.slice(conn.received.indexOf("\r\n\r\n") + 4);
    expect(body.length).toBe(big.length);
    expect(await finished).toMatchObject({ drained: 1, forced: 0 });
  });

  it("shutdown({ drainTimeout }) overrides the configured one", async () => {
    const { router, started } = slowRouter();
    const server = await serveUnixHttp(dir.path(), router, { drainTimeout: 60_000 });
    servers.push(server);
    const stuck = await connect(server.address);
    stuck.socket.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await started.promise;
    expect(await server.shutdown({ drainTimeout: 50 })).toMatchObject({ forced: 1 });
  });

  it("handlers see ctx.signal abort when shutdown starts, and can answer early", async () => {
    const started = Promise.withResolvers<void>();
    const router = new Router();
    router.get("/stream-ish", async (_req, ctx) => {
      started.resolve();
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
      return "stopped at a boundary";
    });
    const server = await serveUnixHttp(dir.path(), router, { drainTimeout: 10_000 });
    servers.push(server);
    const pending = request(server.address, "/stream-ish");
    await started.promise;
    const report = await server.shutdown();
    const reply = await pending;
    expect(reply.body).toBe("stopped at a boundary");
    expect(reply.headers.connection).toBe("close");
    expect(report).toMatchObject({ drained: 1, forced: 0 });
    expect(report.durationMs).toBeLessThan(5_000);
  });

  it("connections half-way through a request are closed when the drain ends", async () => {
    const server = await serveUnixHttp(dir.path(), new Router(), { drainTimeout: 10_000 });
    const half = await connect(server.address);
    half.socket.write("GET / HTTP/1.1\r\n");
    await sleep(20);
    const report = await server.shutdown();
    expect(report).toMatchObject({ drained: 0, forced: 0 });
    await half.closed;
  });

  it("many idle keep-alive connections do not slow shutdown down", async () => {
    const router = new Router();
    router.get("/", () => "hi");
    const server = await serveUnixHttp(dir.path(), router, { drainTimeout: 30_000 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
    try {
      await Promise.all(Array.from({ length: 50 }, () => request(server.address, "/", { agent })));
      await until(() => Object.values(agent.freeSockets).flat().length > 0, "idle sockets in the agent");
      const report = await server.shutdown();
      expect(report).toMatchObject({ drained: 0, forced: 0 });
      expect(report.durationMs).toBeLessThan(2_000);
    } finally {
      agent.destroy();
    }
  });

  it("a client that leaves half-way through its body is not a handler error", async () => {
    const done = Promise.withResolvers<string>();
    const router = new Router();
    router.post("/upload", async (req) => {
      try {
        await req.text();
        return "complete";
      } finally {
        done.resolve("handler finished");
      }
    });
    const server = await serveUnixHttp(dir.path(), router);
    servers.push(server);
    const conn = await connect(server.address);
    conn.socket.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf");
    await sleep(50);
    conn.socket.destroy();
    await done.promise;
    await sleep(20);
    expect(server.stats()).toMatchObject({ handlerErrors: 0, active: 0 });
  });
});
