import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { CHANNELS, FrameTooLargeError } from "@tako/core";
import { captureStderr, closed, readAll, readBytes, recordingLogger, sleep } from "@tako/test-kit";
import type { StreamHandler } from "@tako/core/listener";
import { TCP, TRANSPORTS } from "./transports.ts";

interface HandlerErrorMessage {
  kind: string;
  peer: unknown;
  error: unknown;
}

const published: HandlerErrorMessage[] = [];
const onHandlerError = (message: unknown) => void published.push(message as HandlerErrorMessage);
subscribe(CHANNELS.handlerError, onHandlerError);
afterEach(() => {
  published.length = 0;
});
process.on("exit", () => unsubscribe(CHANNELS.handlerError, onHandlerError));

const echoOnce: StreamHandler<never> = async (socket) => {
  for await (const chunk of socket) socket.write(chunk);
};

describe.each(TRANSPORTS)("%s: handler results", (_name, t) => {
  it("a resolved promise ends the connection after pending writes flush", async () => {
    const size = 8 * 1024 * 1024;
    const payload = Buffer.alloc(size, 0x61);
    await using server = await t.serve(async (socket) => {
      socket.write(payload); // far more than the socket buffer: most of it is still pending at resolve
    });
    const client = await t.connect(server);
    await sleep(50); // let the handler resolve while the client has read nothing yet
    const got = await readAll(client);
    expect(got.length).toBe(size);
    expect(got.equals(payload)).toBe(true);
    await expect.poll(() => server.stats().active).toBe(0);
  });

  it("a synchronous throw is contained: reported with the peer, connection destroyed, server keeps serving", async () => {
    const logger = recordingLogger();
    let calls = 0;
    await using server = await t.serve(
      (socket) => {
        if (++calls === 1) throw new Error("boom sync");
        return echoOnce(socket, undefined as never, { signal: new AbortController().signal });
      },
      { logger },
    );
    const bad = await t.connect(server);
    const peer = t.peerOf(bad);
    await closed(bad);
    expect(server.stats().handlerErrors).toBe(1);
    expect(published).toHaveLength(1);
    expect(published[0]?.kind).toBe(t.kind);
    expect((published[0]!.error as Error).message).toBe("boom sync");
    expect(published[0]?.peer).toEqual(peer);
    expect(logger.records.filter((r) => r.level === "error")).toHaveLength(1);
    expect(logger.records.find((r) => r.level === "error")?.obj).toMatchObject({ peer, kind: t.kind });
    const good = await t.connect(server);
    good.write("ok");
    expect((await readBytes(good, 2)).toString()).toBe("ok");
    good.end();
  });

  it("a rejection is contained: reported, destroyed, counted; other connections are unaffected", async () => {
    const logger = recordingLogger();
    await using server = await t.serve(
      async (socket) => {
        for await (const chunk of socket) {
          if (String(chunk).includes("fail")) throw new Error("boom async");
          socket.write(chunk);
        }
      },
      { logger },
    );
    const survivor = await t.connect(server);
    survivor.write("a");
    expect((await readBytes(survivor, 1)).toString()).toBe("a");
    const bad = await t.connect(server);
    bad.write("please fail");
    await closed(bad);
    expect(server.stats()).toMatchObject({ handlerErrors: 1, accepted: 2, active: 1 });
    expect(published.map((m) => (m.error as Error).message)).toEqual(["boom async"]);
    survivor.write("b");
    expect((await readBytes(survivor, 1)).toString()).toBe("b");
    survivor.end();
  });

  it("a ProtocolError is the peer's fault: destroyed, counted in protocolErrors, debug only, published on its own channel", async () => {
    const logger = recordingLogger();
    const protocolMessages: unknown[] = [];
    const onProtocolError = (message: unknown) => void protocolMessages.push(message);
    subscribe(CHANNELS.protocolError, onProtocolError);
    const stderr = captureStderr();
    const lines = stderr.lines;
    try {
      for (const withLogger of [true, false]) {
        await using server = await t.serve(
          async (socket) => {
            for await (const chunk of socket) {
              if (String(chunk).includes("garbage")) throw new FrameTooLargeError("line too long", 4, 7);
              socket.write(chunk);
            }
          },
          withLogger ? { logger } : {},
        );
        const bad = await t.connect(server);
        bad.write("garbage");
        await closed(bad);
        await expect.poll(() => server.stats().protocolErrors).toBe(1);
        expect(server.stats()).toMatchObject({ handlerErrors: 0, protocolErrors: 1, active: 0 });
      }
    } finally {
      stderr.restore();
      unsubscribe(CHANNELS.protocolError, onProtocolError);
    }
    expect(published).toHaveLength(0);
    expect(protocolMessages).toHaveLength(2);
    expect(protocolMessages[0]).toMatchObject({ kind: t.kind, error: { code: "ERR_TAKO_FRAME_TOO_LARGE" } });
    expect(logger.records.map((r) => r.level)).toContain("debug");
    expect(logger.records.filter((r) => r.level === "error")).toHaveLength(0);
    expect(lines.join("")).not.toContain("handler failed");
  });

  it("without a logger, a handler error goes to stderr once, with the peer", async () => {
    const stderr = captureStderr();
    const lines = stderr.lines;
    try {
      await using server = await t.serve(async () => {
        throw new Error("to stderr");
      });
      const client = await t.connect(server);
      const peer = t.peerText(client);
      await closed(client);
      await expect.poll(() => lines.length).toBe(1);
      expect(lines[0]).toContain(`${t.kind} handler failed for `);
      expect(lines[0]).toMatch(peer);
      expect(lines[0]).toContain("to stderr");
    } finally {
      stderr.restore();
    }
  });

  it("a handler that returns nothing owns the socket: it stays open after the handler returns", async () => {
    await using server = await t.serve((socket) => {
      setTimeout(() => socket.write("later\n"), 50);
      setTimeout(() => socket.end("bye\n"), 100);
    });
    const client = await t.connect(server);
    expect((await readAll(client)).toString()).toBe("later\nbye\n");
    await expect.poll(() => server.stats().active).toBe(0);
  });

  it("socket.pipe(socket) (a returned stream, not a promise) echoes until the client ends", async () => {
    await using server = await t.serve((socket) => socket.pipe(socket));
    const client = await t.connect(server);
    for (const word of ["one", "two", "three"]) {
      client.write(word);
      expect((await readBytes(client, word.length)).toString()).toBe(word);
      client.resume();
    }
    expect(server.stats().active).toBe(1);
    client.end();
    await closed(client);
    await expect.poll(() => server.stats().active).toBe(0);
    expect(server.stats()).toMatchObject({ accepted: 1, handlerErrors: 0 });
  });
});

