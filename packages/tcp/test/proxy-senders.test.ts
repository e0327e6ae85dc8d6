/**
 * `serveTcp` with `proxyProtocol` behind the real senders: HAProxy (`send-proxy`,
 * `send-proxy-v2` with `proxy-v2-options crc32c,unique-id,authority`, and its health checks with
 * `check-send-proxy`), nginx stream (`proxy_protocol on`, v1) and `curl --haproxy-protocol`.
 * The client binds its source to 127.0.0.7, so the handler must report 127.0.0.7 while the real
 * socket peer (`ctx.proxy.via`) is the proxy at 127.0.0.1.
 */
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CURL, exchange, freePort, skipReason, startHaproxy, startNginx, trickyPayload, type Haproxy, type ProxyProcess } from "@tako/test-kit";
import { nginxProxyProtocolServer, PING_PONG_CHECK, recordingHandler, sha256, type Seen } from "@tako/test-kit";
import { serveTcp, type Server, type SocketAddress } from "@tako/tcp";
import type { ProxyInfo } from "@tako/core";

const CLIENT = "127.0.0.7";
const noHaproxy = skipReason("haproxy");
const noNginx = skipReason("nginx-stream");
const noCurl = skipReason("curl");

/** Runs curl to completion (killed after 15 s); never rejects, so failures show its output. */
function curl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(CURL as string, args, { timeout: 15_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr });
    });
  });
}

const quiet = { error() {}, warn() {}, info() {}, debug() {} };

/** A `serveTcp` with the kit's recording handler, answering with the peer it saw. */
async function recordingListener(trusted: string[]): Promise<{ server: Server<SocketAddress>; seen: Seen<SocketAddress>[] }> {
  const { seen, handler } = recordingHandler<SocketAddress>((entry) => ({ peer: entry.peer, bytes: entry.bytes, sha256: entry.sha256 }));
  const server = await serveTcp("127.0.0.1:0", handler, { proxyProtocol: { trusted }, logger: quiet });
  return { server, seen };
}

const payload = trickyPayload();
const payloadHash = sha256(payload);

