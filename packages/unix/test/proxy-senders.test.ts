/**
 * `serveUnix` with `proxyProtocol: true` behind the real senders that can reach a Unix socket:
 * HAProxy (`server u unix@<path> send-proxy-v2 ...`, health checks with `check-send-proxy`) and
 * nginx stream (`proxy_pass unix:<path>; proxy_protocol on;`, v1). The TCP client binds its
 * source to 127.0.0.7: the header carries that address across the Unix hop, while the handler's
 * `peer` stays the Unix peer.
 */
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange, freePort, proxyDir, skipReason, startHaproxy, startNginx, trickyPayload, type Haproxy, type ProxyProcess } from "@tako/test-kit";
import type { ProxyInfo } from "@tako/core";
import { serveUnix, UnixPeerAddr, type Server } from "@tako/unix";

const CLIENT = "127.0.0.7";
const noHaproxy = skipReason("haproxy");
const noNginx = skipReason("nginx-stream");
const quiet = { error() {}, warn() {}, info() {}, debug() {} };

interface Seen {
  readonly peer: UnixPeerAddr;
  readonly proxy: ProxyInfo | undefined;
  bytes: number;
  sha256: string;
  /** A health check: it sent PING and was answered PONG. */
  check?: boolean;
}

/** A Unix listener that reads each connection to its end and answers with what it saw. */
async function recordingListener(path: string): Promise<{ server: Server<unknown>; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = await serveUnix(
    path,
    async (socket, peer, ctx) => {
      const entry: Seen = { peer, proxy: ctx.proxy, bytes: 0, sha256: "" };
      seen.push(entry);
      const hash = createHash("sha256");
      for await (const chunk of socket as AsyncIterable<Buffer>) {
        hash.update(chunk);
        entry.bytes += chunk.length;
        // HAProxy's health check (tcp-check send PING / expect PONG) after its header.
        if (entry.bytes === 6 && chunk.toString() === "PING\r\n") {
          entry.check = true;
          socket.write("PONG\r\n");
          return;
        }
      }
      entry.sha256 = hash.digest("hex");
      socket.write(JSON.stringify({ source: ctx.proxy?.source ?? null, bytes: entry.bytes, sha256: entry.sha256 }));
    },
    { proxyProtocol: true, logger: quiet },
  );
  return { server: server as Server<unknown>, seen };
}

const payload = trickyPayload();
const payloadHash = createHash("sha256").update(payload).digest("hex");

describe.skipIf(noHaproxy !== undefined)("HAProxy 2.6 (mode tcp) in front of serveUnix (server unix@...)", () => {
  const dir = proxyDir("unix-haproxy");
  const path = join(dir, "app.sock");
  let listener: Awaited<ReturnType<typeof recordingListener>>;
  let haproxy: Haproxy;
  let port = 0;

  beforeAll(async () => {
    listener = await recordingListener(path);
    port = await freePort();
    haproxy = await startHaproxy({
      config: () => `
frontend f
  bind 127.0.0.1:${port}
  unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
  default_backend u
backend u
  # Health checks: the PROXY header (check-send-proxy; v2 sends LOCAL), then PING, expecting PONG:
  # UP means the header was accepted and the handler answered on the check's connection.
  option tcp-check
  tcp-check connect default
  tcp-check send PING\\r\\n
  tcp-check expect string PONG
  server u unix@${path} send-proxy-v2 proxy-v2-options crc32c,unique-id check check-send-proxy
`,
    });
    await haproxy.waitForStatus("u", "u", "UP");
  });

  afterAll(async () => {
    await haproxy?.stop();
    await listener?.server.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it("carries the TCP client 127.0.0.7 in a v2 header over the Unix hop, the bytes after it intact", async () => {
    const answer = JSON.parse((await exchange(port, payload, { localAddress: CLIENT })).toString()) as { source: { address: string; port: number }; bytes: number; sha256: string };
    expect(answer).toMatchObject({ source: { address: CLIENT }, bytes: payload.length, sha256: payloadHash });
    const entry = listener.seen.find((s) => s.proxy?.source?.address === CLIENT) as Seen;
    expect(entry.proxy).toMatchObject({ version: 2, command: "PROXY", destination: { address: "127.0.0.1", port }, via: null });
    expect(entry.proxy?.tlvs.raw.get(0x03)?.length).toBe(4);
    expect(entry.proxy?.tlvs.uniqueId?.toString()).toMatch(/^7F000007:/);
    // The handler's peer is still the Unix peer (HAProxy), not an IP address.
    expect(entry.peer).toBeInstanceOf(UnixPeerAddr);
  });

  it("accepts the LOCAL health checks (answered PONG on their connection) and HAProxy keeps the server UP", async () => {
    const checks = () => listener.seen.filter((s) => s.check === true);
    await expect.poll(() => checks().length, { timeout: 10_000 }).toBeGreaterThan(1);
    for (const check of checks()) {
      expect(check.proxy).toMatchObject({ version: 2, command: "LOCAL", source: null, destination: null, via: null });
      expect(check.peer).toBeInstanceOf(UnixPeerAddr);
    }
    expect(await haproxy.serverStatus("u", "u")).toMatch(/^UP/);
    expect(listener.server.stats().protocolErrors).toBe(0);
  });
});

describe.skipIf(noNginx !== undefined)("nginx stream (proxy_pass unix:...; proxy_protocol on) in front of serveUnix", () => {
  const dir = proxyDir("unix-nginx");
  const path = join(dir, "app.sock");
  let listener: Awaited<ReturnType<typeof recordingListener>>;
  let nginx: ProxyProcess;
  let port = 0;

  beforeAll(async () => {
    listener = await recordingListener(path);
    port = await freePort();
    nginx = await startNginx({
      stream: () => `
server {
  listen 127.0.0.1:${port};
  proxy_pass unix:${path};
  proxy_protocol on;
  # The client half-closes after its payload; the answer comes after that.
  proxy_half_close on;
}`,
    });
  });

  afterAll(async () => {
    await nginx?.stop();
    await listener?.server.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends v1 with the TCP client 127.0.0.7, the bytes after the header intact", async () => {
    const answer = JSON.parse((await exchange(port, payload, { localAddress: CLIENT })).toString()) as { source: { address: string }; bytes: number; sha256: string };
    expect(answer).toMatchObject({ source: { address: CLIENT }, bytes: payload.length, sha256: payloadHash });
    expect(listener.seen[0]?.proxy).toMatchObject({ version: 1, command: "PROXY", source: { address: CLIENT }, destination: { address: "127.0.0.1", port } });
    expect(listener.server.stats().protocolErrors).toBe(0);
  });
});
