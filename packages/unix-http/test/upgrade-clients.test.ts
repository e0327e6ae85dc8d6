/**
 * End to end for WebSocket and h2c with the programs people put in front of a Unix socket: curl
 * (`--http2-prior-knowledge --unix-socket` and plain `--unix-socket` on the same path), nginx
 * proxying a WebSocket Upgrade to `unix:` and `grpc_pass unix:` (HTTP/2 upstream), and HAProxy `server s unix@<path> proto h2` (also
 * with `send-proxy-v2`). nginx and HAProxy run from the test kit's harness with configs made per test.
 */
import { execFile } from "node:child_process";
import { chmodSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Router, serveUnixHttp, type Server } from "@tako/unix-http";
import { CURL, freePort, skipReason, socketDir, startHaproxy, startNginx, type Haproxy, type ProxyProcess } from "@tako/test-kit";

const run = promisify(execFile);
const noCurl = skipReason("curl");
const noNginx = skipReason("nginx");
const noHaproxy = skipReason("haproxy");

const dir = socketDir();
chmodSync(dir.dir, 0o711); // proxy workers may run as another user: let them reach the sockets
const quiet = { error() {}, warn() {}, info() {}, debug() {} };

function appRouter(): Router {
  const router = new Router();
  router.get("/", () => "hello from unix");
  router.get("/users/{id}", (_req, ctx) => ({ id: ctx.params.id }));
  router.get("/client", (_req, ctx) => ({ proxied: ctx.proxy !== undefined, client: ctx.proxy?.source?.address ?? null }));
  router.ws("/live/{room}", (ws, _req, ctx) => {
    ws.send(`joined ${ctx.params.room}`);
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return router;
}

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.shutdown({ drainTimeout: 1_000 })));
  dir.remove();
});

async function serve(name: string, options: Parameters<typeof serveUnixHttp>[2]): Promise<Server> {
  const server = await serveUnixHttp(dir.path(name), appRouter(), { mode: 0o666, logger: quiet, ...options });
  servers.push(server);
  return server;
}

describe("curl", () => {
  it.skipIf(noCurl)("--http2-prior-knowledge and plain --unix-socket on the same path", async () => {
    const server = await serve("both.sock", { protocols: ["http1", "h2c"] });
    const curl = CURL as string;
    const h2 = await run(curl, ["-sS", "--http2-prior-knowledge", "--unix-socket", server.address, "-w", "\n%{http_version}", "http://localhost/users/7"]);
    expect(h2.stdout).toBe('{"id":"7"}\n2');
    const h1 = await run(curl, ["-sS", "--unix-socket", server.address, "-w", "\n%{http_version}", "http://localhost/users/7"]);
    expect(h1.stdout).toBe('{"id":"7"}\n1.1');
    const head = await run(curl, ["-sS", "-I", "--http2-prior-knowledge", "--unix-socket", server.address, "http://localhost/"]);
    expect(head.stdout).toMatch(/^HTTP\/2 200 ?\r\n/);
    expect(head.stdout.toLowerCase()).toContain("content-length: 15");
    const missing = await run(curl, [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--http2-prior-knowledge",
      "--unix-socket",
      server.address,
      "-X",
      "DELETE",
      "http://localhost/",
    ]);
    expect(missing.stdout).toBe("405");
    // A plain GET on a WebSocket route: 426 on both protocols.
    for (const flag of ["--http2-prior-knowledge", "--http1.1"]) {
      const status = await run(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", flag, "--unix-socket", server.address, "http://localhost/live/x"]);
      expect(status.stdout).toBe("426");
    }
  });
});

describe("nginx in front of a WebSocket route", () => {
  let nginx: ProxyProcess | undefined;
  let port = 0;
  let server: Server;

  beforeAll(async () => {
    if (noNginx) return;
    server = await serve("ws.sock", {});
    port = await freePort();
    nginx = await startNginx({
      http: () => `
  map $http_upgrade $connection_upgrade { default upgrade; "" close; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://unix:${server.address}:;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
    }
  }`,
    });
  });

  afterAll(async () => {
    await nginx?.stop();
  });

  it.skipIf(noNginx)("proxies the Upgrade to unix: and the messages both ways; plain HTTP still works", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/live/lobby`);
    const messages: string[] = [];
    ws.on("message", (data) => messages.push(String(data)));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    ws.send("through nginx");
    await expect.poll(() => messages, { timeout: 5_000 }).toEqual(["joined lobby", "through nginx"]);
    // Shutting the server down closes the WebSocket with 1001, through nginx.
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    expect(await (await fetch(`http://127.0.0.1:${port}/users/3`)).json()).toEqual({ id: "3" });
    const report = await server.shutdown({ drainTimeout: 5_000 });
    expect(await closed).toBe(1001);
    expect(report.forced).toBe(0);
    expect(nginx?.output()).not.toMatch(/\[(crit|alert|emerg)\]/);
  });
});

