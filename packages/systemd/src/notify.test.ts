import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extendTimeout, notify, ready, reloading, status, stopping, watchdog, watchdogInterval } from "./notify.ts";
import { NotifyReceiver, tempDir } from "./test-support.ts";

const saved = { ...process.env };
let dir: ReturnType<typeof tempDir>;
const receivers: NotifyReceiver[] = [];

beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  for (const receiver of receivers.splice(0)) receiver.close();
  dir.remove();
  for (const key of ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

function receiver(target: string): NotifyReceiver {
  const r = new NotifyReceiver(target);
  receivers.push(r);
  process.env.NOTIFY_SOCKET = target;
  return r;
}

describe.runIf(process.platform === "linux")("notify", () => {
  it("returns false and sends nothing when NOTIFY_SOCKET is unset", () => {
    delete process.env.NOTIFY_SOCKET;
    expect(notify({ READY: 1 })).toBe(false);
    expect(ready()).toBe(false);
  });

  it("sends one datagram per call to a socket path, fields in order, one per line", async () => {
    const r = receiver(dir.path("notify.sock"));
    expect(notify({ READY: 1, STATUS: "warming up", SKIPPED: undefined })).toBe(true);
    expect(notify("STATUS=as given")).toBe(true);
    expect(status("serving 3 shards")).toBe(true);
    expect(stopping()).toBe(true);
    expect(watchdog()).toBe(true);
    expect(extendTimeout(1_500)).toBe(true);
    await r.waitFor((t) => t.startsWith("EXTEND_TIMEOUT_USEC"));
    expect(r.texts()).toEqual(["READY=1\nSTATUS=warming up", "STATUS=as given", "STATUS=serving 3 shards", "STOPPING=1", "WATCHDOG=1", "EXTEND_TIMEOUT_USEC=1500000"]);
  });

  it("reaches an abstract @name socket", async () => {
    const r = receiver(`@tako-notify-test-${process.pid}`);
    expect(ready("up")).toBe(true);
    expect(await r.waitFor((t) => t.startsWith("READY"))).toBe("READY=1\nSTATUS=up");
  });

  it("reloading carries MONOTONIC_USEC from CLOCK_MONOTONIC", async () => {
    const r = receiver(dir.path("n.sock"));
    const before = process.hrtime.bigint() / 1000n;
    reloading();
    const text = await r.waitFor((t) => t.startsWith("RELOADING"));
    const usec = BigInt(/MONOTONIC_USEC=(\d+)/.exec(text)?.[1] ?? "0");
    expect(usec >= before && usec <= process.hrtime.bigint() / 1000n).toBe(true);
  });

  it("a send with no manager listening is a SystemCallError with the errno name", () => {
    process.env.NOTIFY_SOCKET = dir.path("nobody.sock");
    expect(() => ready()).toThrow(expect.objectContaining({ name: "SystemCallError", code: "ENOENT", syscall: "sendto" }));
  });

  it("refuses bad fields, bad NOTIFY_SOCKET values and bad durations before sending", () => {
    process.env.NOTIFY_SOCKET = dir.path("n.sock");
    expect(() => notify({})).toThrow(/at least one field/);
    expect(() => notify({ ready: 1 })).toThrow(/upper-case/);
    expect(() => notify({ STATUS: "two\nlines" })).toThrow(/one line/);
    expect(() => notify("")).toThrow(/KEY=value/);
    expect(() => extendTimeout(-1)).toThrow(/ms must be a finite number/);
    process.env.NOTIFY_SOCKET = "vsock:2:1234";
    expect(() => ready()).toThrow(/absolute path or @abstract/);
  });
});

describe("watchdogInterval", () => {
  it("is half of WATCHDOG_USEC in ms, for this process only", () => {
    delete process.env.WATCHDOG_USEC;
    expect(watchdogInterval()).toBeUndefined();
    process.env.WATCHDOG_USEC = "200000";
    delete process.env.WATCHDOG_PID;
    expect(watchdogInterval()).toBe(100);
    process.env.WATCHDOG_PID = String(process.pid);
    expect(watchdogInterval()).toBe(100);
    process.env.WATCHDOG_PID = String(process.pid + 1);
    expect(watchdogInterval()).toBeUndefined();
    process.env.WATCHDOG_PID = "";
    process.env.WATCHDOG_USEC = "0";
    expect(watchdogInterval()).toBeUndefined();
  });
});
