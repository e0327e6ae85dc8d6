import * as diagnosticsChannel from "node:diagnostics_channel";
import { existsSync, lstatSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  BindError,
  CHANNELS,
  InvalidConfigError,
  InvalidSocketPathError,
  serveUnix,
  serveUnixWithShutdown,
  serveUnixWithShutdownAndDrain,
  UnixPeerAddr,
  type Server,
  type UnixHandler,
} from "@tako/unix";
import { connectOutcome, connectUnix, exchange } from "./test-support.ts";
import { readBytes, socketDir, staleSocket } from "@tako/test-kit";

let dirs: ReturnType<typeof socketDir>;
const running: Server<string>[] = [];

beforeEach(() => {
  dirs = socketDir();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.shutdown({ drainTimeout: 0 })));
  dirs.remove();
});

async function serve(path: string, handler: UnixHandler, options: Parameters<typeof serveUnix>[2] = {}): Promise<Server<string>> {
  const server = await serveUnix(path, handler, options);
  running.push(server);
  return server;
}

const echo: UnixHandler = async (socket) => {
  for await (const chunk of socket) socket.write(chunk);
};

describe("serveUnix: serving", () => {
  it("echoes over a socket file; address is the path; the peer is an unnamed UnixPeerAddr with this process's credentials", async () => {
    const path = dirs.path();
    const peers: UnixPeerAddr[] = [];
    const server = await serve(path, async (socket, peer) => {
      peers.push(peer);
      for await (const chunk of socket) socket.write(chunk);
    });
    expect(server.address).toBe(path);
    expect(await exchange(path, "hello, unix")).toBe("hello, unix");
    expect(await exchange(path, Buffer.alloc(256 * 1024, 7))).toHaveLength(256 * 1024);
    expect(peers).toHaveLength(2);
    expect(peers[0]).toBeInstanceOf(UnixPeerAddr);
    expect(JSON.stringify(peers[0])).toBe(JSON.stringify({ path: null, pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() }));
    expect(server.stats()).toEqual({ active: 0, accepted: 2, rejected: 0, handlerErrors: 0, protocolErrors: 0 });
  });

  it('a handler may read with socket.on("data"), async iteration or readline, also after waiting in the queue', async () => {
    const path = dirs.path();
    await serve(path, (socket) => void socket.on("data", (chunk) => socket.end(`data:${chunk}`)), { maxConnections: 1 });
    const first = await connectUnix(path);
    const second = await connectUnix(path); // queued until the first closes
    const secondReply = exchange(path, "third"); // queued behind it
    first.write("one");
    expect(String(await readBytes(first, 8))).toBe("data:one");
    second.write("two");
    expect(String(await readBytes(second, 8))).toBe("data:two");
    expect(await secondReply).toBe("data:third");
    const lines = dirs.path();
    await serve(lines, async (socket) => {
      for await (const line of createInterface({ input: socket, crlfDelay: Number.POSITIVE_INFINITY })) socket.write(`line:${line}\n`);
    });
    expect(await exchange(lines, "a\nb\n")).toBe("line:a\nline:b\n");
  });

  it("serves many concurrent connections", async () => {
    const path = dirs.path();
    await serve(path, echo);
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => exchange(path, `msg-${i}`)));
    expect(replies).toEqual(Array.from({ length: 200 }, (_, i) => `msg-${i}`));
  });

  it("serves an abstract @name, reported as @name, reachable at \\0name; the \\0 form works too", async () => {
    const name = `tako-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    const server = await serve(`@${name}`, echo);
    expect(server.address).toBe(`@${name}`);
    expect(await exchange(`\0${name}`, "abstract")).toBe("abstract");
    await server.shutdown();
    expect(await connectOutcome(`\0${name}`)).toBe("ECONNREFUSED");
    const again = await serve(`\0${name}`, echo);
    expect(again.address).toBe(`@${name}`);
    expect(await exchange(`\0${name}`, "again")).toBe("again");
  });

  it("applies mode", async () => {
    const path = dirs.path();
    await serve(path, echo, { mode: 0o600 });
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
  });

  it("publishes listening, connection and connection-closed on diagnostics_channel with kind unix", async () => {
    const path = dirs.path();
    const seen: string[] = [];
    const on = (name: string) => (message: unknown) => {
      const m = message as { kind: string; address?: string; peer?: unknown };
      if (m.kind === "unix" && (m.address === undefined || m.address === path)) seen.push(`${name}:${m.peer instanceof UnixPeerAddr ? "peer" : (m.address ?? "")}`);
    };
    const listeners = [
      [CHANNELS.listening, on("listening")],
      [CHANNELS.connection, on("connection")],
      [CHANNELS.connectionClosed, on("closed")],
    ] as const;
    for (const [channel, fn] of listeners) diagnosticsChannel.subscribe(channel, fn);
    try {
      await serve(path, echo);
      await exchange(path, "x");
      await expect.poll(() => seen).toEqual([`listening:${path}`, "connection:peer", "closed:peer"]);
    } finally {
      for (const [channel, fn] of listeners) diagnosticsChannel.unsubscribe(channel, fn);
    }
  });
});

describe("serveUnix: the socket file", () => {
  it("is gone after a graceful shutdown, and `await using` does the same", async () => {
    const path = dirs.path();
    const server = await serveUnix(path, echo);
    expect(lstatSync(path).isSocket()).toBe(true);
    await server.shutdown();
    expect(existsSync(path)).toBe(false);
    const other = dirs.path();
    {
      await using scoped = await serveUnix(other, echo);
      expect(await exchange(scoped.address, "x")).toBe("x");
    }
    expect(existsSync(other)).toBe(false);
  });

  it("a successor's file survives the predecessor's shutdown", async () => {
    const path = dirs.path();
    const first = await serve(path, async (socket) => void socket.end("first"));
    unlinkSync(path);
    const second = await serve(path, async (socket) => void socket.end("second"));
    const successor = lstatSync(path).ino;
    await first.shutdown();
    expect(lstatSync(path).ino).toBe(successor);
    expect(await exchange(path, "")).toBe("second");
    await second.shutdown();
    expect(existsSync(path)).toBe(false);
  });

  it("replaces a stale socket file left by a killed process", async () => {
    const path = dirs.path();
    await staleSocket(path);
    await serve(path, echo);
    expect(await exchange(path, "fresh")).toBe("fresh");
  });

  it("a second server on a live path gets EADDRINUSE and the first keeps serving", async () => {
    const path = dirs.path();
    await serve(path, async (socket) => void socket.end("first"));
    const error = await serveUnix(path, echo).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BindError);
    expect((error as BindError).code).toBe("EADDRINUSE");
    expect(await exchange(path, "")).toBe("first");
  });

  it("refuses a regular file and a symlink to a live socket, leaving both", async () => {
    const file = dirs.path("file");
    writeFileSync(file, "keep me");
    await expect(serveUnix(file, echo)).rejects.toThrow(/a regular file/);
    expect(readFileSync(file, "utf8")).toBe("keep me");
    const real = dirs.path("real.sock");
    await serve(real, async (socket) => void socket.end("real"));
    const link = dirs.path("link.sock");
    symlinkSync(real, link);
    await expect(serveUnix(link, echo)).rejects.toBeInstanceOf(InvalidSocketPathError);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(await exchange(real, "")).toBe("real");
  });
});

describe("serveUnix: bad input is refused before anything exists", () => {
  it("refuses bare @, empty and 108-byte paths, with no file created", async () => {
    const prefix = `${dirs.dir}/`;
    const room = 108 - Buffer.byteLength(prefix);
    const long = prefix + "ж".repeat(Math.floor(room / 2)) + (room % 2 ? "x" : "");
    expect(Buffer.byteLength(long)).toBe(108);
    for (const path of ["@", "", "\0", long]) {
      const error = await serveUnix(path, echo).catch((e: unknown) => e);
      expect(error, JSON.stringify(path)).toBeInstanceOf(InvalidSocketPathError);
    }
    expect(readdirSync(dirs.dir)).toEqual([]);
  });

  it("refuses unknown keys, bad values and mode on an abstract socket", async () => {
    const path = dirs.path();
    const badOptions: object[] = [
      { mood: 0o600 },
      { drainTimout: 5 },
      { drainTimeout: -1 },
      { idleTimeout: Number.NaN },
      { maxConnections: 0 },
      { onMaxConnections: "drop" },
      { mode: 0o7777 },
      { mode: "0600" },
      { backlog: -1 },
      { logger: console.log },
      { signal: "SIGTERM" },
    ];
    for (const options of badOptions) {
      const error = await serveUnix(path, echo, options).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidConfigError);
    }
    await expect(serveUnix(`@tako-${process.pid}`, echo, { mode: 0o600 })).rejects.toMatchObject({ code: "ERR_TAKO_INVALID_CONFIG", field: "mode" });
    await expect(serveUnix(path, "nope" as unknown as UnixHandler)).rejects.toBeInstanceOf(InvalidConfigError);
    expect(readdirSync(dirs.dir)).toEqual([]);
  });
});

describe("serveUnix: drain (the stream machine's drain, caps and handler results run for Unix too: packages/core/test/stream-*.test.ts)", () => {
  it("the signal option and the named variants shut down on their signal", async () => {
    const controller = new AbortController();
    const a = await serveUnix(dirs.path(), echo, { signal: controller.signal });
    const b = await serveUnixWithShutdown(dirs.path(), echo, controller.signal);
    const c = await serveUnixWithShutdownAndDrain(dirs.path(), () => new Promise(() => {}), controller.signal, 50);
    const held = await connectUnix(c.address);
    held.on("error", () => {});
    await expect.poll(() => c.stats().active).toBe(1);
    controller.abort();
    expect(await a.finished).toMatchObject({ drained: 0, forced: 0 });
    expect(await b.finished).toMatchObject({ drained: 0, forced: 0 });
    expect(await c.finished).toMatchObject({ drained: 0, forced: 1 });
    for (const s of [a, b, c]) expect(existsSync(s.address)).toBe(false);
    let settle!: () => void;
    const d = await serveUnixWithShutdown(dirs.path(), echo, new Promise<void>((r) => (settle = r)));
    settle();
    expect(await d.finished).toMatchObject({ forced: 0 });
    expect(existsSync(d.address)).toBe(false);
  });
});
