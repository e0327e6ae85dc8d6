/**
 * What @tako/unix-http relies on in Node's http server beyond its documented API, each pinned by
 * name so a Node upgrade that changes it fails here first (docs/architecture.md, "Reliance on Node
 * internals"). The drain's `res.finished` toggle is pinned in drain.test.ts.
 */
import * as http from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { Router, serveUnixHttp } from "@tako/unix-http";
import { socketDir } from "@tako/test-kit";
import { rawConnect } from "./test-support.ts";

const dir = socketDir();
afterAll(() => dir.remove());

describe("Node internals @tako/unix-http relies on", () => {
  it("Node internal, http.Server#keepAliveTimeoutBuffer: a number Node adds to keepAliveTimeout; set to 0, an idle connection closes at keepAliveTimeout", async () => {
    const probe = http.createServer();
    expect(typeof (probe as { keepAliveTimeoutBuffer?: unknown }).keepAliveTimeoutBuffer).toBe("number");
    const router = new Router();
    router.get("/", () => "hello");
    const server = await serveUnixHttp(dir.path(), router, { keepAliveTimeout: 200 });
    try {
      const conn = await rawConnect(server.address);
      conn.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      await conn.waitFor("hello");
      const idleSince = performance.now();
      await conn.closed;
      // Node's own buffer (1 s on Node 22 and 24) would keep it open past 1.2 s.
      expect(performance.now() - idleSince).toBeLessThan(1_000);
    } finally {
      await server.shutdown({ drainTimeout: 0 });
    }
  });

  it("Node internal, res.finished: a plain writable field on every ServerResponse (the drain sets it around http.Server#close())", async () => {
    const seen: Array<{ own: boolean; writable: boolean | undefined }> = [];
    const server = http.createServer((_req, res) => {
      const descriptor = Object.getOwnPropertyDescriptor(res, "finished");
      seen.push({ own: descriptor !== undefined, writable: descriptor?.writable });
      res.end("ok");
    });
    const path = dir.path();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      await new Promise<void>((resolve, reject) => http.get({ socketPath: path, path: "/", agent: false }, (res) => res.resume().on("end", resolve)).on("error", reject));
      expect(seen).toEqual([{ own: true, writable: true }]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
