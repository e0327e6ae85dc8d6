import { afterEach, describe, expect, it } from "vitest";
import { listenFds } from "./listen-fds.ts";

const KEYS = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] as const;
const saved = Object.fromEntries(KEYS.map((key) => [key, process.env[key]]));
afterEach(() => {
  for (const key of KEYS) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

function setEnv(values: Partial<Record<(typeof KEYS)[number], string>>): void {
  for (const key of KEYS) delete process.env[key];
  Object.assign(process.env, values);
}

const env = () => Object.fromEntries(KEYS.filter((key) => process.env[key] !== undefined).map((key) => [key, process.env[key]]));

// Serving from real passed fds is tested under systemd-socket-activate (test/activation.test.ts).
describe("listenFds (the environment protocol)", () => {
  it("returns [] when not socket-activated", () => {
    setEnv({});
    expect(listenFds()).toEqual([]);
  });

  it("returns [] when LISTEN_PID is another process's, and still clears the variables (as libsystemd)", () => {
    setEnv({ LISTEN_PID: String(process.pid + 1), LISTEN_FDS: "2", LISTEN_FDNAMES: "a:b" });
    expect(listenFds()).toEqual([]);
    expect(env()).toEqual({});
  });

  it("keeps the variables with { unsetEnvironment: false }", () => {
    setEnv({ LISTEN_PID: "1", LISTEN_FDS: "1" });
    expect(listenFds({ unsetEnvironment: false })).toEqual([]);
    expect(env()).toEqual({ LISTEN_PID: "1", LISTEN_FDS: "1" });
  });

  it("a LISTEN_FDNAMES count that disagrees with LISTEN_FDS is a clear error", () => {
    setEnv({ LISTEN_PID: String(process.pid), LISTEN_FDS: "1", LISTEN_FDNAMES: "a:b" });
    expect(() => listenFds()).toThrow(expect.objectContaining({ code: "ERR_TAKO_INVALID_CONFIG", message: 'LISTEN_FDNAMES names 2 socket(s) ("a:b") but LISTEN_FDS=1' }));
    expect(env()).toEqual({});
  });

  it("a LISTEN_FDS that is not a number, or names an fd that is not open, is a clear error", () => {
    setEnv({ LISTEN_PID: String(process.pid), LISTEN_FDS: "two" });
    expect(() => listenFds()).toThrow('LISTEN_FDS="two" is not a number');
    setEnv({ LISTEN_PID: String(process.pid), LISTEN_FDS: "5000" });
    expect(() => listenFds()).toThrow(/LISTEN_FDS=5000, but fd \d+ is not usable: it is not open in this process/);
    setEnv({ LISTEN_PID: String(process.pid), LISTEN_FDS: "0" });
    expect(listenFds()).toEqual([]);
  });

  it("rejects unknown options", () => {
    expect(() => listenFds({ unset: true } as never)).toThrow(/unknown listenFds options key "unset"/);
    expect(() => listenFds({ unsetEnvironment: "no" } as never)).toThrow(/must be a boolean/);
  });
});
