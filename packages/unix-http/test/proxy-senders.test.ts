/**
 * `serveUnixHttp` with `proxyProtocol: true` behind the real senders: `curl --haproxy-protocol
 * --unix-socket` (curl's v1 header on a Unix socket) and HAProxy in `mode http` with
 * `server s unix@<path> send-proxy-v2` (and `send-proxy`), its HTTP health checks carrying the
 * header too (`check-send-proxy`: LOCAL for v2). The TCP clients bind 127.0.0.7 and 127.0.0.8, so
 * every request must name its own client even where HAProxy reuses a server-side connection.
 */
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CURL, freePort, skipReason, startHaproxy, type Haproxy } from "@tako/test-kit";
import { ProxyInfo, Router, serveUnixHttp, UnixPeerAddr, type RequestContext, type Server } from "@tako/unix-http";
import { socketDir } from "../src/test-support.ts";

const noHaproxy = skipReason("haproxy");
const noCurl = skipReason("curl");
const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const dir = socketDir();
afterAll(() => dir.remove());

/** Runs curl to completion (killed after 15 s); never rejects, so failures show its output. */
function curl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(CURL as string, args, { timeout: 15_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr });
    });
  });
}

/** What a route saw of the connection's PROXY header. */
interface Who {
  version: number | null;
  command: string | null;
  client: string | null;
  clientPort: number | null;
  destinationPort: number | null;
  uniqueId: string | null;
  crc32c: boolean;
  sameInExtensions: boolean;
  peerIsUnix: boolean;
}

/** A Router answering `/who` with what the request's `ctx.proxy` says, and `/health` for the checks. */
function whoRouter(health: Who[]): Router {
  const router = new Router();
  const who = (ctx: RequestContext): Who => ({
    version: ctx.proxy?.version ?? null,
    command: ctx.proxy?.command ?? null,
    client: ctx.proxy?.source?.address ?? null,
    clientPort: ctx.proxy?.source?.port ?? null,
    destinationPort: ctx.proxy?.destination?.port ?? null,
    uniqueId: ctx.proxy?.tlvs.uniqueId?.toString() ?? null,
    crc32c: ctx.proxy?.tlvs.raw.has(0x03) ?? false,
    sameInExtensions: ctx.extensions.get(ProxyInfo) === ctx.proxy,
    peerIsUnix: ctx.extensions.get(UnixPeerAddr) instanceof UnixPeerAddr,
  });
  router.get("/who", (_req, ctx) => who(ctx));
  router.get("/health", (_req, ctx) => {
    health.push(who(ctx));
    return "ok";
  });
  return router;
}

describe.skipIf(noCurl !== undefined)("curl --haproxy-protocol --unix-socket to serveUnixHttp", () => {
  let server: Server;
  beforeAll(async () => {
    server = await serveUnixHttp(dir.path(), whoRouter([]), { proxyProtocol: true, logger: quiet });
  });
  afterAll(() => server?.shutdown());

  it("sends PROXY UNKNOWN (a Unix socket has no addresses): accepted, source null, the request served", async () => {
    const r = await curl(["-sS", "--max-time", "10", "--haproxy-protocol", "--unix-socket", server.address, "http://localhost/who"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      version: 1,
      command: "PROXY",
      client: null,
      clientPort: null,
      destinationPort: null,
      uniqueId: null,
      crc32c: false,
      sameInExtensions: true,
      peerIsUnix: true,
    });
    // Without the header the same request is refused before any HTTP is parsed.
    const plain = await curl(["-sS", "--max-time", "10", "--unix-socket", server.address, "http://localhost/who"]);
    expect(plain.code).not.toBe(0);
    expect(server.stats().protocolErrors).toBe(1);
  });
});

describe.skipIf(noHaproxy !== undefined)("HAProxy 2.6 mode http in front of serveUnixHttp (server unix@...)", () => {
  const health: Who[] = [];
  let v2: Server;
  let v1: Server;
  let haproxy: Haproxy;
  const ports = { v1: 0, v2: 0 };

  beforeAll(async () => {
    v2 = await serveUnixHttp(dir.path(), whoRouter(health), { proxyProtocol: true, logger: quiet });
    v1 = await serveUnixHttp(dir.path(), whoRouter(health), { proxyProtocol: true, logger: quiet });
    ports.v1 = await freePort();
    ports.v2 = await freePort();
    haproxy = await startHaproxy({
      config: () => `
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout check 2s
  default-server inter 200ms fastinter 100ms downinter 200ms rise 2 fall 2

frontend v2
  bind 127.0.0.1:${ports.v2}
  unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
  default_backend v2
backend v2
  option httpchk GET /health
  http-check expect string ok
  server s unix@${v2.address} send-proxy-v2 proxy-v2-options crc32c,unique-id check check-send-proxy

frontend v1
  bind 127.0.0.1:${ports.v1}
  default_backend v1
backend v1
  option httpchk GET /health
  http-check expect string ok
  server s unix@${v1.address} send-proxy check check-send-proxy
`,
    });
    // UP: HAProxy's HTTP checks went through the header phase (LOCAL for v2) and the Router answered.
    await haproxy.waitForStatus("v2", "s", "UP");
    await haproxy.waitForStatus("v1", "s", "UP");
  });

  afterAll(async () => {
    await haproxy?.stop();
    await v2?.shutdown();
    await v1?.shutdown();
  });

  async function whoFrom(port: number, localAddress: string): Promise<Who> {
    const r = await curl(["-sS", "--max-time", "10", "--interface", localAddress, `http://127.0.0.1:${port}/who`]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Who;
  }

  it("send-proxy-v2 (crc32c, unique-id): each request names its own TCP client, 127.0.0.7 then 127.0.0.8", async () => {
    for (const client of ["127.0.0.7", "127.0.0.8", "127.0.0.7"]) {
      const who = await whoFrom(ports.v2, client);
      expect(who).toMatchObject({ version: 2, command: "PROXY", client, destinationPort: ports.v2, crc32c: true, sameInExtensions: true, peerIsUnix: true });
      const hex = client === "127.0.0.7" ? "7F000007" : "7F000008";
      expect(who.uniqueId).toMatch(new RegExp(`^${hex}:`));
    }
  });

  it("send-proxy (v1): the TCP client 127.0.0.7 over the Unix hop", async () => {
    expect(await whoFrom(ports.v1, "127.0.0.7")).toMatchObject({ version: 1, command: "PROXY", client: "127.0.0.7", destinationPort: ports.v1, peerIsUnix: true });
  });

  it("answers the HTTP health checks behind their headers: v2 LOCAL, v1 PROXY UNKNOWN (no source either way)", async () => {
    await expect.poll(() => health.filter((h) => h.version === 2).length, { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => health.filter((h) => h.version === 1).length, { timeout: 10_000 }).toBeGreaterThan(0);
    for (const h of health.filter((x) => x.version === 2)) expect(h).toMatchObject({ command: "LOCAL", client: null, crc32c: true });
    // v1 has no LOCAL, and the check's own connection is a Unix one: HAProxy says PROXY UNKNOWN.
    for (const h of health.filter((x) => x.version === 1)) expect(h).toMatchObject({ command: "PROXY", client: null, destinationPort: null });
    expect(await haproxy.serverStatus("v2", "s")).toMatch(/^UP/);
    expect(await haproxy.serverStatus("v1", "s")).toMatch(/^UP/);
    expect(v2.stats().protocolErrors).toBe(0);
    expect(v1.stats().protocolErrors).toBe(0);
  });
});
