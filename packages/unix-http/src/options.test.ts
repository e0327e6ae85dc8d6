import { existsSync, readdirSync } from "node:fs";
import { BAD_BASE_OPTIONS, recordingLogger, socketDir } from "@tako/test-kit";
import { afterAll, describe, expect, it } from "vitest";
import { Router, Server, serveUnixHttp, spawnUnixHttp } from "@tako/unix-http";

const dir = socketDir();
afterAll(() => dir.remove());

describe("serveUnixHttp: the options every listener shares (core's checks)", () => {
  it.each(BAD_BASE_OPTIONS)("refuses %s before any socket file exists", async (_what, options, field) => {
    const path = dir.path();
    await expect(serveUnixHttp(path, new Router(), options)).rejects.toMatchObject({ name: "InvalidConfigError", field });
    await expect(spawnUnixHttp(path, new Router(), Server.builder().build(), options as never)).rejects.toMatchObject({ name: "InvalidConfigError", field });
    expect(existsSync(path)).toBe(false);
  });

  it.each(BAD_BASE_OPTIONS.filter(([, options]) => "logger" in options))("new Router refuses %s", (_what, options, field) => {
    expect(() => new Router({ logger: options.logger })).toThrow(expect.objectContaining({ name: "InvalidConfigError", field }));
  });

  it("uses every method of a full logger (info when listening and draining)", async () => {
    const logger = recordingLogger();
    const server = await serveUnixHttp(dir.path(), new Router(), { logger });
    await server.shutdown();
    expect(logger.records.map((r) => [r.level, r.msg])).toEqual(
      expect.arrayContaining([
        ["info", "listening"],
        ["info", "drained"],
      ]),
    );
    expect(readdirSync(dir.dir).filter((name) => name.endsWith(".sock"))).toEqual([]);
  });
});
