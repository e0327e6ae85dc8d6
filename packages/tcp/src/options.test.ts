import * as net from "node:net";
import { BAD_BASE_OPTIONS, recordingLogger } from "@tako/test-kit";
import { describe, expect, it } from "vitest";
import { serveTcp } from "@tako/tcp";
import { connect, readAll } from "./test-support.ts";

describe("serveTcp: the options every listener shares (core's checks)", () => {
  it.each(BAD_BASE_OPTIONS)("refuses %s before binding", async (_what, options, field) => {
    // A port that was free a moment ago: it must still be free after the refusal.
    const probe = net.createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => probe.once("listening", resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await expect(serveTcp(`127.0.0.1:${port}`, () => {}, options)).rejects.toMatchObject({ name: "InvalidConfigError", field });
    const again = net.createServer().listen(port, "127.0.0.1");
    await new Promise((resolve, reject) => again.once("listening", resolve).once("error", reject));
    await new Promise((resolve) => again.close(resolve));
  });

  it("a socket 'error' on a connection goes to logger.debug; the process and the server live on", async () => {
    const logger = recordingLogger();
    await using server = await serveTcp("127.0.0.1:0", (socket) => void socket.destroy(new Error("boom")), { logger });
    await readAll(await connect(server.address.port)).catch(() => {});
    await expect.poll(() => logger.records.find((r) => r.msg === "socket error")).toMatchObject({ level: "debug", obj: { kind: "tcp", err: { message: "boom" } } });
    const client = await connect(server.address.port);
    await readAll(client).catch(() => {});
    expect(server.stats().accepted).toBe(2);
  });
});