describe.skipIf(noHaproxy !== undefined)("HAProxy 2.6 (mode tcp) in front of serveTcp", () => {
  let listener: Awaited<ReturnType<typeof recordingListener>>;
  let haproxy: Haproxy;
  const ports = { v1: 0, v2: 0 };

  beforeAll(async () => {
    listener = await recordingListener(["127.0.0.1"]);
    ports.v1 = await freePort();
    ports.v2 = await freePort();
    const target = `127.0.0.1:${listener.server.address.port}`;
    haproxy = await startHaproxy({
      config: () => `
frontend v1
  bind 127.0.0.1:${ports.v1}
  default_backend v1
backend v1
${PING_PONG_CHECK}
  server s ${target} send-proxy check check-send-proxy

frontend v2
  bind 127.0.0.1:${ports.v2}
  unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
  default_backend v2
backend v2
${PING_PONG_CHECK}
  server s ${target} send-proxy-v2 proxy-v2-options crc32c,unique-id,authority check check-send-proxy
`,
    });
    // HAProxy's health checks go through the PROXY header phase too: UP means they were accepted.
    await haproxy.waitForStatus("v1", "s", "UP");
    await haproxy.waitForStatus("v2", "s", "UP");
  });

  afterAll(async () => {
    await haproxy?.stop();
    await listener?.server.shutdown();
  });

  it("send-proxy (v1): the handler sees 127.0.0.7, via is HAProxy at 127.0.0.1, the bytes after the header intact", async () => {
    const answer = JSON.parse((await exchange(ports.v1, payload, { localAddress: CLIENT })).toString()) as { peer: SocketAddress; bytes: number; sha256: string };
    expect(answer).toMatchObject({ peer: { address: CLIENT, family: "IPv4" }, bytes: payload.length, sha256: payloadHash });
    const entry = listener.seen.find((s) => s.peer.address === CLIENT && s.proxy?.version === 1);
    expect(entry?.proxy).toMatchObject({
      version: 1,
      command: "PROXY",
      source: { address: CLIENT },
      destination: { address: "127.0.0.1", port: ports.v1 },
      via: { address: "127.0.0.1" },
    });
    expect(entry?.peer.port).toBe(answer.peer.port);
  });

  it("send-proxy-v2 with crc32c,unique-id,authority: source 127.0.0.7, the CRC32c TLV checked and the unique id delivered", async () => {
    const answer = JSON.parse((await exchange(ports.v2, payload, { localAddress: CLIENT })).toString()) as { peer: SocketAddress; bytes: number; sha256: string };
    expect(answer).toMatchObject({ peer: { address: CLIENT }, bytes: payload.length, sha256: payloadHash });
    const entry = listener.seen.find((s) => s.peer.address === CLIENT && s.proxy?.version === 2);
    const proxy = entry?.proxy as ProxyInfo;
    expect(proxy).toMatchObject({
      version: 2,
      command: "PROXY",
      transport: "STREAM",
      source: { address: CLIENT, port: answer.peer.port },
      destination: { address: "127.0.0.1", port: ports.v2 },
    });
    expect(proxy.via).toMatchObject({ address: "127.0.0.1" });
    // The CRC32c TLV (0x03) is there, and it matched (a mismatch closes the connection unanswered).
    expect(proxy.tlvs.raw.get(0x03)?.length).toBe(4);
    // unique-id-format above: the client's address and port in hex first (127.0.0.7 = 7F000007).
    const port = answer.peer.port.toString(16).toUpperCase().padStart(4, "0");
    expect(proxy.tlvs.uniqueId?.toString()).toMatch(new RegExp(`^7F000007:${port}_7F000001:`));
    // `authority` is the TLS SNI: HAProxy sends it only for TLS clients, so it is absent here.
    expect(proxy.tlvs.authority).toBeNull();
  });

  it("accepts HAProxy's health checks (check-send-proxy): v2 sends LOCAL with its CRC32c, v1 the check's own addresses", async () => {
    // UP (beforeAll) already says every rise-counted check was answered; here is what they sent.
    const checks = () => listener.seen.filter((s) => s.check === true);
    await expect.poll(() => checks().filter((s) => s.proxy?.version === 2).length, { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => checks().filter((s) => s.proxy?.version === 1).length, { timeout: 10_000 }).toBeGreaterThan(0);
    // What Debian's 2.6.12 really sends for v2: LOCAL, family UNSPEC, and the CRC32c TLV asked for.
    for (const local of checks().filter((s) => s.proxy?.version === 2)) {
      expect(local.proxy).toMatchObject({ version: 2, command: "LOCAL", transport: "UNSPEC", source: null, destination: null, via: { address: "127.0.0.1" } });
      expect(local.proxy?.tlvs.raw.get(0x03)?.length).toBe(4);
      // LOCAL: the peer is the real socket peer, the checker.
      expect(local.peer).toEqual(local.proxy?.via);
    }
    // v1 has no LOCAL: the check sends PROXY TCP4 with its own connection's addresses.
    for (const v1 of checks().filter((s) => s.proxy?.version === 1)) {
      expect(v1.proxy).toMatchObject({ command: "PROXY", source: { address: "127.0.0.1" }, destination: { address: "127.0.0.1", port: listener.server.address.port } });
      expect(v1.peer).toEqual(v1.proxy?.source);
    }
    expect(await haproxy.serverStatus("v1", "s")).toMatch(/^UP/);
    expect(await haproxy.serverStatus("v2", "s")).toMatch(/^UP/);
    expect(listener.server.stats().protocolErrors).toBe(0);
  });
});

describe.skipIf(noNginx !== undefined)("nginx stream (proxy_protocol on) in front of serveTcp", () => {
  let listener: Awaited<ReturnType<typeof recordingListener>>;
  let nginx: ProxyProcess;
  let port = 0;

  beforeAll(async () => {
    listener = await recordingListener(["127.0.0.1"]);
    port = await freePort();
    nginx = await startNginx({
      stream: () => nginxProxyProtocolServer(port, `127.0.0.1:${listener.server.address.port}`),
    });
  });

  afterAll(async () => {
    await nginx?.stop();
    await listener?.server.shutdown();
  });

  it("sends v1: the handler sees 127.0.0.7 via 127.0.0.1 and the bytes after the header intact", async () => {
    const answer = JSON.parse((await exchange(port, payload, { localAddress: CLIENT })).toString()) as { peer: SocketAddress; bytes: number; sha256: string };
    expect(answer).toMatchObject({ peer: { address: CLIENT }, bytes: payload.length, sha256: payloadHash });
    const entry = listener.seen.find((s) => s.peer.address === CLIENT) as Seen<SocketAddress>;
    expect(entry.proxy).toMatchObject({
      version: 1,
      command: "PROXY",
      source: { address: CLIENT, port: answer.peer.port },
      destination: { address: "127.0.0.1", port },
      via: { address: "127.0.0.1" },
    });
    expect(listener.server.stats().protocolErrors).toBe(0);
  });
});

describe.skipIf(noCurl !== undefined)("curl --haproxy-protocol to serveTcp", () => {
  it("sends a v1 header with its own connection's addresses before the request", async () => {
    const seen: Array<{ peer: SocketAddress; proxy: ProxyInfo | undefined }> = [];
    const server = await serveTcp(
      "127.0.0.1:0",
      async (socket, peer, ctx) => {
        seen.push({ peer, proxy: ctx.proxy });
        // A minimal HTTP/1.1 answer once the request head is in: the header was consumed exactly.
        let head = "";
        for await (const chunk of socket as AsyncIterable<Buffer>) {
          head += chunk.toString("latin1");
          if (head.includes("\r\n\r\n")) break;
        }
        const body = JSON.stringify({ peer, requestLine: head.split("\r\n")[0] });
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      },
      { proxyProtocol: { trusted: [CLIENT] }, logger: quiet },
    );
    try {
      const port = server.address.port;
      const r = await curl(["-sS", "--max-time", "10", "--haproxy-protocol", "--interface", CLIENT, `http://127.0.0.1:${port}/hello`]);
      expect(r.code, r.stderr).toBe(0);
      const body = JSON.parse(r.stdout) as { peer: SocketAddress; requestLine: string };
      expect(body.requestLine).toBe("GET /hello HTTP/1.1");
      expect(body.peer.address).toBe(CLIENT);
      expect(seen[0]?.proxy).toMatchObject({ version: 1, command: "PROXY", source: { address: CLIENT }, destination: { address: "127.0.0.1", port }, via: { address: CLIENT } });
      // The same curl without the header, from the trusted address: rejected, never answered.
      const plain = await curl(["-sS", "--max-time", "10", "--interface", CLIENT, `http://127.0.0.1:${port}/hello`]);
      expect(plain.code).not.toBe(0);
      expect(seen).toHaveLength(1);
      expect(server.stats().protocolErrors).toBe(1);
    } finally {
      await server.shutdown();
    }
  });
});
