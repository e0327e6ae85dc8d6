/**
 * protocols: ["http1", "h2c"]: HTTP/2 with prior knowledge on the same Unix socket, with Node's
 * http2 client (`createConnection`); the ServerConfig fields that apply to HTTP/2; the drain.
 */
import { once } from "node:events";
import * as http2 from "node:http2";
import * as net from "node:net";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { InvalidConfigError, json, Router, serveUnixHttp, UnixPeerAddr, type Server } from "@tako/unix-http";
import { rawConnect, request } from "./test-support.ts";
import { sleep, socketDir, until } from "@tako/test-kit";

const dir = socketDir();
afterAll(() => dir.remove());

const servers: Server[] = [];
const sessions: http2.ClientHttp2Session[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.destroy();
  await Promise.all(servers.splice(0).map((s) => s.shutdown({ drainTimeout: 1_000 })));
});

const quiet = { error() {}, warn() {}, info() {}, debug() {} };

async function serve(router: Router, options: Parameters<typeof serveUnixHttp>[2] = {}): Promise<Server> {
  const server = await serveUnixHttp(dir.path(), router, { logger: quiet, protocols: ["http1", "h2c"], ...options });
  servers.push(server);
  return server;
}

function connect(server: Server): http2.ClientHttp2Session {
  const session = http2.connect("http://tako.local", { createConnection: () => net.connect(server.address) });
  session.on("error", () => {});
  sessions.push(session);
  return session;
}

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

function h2request(
  session: http2.ClientHttp2Session,
  path: string,
  options: { method?: string; headers?: http2.OutgoingHttpHeaders; body?: string | Buffer } = {},
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": options.method ?? "GET", ":path": path, ...options.headers });
    let headers: http2.IncomingHttpHeaders = {};
    let body = "";
    stream.setEncoding("utf8");
    stream.on("response", (h) => (headers = h));
    stream.on("data", (chunk: string) => (body += chunk));
    stream.on("end", () => resolve({ status: Number(headers[":status"]), headers, body }));
    stream.on("error", reject);
    stream.end(options.body);
  });
}

function appRouter(): Router {
  const router = new Router();
  router.get("/", () => "hello from unix");
  router.get("/users/{id}", (_req, ctx) => ({ id: ctx.params.id }));
  router.get("/peer", (_req, ctx) => ctx.extensions.get(UnixPeerAddr));
  router.get("/url", (req) => req.url);
  router.post("/echo", async (req) => json({ got: await req.text(), type: req.headers.get("content-type") }));
  router.get("/stream", async function* () {
    for (let i = 0; i < 3; i++) yield `part${i}\n`;
  });
  return router;
}

