/**
 * Every ServerConfig field, honoured and shown with real clients (drainTimeout: drain.test.ts).
 */
import * as http from "node:http";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Router, serveUnixHttp, type Server } from "@tako/unix-http";
import { rawConnect, request, sleep, socketDir, until, type RawConnection } from "./test-support.ts";

const dir = socketDir();
afterAll(() => dir.remove());

const servers: Server[] = [];
const connections: RawConnection[] = [];
afterEach(async () => {
  for (const conn of connections.splice(0)) conn.socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.shutdown({ drainTimeout: 1_000 })));
});

async function serve(router: Router, options: Parameters<typeof serveUnixHttp>[2]): Promise<Server> {
  const server = await serveUnixHttp(dir.path(), router, options);
  servers.push(server);
  return server;
}

async function connect(path: string): Promise<RawConnection> {
  const conn = await rawConnect(path);
  connections.push(conn);
  return conn;
}

function helloRouter(): Router {
  const router = new Router();
  router.get("/", () => "hello");
  router.post("/upload", async (req) => `got ${(await req.arrayBuffer()).byteLength} bytes`);
  return router;
}

/** Writes `text` one character every `everyMs` until the connection closes or `limit` characters went out. */
async function trickle(conn: RawConnection, text: string, everyMs: number): Promise<void> {
  for (const char of text) {
    if (conn.socket.destroyed || conn.socket.writableEnded) return;
    conn.socket.write(char);
    await sleep(everyMs);
  }
}

