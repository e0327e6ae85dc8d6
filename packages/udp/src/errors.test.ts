import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ClosedError, CHANNELS, type HandlerErrorMessage, type Logger } from "@tako/core";
import { serveUdp, type UdpServer } from "@tako/udp";
import { sleep, TestClient, waitFor } from "./test-support.ts";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
  vi.restoreAllMocks();
});

async function open(): Promise<TestClient> {
  const client = await TestClient.open();
  cleanup.push(() => client.close());
  return client;
}

function recordingLogger(): { logger: Logger; entries: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> } {
  const entries: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> = [];
  const at = (level: string) => (obj: object, msg?: string) => void entries.push({ level, obj: obj as Record<string, unknown>, msg });
  return { logger: { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") }, entries };
}

describe("handler failures", () => {
  it("contains a throw and a rejection: reported on the channel, the logger and the stats; the server keeps serving", async () => {
    const { logger, entries } = recordingLogger();
    const published: HandlerErrorMessage[] = [];
    const onError = (message: unknown) => void published.push(message as HandlerErrorMessage);
    subscribe(CHANNELS.handlerError, onError);
    try {
      const server = await serveUdp(
        "127.0.0.1:0",
        (data, peer, socket) => {
          const text = data.toString();
          if (text === "throw") throw new Error("sync boom");
          if (text === "reject") return Promise.reject(new Error("async boom"));
          return socket.sendTo(data, peer).then(() => {});
        },
        { logger },
      );
      cleanup.push(() => server.shutdown());
      const client = await open();
      await client.send("throw", server.address.port);
      await client.send("reject", server.address.port);
      await waitFor(() => server.stats().handlerErrors === 2);
      expect(await client.ask("still here", server.address.port)).toBe("still here");

      const mine = published.filter((m) => m.server === server);
      expect(mine.map((m) => (m.error as Error).message).sort()).toEqual(["async boom", "sync boom"]);
      for (const m of mine) expect(m).toMatchObject({ kind: "udp", peer: { address: "127.0.0.1", port: client.port } });
      const errors = entries.filter((e) => e.level === "error");
      expect(errors).toHaveLength(2);
      expect(errors[0]).toMatchObject({ msg: "udp handler failed", obj: { kind: "udp", peer: { port: client.port } } });
      expect(server.stats()).toMatchObject({ handlerErrors: 2, accepted: 3, active: 0 });
    } finally {
      unsubscribe(CHANNELS.handlerError, onError);
    }
  });

  it("without a logger writes each handler error to stderr once, with the peer", async () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const server = await serveUdp("127.0.0.1:0", async () => {
      throw new Error("unlogged boom");
    });
    cleanup.push(() => server.shutdown());
    const client = await open();
    await client.send("x", server.address.port);
    await waitFor(() => server.stats().handlerErrors === 1);
    vi.restoreAllMocks();
    const lines = written.filter((line) => line.includes("unlogged boom"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`udp handler failed for 127.0.0.1:${client.port}`);
  });
});

describe("departed peers and socket errors", () => {
  it("replies to peers that have gone (ICMP port unreachable) never stop the server", async () => {
    const { logger, entries } = recordingLogger();
    const sent: number[] = [];
    const server: UdpServer = await serveUdp(
      "127.0.0.1:0",
      async (data, peer, socket) => {
        if (data.toString() === "gone") await sleep(30); // the client closes meanwhile
        sent.push(await socket.sendTo(data, peer));
      },
      { logger },
    );
    cleanup.push(() => server.shutdown());
    for (let i = 0; i < 20; i++) {
      const departed = await TestClient.open();
      await departed.send("gone", server.address.port);
      await departed.close();
    }
    await waitFor(() => sent.length === 20, 10_000, "20 replies to departed peers");
    await sleep(50); // let any ICMP error surface
    const client = await open();
    expect(await client.ask("alive", server.address.port)).toBe("alive");
    expect(sent.slice(0, 20)).toEqual(Array(20).fill(4));
    expect(server.stats()).toMatchObject({ handlerErrors: 0, accepted: 21 });
    expect(entries.filter((e) => e.level === "error")).toEqual([]);
  });

  it("an error event on the socket (as a receive error or an ICMP error on Linux surfaces) is logged, not fatal", async () => {
    const { logger, entries } = recordingLogger();
    const server = await serveUdp("127.0.0.1:0", async (data, peer, socket) => void (await socket.sendTo(data, peer)), { logger });
    cleanup.push(() => server.shutdown());
    // libuv reports receive failures as an 'error' event on the dgram socket; nothing on loopback
    // produces one on demand for an unconnected socket, so emit what it would.
    server.socket.socket.emit("error", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    server.socket.socket.emit("error", Object.assign(new Error("recvmsg ENOMEM"), { code: "ENOMEM" }));
    const client = await open();
    expect(await client.ask("after errors", server.address.port)).toBe("after errors");
    expect(entries.filter((e) => e.level === "debug").map((e) => e.msg)).toEqual(["peer unreachable"]);
    expect(entries.filter((e) => e.level === "warn").map((e) => e.msg)).toEqual(["udp socket error"]);
  });
});

describe("UdpSocket.sendTo", () => {
  it("resolves with the bytes sent", async () => {
    const server = await serveUdp("127.0.0.1:0", () => {});
    cleanup.push(() => server.shutdown());
    const client = await open();
    expect(await server.socket.sendTo("12345", { address: "127.0.0.1", port: client.port })).toBe(5);
    expect((await client.next()).data.toString()).toBe("12345");
  });

  it("sends to a host name as well as to an IP literal", async () => {
    const server = await serveUdp("127.0.0.1:0", () => {});
    cleanup.push(() => server.shutdown());
    const client = await open();
    expect(await server.socket.sendTo("by name", { address: "localhost", port: client.port })).toBe(7);
    const got = await client.next();
    expect(got.data.toString()).toBe("by name");
    expect(got.from.port).toBe(server.address.port);
    await expect(server.socket.sendTo("x", { address: "no-such-host.invalid", port: client.port })).rejects.toMatchObject({ code: "ENOTFOUND" });
  });

  it("rejects with ClosedError after close, never throwing", async () => {
    const server = await serveUdp("127.0.0.1:0", () => {});
    const client = await open();
    await server.shutdown();
    const attempt = server.socket.sendTo("late", { address: "127.0.0.1", port: client.port });
    expect(attempt).toBeInstanceOf(Promise);
    await expect(attempt).rejects.toBeInstanceOf(ClosedError);
    await expect(attempt).rejects.toMatchObject({ code: "ERR_TAKO_CLOSED" });
  });

  it("rejects (not throws) for a datagram too large or a bad port", async () => {
    const server = await serveUdp("127.0.0.1:0", () => {});
    cleanup.push(() => server.shutdown());
    const client = await open();
    await expect(server.socket.sendTo(Buffer.alloc(70_000), { address: "127.0.0.1", port: client.port })).rejects.toMatchObject({ code: "EMSGSIZE" });
    await expect(server.socket.sendTo("x", { address: "127.0.0.1", port: 0 })).rejects.toMatchObject({ code: "ERR_SOCKET_BAD_PORT" });
    expect(await server.socket.sendTo("ok", { address: "127.0.0.1", port: client.port })).toBe(2);
  });
});

describe("UdpSocket.send (fire and forget)", () => {
  it("echoes from a handler that returns at once; nothing counted as failed", async () => {
    const server = await serveUdp("127.0.0.1:0", (data, peer, socket) => socket.send(data, peer));
    cleanup.push(() => server.shutdown());
    const client = await open();
    for (const text of ["one", "two", "three"]) expect(await client.ask(text, server.address.port)).toBe(text);
    expect(server.stats()).toMatchObject({ accepted: 3, active: 0, handlerErrors: 0, sendErrors: 0 });
  });

  it("reports an OS refusal (EMSGSIZE) to the logger and stats().sendErrors, never throwing, and keeps sending", async () => {
    const { logger, entries } = recordingLogger();
    const server = await serveUdp("127.0.0.1:0", () => {}, { logger });
    cleanup.push(() => server.shutdown());
    const client = await open();
    const target = { address: "127.0.0.1", port: client.port };
    expect(server.socket.send(Buffer.alloc(70_000), target)).toBeUndefined();
    await waitFor(() => server.stats().sendErrors === 1);
    const warned = entries.filter((e) => e.msg === "udp send failed");
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: "warn", obj: { kind: "udp", err: { code: "EMSGSIZE" } } });
    server.socket.send("after", target);
    expect((await client.next()).data.toString()).toBe("after");
    expect(server.socket.sendErrors).toBe(1);
  });

  it("logs a persistent failure at most once a second, with the count of the lines it held back", async () => {
    const { logger, entries } = recordingLogger();
    const server = await serveUdp("127.0.0.1:0", () => {}, { logger });
    cleanup.push(() => server.shutdown());
    const target = { address: "127.0.0.1", port: 9 };
    for (let i = 0; i < 50; i++) server.socket.send(Buffer.alloc(70_000), target);
    await waitFor(() => server.stats().sendErrors === 50);
    expect(entries.filter((e) => e.msg === "udp send failed")).toHaveLength(1);
    await sleep(1_050);
    server.socket.send(Buffer.alloc(70_000), target);
    await waitFor(() => server.stats().sendErrors === 51);
    const warned = entries.filter((e) => e.msg === "udp send failed");
    expect(warned).toHaveLength(2);
    expect(warned[1]?.obj).toMatchObject({ kind: "udp", unlogged: 49, err: { code: "EMSGSIZE" } });
  });

  it("after close counts a ClosedError instead of throwing", async () => {
    const { logger, entries } = recordingLogger();
    const server = await serveUdp("127.0.0.1:0", () => {}, { logger });
    const client = await open();
    await server.shutdown();
    expect(() => server.socket.send("late", { address: "127.0.0.1", port: client.port })).not.toThrow();
    expect(server.stats().sendErrors).toBe(1);
    const warned = entries.find((e) => e.msg === "udp send failed");
    expect(warned?.obj.err).toBeInstanceOf(ClosedError);
    await sleep(50);
    expect(client.pending).toBe(0);
  });

  it("throws at once for invalid arguments, as dgram does (a programming error, not a send failure)", async () => {
    const server = await serveUdp("127.0.0.1:0", () => {});
    cleanup.push(() => server.shutdown());
    expect(() => server.socket.send("x", { address: "127.0.0.1", port: 0 })).toThrow(expect.objectContaining({ code: "ERR_SOCKET_BAD_PORT" }));
    expect(() => server.socket.send(42 as unknown as string, { address: "127.0.0.1", port: 9 })).toThrow(TypeError);
    expect(server.stats().sendErrors).toBe(0);
  });
});
