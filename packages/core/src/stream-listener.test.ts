import { once } from "node:events";
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { BindError, InvalidConfigError, TakoError } from "./errors.ts";
import { toSocketAddress } from "./address.ts";
import type { SocketAddress } from "./address.ts";
import { serveStream, type StreamHandler } from "./stream-listener.ts";
import { STREAM_LISTENER_OPTION_KEYS, validateStreamListenerOptions, type StreamListenerOptions } from "./stream-options.ts";
import type { Logger } from "./logger.ts";
import { captureStderr } from "@tako/test-kit";

function listen(server: net.Server) {
  return new Promise<{ address: ReturnType<typeof toSocketAddress>; release: () => void }>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(new BindError("127.0.0.1:0", error)));
    server.listen(0, "127.0.0.1", () => resolve({ address: toSocketAddress(server.address() as net.AddressInfo), release: () => void released.push(1) }));
  });
}
const released: number[] = [];

function serve(options: StreamListenerOptions = {}, handler: StreamHandler<SocketAddress> = async (socket) => void socket.end("hi")) {
  const server = net.createServer({ allowHalfOpen: true });
  return {
    server,
    handle: serveStream({
      kind: "tcp",
      server,
      handler,
      options,
      bind: listen,
      peerOf: (socket) => toSocketAddress({ address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily }),
    }),
  };
}

async function fetchText(port: number): Promise<string> {
  const client = net.connect(port, "127.0.0.1");
  let text = "";
  client.setEncoding("utf8").on("data", (d: string) => (text += d));
  await once(client, "close");
  return text;
}

describe("validateStreamListenerOptions", () => {
  it("accepts the defaults and sound values", () => {
    expect(() => validateStreamListenerOptions({})).not.toThrow();
    expect(() =>
      validateStreamListenerOptions({
        maxConnections: Number.POSITIVE_INFINITY,
        onMaxConnections: "reject",
        maxQueue: 0,
        queueTimeout: 0,
        idleTimeout: 1,
        drainTimeout: 0,
        signal: AbortSignal.abort(),
      }),
    ).not.toThrow();
  });

  it("names the field at fault", () => {
    const cases: Array<[object, string]> = [
      [{ maxConnections: 0 }, "maxConnections"],
      [{ onMaxConnections: "drop" }, "onMaxConnections"],
      [{ maxQueue: 1.5 }, "maxQueue"],
      [{ queueTimeout: -1 }, "queueTimeout"],
      [{ idleTimeout: Number.POSITIVE_INFINITY }, "idleTimeout"],
      [{ drainTimeout: "5s" }, "drainTimeout"],
      [{ logger: {} }, "logger"],
      [{ signal: 5 }, "signal"],
    ];
    for (const [options, field] of cases) {
      let error: unknown;
      try {
        validateStreamListenerOptions(options as StreamListenerOptions);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).field).toBe(field);
    }
    expect(() => validateStreamListenerOptions(null as unknown as StreamListenerOptions)).toThrow(InvalidConfigError);
  });

  it("lists every option key", () => {
    expect([...STREAM_LISTENER_OPTION_KEYS].sort()).toEqual([
      "drainTimeout",
      "idleTimeout",
      "logger",
      "maxConnections",
      "maxQueue",
      "onMaxConnections",
      "proxyProtocol",
      "queueTimeout",
      "signal",
    ]);
  });
});

