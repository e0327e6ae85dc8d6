import { existsSync, readdirSync } from "node:fs";
import { BAD_BASE_OPTIONS, recordingLogger } from "@tako/test-kit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { serveUnix } from "@tako/unix";
import { connectUnix, socketDir } from "./test-support.ts";

let dirs: ReturnType<typeof socketDir>;
beforeEach(() => {
  dirs = socketDir();
});
afterEach(() => dirs.remove());

describe("serveUnix: the options every listener shares (core's checks)", () => {
  it.each(BAD_BASE_OPTIONS)("refuses %s before any socket file exists", async (_what, options, field) => {
    const path = dirs.path();
    await expect(serveUnix(path, () => {}, options)).rejects.toMatchObject({ name: "InvalidConfigError", field });
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dirs.dir)).toEqual([]);
  });

  it("a socket 'error' on a connection goes to logger.debug; the process and the server live on", async () => {
    const logger = recordingLogger();
    await using server = await serveUnix(dirs.path(), (socket) => void socket.destroy(new Error("boom")), { logger });
    const first = await connectUnix(server.address);
    first.on("error", () => {});
    await expect.poll(() => logger.records.find((r) => r.msg === "socket error")).toMatchObject({ level: "debug", obj: { kind: "unix", err: { message: "boom" } } });
    const second = await connectUnix(server.address);
    second.on("error", () => {});
    await expect.poll(() => server.stats().accepted).toBe(2);
  });
});
