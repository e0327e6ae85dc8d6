import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import {
  BindError,
  ClosedError,
  FrameTooLargeError,
  InvalidAddressError,
  InvalidConfigError,
  InvalidSocketPathError,
  isPeerGone,
  ProtocolError,
  TakoError,
  UnsupportedError,
} from "./errors.ts";

describe("errors", () => {
  it("every Tako error is a TakoError with a stable code and its own name", () => {
    const cases: Array<[TakoError, string, string]> = [
      [new InvalidAddressError("x"), "ERR_TAKO_INVALID_ADDRESS", "InvalidAddressError"],
      [new InvalidConfigError("f", "x"), "ERR_TAKO_INVALID_CONFIG", "InvalidConfigError"],
      [new InvalidSocketPathError("x"), "ERR_TAKO_INVALID_SOCKET_PATH", "InvalidSocketPathError"],
      [new UnsupportedError("x"), "ERR_TAKO_UNSUPPORTED", "UnsupportedError"],
      [new ClosedError("x"), "ERR_TAKO_CLOSED", "ClosedError"],
      [new ProtocolError("x"), "ERR_TAKO_PROTOCOL", "ProtocolError"],
      [new ProtocolError("x", { code: "ERR_TAKO_TRUNCATED_FRAME" }), "ERR_TAKO_TRUNCATED_FRAME", "ProtocolError"],
      [new FrameTooLargeError("x", 10, 11), "ERR_TAKO_FRAME_TOO_LARGE", "FrameTooLargeError"],
    ];
    for (const [err, code, name] of cases) {
      expect(err).toBeInstanceOf(TakoError);
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe(code);
      expect(err.name).toBe(name);
    }
  });

  it("FrameTooLargeError is a ProtocolError carrying the limit and the size", () => {
    const err = new FrameTooLargeError("frame of 4294967295 bytes is over the 1048576-byte limit", 1_048_576, 4_294_967_295);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ limit: 1_048_576, size: 4_294_967_295 });
    const cause = new Error("inner");
    expect(new ProtocolError("x", { cause }).cause).toBe(cause);
  });

  it("BindError keeps the OS code of a real failed listen", async () => {
    const first = createServer();
    await new Promise<void>((resolve) => first.listen(0, "127.0.0.1", resolve));
    const { port } = first.address() as { port: number };
    const second = createServer();
    const cause = await new Promise<NodeJS.ErrnoException>((resolve) => {
      second.once("error", resolve);
      second.listen(port, "127.0.0.1");
    });
    first.close();
    const err = new BindError(`127.0.0.1:${port}`, cause);
    expect(err).toBeInstanceOf(TakoError);
    expect(err.code).toBe("EADDRINUSE");
    expect(err.syscall).toBe("listen");
    expect(err.cause).toBe(cause);
    expect(err.message).toContain(`127.0.0.1:${port}`);
  });

  it("isPeerGone recognises resets and broken pipes only", () => {
    expect(isPeerGone(Object.assign(new Error(), { code: "ECONNRESET" }))).toBe(true);
    expect(isPeerGone(Object.assign(new Error(), { code: "EPIPE" }))).toBe(true);
    expect(isPeerGone(Object.assign(new Error(), { code: "EADDRINUSE" }))).toBe(false);
    expect(isPeerGone(new Error("plain"))).toBe(false);
    expect(isPeerGone(null)).toBe(false);
  });
});
