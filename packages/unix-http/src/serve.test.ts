import * as diagnosticsChannel from "node:diagnostics_channel";
import { once } from "node:events";
import { existsSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { BindError, CHANNELS, InvalidConfigError, InvalidSocketPathError, shutdownSignal, type Logger } from "@tako/core";
import { Agent, request as undiciRequest } from "undici";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  json,
  Router,
  Server,
  serveUnixHttp,
  serveUnixHttpWithConfig,
  serveUnixHttpWithShutdown,
  serveUnixHttpWithShutdownAndDrain,
  spawnUnixHttp,
  UnixPeerAddr,
  type Server as UnixHttpServer,
} from "@tako/unix-http";
import { rawConnect, request } from "./test-support.ts";
import { abstractName, sleep, socketDir, staleSocket, until } from "@tako/test-kit";

const dir = socketDir();
afterAll(() => dir.remove());

const servers: UnixHttpServer[] = [];
const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const stop of cleanups.splice(0)) stop();
  await Promise.all(servers.splice(0).map((s) => s.shutdown({ drainTimeout: 1_000 })));
});

async function serve(router: Router, options: Parameters<typeof serveUnixHttp>[2] = {}, path = dir.path()): Promise<UnixHttpServer> {
  const server = await serveUnixHttp(path, router, options);
  servers.push(server);
  return server;
}

function memoryLogger(): Logger & { errors: Array<{ obj: Record<string, unknown>; msg: string | undefined }> } {
  const errors: Array<{ obj: Record<string, unknown>; msg: string | undefined }> = [];
  return { errors, error: (obj, msg) => errors.push({ obj: obj as Record<string, unknown>, msg }), warn() {}, info() {}, debug() {} };
}

function collect(name: string): unknown[] {
  const seen: unknown[] = [];
  const onMessage = (message: unknown) => seen.push(message);
  diagnosticsChannel.subscribe(name, onMessage);
  cleanups.push(() => diagnosticsChannel.unsubscribe(name, onMessage));
  return seen;
}

function demoRouter(): Router {
  const router = new Router();
  router.get("/", () => "hello from unix");
  router.get("/users/{id}", (_req, ctx) => ({ id: ctx.params.id }));
  router.get("/peer", (_req, ctx) => ctx.extensions.get(UnixPeerAddr));
  router.post("/echo", async (req) => json({ body: await req.text(), type: req.headers.get("content-type") }));
  return router;
}