describe("nginx grpc_pass unix: (HTTP/2 to the upstream)", () => {
  let nginx: ProxyProcess | undefined;
  let port = 0;

  beforeAll(async () => {
    if (noNginx) return;
    const server = await serve("grpc.sock", { protocols: ["h2c"] });
    port = await freePort();
    nginx = await startNginx({
      http: () => `
  server {
    listen 127.0.0.1:${port} http2;
    location / {
      grpc_pass unix:${server.address};
    }
  }`,
    });
  });

  afterAll(async () => {
    await nginx?.stop();
  });

  it.skipIf(noNginx || noCurl)("reaches the Router over HTTP/2 through nginx", async () => {
    const res = await run(CURL as string, ["-sS", "--http2-prior-knowledge", "-w", "\n%{http_code}", `http://127.0.0.1:${port}/users/5`]);
    expect(res.stdout).toBe('{"id":"5"}\n200');
    expect(nginx?.output()).not.toMatch(/\[(crit|alert|emerg)\]/);
  });
});

describe("HAProxy in front, proto h2 to unix@", () => {
  let haproxy: Haproxy | undefined;
  let plainPort = 0;
  let proxiedPort = 0;

  beforeAll(async () => {
    if (noHaproxy) return;
    const h2only = await serve("h2.sock", { protocols: ["h2c"] });
    const proxied = await serve("h2p.sock", { protocols: ["h2c"], proxyProtocol: true });
    plainPort = await freePort();
    proxiedPort = await freePort();
    haproxy = await startHaproxy({
      global: ["maxconn 64"],
      config: () => `
frontend plain
  mode http
  bind 127.0.0.1:${plainPort}
  default_backend tako
frontend proxied
  mode http
  bind 127.0.0.1:${proxiedPort}
  default_backend tako_proxied
backend tako
  mode http
  server s unix@${h2only.address} proto h2
backend tako_proxied
  mode http
  server s unix@${proxied.address} send-proxy-v2 proto h2
`,
    });
  });

  afterAll(async () => {
    await haproxy?.stop();
  });

  it.skipIf(noHaproxy)("reaches the Router over HTTP/2 (the server speaks nothing else)", async () => {
    const root = await fetch(`http://127.0.0.1:${plainPort}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toBe("hello from unix");
    expect(await (await fetch(`http://127.0.0.1:${plainPort}/users/a%20b`)).json()).toEqual({ id: "a b" });
    expect((await fetch(`http://127.0.0.1:${plainPort}/missing`)).status).toBe(404);
    const notAllowed = await fetch(`http://127.0.0.1:${plainPort}/`, { method: "DELETE" });
    expect(notAllowed.status).toBe(405);
    expect(notAllowed.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
  });

  it.skipIf(noHaproxy)("with send-proxy-v2: ctx.proxy names HAProxy's client", async () => {
    expect(await (await fetch(`http://127.0.0.1:${proxiedPort}/client`)).json()).toEqual({ proxied: true, client: "127.0.0.1" });
  });
});
