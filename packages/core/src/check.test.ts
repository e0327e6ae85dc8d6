import { describe, expect, it } from "vitest";
import {
  checkBacklog,
  checkBaseServeOptions,
  checkBoolean,
  checkCount,
  checkDuration,
  checkFunction,
  checkKnownKeys,
  checkLogger,
  checkOptionsObject,
  checkSignal,
  isAbortSignalLike,
  isThenable,
  reusePortSupported,
} from "./check.ts";
import { InvalidConfigError } from "./errors.ts";

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

const fullLogger = { error() {}, warn() {}, info() {}, debug() {} };

describe("the option checks every listener shares", () => {
  it("checkDuration accepts 0 and finite positives only", () => {
    expect(checkDuration("t", 0)).toBe(0);
    expect(checkDuration("t", 12.5)).toBe(12.5);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, "5s", null]) expect(fieldOf(() => checkDuration("idleTimeout", bad))).toBe("idleTimeout");
  });

  it("checkCount honours min and Infinity", () => {
    expect(checkCount("n", 1)).toBe(1);
    expect(checkCount("n", Number.POSITIVE_INFINITY, { allowInfinity: true })).toBe(Number.POSITIVE_INFINITY);
    expect(fieldOf(() => checkCount("n", Number.POSITIVE_INFINITY))).toBe("n");
    expect(fieldOf(() => checkCount("n", 0))).toBe("n");
    expect(checkCount("n", 0, { min: 0 })).toBe(0);
  });

  it("checkBoolean takes undefined, true and false only", () => {
    expect(checkBoolean("noDelay", undefined)).toBeUndefined();
    expect(checkBoolean("noDelay", false)).toBe(false);
    for (const bad of ["yes", 1, null]) expect(fieldOf(() => checkBoolean("noDelay", bad))).toBe("noDelay");
  });

  it("checkBacklog takes an integer from 0 to 2^31 - 1", () => {
    expect(checkBacklog(undefined)).toBeUndefined();
    expect(checkBacklog(0)).toBe(0);
    expect(checkBacklog(0x7fffffff)).toBe(0x7fffffff);
    for (const bad of [-1, 1.5, 2 ** 31, "511", Number.POSITIVE_INFINITY]) expect(fieldOf(() => checkBacklog(bad))).toBe("backlog");
  });

  it("checkSignal takes an AbortSignal or a promise-like, nothing else", () => {
    const signal = AbortSignal.abort();
    expect(checkSignal(undefined)).toBeUndefined();
    expect(checkSignal(signal)).toBe(signal);
    const promise = Promise.resolve();
    expect(checkSignal(promise)).toBe(promise);
    const thenable = { then() {} };
    expect(checkSignal(thenable)).toBe(thenable);
    for (const bad of ["SIGTERM", 15, null, {}, { aborted: "no", addEventListener() {} }, { addEventListener() {} }]) expect(fieldOf(() => checkSignal(bad))).toBe("signal");
  });

  it("checkLogger wants all four methods and names the missing ones", () => {
    expect(checkLogger(undefined)).toBeUndefined();
    expect(checkLogger(fullLogger)).toBe(fullLogger);
    expect(checkLogger(console)).toBe(console);
    expect(() => checkLogger({ error() {}, warn() {}, info() {} })).toThrow(/missing: debug/);
    expect(() => checkLogger({ error() {} })).toThrow(/missing: warn, info, debug/);
    for (const bad of [null, "pino", console.log, {}, { ...fullLogger, debug: "yes" }]) expect(fieldOf(() => checkLogger(bad))).toBe("logger");
  });

  it("checkBaseServeOptions checks signal, drainTimeout and logger", () => {
    expect(() => checkBaseServeOptions({})).not.toThrow();
    expect(() => checkBaseServeOptions({ signal: AbortSignal.abort(), drainTimeout: 0, logger: fullLogger })).not.toThrow();
    expect(fieldOf(() => checkBaseServeOptions({ drainTimeout: -1 }))).toBe("drainTimeout");
    expect(fieldOf(() => checkBaseServeOptions({ signal: "SIGINT" as never }))).toBe("signal");
    expect(fieldOf(() => checkBaseServeOptions({ logger: { error() {} } as never }))).toBe("logger");
  });

  it("checkOptionsObject refuses null, arrays and primitives", () => {
    const options = {};
    expect(checkOptionsObject("serveTcp options", options)).toBe(options);
    for (const bad of [null, [], 5, "x"]) expect(fieldOf(() => checkOptionsObject("serveTcp options", bad as never))).toBe("options");
    expect(fieldOf(() => checkOptionsObject("ServerConfig", [] as never, "ServerConfig"))).toBe("ServerConfig");
  });

  it("checkFunction refuses anything but a function", () => {
    const handler = () => {};
    expect(checkFunction("handler", handler)).toBe(handler);
    for (const bad of [null, {}, "handler"]) expect(fieldOf(() => checkFunction("handler", bad as never))).toBe("handler");
  });

  it("checkKnownKeys names the unknown key and lists the known ones", () => {
    expect(() => checkKnownKeys("serveTcp options", { signal: 1, bogus: 2 }, ["signal"])).toThrow(/unknown serveTcp options key "bogus"; expected one of: signal/);
  });

  it("reusePortSupported knows the SO_REUSEPORT platforms", () => {
    expect(reusePortSupported("linux")).toBe(true);
    expect(reusePortSupported("freebsd")).toBe(true);
    expect(reusePortSupported("darwin")).toBe(false);
    expect(reusePortSupported("win32")).toBe(false);
  });

  it("isThenable and isAbortSignalLike", () => {
    expect(isThenable(Promise.resolve())).toBe(true);
    expect(isThenable(Object.assign(() => {}, { then() {} }))).toBe(true);
    expect(isThenable({ then: 1 })).toBe(false);
    expect(isThenable(undefined)).toBe(false);
    expect(isAbortSignalLike(new AbortController().signal)).toBe(true);
    expect(isAbortSignalLike(Promise.resolve())).toBe(false);
  });
});
