/**
 * End to end with the clients people put in front of a Unix-socket HTTP server: curl
 * (`--unix-socket`, `--abstract-unix-socket`) and nginx proxying `http://unix:<path>:` from a
 * loopback port. nginx runs from the test kit's harness with a config made here.
 */
import { execFile } from "node:child_process";
import * as diagnosticsChannel from "node:diagnostics_channel";
import { chmodSync } from "node:fs";
import { promisify } from "node:util";
import { CHANNELS } from "@tako/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, Router, serveUnixHttp, UnixPeerAddr, type Server } from "@tako/unix-http";
import { abstractName, CURL, freePort, skipReason, socketDir, startNginx, type ProxyProcess } from "@tako/test-kit";

const run = promisify(execFile);

const noCurl = skipReason("curl");
const noNginx = skipReason("nginx");

const dir = socketDir();
chmodSync(dir.dir, 0o711); // nginx workers may run as another user: let them reach the socket

function appRouter(): Router {
  const router = new Router();
  router.get("/", () => "hello from unix");
  router.get("/peer", (_req, ctx) => ctx.extensions.get(UnixPeerAddr));
  router.get("/users/{id}", (_req, ctx) => ({ id: ctx.params.id }));
  router.post("/echo", async (req) => json({ got: await req.text(), host: req.headers.get("host") }));
  router.get("/stream", async function* () {
    for (let i = 0; i < 3; i++) yield `part${i}\n`;
  });
  router.get("/boom", () => {
    throw new Error("hidden");
  });
  return router;
}

let server: Server;
let abstractServer: Server;
const abstract = abstractName();

beforeAll(async () => {
  const logger = { error() {}, warn() {}, info() {}, debug() {} };
  server = await serveUnixHttp(dir.path("app.sock"), appRouter(), { mode: 0o666, logger });
  abstractServer = await serveUnixHttp(abstract, appRouter(), { logger });
});

afterAll(async () => {
  await Promise.all([server?.shutdown(), abstractServer?.shutdown()]);
  dir.remove();
});

describe("curl", () => {
  it.skipIf(noCurl)("--unix-socket: GET, JSON, POST and a streamed body", async () => {
    const curl = CURL as string;
    const text = await run(curl, ["-sS", "--unix-socket", server.address, "http://localhost/"]);
    expect(text.stdout).toBe("hello from unix");
    const peer = await run(curl, ["-sS", "--unix-socket", server.address, "http://localhost/peer"]);
    // curl's own credentials, as the kernel recorded them (a child of this process: another pid, same user).
    const seen = JSON.parse(peer.stdout) as { pid: number };
    expect(seen).toEqual({ path: null, pid: expect.any(Number), uid: process.getuid?.(), gid: process.getgid?.() });
    expect(seen.pid).not.toBe(process.pid);
    const user = await run(curl, ["-sS", "--unix-socket", server.address, "http://localhost/users/a%20b"]);
    expect(JSON.parse(user.stdout)).toEqual({ id: "a b" });
    const echo = await run(curl, ["-sS", "--unix-socket", server.address, "-d", "from curl", "http://localhost/echo"]);
    expect(JSON.parse(echo.stdout)).toEqual({ got: "from curl", host: "localhost" });
    const stream = await run(curl, ["-sS", "--unix-socket", server.address, "http://localhost/stream"]);
    expect(stream.stdout).toBe("part0\npart1\npart2\n");
  });

  it.skipIf(noCurl)("--unix-socket: status codes and headers (-i, HEAD, 404, 405, 500)", async () => {
    const curl = CURL as string;
    const status = async (...args: string[]) => (await run(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", server.address, ...args])).stdout;
    expect(await status("http://localhost/missing")).toBe("404");
    expect(await status("-X", "DELETE", "http://localhost/")).toBe("405");
    expect(await status("http://localhost/boom")).toBe("500");
    const head = await run(curl, ["-sS", "-I", "--unix-socket", server.address, "http://localhost/"]);
    expect(head.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head.stdout.toLowerCase()).toContain("content-length: 15");
    const boom = await run(curl, ["-sS", "--unix-socket", server.address, "http://localhost/boom"]);
    expect(boom.stdout).toBe("Internal Server Error");
  });

  it.skipIf(noCurl || process.platform !== "linux")("--abstract-unix-socket", async () => {
    const res = await run(CURL as string, ["-sS", "--abstract-unix-socket", abstract.slice(1), "http://localhost/"]);
    expect(res.stdout).toBe("hello from unix");
  });
});

describe("nginx in front", () => {
  let nginx: ProxyProcess | undefined;
  let port = 0;

  beforeAll(async () => {
    if (noNginx) return;
    port = await freePort();
    nginx = await startNginx({
      http: () => `
  upstream tako {
    server unix:${server.address};
    keepalive 4;
  }
  server {
    listen 127.0.0.1:${port};
    location /direct/ {
      proxy_pass http://unix:${server.address}:/;
    }
    location / {
      proxy_pass http://tako;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
  }`,
    });
  });

  afterAll(async () => {
    await nginx?.stop();
  });

  it.skipIf(noNginx)("proxy_pass http://unix:<path>: reaches the Router (GET, JSON, the peer, POST, streamed, errors)", async () => {
    const base = `http://127.0.0.1:${port}`;
    const root = await fetch(`${base}/direct/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toBe("hello from unix");
    expect(await (await fetch(`${base}/direct/users/42`)).json()).toEqual({ id: "42" });
    // The peer is the nginx worker that connected (whatever user it runs as), with a real pid.
    expect(await (await fetch(`${base}/peer`)).json()).toEqual({ path: null, pid: expect.any(Number), uid: expect.any(Number), gid: expect.any(Number) });
    const echo = await fetch(`${base}/echo`, { method: "POST", body: "through nginx" });
    expect(await echo.json()).toEqual({ got: "through nginx", host: "127.0.0.1" });
    expect(await (await fetch(`${base}/stream`)).text()).toBe("part0\npart1\npart2\n");
    expect((await fetch(`${base}/missing`)).status).toBe(404);
    const boom = await fetch(`${base}/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.text()).toBe("Internal Server Error");
  });

  it.skipIf(noNginx)("keeps upstream connections alive across requests", async () => {
    let opened = 0;
    const onConnection = (message: unknown) => {
      if ((message as { server: unknown }).server === server) opened++;
    };
    diagnosticsChannel.subscribe(CHANNELS.connection, onConnection);
    try {
      const before = server.stats().accepted;
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await (await fetch(`http://127.0.0.1:${port}/users/${i}`)).json());
      expect(answers.at(-1)).toEqual({ id: "9" });
      expect(server.stats().accepted - before).toBe(10);
      expect(opened).toBeLessThanOrEqual(1); // one upstream connection reused (none if one was already open)
    } finally {
      diagnosticsChannel.unsubscribe(CHANNELS.connection, onConnection);
    }
    expect(nginx?.output()).not.toMatch(/\[(error|crit|alert|emerg)\]/);
  });
});
