import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { connect, createServer, Server, type Server as NetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidAddressError, UnsupportedError } from "./errors.ts";
import { checkListenFd, inspectFd, isFdAddress, listenOnFd } from "./fd-socket.ts";

/** The fd libuv holds for a handle (`_handle.fd`), for tests only. */
function fdOf(handleOwner: unknown): number {
  const fd = (handleOwner as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) throw new Error("no fd on this handle");
  return fd;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tcpServer(host: string): Promise<NetServer> {
  const server = createServer();
  server.listen(0, host);
  await once(server, "listening");
  cleanups.push(() => new Promise((done) => server.close(done)));
  return server;
}

async function udpSocket(type: "udp4" | "udp6", host: string): Promise<UdpSocket> {
  const socket = createSocket(type);
  socket.bind(0, host);
  await once(socket, "listening");
  cleanups.push(() => new Promise<void>((done) => socket.close(() => done())));
  return socket;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tk-fd-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const linux = process.platform === "linux";

describe.runIf(linux)("inspectFd on Linux (/proc/net)", () => {
  it("reads a listening TCP socket's kind and address, IPv4 and IPv6", async () => {
    const v4 = await tcpServer("127.0.0.1");
    const info = inspectFd(fdOf(v4));
    const port = (v4.address() as { port: number }).port;
    expect(info).toMatchObject({ kind: "tcp", type: "stream", listening: true, family: "IPv4", verified: true, address: { address: "127.0.0.1", port, family: "IPv4" } });
    expect(info.description).toBe(`a listening TCP socket on 127.0.0.1:${port}`);
    const v6 = await tcpServer("::1");
    const port6 = (v6.address() as { port: number }).port;
    expect(inspectFd(fdOf(v6))).toMatchObject({ kind: "tcp", listening: true, family: "IPv6", address: { address: "::1", port: port6, family: "IPv6" } });
  });

  it("tells a connected TCP socket from a listening one", async () => {
    const server = await tcpServer("127.0.0.1");
    const client: Socket = connect((server.address() as { port: number }).port, "127.0.0.1");
    await once(client, "connect");
    cleanups.push(() => client.destroy());
    const info = inspectFd(fdOf(client));
    expect(info).toMatchObject({ kind: "tcp", listening: false });
    expect(info.description).toMatch(/^a connected TCP socket/);
    expect(() => checkListenFd({ fd: info.fd }, "tcp", "serveTcp")).toThrow(/serveTcp needs a listening TCP socket, but fd \d+ is a connected TCP socket/);
  });

  it("reads UDP sockets of both families", async () => {
    const v4 = await udpSocket("udp4", "127.0.0.1");
    expect(inspectFd(fdOf(v4))).toMatchObject({ kind: "udp", type: "dgram", family: "IPv4", address: { address: "127.0.0.1", port: v4.address().port } });
    const v6 = await udpSocket("udp6", "::1");
    expect(inspectFd(fdOf(v6))).toMatchObject({ kind: "udp", family: "IPv6", address: { address: "::1", port: v6.address().port } });
    expect(() => checkListenFd({ fd: fdOf(v4) }, "tcp", "serveTcp")).toThrow(
      new RegExp(`serveTcp needs a listening TCP socket, but fd \\d+ is a UDP socket on 127.0.0.1:${v4.address().port}`),
    );
  });

  it("reads a listening Unix socket's path, and an abstract name as @name", async () => {
    const path = join(tempDir(), "s.sock");
    const server = createServer();
    server.listen(path);
    await once(server, "listening");
    cleanups.push(() => new Promise((done) => server.close(done)));
    expect(inspectFd(fdOf(server))).toMatchObject({ kind: "unix", type: "stream", listening: true, address: path, family: null });
    const name = `tk-fd-${process.pid}`;
    const abstract = createServer();
    abstract.listen(`\0${name}`);
    await once(abstract, "listening");
    cleanups.push(() => new Promise((done) => abstract.close(done)));
    expect(inspectFd(fdOf(abstract))).toMatchObject({ kind: "unix", listening: true, address: `@${name}` });
    expect(() => checkListenFd({ fd: fdOf(abstract) }, "udp", "serveUdp")).toThrow(
      `serveUdp needs a UDP socket, but fd ${fdOf(abstract)} is a listening Unix stream socket (@${name})`,
    );
  });

  it("names a non-socket fd for what it is", () => {
    const file = join(tempDir(), "plain");
    const fd = openSync(file, "w");
    cleanups.push(() => closeSync(fd));
    expect(inspectFd(fd)).toMatchObject({ kind: "other", type: null, description: "a regular file" });
    expect(() => checkListenFd({ fd }, "unix", "serveUnix")).toThrow(`serveUnix needs a listening Unix stream socket, but fd ${fd} is a regular file`);
  });
});

describe("inspectFd input checks", () => {
  it("rejects a negative, fractional or closed fd with InvalidAddressError", () => {
    expect(() => inspectFd(-1)).toThrow(InvalidAddressError);
    expect(() => inspectFd(1.5)).toThrow(/an fd must be an integer/);
    expect(() => inspectFd("3" as unknown as number)).toThrow(/got string/);
    expect(() => inspectFd(99_999)).toThrow("fd 99999 is not usable: it is not open in this process");
  });

  it("off Linux reports a socket as unverified 'other' and lets the listener adopt it", async () => {
    const server = await tcpServer("127.0.0.1");
    const info = inspectFd(fdOf(server), "darwin");
    expect(info).toMatchObject({ kind: "other", verified: false });
  });

  it("isFdAddress recognises { fd } and listenFds entries only", () => {
    expect(isFdAddress({ fd: 3 })).toBe(true);
    expect(isFdAddress({ fd: 3, name: "web", kind: "tcp", address: null })).toBe(true);
    expect(isFdAddress({ host: "::1", port: 0 })).toBe(false);
    expect(isFdAddress("127.0.0.1:80")).toBe(false);
    expect(isFdAddress(null)).toBe(false);
  });
});

describe("listenOnFd (adopting real inherited sockets is tested in @tako/systemd under systemd-socket-activate)", () => {
  it("rejects with a BindError naming the fd when listen fails", async () => {
    const file = join(tempDir(), "plain");
    const fd = openSync(file, "w");
    cleanups.push(() => closeSync(fd));
    const server = createServer();
    await expect(listenOnFd(server, fd)).rejects.toMatchObject({ name: "BindError", message: expect.stringContaining(`fd ${fd}`) });
  });

  // Bun 1.4's node:http ignores `fd` and binds a random TCP port (oven-sh/bun#22559; the real Bun
  // run is the conformance suite's fd.unix-http). Node honours `fd`, so this server reproduces
  // that behaviour: its listen() binds a real random loopback port whatever it is given.
  class ListensElsewhere extends Server {
    override listen(..._args: unknown[]): this {
      return super.listen(0, "127.0.0.1");
    }
  }

  it.runIf(linux).each(["tcp", "unix"] as const)("rejects with UnsupportedError, server closed, when the runtime listened elsewhere than a %s fd", async (kind) => {
    const inherited = kind === "tcp" ? await tcpServer("127.0.0.1") : createServer().listen(join(tempDir(), "held.sock"));
    if (kind === "unix") {
      await once(inherited, "listening");
      cleanups.push(() => new Promise((done) => inherited.close(done)));
    }
    const fd = fdOf(inherited);
    const server = new ListensElsewhere();
    cleanups.push(() => new Promise((done) => (server.listening ? server.close(done) : done(undefined))));
    const error = await listenOnFd(server, fd).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnsupportedError);
    expect(error).toMatchObject({ code: "ERR_TAKO_UNSUPPORTED", feature: "listening on an inherited fd with node:net", runtime: `Node ${process.versions.node}` });
    expect((error as Error).message).toContain(
      kind === "tcp" ? `instead of the inherited TCP port ${(inherited.address() as { port: number }).port}` : "instead of the inherited Unix socket",
    );
    expect(server.listening).toBe(false);
  });

  it("rejects an fd that is not open with the InvalidAddressError of inspectFd, before listening", async () => {
    const server = createServer();
    await expect(listenOnFd(server, 99_999)).rejects.toThrow("fd 99999 is not usable: it is not open in this process");
    expect(server.listening).toBe(false);
  });
});
