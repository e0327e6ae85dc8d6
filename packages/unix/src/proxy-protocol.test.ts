// serveUnix with proxyProtocol (HAProxy's `server app unix@/run/app.sock send-proxy-v2`), real sockets.
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { encodeProxyHeader, InvalidConfigError, serveUnix, UnixPeerAddr, type HandlerContext } from "@tako/unix";
import { connectUnix, exchange } from "./test-support.ts";
import { socketDir } from "@tako/test-kit";

const dir = socketDir();
afterAll(() => dir.remove());

const header = encodeProxyHeader({
  version: 2,
  source: { address: "2001:db8::7", port: 443 },
  destination: { address: "2001:db8::1", port: 8443 },
  tlvs: { authority: "api.example" },
});

describe("serveUnix proxyProtocol", () => {
  it("reads the header first: ctx.proxy has the TCP client, peer stays the UnixPeerAddr, the payload is intact", async () => {
    const seen: { peer: UnixPeerAddr; ctx: HandlerContext }[] = [];
    await using server = await serveUnix(
      dir.path(),
      async (socket, peer, ctx) => {
        seen.push({ peer, ctx });
        const chunks: Buffer[] = [];
        for await (const chunk of socket) chunks.push(chunk as Buffer);
        socket.write(`${ctx.proxy?.source?.address}|${Buffer.concat(chunks).toString()}`);
      },
      { proxyProtocol: true },
    );
    expect(await exchange(server.address, Buffer.concat([header, Buffer.from("payload")]))).toBe("2001:db8::7|payload");
    expect(seen[0]?.peer).toBeInstanceOf(UnixPeerAddr);
    expect(seen[0]?.ctx.proxy).toMatchObject({ version: 2, command: "PROXY", via: null, tlvs: { authority: "api.example" } });
    expect(server.stats()).toMatchObject({ accepted: 1, protocolErrors: 0 });
  });

  it("a missing or malformed header: closed at the timeout or at once, counted, the handler never called", async () => {
    let calls = 0;
    await using server = await serveUnix(dir.path(), () => void calls++, { proxyProtocol: { timeout: 300 } });
    expect(await exchange(server.address, "hello\n")).toBe("");
    const started = performance.now(); // before connecting: the server's deadline starts at its accept
    const quiet = await connectUnix(server.address);
    quiet.on("error", () => {});
    await new Promise((resolve) => quiet.once("close", resolve).resume());
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    await expect.poll(() => server.stats().protocolErrors).toBe(2);
    expect(calls).toBe(0);
  });

  it("refuses a trusted list (the socket file's permissions are the trust boundary) before binding", async () => {
    const path = dir.path();
    await expect(serveUnix(path, () => {}, { proxyProtocol: { trusted: ["127.0.0.1"] } as never })).rejects.toThrow(InvalidConfigError);
    await expect(serveUnix(path, () => {}, { proxyProtocol: { untrusted: "direct" } as never })).rejects.toThrow(/for TCP listeners/);
    await expect(serveUnix(path, () => {}, { proxyProtocol: { timeout: -5 } })).rejects.toThrow(/proxyProtocol.timeout/);
    expect(existsSync(path)).toBe(false);
  });
});
