// `{ fd }` addresses: what is refused before serving. Serving from a real inherited socket is
// tested under systemd-socket-activate in @tako/systemd (test/activation.test.ts, restart.test.ts).
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidAddressError, InvalidConfigError, serveTcp } from "./index.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const fdOf = (owner: unknown) => (owner as { _handle: { fd: number } })._handle.fd;

describe.runIf(process.platform === "linux")("serveTcp({ fd })", () => {
  it("refuses a UDP socket, naming it", async () => {
    const udp = createSocket("udp4");
    udp.bind(0, "127.0.0.1");
    await once(udp, "listening");
    cleanups.push(() => udp.close());
    const fd = fdOf(udp);
    const error = await serveTcp({ fd }, () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidAddressError);
    expect((error as Error).message).toBe(`serveTcp needs a listening TCP socket, but fd ${fd} is a UDP socket on 127.0.0.1:${udp.address().port}`);
  });

  it("refuses a connected TCP socket and a closed fd", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    cleanups.push(() => new Promise((done) => server.close(done)));
    const client = connect((server.address() as { port: number }).port, "127.0.0.1");
    await once(client, "connect");
    cleanups.push(() => client.destroy());
    await expect(serveTcp({ fd: fdOf(client) }, () => {})).rejects.toThrow(/but fd \d+ is a connected TCP socket/);
    await expect(serveTcp({ fd: 99_999 }, () => {})).rejects.toThrow("fd 99999 is not usable: it is not open in this process");
  });

  it("refuses socket options that only apply when Tako creates the socket", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    cleanups.push(() => new Promise((done) => server.close(done)));
    const error = await serveTcp({ fd: fdOf(server) }, () => {}, { reusePort: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as Error).message).toMatch(/reusePort does not apply to an inherited socket/);
  });
});
