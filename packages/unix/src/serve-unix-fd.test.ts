// `{ fd }` addresses: what is refused before serving. Serving from a real inherited socket file
// (and leaving it in place) is tested under systemd-socket-activate in @tako/systemd.
import { once } from "node:events";
import { statSync } from "node:fs";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidConfigError, serveUnix } from "./index.ts";
import { socketDir } from "@tako/test-kit";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const fdOf = (owner: unknown) => (owner as { _handle: { fd: number } })._handle.fd;

describe.runIf(process.platform === "linux")("serveUnix({ fd })", () => {
  it("refuses a TCP listener, naming it", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    cleanups.push(() => new Promise((done) => server.close(done)));
    await expect(serveUnix({ fd: fdOf(server) }, () => {})).rejects.toThrow(
      /^serveUnix needs a listening Unix stream socket, but fd \d+ is a listening TCP socket on 127\.0\.0\.1:\d+$/,
    );
  });

  it("refuses mode for an inherited socket file and leaves the file as it was", async () => {
    const dir = socketDir();
    cleanups.push(() => dir.remove());
    const path = dir.path();
    const server = createServer().listen(path);
    await once(server, "listening");
    cleanups.push(() => new Promise((done) => server.close(done)));
    const before = statSync(path);
    const error = await serveUnix({ fd: fdOf(server) }, () => {}, { mode: 0o600 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as Error).message).toBe(`mode cannot apply to the inherited socket ${path} (fd ${fdOf(server)}): its file belongs to whoever created it (systemd: SocketMode=)`);
    expect(statSync(path).mode).toBe(before.mode);
  });
});
