import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import {
  BindError,
  encodeProxyHeader,
  InvalidAddressError,
  InvalidConfigError,
  serveTcp,
  serveTcpWithShutdown,
  serveTcpWithShutdownAndDrain,
  TakoError,
  type SocketAddress,
  type TcpHandler,
} from "@tako/tcp";
import { readAll, readBytes } from "@tako/test-kit";
import { connect, tryConnect } from "./test-support.ts";

const echo: TcpHandler = async (socket) => {
  for await (const chunk of socket) socket.write(chunk);
};

/** Reads a socket option of the server-side socket through a child process that inherits its fd (perl is in every Debian base). */
async function sockopt(socket: net.Socket, level: number, name: number): Promise<number> {
  const script = `open(my $s, "+<&=", 3) or die "open: $!"; my $v = getsockopt($s, ${level}, ${name}) or die "getsockopt: $!"; print unpack("i", $v);`;
  const child = spawn("perl", ["-e", script], { stdio: ["ignore", "pipe", "inherit", socket] });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  const [code] = await once(child, "close");
  expect(code).toBe(0);
  return Number(out);
}

describe("serveTcp", () => {
  it("binds port 0 on IPv4, reports the bound address and hands the handler the peer", async () => {
    const peers: SocketAddress[] = [];
    await using server = await serveTcp("127.0.0.1:0", async (socket, peer) => {
      peers.push(peer);
      socket.end(`${peer.address} ${peer.port} ${peer.family}`);
    });
    expect(server.address).toMatchObject({ address: "127.0.0.1", family: "IPv4" });
    expect(server.address.port).toBeGreaterThan(0);
    const client = await connect(server.address.port);
    const localPort = client.localPort;
    const text = (await readAll(client)).toString();
    expect(text).toBe(`127.0.0.1 ${localPort} IPv4`);
    expect(peers).toEqual([{ address: "127.0.0.1", port: localPort, family: "IPv4" }]);
  });

  it("serves IPv6 on ::1", async () => {
    await using server = await serveTcp("[::1]:0", async (socket, peer) => {
      socket.end(`${peer.family} ${peer.address}`);
    });
    expect(server.address).toMatchObject({ address: "::1", family: "IPv6" });
    const client = await connect(server.address.port, "::1");
    expect((await readAll(client)).toString()).toBe("IPv6 ::1");
  });

  it("a connection reset before its handler started is closed, not handed to the handler without a peer", async () => {
    for (const proxyProtocol of [undefined, { trusted: ["127.0.0.1"] }] as const) {
      const peers: SocketAddress[] = [];
      let blocked = false;
      await using server = await serveTcp(
        "127.0.0.1:0",
        async (socket, peer) => {
          if (!blocked) {
            blocked = true;
            // While this loop is blocked, another process connects and resets: the kernel queues
            // the connection, the reset arrives, and the accept that follows has no peer left.
            const script = `const s = require("node:net").connect(${server.address.port}, "127.0.0.1", () => { s.resetAndDestroy(); setTimeout(() => process.exit(0), 50); });`;
            expect(spawnSync(process.execPath, ["-e", script]).status).toBe(0);
            socket.end("first");
            return;
          }
          peers.push(peer);
          socket.end();
        },
        proxyProtocol === undefined ? {} : { proxyProtocol },
      );
      const first = await connect(server.address.port);
      if (proxyProtocol !== undefined) first.write(encodeProxyHeader({ version: 2, command: "LOCAL" }));
      expect((await readAll(first)).toString()).toBe("first");
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(peers).toEqual([]);
      expect(server.stats()).toMatchObject({ accepted: 1, rejected: 0, protocolErrors: 0, handlerErrors: 0 });
    }
  });

  it("accepts { host, port } and echoes through a real net client", async () => {
    await using server = await serveTcp({ host: "127.0.0.1", port: 0 }, echo);
    const client = await connect(server.address.port);
    client.write("ping\n");
    expect((await readBytes(client, 5)).toString()).toBe("ping\n");
    client.end();
  });

  it("sets TCP_NODELAY by default, and not when noDelay is false", async () => {
    for (const noDelay of [undefined, false]) {
      let serverSide!: net.Socket;
      const options = noDelay === undefined ? {} : { noDelay };
      await using server = await serveTcp("127.0.0.1:0", (socket) => void (serverSide = socket), options);
      const client = await connect(server.address.port);
      await expect.poll(() => serverSide).toBeDefined();
      expect(await sockopt(serverSide, 6 /* IPPROTO_TCP */, 1 /* TCP_NODELAY */)).toBe(noDelay === false ? 0 : 1);
      serverSide.destroy();
      client.destroy();
    }
  });

  it("turns on TCP keep-alive with the initial delay given", async () => {
    let serverSide!: net.Socket;
    await using server = await serveTcp("127.0.0.1:0", (socket) => void (serverSide = socket), { keepAlive: 7_000 });
    const client = await connect(server.address.port);
    await expect.poll(() => serverSide).toBeDefined();
    expect(await sockopt(serverSide, 1 /* SOL_SOCKET */, 9 /* SO_KEEPALIVE */)).toBe(1);
    expect(await sockopt(serverSide, 6 /* IPPROTO_TCP */, 4 /* TCP_KEEPIDLE, seconds */)).toBe(7);
    serverSide.destroy();
    client.destroy();
  });

  it("rejects EADDRINUSE with the OS code, and the first server keeps serving", async () => {
    await using first = await serveTcp("127.0.0.1:0", echo);
    const error = await serveTcp(`127.0.0.1:${first.address.port}`, echo).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BindError);
    expect(error).toBeInstanceOf(TakoError);
    expect((error as BindError).code).toBe("EADDRINUSE");
    expect((error as BindError).address).toBe(`127.0.0.1:${first.address.port}`);
    const client = await connect(first.address.port);
    client.write("still here");
    expect((await readBytes(client, 10)).toString()).toBe("still here");
    client.end();
  });

  it("rejects bad addresses and options before anything binds", async () => {
    const bad: Array<[unknown, unknown]> = [
      ["localhost", InvalidAddressError],
      ["127.0.0.1:70000", InvalidAddressError],
      ["::1:80", InvalidAddressError],
      [-1, InvalidAddressError],
    ];
    for (const [addr, kind] of bad) {
      await expect(serveTcp(addr as string, echo)).rejects.toBeInstanceOf(kind);
    }
    const badOptions: object[] = [
      { drainTimout: 5 },
      { drainTimeout: -1 },
      { idleTimeout: Number.NaN },
      { maxConnections: 0 },
      { maxConnections: 1.5 },
      { onMaxConnections: "drop" },
      { maxQueue: -1 },
      { maxQueue: Number.POSITIVE_INFINITY },
      { queueTimeout: "1s" },
      { noDelay: "yes" },
      { keepAlive: -5 },
      { backlog: -1 },
      { reusePort: 1 },
      { ipv6Only: "true" },
      { logger: console.log },
      { signal: "SIGTERM" },
    ];
    for (const options of badOptions) {
      const error = await serveTcp("127.0.0.1:0", echo, options).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).code).toBe("ERR_TAKO_INVALID_CONFIG");
    }
    await expect(serveTcp("127.0.0.1:0", "not a function" as unknown as TcpHandler)).rejects.toBeInstanceOf(InvalidConfigError);
    // Nothing was bound by any of those: the port a bad call named is still free.
    const probe = net.createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as net.AddressInfo).port;
    probe.close();
    await once(probe, "close");
    await expect(serveTcp(`127.0.0.1:${port}`, echo, { bogus: true } as object)).rejects.toBeInstanceOf(InvalidConfigError);
    expect(await tryConnect(port)).toBe("ECONNREFUSED");
  });

  it("reusePort lets two servers share one port, and both serve", async () => {
    const tag =
      (name: string): TcpHandler =>
      async (socket) =>
        void socket.end(name);
    await using a = await serveTcp("127.0.0.1:0", tag("a"), { reusePort: true });
    await using b = await serveTcp(`127.0.0.1:${a.address.port}`, tag("b"), { reusePort: true });
    expect(b.address.port).toBe(a.address.port);
    const seen = new Set<string>();
    for (let i = 0; i < 200 && seen.size < 2; i++) {
      seen.add((await readAll(await connect(a.address.port))).toString());
    }
    expect([...seen].sort()).toEqual(["a", "b"]);
    // Without reusePort on the second, the port is taken.
    await expect(serveTcp(`127.0.0.1:${a.address.port}`, echo)).rejects.toMatchObject({ code: "EADDRINUSE" });
  });

  it("ipv6Only on [::] refuses IPv4 clients; without it they are accepted", async () => {
    await using dual = await serveTcp("[::]:0", async (socket, peer) => void socket.end(peer.address));
    expect((await readAll(await connect(dual.address.port, "127.0.0.1"))).toString()).toBe("::ffff:127.0.0.1");
    await using v6 = await serveTcp("[::]:0", async (socket) => void socket.end("v6"), { ipv6Only: true });
    expect((await readAll(await connect(v6.address.port, "::1"))).toString()).toBe("v6");
    expect(await tryConnect(v6.address.port, "127.0.0.1")).toBe("ECONNREFUSED");
  });

  it("honours backlog", async () => {
    await using server = await serveTcp("127.0.0.1:0", echo, { backlog: 1 });
    const client = await connect(server.address.port);
    client.write("x");
    expect((await readBytes(client, 1)).toString()).toBe("x");
    client.end();
  });

  it("the named variants shut down on their signal, with the drain timeout given", async () => {
    const controller = new AbortController();
    const a = await serveTcpWithShutdown("127.0.0.1:0", echo, controller.signal);
    const b = await serveTcpWithShutdownAndDrain("127.0.0.1:0", () => new Promise(() => {}), controller.signal, 50);
    const hold = await connect(b.address.port);
    await expect.poll(() => b.stats().active).toBe(1);
    controller.abort();
    expect(await a.finished).toMatchObject({ drained: 0, forced: 0 });
    const report = await b.finished;
    expect(report).toMatchObject({ drained: 0, forced: 1 });
    expect(report.durationMs).toBeGreaterThanOrEqual(40);
    hold.destroy();
  });
});