describe("serving a Router", () => {
  it("answers Node's http client: text, JSON with decoded params, the peer, POST bodies", async () => {
    const server = await serve(demoRouter());
    const root = await request(server.address, "/");
    expect(root).toMatchObject({ status: 200, body: "hello from unix" });
    expect(root.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(root.headers["content-length"]).toBe("15");
    const user = await request(server.address, "/users/ada%20l");
    expect(user.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(user.body)).toEqual({ id: "ada l" });
    expect(JSON.parse((await request(server.address, "/peer")).body)).toEqual({ path: null, pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
    const echo = await request(server.address, "/echo", { method: "POST", body: "payload", headers: { "content-type": "text/x-test" } });
    expect(JSON.parse(echo.body)).toEqual({ body: "payload", type: "text/x-test" });
  });

  it("answers undici over the socket", async () => {
    const server = await serve(demoRouter());
    const dispatcher = new Agent({ connect: { socketPath: server.address } });
    cleanups.push(() => void dispatcher.close());
    const res = await undiciRequest("http://localhost/users/7", { dispatcher });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ id: "7" });
    const text = await undiciRequest("http://localhost/", { dispatcher });
    expect(await text.body.text()).toBe("hello from unix");
  });

  it("404, 405 with Allow, HEAD without a body, OPTIONS with Allow", async () => {
    const server = await serve(demoRouter());
    expect((await request(server.address, "/nope")).status).toBe(404);
    const notAllowed = await request(server.address, "/", { method: "DELETE" });
    expect(notAllowed.status).toBe(405);
    expect(notAllowed.headers.allow).toBe("GET, HEAD, OPTIONS");
    const head = await request(server.address, "/", { method: "HEAD" });
    expect(head).toMatchObject({ status: 200, body: "" });
    expect(head.headers["content-length"]).toBe("15");
    const options = await request(server.address, "/echo", { method: "OPTIONS" });
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe("OPTIONS, POST");
  });

  it("OPTIONS * lists every method; an absolute-form target is routed by its path", async () => {
    const server = await serve(demoRouter());
    const conn = await rawConnect(server.address);
    conn.socket.write("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\nGET http://example.test/users/5 HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n");
    await conn.closed;
    expect(conn.received).toMatch(/^HTTP\/1\.1 204 No Content\r\n/);
    expect(conn.received).toContain("allow: GET, HEAD, OPTIONS, POST");
    expect(conn.received).toContain('{"id":"5"}');
  });

  it("a handler that reads only params never builds a Request; touching the body does, once", async () => {
    const RealRequest = globalThis.Request;
    let built = 0;
    globalThis.Request = class CountingRequest extends RealRequest {
      constructor(...args: ConstructorParameters<typeof Request>) {
        super(...args);
        built++;
      }
    } as typeof Request;
    cleanups.push(() => (globalThis.Request = RealRequest));
    const router = new Router();
    router.get("/users/{id}", (_req, ctx) => `user ${ctx.params.id}`);
    router.get("/meta", (req) => `${req.method} ${new URL(req.url).pathname} ${req.headers.get("x-a")} ${req instanceof RealRequest}`);
    router.post("/body", async (req) => `${await req.text()} ${req.bodyUsed}`);
    const server = await serve(router);
    built = 0;
    expect((await request(server.address, "/users/1")).body).toBe("user 1");
    expect((await request(server.address, "/meta", { headers: { "x-a": "b" } })).body).toBe("GET /meta b true");
    expect(built).toBe(0);
    expect((await request(server.address, "/body", { method: "POST", body: "data" })).body).toBe("data true");
    expect(built).toBe(1);
  });

  it("req.url carries the Host header; req.signal aborts when the client goes away", async () => {
    const aborted = Promise.withResolvers<string>();
    const started = Promise.withResolvers<void>();
    const router = new Router();
    router.get("/url", (req) => req.url);
    router.get("/wait", (req) => {
      req.signal.addEventListener("abort", () => aborted.resolve("aborted"));
      started.resolve();
      return new Promise(() => {});
    });
    const server = await serve(router);
    expect((await request(server.address, "/url?x=1", { headers: { host: "tako.test:8080" } })).body).toBe("http://tako.test:8080/url?x=1");
    const conn = await rawConnect(server.address);
    conn.socket.write("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
    await started.promise;
    conn.socket.destroy();
    expect(await aborted.promise).toBe("aborted");
  });

  it("streams a ReadableStream with backpressure and cancels it when the client leaves", async () => {
    const cancelled = Promise.withResolvers<unknown>();
    let pulled = 0;
    const router = new Router();
    router.get(
      "/endless",
      () =>
        new ReadableStream<Uint8Array>({
          pull(controller) {
            pulled++;
            controller.enqueue(new Uint8Array(64 * 1024));
          },
          cancel: (reason) => cancelled.resolve(reason ?? "cancelled"),
        }),
    );
    const server = await serve(router);
    const conn = await rawConnect(server.address);
    conn.socket.pause(); // read nothing: the server must stop pulling, not buffer without bound
    conn.socket.write("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => pulled > 0, "the stream is read");
    // Backpressure: with the client reading nothing, pulling stops once the buffers are full.
    let stalled = false;
    for (let i = 0; i < 50 && !stalled; i++) {
      const before = pulled;
      await sleep(150);
      stalled = pulled === before;
    }
    expect(stalled).toBe(true);
    expect(pulled).toBeLessThan(200); // far less than 12 MiB
    conn.socket.destroy();
    await cancelled.promise;
  });

  it("streams an async generator and a Response body; set-cookie headers stay separate", async () => {
    const router = new Router();
    router.get("/gen", async function* () {
      for (let i = 0; i < 3; i++) yield `chunk${i};`;
    });
    router.get("/response", () => {
      const headers = new Headers({ "content-type": "text/event-stream" });
      headers.append("set-cookie", "a=1");
      headers.append("set-cookie", "b=2");
      return new Response(new Blob(["from ", "a blob"]).stream(), { status: 202, statusText: "Accepted For Later", headers });
    });
    const server = await serve(router);
    const gen = await request(server.address, "/gen");
    expect(gen.body).toBe("chunk0;chunk1;chunk2;");
    expect(gen.headers["transfer-encoding"]).toBe("chunked");
    const res = await request(server.address, "/response");
    expect(res.status).toBe(202);
    expect(res.body).toBe("from a blob");
    expect(res.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    const conn = await rawConnect(server.address);
    conn.socket.write("GET /response HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await conn.closed;
    expect(conn.received).toMatch(/^HTTP\/1\.1 202 Accepted For Later\r\n/);
  });

  it("a stream that fails mid-body cuts the connection and is reported", async () => {
    const logger = memoryLogger();
    const router = new Router();
    router.get("/broken", async function* () {
      yield "partial";
      throw new Error("disk gone");
    });
    const server = await serve(router, { logger });
    await expect(request(server.address, "/broken")).rejects.toThrow(/aborted|socket hang up|ECONNRESET/);
    await until(() => logger.errors.length === 1, "the failure is reported");
    expect((logger.errors[0]!.obj.err as Error).message).toBe("disk gone");
    expect(server.stats().handlerErrors).toBe(1);
  });

  it("a thrown error is a 500 without details, reported once with the peer (logger, diagnostics_channel, stats)", async () => {
    const published = collect(CHANNELS.handlerError);
    const logger = memoryLogger();
    const router = new Router();
    router.get("/boom", () => {
      throw new Error("secret internals");
    });
    router.get("/ok", () => "still serving");
    const server = await serve(router, { logger });
    const res = await request(server.address, "/boom");
    expect(res.status).toBe(500);
    expect(res.body).toBe("Internal Server Error");
    expect((await request(server.address, "/ok")).body).toBe("still serving");
    expect(logger.errors).toHaveLength(1);
    expect(logger.errors[0]?.obj).toMatchObject({ kind: "unix-http", peer: { path: null } });
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ kind: "unix-http", server, error: new Error("secret internals") });
    expect(server.stats()).toMatchObject({ handlerErrors: 1, accepted: 2, active: 0 });
  });

  it("a malformed request is answered 400 and closed", async () => {
    const server = await serve(demoRouter());
    const conn = await rawConnect(server.address);
    conn.socket.write("THIS IS NOT HTTP\r\n\r\n");
    await conn.closed;
    expect(conn.received).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(conn.received.toLowerCase()).toContain("connection: close");
    const badHeader = await rawConnect(server.address);
    badHeader.socket.write("GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n");
    await badHeader.closed;
    expect(badHeader.received).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect((await request(server.address, "/")).status).toBe(200);
  });

  it("publishes listening, connection, connection closed, shutdown and drain done", async () => {
    const listening = collect(CHANNELS.listening);
    const connection = collect(CHANNELS.connection);
    const closed = collect(CHANNELS.connectionClosed);
    const shutdown = collect(CHANNELS.shutdown);
    const drainDone = collect(CHANNELS.drainDone);
    const server = await serveUnixHttp(dir.path(), demoRouter());
    expect(listening).toEqual([{ kind: "unix-http", server, address: server.address }]);
    await request(server.address, "/");
    await until(() => closed.length === 1, "connection closed is published");
    expect(connection[0]).toMatchObject({ kind: "unix-http", server, peer: { path: null } });
    const report = await server.shutdown();
    expect(shutdown).toEqual([{ kind: "unix-http", server }]);
    expect(drainDone).toEqual([{ kind: "unix-http", server, report }]);
  });

  it("answers on an abstract socket (@name)", async () => {
    const name = abstractName();
    const server = await serve(demoRouter(), {}, name);
    expect(server.address).toBe(name);
    expect((await request(name, "/")).body).toBe("hello from unix");
  });
});

describe("entry points", () => {
  it("serveUnixHttpWithShutdown stops on an AbortSignal and on a promise", async () => {
    const controller = new AbortController();
    const a = await serveUnixHttpWithShutdown(dir.path(), demoRouter(), controller.signal);
    controller.abort();
    expect(await a.finished).toMatchObject({ drained: 0, forced: 0 });
    const trigger = Promise.withResolvers<void>();
    const b = await serveUnixHttpWithShutdown(dir.path(), demoRouter(), trigger.promise);
    expect((await request(b.address, "/")).status).toBe(200);
    trigger.resolve();
    expect(await b.finished).toMatchObject({ forced: 0 });
    expect(existsSync(b.address)).toBe(false);
  });

  it("serveUnixHttpWithShutdownAndDrain uses the drain timeout", async () => {
    const started = Promise.withResolvers<void>();
    const router = new Router();
    router.get("/hang", () => (started.resolve(), new Promise(() => {})));
    const controller = new AbortController();
    const server = await serveUnixHttpWithShutdownAndDrain(dir.path(), router, controller.signal, 150);
    const pending = request(server.address, "/hang").catch((error: Error) => error);
    await started.promise;
    const t0 = performance.now();
    controller.abort();
    expect(await server.finished).toMatchObject({ drained: 0, forced: 1 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(await pending).toBeInstanceOf(Error);
  });

  it("serveUnixHttpWithConfig applies a config and rejects unknown keys", async () => {
    const server = await serveUnixHttpWithConfig(dir.path(), demoRouter(), { keepAlive: false });
    servers.push(server);
    expect((await request(server.address, "/")).headers.connection).toBe("close");
    await expect(serveUnixHttpWithConfig(dir.path(), demoRouter(), { signal: undefined } as never)).rejects.toThrow(InvalidConfigError);
    await expect(serveUnixHttpWithConfig(dir.path(), demoRouter(), null as never)).rejects.toThrow(InvalidConfigError);
  });

  it("Server.builder().config(c).build().spawnUnixHttp(path, router), and spawnUnixHttp(path, router, built)", async () => {
    const built = Server.builder().config({ keepAlive: false }).config({ drainTimeout: 2_000 }).build();
    expect(built.config).toMatchObject({ keepAlive: false, drainTimeout: 2_000, maxBodySize: 1_048_576 });
    const a = await built.spawnUnixHttp(dir.path(), demoRouter());
    servers.push(a);
    expect((await request(a.address, "/")).headers.connection).toBe("close");
    const b = await spawnUnixHttp(dir.path(), demoRouter(), built);
    servers.push(b);
    expect((await request(b.address, "/users/3")).body).toBe('{"id":"3"}');
    const c = await spawnUnixHttp(dir.path(), demoRouter());
    servers.push(c);
    const agent = new http.Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    expect((await request(c.address, "/", { agent })).headers.connection).toBe("keep-alive");
    expect(() => Server.builder().config({ drainTimeout: -1 }).build()).toThrow(InvalidConfigError);
    await expect(spawnUnixHttp(dir.path(), demoRouter(), {} as never)).rejects.toThrow(InvalidConfigError);
    await expect(built.spawnUnixHttp(dir.path(), demoRouter(), { keepAlive: true } as never)).rejects.toThrow(/unknown spawnUnixHttp options key/);
  });

  it("await using shuts the server down", async () => {
    let path: string;
    {
      await using server = await serveUnixHttp(dir.path(), demoRouter());
      path = server.address;
      expect(existsSync(path)).toBe(true);
    }
    expect(existsSync(path)).toBe(false);
  });

  it("with shutdownSignal() in the process, the handle resolves its report", async () => {
    using signal = shutdownSignal(["SIGUSR2"]);
    const server = await serveUnixHttp(dir.path(), demoRouter(), { signal });
    process.emit("SIGUSR2", "SIGUSR2");
    expect(await server.finished).toMatchObject({ drained: 0, forced: 0 });
  });
});

describe("bad input is refused before anything is bound", () => {
  it.each([
    [{ drainTimeout: -1 }, InvalidConfigError, /drainTimeout/],
    [{ headersTimeout: Number.NaN }, InvalidConfigError, /headersTimeout/],
    [{ keepAlive: "yes" }, InvalidConfigError, /keepAlive/],
    [{ maxBodySize: 0 }, InvalidConfigError, /maxBodySize/],
    [{ maxHeaderSize: 1.5 }, InvalidConfigError, /maxHeaderSize/],
    [{ maxConnections: -3 }, InvalidConfigError, /maxConnections/],
    [{ drainTimout: 5 }, InvalidConfigError, /unknown serveUnixHttp options key "drainTimout"/],
    [{ mode: 0o1777 }, InvalidConfigError, /mode/],
    [{ signal: "soon" }, InvalidConfigError, /signal/],
    [{ logger: {} }, InvalidConfigError, /logger/],
  ])("%o", async (options, type, message) => {
    const path = dir.path();
    const attempt = serveUnixHttp(path, demoRouter(), options as never);
    await expect(attempt).rejects.toThrow(type);
    await expect(attempt).rejects.toThrow(message);
    expect(existsSync(path)).toBe(false);
  });

  it.each([
    ["@", /needs a name/],
    ["", /empty/],
    [`/tmp/${"x".repeat(120)}.sock`, /limit/],
  ])("socket path %j", async (path, message) => {
    await expect(serveUnixHttp(path, demoRouter())).rejects.toThrow(InvalidSocketPathError);
    await expect(serveUnixHttp(path, demoRouter())).rejects.toThrow(message);
  });

  it("a router that is not a Router, options that are not an object", async () => {
    await expect(serveUnixHttp(dir.path(), {} as never)).rejects.toThrow(InvalidConfigError);
    await expect(serveUnixHttp(dir.path(), demoRouter(), 5 as never)).rejects.toThrow(InvalidConfigError);
  });
});

describe("socket file rules through serveUnixHttp", () => {
  it("applies mode atomically and removes the file on shutdown", async () => {
    const server = await serveUnixHttp(dir.path(), demoRouter(), { mode: 0o600 });
    expect(lstatSync(server.address).isSocket()).toBe(true);
    expect(lstatSync(server.address).mode & 0o777).toBe(0o600);
    await server.shutdown();
    expect(existsSync(server.address)).toBe(false);
  });

  it("replaces a stale socket file", async () => {
    const path = dir.path();
    await staleSocket(path); // a crashed server's leftover
    expect(lstatSync(path).isSocket()).toBe(true);
    const server = await serve(demoRouter(), {}, path);
    expect((await request(server.address, "/")).body).toBe("hello from unix");
  });

  it("refuses a live socket with EADDRINUSE and keeps it", async () => {
    const first = await serve(demoRouter());
    const error = await serveUnixHttp(first.address, demoRouter()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BindError);
    expect((error as BindError).code).toBe("EADDRINUSE");
    expect((await request(first.address, "/")).status).toBe(200);
  });

  it("a missing directory is a BindError with the OS code", async () => {
    const error = await serveUnixHttp(`${dir.dir}/missing/app.sock`, demoRouter()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BindError);
    expect((error as BindError).code).toBe("ENOENT");
  });

  it("refuses a regular file and a symlink, removing nothing", async () => {
    const file = dir.path("regular");
    writeFileSync(file, "precious");
    await expect(serveUnixHttp(file, demoRouter())).rejects.toThrow(/a regular file, not a socket/);
    expect(readFileSync(file, "utf8")).toBe("precious");
    const live = await serve(demoRouter());
    const link = dir.path("link.sock");
    symlinkSync(live.address, link);
    await expect(serveUnixHttp(link, demoRouter())).rejects.toThrow(InvalidSocketPathError);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it("leaves a successor's socket file alone on shutdown", async () => {
    const path = dir.path();
    const ours = await serveUnixHttp(path, demoRouter());
    // Someone replaces the file while we run (e.g. a new deployment binding the same path).
    const { unlinkSync } = await import("node:fs");
    unlinkSync(path);
    const successor = net.createServer((socket) => socket.end("successor"));
    await new Promise<void>((resolve) => successor.listen(path, resolve));
    cleanups.push(() => successor.close());
    await ours.shutdown();
    expect(lstatSync(path).isSocket()).toBe(true);
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(path);
      let got = "";
      socket.on("data", (chunk) => (got += chunk));
      socket.on("close", () => resolve(got));
    });
    expect(answer).toBe("successor");
  });
});

describe("handle", () => {
  it("shutdown twice returns the same report; stats count requests", async () => {
    const server = await serveUnixHttp(dir.path(), demoRouter());
    await request(server.address, "/");
    await request(server.address, "/users/1");
    expect(server.stats()).toEqual({ active: 0, accepted: 2, rejected: 0, handlerErrors: 0, protocolErrors: 0 });
    const first = server.shutdown();
    const second = server.shutdown();
    expect(second).toBe(first);
    expect(await first).toBe(await server.finished);
  });

  it("an idle server shuts down in milliseconds, even with an idle keep-alive connection", async () => {
    const server = await serveUnixHttp(dir.path(), demoRouter(), { drainTimeout: 10_000 });
    const agent = new http.Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    await request(server.address, "/", { agent });
    const socket = Object.values(agent.freeSockets)[0]?.[0];
    expect(socket).toBeDefined();
    const closed = once(socket as net.Socket, "close");
    const report = await server.shutdown();
    expect(report).toMatchObject({ drained: 0, forced: 0 });
    expect(report.durationMs).toBeLessThan(1_000);
    await closed;
  });
});