describe("headersTimeout", () => {
  it("cuts a client that sends its headers too slowly, close to the deadline, with a 408", async () => {
    const server = await serve(helloRouter(), { headersTimeout: 400 });
    const conn = await connect(server.address);
    const started = performance.now();
    conn.socket.write("GET / HTTP/1.1\r\n");
    void trickle(conn, `X-Slow: ${"a".repeat(400)}\r\n`, 40); // would take 16 s
    await conn.closed;
    const elapsed = performance.now() - started;
    expect(conn.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(3_000);
  });

  it("lets a client that finishes its headers in time through", async () => {
    const server = await serve(helloRouter(), { headersTimeout: 600 });
    const conn = await connect(server.address);
    conn.socket.write("GET / HTTP/1.1\r\n");
    await trickle(conn, "Host: x\r\n", 20);
    conn.socket.write("\r\n");
    await conn.waitFor("hello");
    expect(conn.received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });
});

describe("requestTimeout", () => {
  it("cuts a client whose body arrives too slowly, with a 408", async () => {
    const server = await serve(helloRouter(), { headersTimeout: 300, requestTimeout: 600 });
    const conn = await connect(server.address);
    const started = performance.now();
    conn.socket.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n");
    void trickle(conn, "b".repeat(200), 40); // would take 8 s
    await conn.closed;
    const elapsed = performance.now() - started;
    expect(conn.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(elapsed).toBeGreaterThanOrEqual(580);
    expect(elapsed).toBeLessThan(3_000);
  });

  it("a response already under way is cut, never interleaved with a 408 (relies on Node's socket._httpMessage)", async () => {
    const router = new Router();
    router.post("/early", () => new ReadableStream({ start: (controller) => controller.enqueue(new TextEncoder().encode("started ")) }));
    const server = await serve(router, { headersTimeout: 300, requestTimeout: 300 });
    const conn = await connect(server.address);
    conn.socket.write("POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n");
    void trickle(conn, "b".repeat(200), 40);
    await conn.waitFor("started ");
    await conn.closed;
    expect(conn.received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(conn.received).not.toContain("408");
  });

  it("a client still sending after its 408 gets the whole answer (lingering close, not an immediate destroy)", async () => {
    const server = await serve(helloRouter(), { headersTimeout: 200, requestTimeout: 200 });
    for (let i = 0; i < 5; i++) {
      const conn = await connect(server.address);
      conn.socket.write("GET / HTTP/1.1\r\n");
      const writer = setInterval(() => {
        if (!conn.socket.destroyed && !conn.socket.writableEnded) conn.socket.write("X-Still: sending\r\n");
      }, 5);
      await conn.closed;
      clearInterval(writer);
      expect(conn.received).toBe("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
    }
  });

  it("does not limit a handler that takes longer once the request is in", async () => {
    const router = new Router();
    router.get("/slow", async () => (await sleep(500), "worth the wait"));
    const server = await serve(router, { headersTimeout: 100, requestTimeout: 200 });
    expect((await request(server.address, "/slow")).body).toBe("worth the wait");
  });

  it("a headersTimeout above requestTimeout is capped by it (Node would refuse the pair)", async () => {
    const server = await serve(helloRouter(), { headersTimeout: 30_000, requestTimeout: 300 });
    const conn = await connect(server.address);
    conn.socket.write("GET / HTTP/1.1\r\n");
    await conn.closed;
    expect(conn.received).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe("timeouts set to 0", () => {
  it("mean no limit for headers, the request and keep-alive idleness", async () => {
    const server = await serve(helloRouter(), { headersTimeout: 0, requestTimeout: 0, keepAliveTimeout: 0 });
    const conn = await connect(server.address);
    conn.socket.write("GET / HTTP/1.1\r\n");
    await sleep(300);
    conn.socket.write("Host: x\r\n\r\n");
    await conn.waitFor("hello");
    await sleep(300);
    expect(conn.socket.destroyed).toBe(false);
  });
});

describe("keepAlive", () => {
  it("true (the default) keeps the connection for the next request", async () => {
    const server = await serve(helloRouter(), {});
    const conn = await connect(server.address);
    conn.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await conn.waitFor("hello");
    conn.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => conn.received.split("hello").length === 3, "two answers on one connection");
    expect(conn.received.toLowerCase()).toContain("connection: keep-alive");
    expect(conn.socket.destroyed).toBe(false);
  });

  it("false sends Connection: close on every response and closes the connection", async () => {
    const router = helloRouter();
    router.get("/json", () => ({ a: 1 }));
    router.get("/response", () => new Response("r"));
    router.get("/nothing", () => null);
    const server = await serve(router, { keepAlive: false });
    for (const path of ["/", "/json", "/response", "/nothing", "/missing"]) {
      const conn = await connect(server.address);
      conn.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`);
      await conn.closed;
      expect(conn.received.toLowerCase()).toContain("connection: close");
    }
  });
});

describe("keepAliveTimeout", () => {
  it("closes an idle kept-alive connection after it", async () => {
    const server = await serve(helloRouter(), { keepAliveTimeout: 400 });
    const conn = await connect(server.address);
    conn.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await conn.waitFor("hello");
    const idleSince = performance.now();
    await sleep(100);
    expect(conn.socket.destroyed).toBe(false); // still open a quarter of the way in
    await conn.closed;
    const idle = performance.now() - idleSince;
    expect(idle).toBeGreaterThanOrEqual(300); // the server's clock started a little before ours
    expect(idle).toBeLessThan(3_000);
  });
});

describe("maxConnections", () => {
  it("closes connections past the cap at accept, counts them, and accepts again when one leaves", async () => {
    const server = await serve(helloRouter(), { maxConnections: 2 });
    const a = await connect(server.address);
    const b = await connect(server.address);
    for (const conn of [a, b]) {
      conn.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      await conn.waitFor("hello");
    }
    const c = await connect(server.address);
    c.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.closed;
    expect(c.received).toBe("");
    expect(server.stats().rejected).toBe(1);
    a.socket.destroy();
    await a.closed;
    await until(() => server.stats().active === 0, "the slot frees");
    await sleep(20);
    const d = await connect(server.address);
    d.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await d.waitFor("hello");
  });
});

describe("maxHeaderSize", () => {
  it("answers 431 past it, and serves headers under it", async () => {
    const server = await serve(helloRouter(), { maxHeaderSize: 1_024 });
    const big = await request(server.address, "/", { headers: { "x-big": "a".repeat(2_000) } }).catch((error: Error) => error);
    expect(big).toMatchObject({ status: 431 });
    const small = await request(server.address, "/", { headers: { "x-small": "a".repeat(500) } });
    expect(small.status).toBe(200);
  });
});

describe("maxBodySize", () => {
  it("answers 413 for a Content-Length past it, without running the handler", async () => {
    let ran = false;
    const router = new Router();
    router.post("/upload", () => {
      ran = true;
      return "ran";
    });
    const server = await serve(router, { maxBodySize: 1_000 });
    const conn = await connect(server.address);
    conn.socket.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
    await conn.closed;
    expect(conn.received).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
    expect(conn.received.toLowerCase()).toContain("connection: close");
    expect(ran).toBe(false);
  });

  it("answers 413 for a chunked body that grows past it, before the client has finished sending", async () => {
    let seen = 0;
    const router = new Router();
    router.post("/upload", async (req) => {
      for await (const chunk of req.body as ReadableStream<Uint8Array>) seen += chunk.byteLength;
      return `got ${seen}`;
    });
    const server = await serve(router, { maxBodySize: 1_000 });
    const conn = await connect(server.address);
    conn.socket.write("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    conn.socket.write(`258\r\n${"a".repeat(600)}\r\n`);
    await sleep(50);
    conn.socket.write(`258\r\n${"a".repeat(600)}\r\n`); // 1 200 > 1 000; no final chunk: the body never ends
    await conn.closed;
    expect(conn.received).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
    expect(seen).toBeLessThanOrEqual(1_000);
  });

  it("serves a body at the limit, chunked or not", async () => {
    const server = await serve(helloRouter(), { maxBodySize: 1_000 });
    expect((await request(server.address, "/upload", { method: "POST", body: "x".repeat(1_000) })).body).toBe("got 1000 bytes");
    const conn = await connect(server.address);
    conn.socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n${"y".repeat(1_000)}\r\n0\r\n\r\n`);
    await conn.waitFor("got 1000 bytes");
  });

  it("a response sent while an unread body is still arriving carries Connection: close", async () => {
    const router = new Router();
    router.post("/ignore", () => "did not read it");
    const server = await serve(router, {});
    const conn = await connect(server.address);
    conn.socket.write("POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nonly the start");
    await conn.closed;
    expect(conn.received).toContain("did not read it");
    expect(conn.received.toLowerCase()).toContain("connection: close");
  });

  it("the default is 1 MiB", async () => {
    const server = await serve(helloRouter(), {});
    expect((await request(server.address, "/upload", { method: "POST", body: Buffer.alloc(1_048_576) })).body).toBe("got 1048576 bytes");
    const conn = await connect(server.address);
    conn.socket.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n");
    await conn.waitFor("413");
  });

  it("Expect: 100-continue is refused with 413 past the limit and continued under it", async () => {
    const server = await serve(helloRouter(), { maxBodySize: 1_000 });
    const refused = await connect(server.address);
    refused.socket.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
    await refused.closed;
    expect(refused.received).toMatch(/^HTTP\/1\.1 413 /);
    expect(refused.received).not.toContain("100 Continue");
    const accepted = await connect(server.address);
    accepted.socket.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    await accepted.waitFor("100 Continue");
    accepted.socket.write("0123456789");
    await accepted.waitFor("got 10 bytes");
  });

  it("undici sees the 413 too", async () => {
    const { Agent, request: undiciRequest } = await import("undici");
    const server = await serve(helloRouter(), { maxBodySize: 100 });
    const dispatcher = new Agent({ connect: { socketPath: server.address } });
    try {
      const res = await undiciRequest("http://localhost/upload", { method: "POST", body: "z".repeat(50), dispatcher });
      expect(await res.body.text()).toBe("got 50 bytes");
      const big = await undiciRequest("http://localhost/upload", { method: "POST", body: "z".repeat(101), dispatcher });
      expect(big.statusCode).toBe(413);
      await big.body.dump();
    } finally {
      await dispatcher.close();
    }
  });
});

describe("http.Agent with keep-alive across requests", () => {
  it("reuses one connection", async () => {
    const server = await serve(helloRouter(), {});
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 5; i++) expect((await request(server.address, "/", { agent })).body).toBe("hello");
      expect(server.stats().accepted).toBe(5);
    } finally {
      agent.destroy();
    }
  });
});
