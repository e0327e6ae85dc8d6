import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { BindError, InvalidAddressError, InvalidConfigError, TakoError, UnsupportedError } from "@tako/core";
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_RECV_BUFFER_SIZE, serveUdp, type ServeUdpOptions, type UdpHandler, type UdpServer } from "@tako/udp";
import { checkReusePortSupport, resolveUdpOptions } from "./options.ts";
import { TestClient } from "./test-support.ts";
import { BAD_BASE_OPTIONS, until } from "@tako/test-kit";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function serve(addr: Parameters<typeof serveUdp>[0], handler: UdpHandler, options?: ServeUdpOptions): Promise<UdpServer> {
  const server = await serveUdp(addr, handler, options);
  cleanup.push(() => server.shutdown({ drainTimeout: 0 }));
  return server;
}

/** A port that was free a moment ago (bound with port 0, then released). */
async function freePort(type: "udp4" | "udp6" = "udp4"): Promise<number> {
  const socket = createSocket(type);
  await new Promise<void>((resolve) => socket.bind(0, type === "udp6" ? "::1" : "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

async function bindRaw(type: "udp4" | "udp6", address: string, port: number, extra: { reusePort?: boolean } = {}): Promise<Socket> {
  const socket = createSocket({ type, ...extra });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, address, () => resolve());
  });
  cleanup.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return socket;
}

const noop: UdpHandler = () => {};

describe("serveUdp: the options every listener shares (core's checks)", () => {
  it.each(BAD_BASE_OPTIONS)("refuses %s before binding", async (_what, options, field) => {
    const port = await freePort();
    await expect(serveUdp(`127.0.0.1:${port}`, noop, options)).rejects.toMatchObject({ name: "InvalidConfigError", field });
    await bindRaw("udp4", "127.0.0.1", port); // still free
  });
});

describe("bad input is rejected before anything is bound", () => {
  const cases: Array<[string, () => Promise<unknown>, new (...args: never[]) => TakoError, string?]> = [
    ["an address without a port", () => serveUdp("127.0.0.1", noop), InvalidAddressError],
    ["a port out of range", () => serveUdp("127.0.0.1:70000", noop), InvalidAddressError],
    ["an unbracketed IPv6 address", () => serveUdp("::1:9000", noop), InvalidAddressError],
    ["junk", () => serveUdp("not an address!", noop), InvalidAddressError],
    ["a handler that is not a function", () => serveUdp("127.0.0.1:0", "echo" as unknown as UdpHandler), InvalidConfigError, "handler"],
    ["options that are not an object", () => serveUdp("127.0.0.1:0", noop, 5 as unknown as ServeUdpOptions), InvalidConfigError, "options"],
    ["an unknown option key", () => serveUdp("127.0.0.1:0", noop, { maxInflight: 5 } as unknown as ServeUdpOptions), InvalidConfigError, "maxInflight"],
    ["maxInFlight 0", () => serveUdp("127.0.0.1:0", noop, { maxInFlight: 0 }), InvalidConfigError, "maxInFlight"],
    ["maxInFlight Infinity", () => serveUdp("127.0.0.1:0", noop, { maxInFlight: Infinity }), InvalidConfigError, "maxInFlight"],
    ["maxInFlight 1.5", () => serveUdp("127.0.0.1:0", noop, { maxInFlight: 1.5 }), InvalidConfigError, "maxInFlight"],
    ["a negative drainTimeout", () => serveUdp("127.0.0.1:0", noop, { drainTimeout: -1 }), InvalidConfigError, "drainTimeout"],
    ["a NaN drainTimeout", () => serveUdp("127.0.0.1:0", noop, { drainTimeout: Number.NaN }), InvalidConfigError, "drainTimeout"],
    ["recvBufferSize 0", () => serveUdp("127.0.0.1:0", noop, { recvBufferSize: 0 }), InvalidConfigError, "recvBufferSize"],
    ["recvBufferSize over 2^31-1", () => serveUdp("127.0.0.1:0", noop, { recvBufferSize: 2 ** 31 }), InvalidConfigError, "recvBufferSize"],
    ["a string sendBufferSize", () => serveUdp("127.0.0.1:0", noop, { sendBufferSize: "64k" as unknown as number }), InvalidConfigError, "sendBufferSize"],
    ["a non-boolean reusePort", () => serveUdp("127.0.0.1:0", noop, { reusePort: 1 as unknown as boolean }), InvalidConfigError, "reusePort"],
    ["a non-boolean ipv6Only", () => serveUdp("127.0.0.1:0", noop, { ipv6Only: "yes" as unknown as boolean }), InvalidConfigError, "ipv6Only"],
    ["ipv6Only with an IPv4 address", () => serveUdp("127.0.0.1:0", noop, { ipv6Only: true }), InvalidConfigError, "ipv6Only"],
    ["a signal that is neither AbortSignal nor promise", () => serveUdp("127.0.0.1:0", noop, { signal: "SIGINT" as unknown as AbortSignal }), InvalidConfigError, "signal"],
    ["a logger without methods", () => serveUdp("127.0.0.1:0", noop, { logger: console.log as unknown as ServeUdpOptions["logger"] }), InvalidConfigError, "logger"],
  ];

  for (const [what, attempt, type, field] of cases) {
    it(`rejects ${what}`, async () => {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(type);
      expect(error).toBeInstanceOf(TakoError);
      if (field !== undefined) expect((error as InvalidConfigError).field).toBe(field);
    });
  }

  it("leaves the port free when it rejects", async () => {
    const port = await freePort();
    await expect(serveUdp(`127.0.0.1:${port}`, noop, { drainTimeout: -1 })).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(serveUdp(`127.0.0.1:${port}`, noop, { recvBufferSize: -1 })).rejects.toBeInstanceOf(InvalidConfigError);
    const socket = await bindRaw("udp4", "127.0.0.1", port);
    expect(socket.address().port).toBe(port);
  });

  it("fills in the documented defaults", () => {
    const resolved = resolveUdpOptions(undefined);
    expect(resolved).toMatchObject({ maxInFlight: DEFAULT_MAX_IN_FLIGHT, recvBufferSize: DEFAULT_RECV_BUFFER_SIZE, reusePort: false, ipv6Only: false, drainTimeout: 30_000 });
    expect(DEFAULT_MAX_IN_FLIGHT).toBe(1024);
    expect(DEFAULT_RECV_BUFFER_SIZE).toBe(4 * 1024 * 1024);
  });
});

