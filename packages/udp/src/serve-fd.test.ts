// `{ fd }` addresses: what is refused before serving. Serving from a real inherited socket
// (`systemd-socket-activate -d`) is tested in @tako/systemd (test/activation.test.ts).
import { once } from "node:events";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidAddressError, InvalidConfigError, serveUdp } from "./index.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const fdOf = (owner: unknown) => (owner as { _handle: { fd: number } })._handle.fd;

describe.runIf(process.platform === "linux")("serveUdp({ fd })", () => {
  it("refuses a TCP listener, naming it, and options that only apply to a socket Tako creates", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    cleanups.push(() => new Promise((done) => server.close(done)));
    const fd = fdOf(server);
    const error = await serveUdp({ fd }, () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidAddressError);
    expect((error as Error).message).toBe(`serveUdp needs a UDP socket, but fd ${fd} is a listening TCP socket on 127.0.0.1:${(server.address() as { port: number }).port}`);
    await expect(serveUdp({ fd }, () => {}, { ipv6Only: true })).rejects.toThrow(InvalidConfigError);
  });
});
