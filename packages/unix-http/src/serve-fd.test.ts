// `{ fd }` addresses go through @tako/unix's bindUnixSocket; serving a Router from a real socket
// inherited from systemd-socket-activate is the e2e test of examples/systemd.
import { once } from "node:events";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Router, serveUnixHttp } from "./index.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.runIf(process.platform === "linux")("serveUnixHttp({ fd })", () => {
  it("refuses an fd that is not a listening Unix stream socket, naming what it is", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    cleanups.push(() => new Promise((done) => server.close(done)));
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    await expect(serveUnixHttp({ fd }, new Router())).rejects.toThrow(/needs a listening Unix stream socket, but fd \d+ is a listening TCP socket on 127\.0\.0\.1:\d+$/);
  });
});
