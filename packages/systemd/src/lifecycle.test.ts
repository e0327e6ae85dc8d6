// notifyLifecycle in process, against a koffi-bound receiver; under systemd-socket-activate with
// socat as the manager (and the watchdog) it is tested in test/lifecycle.test.ts.
import { connect } from "node:net";
import { serveTcp } from "@tako/tcp";
import { afterEach, describe, expect, it } from "vitest";
import { notifyLifecycle } from "./lifecycle.ts";
import { NotifyReceiver, tempDir } from "./test-support.ts";

const saved = process.env.NOTIFY_SOCKET;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  if (saved === undefined) delete process.env.NOTIFY_SOCKET;
  else process.env.NOTIFY_SOCKET = saved;
});

function receiver(): NotifyReceiver {
  const dir = tempDir();
  const r = new NotifyReceiver(dir.path("n.sock"));
  cleanups.push(
    () => dir.remove(),
    () => r.close(),
  );
  process.env.NOTIFY_SOCKET = r.target;
  return r;
}

describe.runIf(process.platform === "linux")("notifyLifecycle", () => {
  it("READY=1 once every server is bound, STOPPING=1 at shutdown, EXTEND_TIMEOUT_USEC until the drain is over", async () => {
    const r = receiver();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const a = serveTcp("127.0.0.1:0", async () => held);
    const b = await serveTcp("127.0.0.1:0", () => {});
    using lifecycle = notifyLifecycle(a, b, { extendInterval: 50 });
    expect(await lifecycle.ready).toBe(true);
    const server = await a;
    await r.waitFor((t) => t.startsWith("READY=1"));
    expect(r.texts()).toEqual([`READY=1\nSTATUS=listening on 127.0.0.1:${server.address.port}, 127.0.0.1:${b.address.port}`]);
    // One connection whose handler holds the drain open.
    const client = connect(server.address.port, "127.0.0.1");
    client.on("error", () => {});
    await new Promise((done) => client.once("connect", done));
    await expect.poll(() => server.stats().active).toBe(1);
    const finished = server.shutdown();
    await r.waitFor((t) => t === "STOPPING=1\nSTATUS=draining");
    await expect.poll(() => r.texts().filter((t) => t === "EXTEND_TIMEOUT_USEC=150000").length).toBeGreaterThanOrEqual(3);
    release();
    await finished;
    r.poll(); // whatever was sent before the drain ended
    const extensions = r.texts().length;
    await new Promise((done) => setTimeout(done, 200));
    expect(r.texts().length).toBe(extensions); // the heartbeat stopped with the drain
    client.destroy();
    await b.shutdown();
    // STOPPING=1 is sent once for all servers.
    expect(r.texts().filter((t) => t.startsWith("STOPPING=1"))).toHaveLength(1);
  });

  it("does nothing without NOTIFY_SOCKET", async () => {
    delete process.env.NOTIFY_SOCKET;
    const server = await serveTcp("127.0.0.1:0", () => {});
    using lifecycle = notifyLifecycle(server);
    expect(await lifecycle.ready).toBe(false);
    await server.shutdown();
  });

  it("after dispose, a shutdown sends nothing", async () => {
    const r = receiver();
    const server = await serveTcp("127.0.0.1:0", () => {});
    const lifecycle = notifyLifecycle(server);
    await lifecycle.ready;
    lifecycle[Symbol.dispose]();
    await server.shutdown();
    await new Promise((done) => setTimeout(done, 50));
    expect(r.texts().some((t) => t.startsWith("STOPPING"))).toBe(false);
  });

  it("reports a failed notification once per error code instead of throwing", async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    process.env.NOTIFY_SOCKET = dir.path("nobody.sock");
    const warnings: string[] = [];
    const server = await serveTcp("127.0.0.1:0", () => {});
    using lifecycle = notifyLifecycle(server, { logger: { warn: (_obj, msg) => warnings.push(String(msg)) } });
    expect(await lifecycle.ready).toBe(false);
    await server.shutdown();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^sd_notify failed: sendto failed: ENOENT/);
  });

  it("refuses bad arguments before doing anything", () => {
    expect(() => notifyLifecycle()).toThrow(/at least one server/);
    expect(() => notifyLifecycle({ extendInterval: 0 })).toThrow(/more than 0 ms/);
    expect(() => notifyLifecycle({ bogus: 1 } as never)).toThrow(/unknown notifyLifecycle options key "bogus"/);
    expect(() => notifyLifecycle(42 as never, {})).toThrow(/takes Tako server handles/);
  });
});
