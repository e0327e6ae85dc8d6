import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { Drain, DrainUnit } from "./drain.ts";
import { InvalidConfigError } from "./errors.ts";

describe("Drain", () => {
  it("an idle drain resolves at once", async () => {
    const drain = new Drain();
    const report = await drain.drain(30_000);
    expect(report.drained).toBe(0);
    expect(report.forced).toBe(0);
    expect(report.durationMs).toBeLessThan(1_000); // at once, not at the 30 s timeout (a bound a loaded CI machine cannot trip)
  });

  it("aborts the shared signal when the drain starts, and every unit sees it", async () => {
    const drain = new Drain();
    const seen: boolean[] = [];
    const units = Array.from({ length: 5 }, () => {
      const unit = drain.track(() => {});
      drain.context.signal.addEventListener("abort", () => {
        seen.push(true);
        unit.done();
      });
      return unit;
    });
    expect(drain.context.signal.aborted).toBe(false);
    expect(drain.active).toBe(5);
    const report = await drain.drain(1_000);
    expect(seen).toHaveLength(5);
    expect(drain.signal.aborted).toBe(true);
    expect(report).toMatchObject({ drained: 5, forced: 0 });
    expect(units).toHaveLength(5);
  });

  it("counts units that finish in time as drained and force-closes the rest at the deadline", async () => {
    const drain = new Drain();
    const fast = drain.track(() => {
      throw new Error("fast unit must not be forced");
    });
    let forcedCalls = 0;
    drain.track(() => forcedCalls++);
    drain.track(() => {
      forcedCalls++;
      throw new Error("a failing forceClose must not stop the others");
    });
    setTimeout(() => fast.done(), 20);
    const started = performance.now();
    const report = await drain.drain(200);
    const elapsed = performance.now() - started;
    expect(report.drained).toBe(1);
    expect(report.forced).toBe(2);
    expect(forcedCalls).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(report.durationMs).toBeGreaterThanOrEqual(190);
    expect(drain.active).toBe(0);
  });

  it("resolves as soon as the last unit ends, not at the deadline", async () => {
    const drain = new Drain();
    const unit = drain.track(() => {});
    setTimeout(() => unit.done(), 30);
    const report = await drain.drain(30_000);
    expect(report).toMatchObject({ drained: 1, forced: 0 });
    expect(report.durationMs).toBeLessThan(5_000);
  });

  it("a unit done after being forced is not counted again; done() twice is harmless", async () => {
    const drain = new Drain();
    const unit = drain.track(() => {});
    const report = await drain.drain(0);
    unit.done();
    unit.done();
    expect(report).toMatchObject({ drained: 0, forced: 1 });
    expect(drain.active).toBe(0);
  });

  it("drain() twice returns the same report", async () => {
    const drain = new Drain();
    const first = drain.drain(10);
    expect(drain.drain(99_999)).toBe(first);
    expect(drain.draining).toBe(true);
  });

  it("rejects a negative or non-finite timeout", () => {
    expect(() => new Drain().drain(-1)).toThrow(InvalidConfigError);
    expect(() => new Drain().drain(Number.NaN)).toThrow(InvalidConfigError);
  });

  it("keeps nothing per unit after it ends: 100 000 units", async () => {
    const drain = new Drain();
    for (let batch = 0; batch < 100; batch++) {
      const units = Array.from({ length: 1_000 }, () => drain.track(() => {}));
      expect(drain.active).toBe(1_000);
      for (const unit of units) unit.done();
      expect(drain.active).toBe(0);
      await sleep(0);
    }
    // A retained reference would show up as active units; memory is checked indirectly through
    // the count, since Drain's only per-unit storage is the set behind `active`.
    expect(drain.active).toBe(0);
    const report = await drain.drain(1_000);
    expect(report).toMatchObject({ drained: 0, forced: 0 });
  });

  it("add() tracks a DrainUnit subclass once; its own forceClose runs at the deadline", async () => {
    const closed: string[] = [];
    class Conn extends DrainUnit {
      readonly name: string;
      constructor(name: string) {
        super();
        this.name = name;
      }
      override forceClose(): void {
        closed.push(this.name);
      }
    }
    const drain = new Drain();
    const a = drain.add(new Conn("a"));
    expect(drain.add(a)).toBe(a);
    drain.add(new Conn("b"));
    const c = drain.add(new Conn("c"));
    expect(drain.active).toBe(3);
    c.done();
    c.done();
    expect(drain.active).toBe(2);
    const report = await drain.drain(20);
    expect(report).toMatchObject({ drained: 0, forced: 2 });
    expect(closed.sort()).toEqual(["a", "b"]);
    a.done(); // after the deadline: harmless
    expect(drain.active).toBe(0);
  });

  it("units finishing in any order (first, middle, last of the list) are each counted once", async () => {
    const drain = new Drain();
    const units = Array.from({ length: 6 }, () => drain.track(() => {}));
    for (const i of [0, 5, 2, 3, 1, 4]) {
      units[i]?.done();
      units[i]?.done();
    }
    expect(drain.active).toBe(0);
    const again = Array.from({ length: 3 }, () => drain.track(() => {}));
    const pending = drain.drain(5_000);
    for (const i of [1, 0, 2]) again[i]?.done();
    expect(await pending).toMatchObject({ drained: 3, forced: 0 });
  });
});