describe("h2c with prior knowledge", () => {
  it("serves the same Router to HTTP/2 and HTTP/1.1 clients on one socket", async () => {
    const server = await serve(appRouter());
    const session = connect(server);
    expect(await h2request(session, "/")).toMatchObject({ status: 200, body: "hello from unix", headers: { "content-type": "text/plain; charset=utf-8", "content-length": "15" } });
    expect(JSON.parse((await h2request(session, "/users/a%20b")).body)).toEqual({ id: "a b" });
    expect(JSON.parse((await h2request(session, "/peer")).body)).toEqual({ path: null, pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
    expect((await h2request(session, "/url?x=1")).body).toBe("http://tako.local/url?x=1");
    const echo = await h2request(session, "/echo", { method: "POST", headers: { "content-type": "text/plain" }, body: "over h2" });
    expect(JSON.parse(echo.body)).toEqual({ got: "over h2", type: "text/plain" });
    expect((await h2request(session, "/stream")).body).toBe("part0\npart1\npart2\n");
    expect((await request(server.address, "/")).body).toBe("hello from unix");
    expect(server.stats().accepted).toBe(7);
  });

  it("HEAD, 404, 405 with Allow and OPTIONS are identical on both protocols", async () => {
    const server = await serve(appRouter());
    const session = connect(server);
    for (const [method, path] of [
      ["HEAD", "/"],
      ["GET", "/missing"],
      ["DELETE", "/"],
      ["OPTIONS", "/users/1"],
      ["HEAD", "/stream"],
    ] as const) {
      const h2 = await h2request(session, path, { method });
      const h1 = await request(server.address, path, { method });
      expect(h2.status, `${method} ${path}`).toBe(h1.status);
      expect(h2.body, `${method} ${path}`).toBe(h1.body);
      for (const name of ["allow", "content-length", "content-type"]) expect(h2.headers[name], `${method} ${path} ${name}`).toBe(h1.headers[name]);
    }
  });

  it("a handler that reads only params never builds a Request on HTTP/2 either", async () => {
    const router = new Router();
    const built: boolean[] = [];
    router.get("/lazy/{id}", (req, ctx) => {
      built.push(Object.getPrototypeOf(req) !== Request.prototype);
      return ctx.params.id;
    });
    const server = await serve(router);
    expect((await h2request(connect(server), "/lazy/9")).body).toBe("9");
    expect(built).toEqual([true]);
  });

  it('protocols: ["h2c"] serves only HTTP/2', async () => {
    const server = await serve(appRouter(), { protocols: ["h2c"] });
    expect((await h2request(connect(server), "/")).body).toBe("hello from unix");
    await expect(request(server.address, "/")).rejects.toThrow();
  });

  it("advertises the HTTP/2 limits: 100 concurrent streams, no push", async () => {
    const server = await serve(appRouter());
    const session = connect(server);
    await once(session, "remoteSettings");
    expect(session.remoteSettings).toMatchObject({ maxConcurrentStreams: 100, enablePush: false });
  });

  it("a preface that arrives a byte at a time is still HTTP/2; a connection that sends nothing is closed at the sniff timeout", async () => {
    const server = await serve(appRouter(), { headersTimeout: 300 });
    const session = http2.connect("http://tako.local", {
      createConnection: () => {
        const socket = net.connect(server.address);
        const write = socket.write.bind(socket);
        let first = true;
        (socket as { write: unknown }).write = (chunk: Buffer, ...rest: never[]) => {
          if (!first) return write(chunk, ...rest);
          first = false;
          void (async () => {
            for (const byte of chunk) {
              write(Buffer.from([byte]));
              await sleep(2);
            }
          })();
          return true;
        };
        return socket;
      },
    });
    sessions.push(session);
    expect((await h2request(session, "/")).body).toBe("hello from unix");
    const silent = await rawConnect(server.address);
    const started = performance.now();
    await silent.closed;
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it("refuses bad protocols before binding", async () => {
    for (const protocols of [[], ["http2"], ["h2c", "h2c"], "h2c"]) {
      await expect(serveUnixHttp(dir.path(), new Router(), { protocols: protocols as never })).rejects.toThrow(InvalidConfigError);
    }
  });
});

describe("ServerConfig over HTTP/2", () => {
  it("maxBodySize: 413 for a Content-Length past it and for a streamed body that grows past it", async () => {
    const router = new Router();
    router.post("/upload", async (req) => `got ${(await req.arrayBuffer()).byteLength}`);
    const server = await serve(router, { maxBodySize: 1024 });
    const session = connect(server);
    expect((await h2request(session, "/upload", { method: "POST", body: Buffer.alloc(1024) })).body).toBe("got 1024");
    expect((await h2request(session, "/upload", { method: "POST", headers: { "content-length": "5000" }, body: Buffer.alloc(5000) })).status).toBe(413);
    // No content-length: DATA frames past the limit.
    const stream = session.request({ ":method": "POST", ":path": "/upload" });
    const [headers] = (await new Promise((resolve) => {
      stream.once("response", (h) => resolve([h]));
      stream.write(Buffer.alloc(800));
      stream.write(Buffer.alloc(800));
    })) as [http2.IncomingHttpHeaders];
    expect(headers[":status"]).toBe(413);
    stream.destroy();
  });

  it("maxHeaderSize: 431 past it", async () => {
    const server = await serve(appRouter(), { maxHeaderSize: 2048 });
    const session = connect(server);
    expect((await h2request(session, "/", { headers: { "x-small": "a".repeat(1000) } })).status).toBe(200);
    expect((await h2request(session, "/", { headers: { "x-big": "a".repeat(2100) } })).status).toBe(431);
  });

  it("requestTimeout: a body that arrives too slowly gets 408", async () => {
    const router = new Router();
    router.post("/upload", async (req) => `got ${(await req.arrayBuffer()).byteLength}`);
    const server = await serve(router, { requestTimeout: 300, headersTimeout: 300 });
    const session = connect(server);
    const stream = session.request({ ":method": "POST", ":path": "/upload" });
    stream.on("error", () => {});
    stream.write("a");
    const started = performance.now();
    const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
    expect(headers[":status"]).toBe(408);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("keepAliveTimeout: an idle session gets GOAWAY; keepAlive: false sends GOAWAY after the first request", async () => {
    const idle = await serve(appRouter(), { keepAliveTimeout: 200 });
    const session = connect(idle);
    await h2request(session, "/");
    const started = performance.now();
    await once(session, "goaway");
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    const once1 = await serve(appRouter(), { keepAlive: false });
    const single = connect(once1);
    const goaway = once(single, "goaway");
    expect((await h2request(single, "/")).status).toBe(200);
    await goaway;
  });

  it("keepAliveTimeout counts from the last stream's end: a slow request outlives it, then the idle session gets GOAWAY", async () => {
    const router = appRouter();
    router.get("/slow", async () => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      return "slow";
    });
    const server = await serve(router, { keepAliveTimeout: 150 });
    const session = connect(server);
    let goawayAt = 0;
    session.once("goaway", () => {
      goawayAt = performance.now();
    });
    const reply = await h2request(session, "/slow"); // 400 ms with no frame on the session
    const endedAt = performance.now();
    expect(reply).toMatchObject({ status: 200, body: "slow" });
    expect(goawayAt).toBe(0);
    await once(session, "goaway");
    expect(goawayAt - endedAt).toBeGreaterThanOrEqual(100);
  });

  it("maxConnections caps HTTP/2 connections too", async () => {
    const server = await serve(appRouter(), { maxConnections: 1 });
    const first = connect(server);
    expect((await h2request(first, "/")).status).toBe(200);
    const second = connect(server);
    await once(second, "close");
    expect(server.stats().rejected).toBe(1);
  });
});

describe("drain over HTTP/2", () => {
  it("sends GOAWAY, lets the open stream complete, then finishes", async () => {
    const router = new Router();
    const held = Promise.withResolvers<void>();
    router.get("/slow", async () => {
      await held.promise;
      return "finally";
    });
    const server = await serve(router);
    const session = connect(server);
    const reply = h2request(session, "/slow");
    await until(() => server.stats().active === 1, "the stream is in flight");
    const goaway = once(session, "goaway");
    const finished = server.shutdown({ drainTimeout: 5_000 });
    await goaway;
    held.resolve();
    expect(await reply).toMatchObject({ status: 200, body: "finally" });
    expect(await finished).toMatchObject({ drained: 1, forced: 0 });
  });

  it("destroys a stream still open at drainTimeout and counts it as forced", async () => {
    const router = new Router();
    router.get("/never", () => new Promise<string>(() => {}));
    const server = await serve(router);
    const session = connect(server);
    const reply = h2request(session, "/never").catch((error: unknown) => error);
    await until(() => server.stats().active === 1, "the stream is in flight");
    const report = await server.shutdown({ drainTimeout: 300 });
    expect(report).toMatchObject({ drained: 0, forced: 1 });
    const outcome = await reply; // the stream was reset: an error, or an end without any response
    expect(outcome instanceof Error || Number.isNaN((outcome as H2Reply).status)).toBe(true);
  });

  it("an idle HTTP/2 connection does not hold the shutdown up", async () => {
    const server = await serve(appRouter());
    const session = connect(server);
    await h2request(session, "/");
    const started = performance.now();
    expect(await server.shutdown({ drainTimeout: 5_000 })).toMatchObject({ forced: 0 });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
