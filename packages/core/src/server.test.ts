import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { describe, expect, it } from "vitest";
import { CHANNELS } from "./diagnostics.ts";
import { Drain } from "./drain.ts";
import { InvalidConfigError } from "./errors.ts";
import { reportHandlerError, ServerHandle } from "./server.ts";

function handle(extra: Partial<ConstructorParameters<typeof ServerHandle<string>>[0]> = {}) {
  const calls: string[] = [];
  const drain = new Drain();
  const server = new ServerHandle<string>({
    kind: "tcp",
    address: "test",
    drain,
    stopAccepting: () => void calls.push("stopAccepting"),
    onDrainStart: () => void calls.push(`onDrainStart aborted=${drain.signal.aborted}`),
    afterDrain: () => void calls.push("afterDrain"),
    ...extra,
  });
  return { server, drain, calls };
}

describe("ServerHandle", () => {
  it("runs the drain sequence in order and settles finished with the report", async () => {
    const { server, drain, calls } = handle();
    const unit = drain.track(() => {});
    setTimeout(() => unit.done(), 10);
    const report = await server.shutdown();
    expect(calls).toEqual(["stopAccepting", "onDrainStart aborted=true", "afterDrain"]);
    expect(report).toMatchObject({ drained: 1, forced: 0 });
    expect(await server.finished).toBe(report);
  });

  it("shutdown twice is safe and returns the same result", async () => {
    const { server, calls } = handle();
    const a = server.shutdown();
    const b = server.shutdown({ drainTimeout: 1 });
    expect(b).toBe(a);
    await a;
    expect(calls.filter((c) => c === "stopAccepting")).toHaveLength(1);
  });

  it("uses the configured drainTimeout, overridable per shutdown", async () => {
    const { server, drain } = handle({ drainTimeout: 20 });
    drain.track(() => {});
    const report = await server.shutdown();
    expect(report.forced).toBe(1);
    expect(report.durationMs).toBeGreaterThanOrEqual(15);
    expect(() => handle({ drainTimeout: -5 })).toThrow(InvalidConfigError);
    const other = handle();
    other.drain.track(() => {});
    expect((await other.server.shutdown({ drainTimeout: 0 })).forced).toBe(1);
  });

  it("shuts down when an AbortSignal aborts", async () => {
    const controller = new AbortController();
    const { server } = handle({ signal: controller.signal });
    controller.abort();
    const report = await server.finished;
    expect(report.forced).toBe(0);
  });

  it("shuts down at once when the AbortSignal is already aborted", async () => {
    const { server } = handle({ signal: AbortSignal.abort() });
    await expect(server.finished).resolves.toMatchObject({ drained: 0, forced: 0 });
  });

  it("shuts down when a promise-like settles, resolved or rejected", async () => {
    let resolve!: () => void;
    const { server } = handle({ signal: new Promise<void>((r) => (resolve = r)) });
    resolve();
    await server.finished;
    const rejected = handle({ signal: Promise.reject(new Error("stop")) });
    await rejected.server.finished;
  });

  it("await using shuts the server down", async () => {
    let calls: string[] = [];
    {
      const made = handle();
      calls = made.calls;
      await using server = made.server;
      expect(server.address).toBe("test");
    }
    expect(calls).toContain("afterDrain");
  });

  it("a failing shutdown step is reported, and finished still resolves", async () => {
    const errors: unknown[] = [];
    const logger = { error: (obj: object) => errors.push(obj), warn() {}, info() {}, debug() {} };
    const { server } = handle({
      logger,
      afterDrain: () => {
        throw new Error("unlink failed");
      },
    });
    await expect(server.shutdown()).resolves.toMatchObject({ forced: 0 });
    expect(errors).toHaveLength(1);
  });

  it("stats reflect counters and active units", () => {
    const { server, drain } = handle();
    drain.track(() => {});
    server.counters.accepted = 3;
    expect(server.stats()).toEqual({ active: 1, accepted: 3, rejected: 0, handlerErrors: 0, protocolErrors: 0 });
  });

  it("publishes listening, shutdown and drain-done on diagnostics_channel", async () => {
    const seen: string[] = [];
    const listeners = [CHANNELS.listening, CHANNELS.shutdown, CHANNELS.drainDone].map((name) => {
      const fn = (message: unknown) => seen.push(`${name}:${(message as { kind: string }).kind}`);
      subscribe(name, fn);
      return [name, fn] as const;
    });
    try {
      const { server } = handle();
      server.announce();
      await server.shutdown();
      expect(seen).toEqual(["tako:listening:tcp", "tako:shutdown:tcp", "tako:drain-done:tcp"]);
    } finally {
      for (const [name, fn] of listeners) unsubscribe(name, fn);
    }
  });

  it("reportHandlerError counts, publishes and logs once with the peer", () => {
    const { server } = handle();
    const published: unknown[] = [];
    const fn = (message: unknown) => published.push(message);
    subscribe(CHANNELS.handlerError, fn);
    const logged: object[] = [];
    const logger = { error: (obj: object) => logged.push(obj), warn() {}, info() {}, debug() {} };
    try {
      const error = new Error("boom");
      const peer = { address: "127.0.0.1", port: 1, family: "IPv4" };
      reportHandlerError(server, "tcp", logger, peer, error);
      expect(server.stats().handlerErrors).toBe(1);
      expect(published).toEqual([{ kind: "tcp", server, peer, error }]);
      expect(logged).toEqual([{ err: error, peer, kind: "tcp" }]);
    } finally {
      unsubscribe(CHANNELS.handlerError, fn);
    }
  });
});