describe("serveStream", () => {
  it("drain does not wait for a half-open client once the handler is done and its reply flushed", async () => {
    // The handler stops at shutdown; the client (like `nc`) keeps its side open after our FIN.
    const { handle } = serve({ drainTimeout: 10_000 }, async (socket, _peer, ctx) => {
      socket.write("hello\n");
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
      socket.write("bye\n");
    });
    const server = await handle;
    const early = net.connect({ port: server.address.port, host: "127.0.0.1", allowHalfOpen: true });
    const late = net.connect({ port: server.address.port, host: "127.0.0.1", allowHalfOpen: true });
    let earlyText = "";
    let lateText = "";
    early.setEncoding("utf8").on("data", (d: string) => (earlyText += d));
    late.setEncoding("utf8").on("data", (d: string) => (lateText += d));
    await Promise.all([once(early, "data"), once(late, "data")]);
    const earlyEnded = once(early, "end");
    const lateEnded = once(late, "end");
    const report = await server.shutdown();
    await Promise.all([earlyEnded, lateEnded]);
    expect(report).toMatchObject({ drained: 2, forced: 0 });
    expect(report.durationMs).toBeLessThan(5_000);
    expect(earlyText).toBe("hello\nbye\n");
    expect(lateText).toBe("hello\nbye\n");
    early.destroy();
    late.destroy();
  });

  it("a connection already half-closed by us (handler done, client still open) closes as soon as the drain starts", async () => {
    const { handle } = serve({ drainTimeout: 10_000 }, async (socket) => void socket.write("done\n"));
    const server = await handle;
    const client = net.connect({ port: server.address.port, host: "127.0.0.1", allowHalfOpen: true });
    client.resume();
    await once(client, "end");
    expect(server.stats().active).toBe(1);
    const report = await server.shutdown();
    expect(report).toMatchObject({ drained: 1, forced: 0 });
    expect(report.durationMs).toBeLessThan(5_000);
    client.destroy();
  });

  it("serves, and runs the bind's release after the drain", async () => {
    const before = released.length;
    const { handle } = serve();
    const server = await handle;
    expect(await fetchText(server.address.port)).toBe("hi");
    expect(released.length).toBe(before);
    await server.shutdown();
    expect(released.length).toBe(before + 1);
  });

  it("a bind failure rejects with the BindError and leaves nothing listening", async () => {
    const first = await serve().handle;
    const server = net.createServer();
    const error = await serveStream({
      kind: "tcp",
      server,
      handler: () => {},
      options: {},
      bind: (s) =>
        new Promise((_resolve, reject) => {
          s.once("error", (e: NodeJS.ErrnoException) => reject(new BindError("x", e)));
          s.listen(first.address.port, "127.0.0.1");
        }),
      peerOf: () => null,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "EADDRINUSE" });
    expect(server.listening).toBe(false);
    expect(server.listenerCount("connection")).toBe(0);
    await first.shutdown();
  });

  it("an accept error after listening is logged and never stops the server", async () => {
    const warnings: object[] = [];
    const logger: Logger = { error() {}, warn: (obj) => void warnings.push(obj), info() {}, debug() {} };
    const { server: netServer, handle } = serve({ logger });
    const server = await handle;
    // What net.Server emits when accept(2) fails with an error libuv does not absorb itself.
    const acceptError = Object.assign(new Error("accept ENFILE"), { code: "ENFILE", errno: -23, syscall: "accept" });
    netServer.emit("error", acceptError);
    expect(warnings).toEqual([expect.objectContaining({ err: acceptError, kind: "tcp" })]);
    expect(netServer.listening).toBe(true);
    expect(await fetchText(server.address.port)).toBe("hi");
    await server.shutdown();
  });

  it("without a logger, an accept error goes to stderr once per code", async () => {
    const { server: netServer, handle } = serve();
    const server = await handle;
    const stderr = captureStderr();
    const lines = stderr.lines;
    try {
      for (let i = 0; i < 3; i++) netServer.emit("error", Object.assign(new Error("accept EMFILE"), { code: "EMFILE", syscall: "accept" }));
    } finally {
      stderr.restore();
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("tcp accept failed: EMFILE");
    expect(await fetchText(server.address.port)).toBe("hi");
    await server.shutdown();
  });

  it("serves connections that arrive while bind is still finishing (e.g. after listen, a chmod)", async () => {
    const server = net.createServer({ allowHalfOpen: true });
    let early: Promise<string> | undefined;
    const handle = await serveStream({
      kind: "tcp",
      server,
      handler: async (socket: net.Socket) => void socket.end("early bird"),
      options: {},
      bind: async (s) => {
        const bound = await listen(s);
        early = fetchText(bound.address.port);
        await new Promise((resolve) => setTimeout(resolve, 100)); // the client connects meanwhile
        return bound;
      },
      peerOf: () => null,
    });
    expect(await early).toBe("early bird");
    expect(handle.stats()).toMatchObject({ accepted: 1 });
    await handle.shutdown();
  });

  it("sets the accepted sockets' mode itself: half-open capable and not paused, whatever the server was created with", async () => {
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: false });
    const handle = await serveStream({
      kind: "tcp",
      server,
      handler: async (socket: net.Socket) => {
        let text = "";
        socket.setEncoding("utf8").on("data", (d: string) => (text += d)); // plain 'data' listener
        await once(socket, "end");
        await new Promise((resolve) => setTimeout(resolve, 10));
        socket.write(text.toUpperCase()); // after the client's EOF
      },
      options: {},
      bind: listen,
      peerOf: () => null,
    });
    const client = net.connect(handle.address.port, "127.0.0.1");
    let reply = "";
    client.setEncoding("utf8").on("data", (d: string) => (reply += d));
    client.end("shout");
    await once(client, "close");
    expect(reply).toBe("SHOUT");
    await handle.shutdown();
  });

  it("a peerOf that throws a TakoError refuses the connection: closed before any handler, counted in rejected; other connections are served", async () => {
    const server = net.createServer({ allowHalfOpen: true });
    let n = 0;
    const handled: number[] = [];
    const handle = await serveStream({
      kind: "tcp",
      server,
      handler: async (socket: net.Socket, peer: number) => {
        handled.push(peer);
        socket.end("served");
      },
      options: {},
      bind: listen,
      peerOf: () => {
        n++;
        if (n === 1) throw new TakoError("ERR_TAKO_TEST_REFUSED", "this peer is refused");
        return n;
      },
    });
    expect(await fetchText(handle.address.port)).toBe("");
    expect(await fetchText(handle.address.port)).toBe("served");
    expect(handled).toEqual([2]);
    expect(handle.stats()).toMatchObject({ accepted: 1, rejected: 1, handlerErrors: 0 });
    await handle.shutdown();
  });

  it("rejects a handler that is not a function before binding", async () => {
    const server = net.createServer();
    await expect(serveStream({ kind: "tcp", server, handler: 5 as unknown as () => void, options: {}, bind: listen, peerOf: () => null })).rejects.toBeInstanceOf(
      InvalidConfigError,
    );
    expect(server.listening).toBe(false);
  });
});