describe.each(TRANSPORTS)("%s: half-close", (_name, t) => {
  it("a promise handler can read to the client's EOF and still send its reply", async () => {
    await using server = await t.serve(async (socket) => {
      const chunks: Buffer[] = [];
      for await (const chunk of socket) chunks.push(chunk as Buffer);
      await new Promise((resolve) => setTimeout(resolve, 20));
      socket.write(Buffer.concat(chunks).reverse());
    });
    const client = await t.connect(server);
    client.end("abc"); // like `printf abc | socat - TCP:host:port`
    expect((await readAll(client)).toString()).toBe("cba");
    await expect.poll(() => server.stats().active).toBe(0);
  });

  it("a handler that returns nothing and only listens for 'data' gets it, and the server ends when the client does", async () => {
    await using server = await t.serve((socket) => {
      socket.on("data", (chunk: Buffer) => socket.write(chunk.toString().toUpperCase()));
    });
    const client = await t.connect(server);
    client.write("shout");
    expect((await readBytes(client, 5)).toString()).toBe("SHOUT");
    client.end();
    await closed(client);
    await expect.poll(() => server.stats().active).toBe(0);
  });
});

describe.each(TRANSPORTS)("%s: async iteration", (_name, t) => {
  it("breaking out of `for await` keeps the socket open for a last reply (every Node version)", async () => {
    await using server = await t.serve(async (socket) => {
      for await (const chunk of socket) {
        if (String(chunk).includes("quit")) break;
        socket.write(chunk);
      }
      socket.write("bye\n");
    });
    const client = await t.connect(server);
    const all = readAll(client);
    client.write("one\n");
    await expect.poll(() => client.bytesRead).toBe(4);
    client.write("quit\n");
    expect((await all).toString()).toBe("one\nbye\n");
  });
});

// A reset (RST) is a TCP thing: a Unix socket has no such close.
describe("tcp: handler results", () => {
  const t = TCP;
  it("a client reset is normal: a handler that rejects with ECONNRESET/EPIPE is not reported", async () => {
    const logger = recordingLogger();
    let settled: Promise<unknown> | undefined;
    await using server = await t.serve(
      (socket) => {
        const upper = new Transform({ transform: (chunk, _enc, cb) => cb(null, String(chunk).toUpperCase()) });
        settled = pipeline(socket, upper, socket);
        return settled;
      },
      { logger },
    );
    const client = await t.connect(server);
    client.write("x");
    expect((await readBytes(client, 1)).toString()).toBe("X");
    client.resetAndDestroy();
    await expect(settled).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|EPIPE|ERR_STREAM_PREMATURE_CLOSE/) });
    await expect.poll(() => server.stats().active).toBe(0);
    expect(server.stats().handlerErrors).toBe(0);
    expect(published).toHaveLength(0);
    expect(logger.records.filter((r) => r.level === "error")).toHaveLength(0);
  });
});
