// Where the FFI cannot load (here: the platform is not Linux, as on macOS), notify says so
// clearly and listenFds still works (without FD_CLOEXEC). Its own file: the bindings load once
// per module instance.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnsupportedError } from "@tako/core";
import { listenFds } from "./listen-fds.ts";
import { notify } from "./notify.ts";

const platform = Object.getOwnPropertyDescriptor(process, "platform") as PropertyDescriptor;
const saved = process.env.NOTIFY_SOCKET;

beforeAll(() => {
  Object.defineProperty(process, "platform", { ...platform, value: "darwin" });
});
afterAll(() => {
  Object.defineProperty(process, "platform", platform);
  if (saved === undefined) delete process.env.NOTIFY_SOCKET;
  else process.env.NOTIFY_SOCKET = saved;
});

describe("without the native bindings", () => {
  it("notify throws an UnsupportedError saying why, when there is a NOTIFY_SOCKET to send to", () => {
    process.env.NOTIFY_SOCKET = "/run/systemd/notify";
    const error = (() => {
      try {
        notify({ READY: 1 });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UnsupportedError);
    expect((error as Error).message).toBe(
      "sd_notify needs koffi (an FFI with prebuilt binaries, a dependency of @tako/systemd), which could not load: sd_notify and LISTEN_FDS are Linux facilities (this is darwin)",
    );
  });

  it("notify still returns false when NOTIFY_SOCKET is unset", () => {
    delete process.env.NOTIFY_SOCKET;
    expect(notify({ READY: 1 })).toBe(false);
  });

  it("listenFds still reads the environment", () => {
    process.env.LISTEN_PID = String(process.pid + 1);
    process.env.LISTEN_FDS = "1";
    expect(listenFds()).toEqual([]);
    expect(process.env.LISTEN_FDS).toBeUndefined();
  });
});