describe("binding", () => {
  it("rejects with BindError keeping the OS code when the port is taken (no reusePort)", async () => {
    const first = await serve("127.0.0.1:0", noop);
    const error = await serveUdp(`127.0.0.1:${first.address.port}`, noop).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BindError);
    expect(error).toMatchObject({ code: "EADDRINUSE", syscall: "bind", address: `127.0.0.1:${first.address.port}` });
    expect((error as BindError).errno).toBeTypeOf("number");
  });

  it("rejects with BindError when a host name does not resolve", async () => {
    await expect(serveUdp("no-such-host.invalid:0", noop)).rejects.toBeInstanceOf(BindError);
  });

  it("reusePort lets two servers share a port, and the kernel spreads datagrams among them", async () => {
    const hits = [0, 0];
    const handler =
      (which: 0 | 1): UdpHandler =>
      async (data, peer, socket) => {
        hits[which] = (hits[which] ?? 0) + 1;
        await socket.sendTo(data, peer);
      };
    const a = await serve("127.0.0.1:0", handler(0), { reusePort: true });
    const b = await serve(`127.0.0.1:${a.address.port}`, handler(1), { reusePort: true });
    expect(b.address.port).toBe(a.address.port);
    // SO_REUSEPORT picks a socket by hashing the source address: 32 clients on 32 ports land on
    // both servers except with probability 2^-31.
    for (let i = 0; i < 32; i++) {
      const client = await TestClient.open();
      cleanup.push(() => client.close());
      expect(await client.ask(`client ${i}`, a.address.port)).toBe(`client ${i}`);
    }
    expect((hits[0] ?? 0) + (hits[1] ?? 0)).toBe(32);
    expect(hits[0]).toBeGreaterThan(0);
    expect(hits[1]).toBeGreaterThan(0);
  });

  it("reusePort where the platform lacks it is a clear UnsupportedError", () => {
    expect(() => checkReusePortSupport("darwin", "24.0.0")).toThrow(UnsupportedError);
    expect(() => checkReusePortSupport("win32", "24.0.0")).toThrow(/not supported for UDP on win32/);
    expect(() => checkReusePortSupport("linux", "22.11.0")).toThrow(/needs Node >= 22.12/);
    expect(() => checkReusePortSupport("linux", "23.0.0")).toThrow(UnsupportedError);
    expect(() => checkReusePortSupport("linux", "22.12.0")).not.toThrow();
    expect(() => resolveUdpOptions({ reusePort: true }, "darwin")).toThrow(UnsupportedError);
    expect(() => resolveUdpOptions({ reusePort: false }, "darwin")).not.toThrow();
  });

  it("ipv6Only keeps an IPv6 wildcard off IPv4, so an IPv4 socket can take the same port", async () => {
    const v6only = await serve("[::]:0", noop, { ipv6Only: true });
    const v4 = await bindRaw("udp4", "0.0.0.0", v6only.address.port);
    expect(v4.address().port).toBe(v6only.address.port);

    const dual = await serve("[::]:0", noop);
    await expect(bindRaw("udp4", "0.0.0.0", dual.address.port)).rejects.toMatchObject({ code: "EADDRINUSE" });
  });

  it("a dual-stack server answers IPv4 clients", async () => {
    const server = await serve("[::]:0", async (data, peer, socket) => void (await socket.sendTo(data, peer)));
    const client = await TestClient.open();
    cleanup.push(() => client.close());
    expect(await client.ask("mapped", server.address.port)).toBe("mapped");
  });
});

describe("buffer sizes", () => {
  const rmemMax = (() => {
    try {
      return Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8").trim());
    } catch {
      return undefined;
    }
  })();

  it("asks for a 4 MiB receive buffer by default (capped by the kernel)", async () => {
    const server = await serve("127.0.0.1:0", noop);
    const granted = server.socket.socket.getRecvBufferSize();
    const plain = await bindRaw("udp4", "127.0.0.1", 0);
    if (rmemMax !== undefined && rmemMax > plain.getRecvBufferSize()) expect(granted).toBeGreaterThan(plain.getRecvBufferSize());
    if (rmemMax !== undefined) expect(granted).toBeGreaterThanOrEqual(Math.min(DEFAULT_RECV_BUFFER_SIZE, rmemMax));
  });

  it("applies explicit recvBufferSize and sendBufferSize", async () => {
    const server = await serve("127.0.0.1:0", noop, { recvBufferSize: 65_536, sendBufferSize: 98_304 });
    const raw = server.socket.socket;
    // Linux grants twice the requested size (bookkeeping overhead); other systems grant it as is.
    expect([65_536, 131_072]).toContain(raw.getRecvBufferSize());
    expect([98_304, 196_608]).toContain(raw.getSendBufferSize());
  });

  it("an already-aborted signal binds and shuts down at once", async () => {
    const server = await serveUdp("127.0.0.1:0", noop, { signal: AbortSignal.abort() });
    expect(await server.finished).toMatchObject({ drained: 0, forced: 0 });
    await until(() => server.socket.closed, "the condition holds");
  });
});