/** Connects to `server`, lets `send` write, and resolves with all the server sent until the connection closed. */
async function talk(server: { address: unknown }, send: (client: net.Socket) => void): Promise<string> {
  const client = net.connect((server.address as SocketAddress).port, "127.0.0.1");
  let text = "";
  client.setEncoding("utf8").on("data", (d: string) => (text += d));
  await once(client, "connect");
  send(client);
  await once(client, "close");
  return text;
}

describe("Node internals the stream machine relies on", () => {
  it("Node internal, allowHalfOpen and pauseOnConnect written on a created net.Server: read for every accepted socket", async () => {
    // The listener creates its server without these options; the machine writes the fields.
    const { server, handle } = serve({}, async (socket) => {
      const modes = { allowHalfOpen: socket.allowHalfOpen, paused: socket.isPaused() };
      let got = "";
      for await (const chunk of socket) got += String(chunk);
      socket.end(`${JSON.stringify(modes)} ${got}`); // written after the client's EOF: half-open
    });
    expect((server as net.Server & { allowHalfOpen?: boolean }).allowHalfOpen).toBe(true);
    const started = await handle;
    try {
      expect(await talk(started, (client) => client.end("ping"))).toBe(`{"allowHalfOpen":true,"paused":false} ping`);
    } finally {
      await started.shutdown({ drainTimeout: 0 });
    }
  });

  it("Node internal, socket[Symbol.asyncIterator] replaced by socket.iterator({ destroyOnReturn: false }): breaking out of for await leaves the socket open", async () => {
    const { handle } = serve({}, async (socket) => {
      expect(typeof (socket as net.Socket & { iterator?: unknown }).iterator).toBe("function");
      for await (const chunk of socket) {
        if (String(chunk).includes("\n")) break;
      }
      expect(socket.destroyed).toBe(false);
      socket.end("after the loop");
    });
    const started = await handle;
    try {
      expect(await talk(started, (client) => client.write("line\n"))).toBe("after the loop");
    } finally {
      await started.shutdown({ drainTimeout: 0 });
    }
  });
});
