/**
 * `serveUnix` with `proxyProtocol: true` behind the real senders that can reach a Unix socket:
 * HAProxy (`server u unix@<path> send-proxy-v2 ...`, health checks with `check-send-proxy`) and
 * nginx stream (`proxy_pass unix:<path>; proxy_protocol on;`, v1). The TCP client binds its
 * source to 127.0.0.7: the header carries that address across the Unix hop, while the handler's
 * `peer` stays the Unix peer.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange, freePort, proxyDir, skipReason, startHaproxy, startNginx, trickyPayload, type Haproxy, type ProxyProcess } from "@tako/test-kit";
import { nginxProxyProtocolServer, PING_PONG_CHECK, recordingHandler, sha256, type Seen } from "@tako/test-kit";
import { serveUnix, UnixPeerAddr, type Server } from "@tako/unix";

const CLIENT = "127.0.0.7";
const noHaproxy = skipReason("haproxy");
const noNginx = skipReason("nginx-stream");
const quiet = { error() {}, warn() {}, info() {}, debug() {} };

/** A `serveUnix` with the kit's recording handler, answering with the PROXY source it saw. */
async function recordingListener(path: string): Promise<{ server: Server<unknown>; seen: Seen<UnixPeerAddr>[] }> {
  const { seen, handler } = recordingHandler<UnixPeerAddr>((entry) => ({ source: entry.proxy?.source ?? null, bytes: entry.bytes, sha256: entry.sha256 }));
  const server = await serveUnix(path, handler, { proxyProtocol: true, logger: quiet });
  return { server: server as Server<unknown>, seen };
}

const payload = trickyPayload();
const payloadHash = sha256(payload);

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
${PING_PONG_CHECK}
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
    const entry = listener.seen.find((s) => s.proxy?.source?.address === CLIENT) as Seen<UnixPeerAddr>;
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
      stream: () => nginxProxyProtocolServer(port, `unix:${path}`),
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
