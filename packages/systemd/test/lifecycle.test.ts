// notifyLifecycle against fake service managers: socat's UNIX-RECV / ABSTRACT-RECV (a real,
// independent receiver) and a koffi-bound datagram socket (each message whole, with its time).
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, hasCommand } from "@tako/test-kit";
import { activate, NotifyReceiver, tempDir, Watched } from "../src/test-support.ts";

const linux = process.platform === "linux";
const activation = linux && hasCommand("systemd-socket-activate");
const socat = hasCommand("socat");
if (!activation) console.warn("[skip] notifyLifecycle tests: systemd-socket-activate is missing (Debian package systemd) or this is not Linux");
if (!socat) console.warn("[skip] socat receiver tests: socat is missing (Debian package socat)");

const running: Watched[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) {
    child.kill("SIGKILL");
    await child.exited;
  }
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function track(child: Watched): Watched {
  running.push(child);
  return child;
}

async function poll(test: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Starts the service on a fresh TCP port and makes the first connection, which launches it. */
async function launch(env: Record<string, string>) {
  const port = await freePort();
  const service = track(activate(["-l", `127.0.0.1:${port}`, "--fdname=web"], env));
  await service.stderr("Listening on");
  const client = connect(port, "127.0.0.1");
  await once(client, "connect");
  client.setEncoding("utf8");
  client.on("error", () => {});
  return { service, client, port };
}

describe.runIf(activation && socat)("notifyLifecycle with socat as the manager", () => {
  it("READY=1 after bind, STOPPING=1 at drain start, EXTEND_TIMEOUT_USEC while a long drain runs (socket path)", async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const path = dir.path("notify.sock");
    const manager = track(new Watched(["socat", "-u", `UNIX-RECV:${path}`, "STDOUT"]));
    await poll(() => existsSync(path), "socat's socket");
    const { service, client } = await launch({ NOTIFY_SOCKET: path, TAKO_TEST_SLOW_MS: "700" });
    let reply = "";
    client.on("data", (chunk: string) => (reply += chunk));
    client.write("slow\n");
    await poll(() => reply === "waiting\n", "the slow handler");
    await service.event("ready");
    // socat writes the datagrams back to back (sd_notify messages carry no terminator).
    await poll(() => manager.raw.includes("READY=1"), "READY=1");
    expect(manager.raw).toMatch(/^READY=1\nSTATUS=listening on 127\.0\.0\.1:\d+$/);
    expect(manager.raw).not.toContain("STOPPING");
    service.kill("SIGTERM");
    await service.event("finished");
    expect(reply).toBe("waiting\nbye\n");
    const stream = manager.raw;
    const stoppingAt = stream.indexOf("STOPPING=1\nSTATUS=draining");
    expect(stoppingAt).toBeGreaterThan(0);
    // Sent at drain start and every 100 ms (the fixture's extendInterval) through a 700 ms drain.
    const extensions = stream.slice(stoppingAt).match(/EXTEND_TIMEOUT_USEC=300000/g) ?? [];
    expect(extensions.length).toBeGreaterThanOrEqual(3);
  });

  it("reaches an abstract NOTIFY_SOCKET (@name)", async () => {
    const name = `tako-sd-test-${process.pid}`;
    const manager = track(new Watched(["socat", "-u", `ABSTRACT-RECV:${name}`, "STDOUT"]));
    await poll(() => readFileSync("/proc/net/unix", "utf8").includes(`@${name}`), "socat's abstract socket");
    const { service, client } = await launch({ NOTIFY_SOCKET: `@${name}` });
    client.destroy();
    await service.event("ready");
    await poll(() => manager.raw.includes("READY=1"), "READY=1");
    service.kill("SIGTERM");
    await poll(() => manager.raw.includes("STOPPING=1"), "STOPPING=1");
  });
});

describe.runIf(activation)("notifyLifecycle watchdog (koffi-bound receiver)", () => {
  function receiver(): NotifyReceiver {
    const dir = tempDir();
    const r = new NotifyReceiver(dir.path("n.sock"));
    cleanups.push(() => {
      r.close();
      dir.remove();
    });
    return r;
  }

  it("WATCHDOG=1 every WATCHDOG_USEC/2 while the loop runs, none while it is blocked", async () => {
    const r = receiver();
    const { service, client } = await launch({ NOTIFY_SOCKET: r.target, WATCHDOG_USEC: "200000", TAKO_TEST_BLOCK_MS: "1000" });
    client.destroy();
    await service.event("unblocked");
    await r.waitFor((t) => t === "X_TAKO_BLOCK=end");
    const texts = r.texts();
    const start = texts.indexOf("X_TAKO_BLOCK=start");
    const end = texts.indexOf("X_TAKO_BLOCK=end");
    // Datagrams on one socket keep their order: nothing between the markers means no ping went out.
    expect(texts.slice(start + 1, end)).toEqual([]);
    // Before the block (about 500 ms after READY at 100 ms intervals) the pings ran.
    const before = texts.slice(0, start).filter((t) => t === "WATCHDOG=1").length;
    expect(before).toBeGreaterThanOrEqual(2);
    // And they resume after it.
    const seen = r.messages.length;
    await poll(
      () =>
        r
          .texts()
          .slice(seen)
          .filter((t) => t === "WATCHDOG=1").length >= 3,
      "pings after the block",
    );
    // Timing: a window of 1 s after the block holds about 10 pings at 100 ms; a loaded machine may
    // delay some, so at least 4 and at most 12.
    const at = performance.now();
    await new Promise((done) => setTimeout(done, 1_000));
    const window = r.messages.filter((m) => m.at > at && m.text === "WATCHDOG=1").length;
    expect(window).toBeGreaterThanOrEqual(4);
    expect(window).toBeLessThanOrEqual(12);
    service.kill("SIGTERM");
    await service.event("finished");
  });

  it("sends no WATCHDOG=1 when WATCHDOG_PID names another process", async () => {
    const r = receiver();
    const { service, client } = await launch({ NOTIFY_SOCKET: r.target, WATCHDOG_USEC: "200000", WATCHDOG_PID: "1" });
    client.destroy();
    await service.event("ready");
    await r.waitFor((t) => t.startsWith("READY=1"));
    await new Promise((done) => setTimeout(done, 600));
    expect(r.texts().filter((t) => t === "WATCHDOG=1")).toEqual([]);
    service.kill("SIGTERM");
    await r.waitFor((t) => t.startsWith("STOPPING=1"));
  });
});
