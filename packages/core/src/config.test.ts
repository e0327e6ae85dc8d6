import { describe, expect, it } from "vitest";
import { BuiltServer, DEFAULT_SERVER_CONFIG, validateServerConfig } from "./config.ts";
import { InvalidConfigError } from "./errors.ts";
import { Server } from "./server.ts";

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as InvalidConfigError).code).toBe("ERR_TAKO_INVALID_CONFIG");
    expect((err as Error).message).toContain((err as InvalidConfigError).field);
    return (err as InvalidConfigError).field;
  }
  throw new Error("expected a throw");
}

describe("ServerConfig", () => {
  it("has the documented defaults", () => {
    expect(DEFAULT_SERVER_CONFIG).toEqual({
      drainTimeout: 30_000,
      headersTimeout: 30_000,
      requestTimeout: 300_000,
      keepAlive: true,
      keepAliveTimeout: 5_000,
      maxConnections: Number.POSITIVE_INFINITY,
      maxHeaderSize: 16_384,
      maxBodySize: 1_048_576,
    });
    expect(Object.isFrozen(DEFAULT_SERVER_CONFIG)).toBe(true);
  });

  it("fills defaults, keeps given values and freezes the result", () => {
    const config = validateServerConfig({ drainTimeout: 0, keepAlive: false, maxConnections: 10, maxBodySize: 1 });
    expect(config).toEqual({ ...DEFAULT_SERVER_CONFIG, drainTimeout: 0, keepAlive: false, maxConnections: 10, maxBodySize: 1 });
    expect(Object.isFrozen(config)).toBe(true);
    expect(validateServerConfig()).toEqual(DEFAULT_SERVER_CONFIG);
  });

  it.each([
    ["drainTimeout", -1],
    ["drainTimeout", Number.NaN],
    ["headersTimeout", Number.POSITIVE_INFINITY],
    ["requestTimeout", "100"],
    ["keepAliveTimeout", -0.5],
    ["keepAlive", "yes"],
    ["keepAlive", 1],
    ["maxConnections", 0],
    ["maxConnections", 1.5],
    ["maxHeaderSize", -10],
    ["maxHeaderSize", Number.POSITIVE_INFINITY],
    ["maxBodySize", null],
  ])("rejects %s = %j naming the field", (field, value) => {
    expect(fieldOf(() => validateServerConfig({ [field]: value } as never))).toBe(field);
  });

  it("rejects unknown keys (typos) and non-objects", () => {
    expect(fieldOf(() => validateServerConfig({ drainTimout: 5 } as never))).toBe("drainTimout");
    expect(fieldOf(() => validateServerConfig([] as never))).toBe("ServerConfig");
    expect(fieldOf(() => validateServerConfig("x" as never))).toBe("ServerConfig");
  });

  it("Server.builder() produces a validated, frozen config", () => {
    const built = Server.builder().config({ drainTimeout: 5 }).config({ maxBodySize: 10 }).build();
    expect(built).toBeInstanceOf(BuiltServer);
    expect(built.config.drainTimeout).toBe(5);
    expect(built.config.maxBodySize).toBe(10);
    expect(built.config.keepAlive).toBe(true);
    expect(Object.isFrozen(built.config)).toBe(true);
    expect(() => Server.builder().config({ headersTimeout: -1 }).build()).toThrow(InvalidConfigError);
  });
});
