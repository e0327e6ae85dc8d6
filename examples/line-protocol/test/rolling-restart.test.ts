// Two instances of the example behind a real HAProxy (the shipped haproxy.cfg, ports and the
// stats socket path replaced) and behind nginx (the shipped stream snippet): the instances see
// the client's own address (127.0.0.7), and one instance restarted under load (SIGTERM, drain,
// exit, start again) fails no client request.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort, skipReason, startHaproxy, startNginx, type ProxyProcess } from "@tako/test-kit";
import { buildIfNeeded, EXAMPLE, LineClient, startInstance, type Instance } from "./support.ts";

const CLIENT = "127.0.0.7";
const noHaproxy = skipReason("haproxy");
const noNginx = skipReason("nginx-stream");

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** The shipped HAProxy config with the test's ports and stats socket path. */
function haproxyConfig(front: number, a: number, b: number, dir: string): string {
  return readFileSync(join(EXAMPLE, "haproxy.cfg"), "utf8")
    .replaceAll("127.0.0.1:9100", `127.0.0.1:${front}`)
    .replaceAll("127.0.0.1:9101", `127.0.0.1:${a}`)
    .replaceAll("127.0.0.1:9102", `127.0.0.1:${b}`)
    .replaceAll("/tmp/line-protocol-haproxy.sock", join(dir, "line-protocol.sock"));
}

async function instances(): Promise<[Instance, Instance]> {
  const [pa, pb] = [await freePort(), await freePort()];
  const a = await startInstance("a", `127.0.0.1:${pa}`);
  cleanup.push(() => a.stop());
  const b = await startInstance("b", `127.0.0.1:${pb}`);
  cleanup.push(() => b.stop());
  return [a, b];
}

/** What the load loop saw. */
interface LoadResult {
  pairs: number;
  /** Pairs completed per instance (from the WHO answer of their connection). */
  byInstance: Record<string, number>;
  /** Pairs sent again on a new connection because the old one closed before answering. */
  retried: number;
  /** Connections that ended with `BYE draining`. */
  drainedByes: number;
  failures: string[];
  /** Client addresses the instances reported (WHO). */
  clients: Set<string>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `connections` workers, each: connect from 127.0.0.7, WHO, then up to `perConnection` SET/GET
 * pairs (a fresh key and value each), QUIT, and again. A pair interrupted by a close (the server
 * closes only at a line boundary: it answered every command it ran) is sent again on a new
 * connection, at most 5 times. Any wrong answer is a failure. It runs until `stop()` says so and
 * at least `minPairs` pairs were started; bounded by `maxPairs` and `deadline` in any case.
 * `result` is live: the test reads it while the load runs.
 */
function loadLoop(
  port: number,
  options: { connections: number; perConnection: number; minPairs: number; maxPairs: number; deadline: number; stop: () => boolean },
): { result: LoadResult; done: Promise<LoadResult> } {
  const result: LoadResult = { pairs: 0, byInstance: {}, retried: 0, drainedByes: 0, failures: [], clients: new Set() };
  let started = 0;
  const more = () => !(options.stop() && started >= options.minPairs) && started < options.maxPairs && Date.now() < options.deadline && result.failures.length === 0;
  const worker = async (w: number) => {
    let n = 0;
    let pending: { key: string; value: string; attempts: number } | undefined;
    while (pending !== undefined || more()) {
      if (Date.now() > options.deadline) {
        result.failures.push(`worker ${w}: ${pending?.key ?? "a pair"} not answered by the deadline`);
        return;
      }
      let c: LineClient;
      try {
        c = await LineClient.connect(port, CLIENT);
      } catch (error) {
        result.failures.push(`worker ${w}: connect to HAProxy failed: ${(error as Error).message}`);
        return;
      }
      try {
        const who = await c.command("WHO");
        if (who === null || who === "BYE draining") continue; // closed before answering: a new connection
        const m = /^YOU (\S+):\d+ VIA (\S+) ON (\S+)$/.exec(who);
        if (m === null) {
          result.failures.push(`worker ${w}: WHO answered ${JSON.stringify(who)}`);
          return;
        }
        result.clients.add(m[1] as string);
        const instance = m[3] as string;
        for (let k = 0; k < options.perConnection && (pending !== undefined || more()); k++) {
          if (pending === undefined) {
            started++;
            pending = { key: `w${w}-${n++}`, value: `v${Math.random().toString(36).slice(2)}`, attempts: 0 };
          }
          pending.attempts++;
          const set = await c.command(`SET ${pending.key} ${pending.value}`);
          const get = set === "OK" ? await c.command(`GET ${pending.key}`) : set;
          if (set === null || get === null || get === "BYE draining") {
            if (get === "BYE draining") result.drainedByes++;
            if (pending.attempts >= 5) {
              result.failures.push(`worker ${w}: ${pending.key} interrupted ${pending.attempts} times`);
              return;
            }
            result.retried++;
            break; // a new connection, the same pair
          }
          if (set !== "OK" || get !== `VALUE ${pending.value}`) {
            result.failures.push(`worker ${w}: SET ${pending.key} -> ${JSON.stringify(set)}, GET -> ${JSON.stringify(get)} (expected VALUE ${pending.value})`);
            return;
          }
          pending = undefined;
          result.pairs++;
          result.byInstance[instance] = (result.byInstance[instance] ?? 0) + 1;
          await sleep(3);
        }
        if (pending === undefined) {
          const bye = await c.command("QUIT");
          if (bye === "BYE draining") result.drainedByes++;
          else if (bye !== "BYE" && bye !== null) result.failures.push(`worker ${w}: QUIT answered ${JSON.stringify(bye)}`);
        }
      } finally {
        c.close();
      }
    }
  };
  const done = Promise.all(Array.from({ length: options.connections }, (_, w) => worker(w))).then(() => result);
  return { result, done };
}

describe.skipIf(noHaproxy !== undefined)("line-protocol behind HAProxy (haproxy.cfg)", () => {
  beforeAll(() => buildIfNeeded(), 120_000);

  it("restarts one instance under load (SIGTERM, drain, exit, start again) with zero failed requests", { timeout: 120_000 }, async () => {
    const [a, b] = await instances();
    const front = await freePort();
    const haproxy = await startHaproxy({ config: (dir) => haproxyConfig(front, a.port, b.port, dir) });
    cleanup.push(() => haproxy.stop());
    await haproxy.waitForStatus("kv_instances", "a", "UP");
    await haproxy.waitForStatus("kv_instances", "b", "UP");

    let stop = false;
    const load = loadLoop(front, { connections: 20, perConnection: 10, minPairs: 2_000, maxPairs: 20_000, deadline: Date.now() + 90_000, stop: () => stop });
    const live = load.result;
    const servedBy = (name: string) => live.byInstance[name] ?? 0;
    await expect.poll(() => servedBy("a"), { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(50);

    // Take a out: it drains (every connection finishes its command, BYE draining) and exits 0.
    const stopped = await a.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.report?.forced).toBe(0);
    await haproxy.waitForStatus("kv_instances", "a", "DOWN", 30_000);
    // Meanwhile b serves everything.
    const bWhileDown = servedBy("b");
    await expect.poll(() => servedBy("b"), { timeout: 30_000, interval: 50 }).toBeGreaterThan(bWhileDown + 50);

    // Start it again on the same port: the health checks put it back and it gets connections.
    const again = await startInstance("a", `127.0.0.1:${a.port}`);
    cleanup.push(() => again.stop());
    await haproxy.waitForStatus("kv_instances", "a", "UP", 30_000);
    const aBeforeRestart = servedBy("a");
    await expect.poll(() => servedBy("a"), { timeout: 30_000, interval: 50 }).toBeGreaterThan(aBeforeRestart + 50);
    expect(again.lines.some((l) => /^open 127\.0\.0\.7:\d+ via 127\.0\.0\.1:\d+$/.test(l))).toBe(true);

    stop = true;
    const result = await load.done;
    expect(result.failures).toEqual([]);
    expect(result.pairs).toBeGreaterThanOrEqual(2_000);
    expect(result.clients).toEqual(new Set([CLIENT]));
    console.info(
      `[line-protocol rolling restart] ${result.pairs} SET/GET pairs, per instance ${JSON.stringify(result.byInstance)}, ${result.drainedByes} BYE draining, ${result.retried} pairs re-sent after a close`,
    );
  });
});

describe.skipIf(noNginx !== undefined)("line-protocol behind nginx (nginx-stream.conf)", () => {
  beforeAll(() => buildIfNeeded(), 120_000);

  it("sees the client's own address through PROXY v1 and balances over both instances", async () => {
    const [a, b] = await instances();
    const front = await freePort();
    const snippet = readFileSync(join(EXAMPLE, "nginx-stream.conf"), "utf8")
      .replaceAll("127.0.0.1:9100", `127.0.0.1:${front}`)
      .replaceAll("127.0.0.1:9101", `127.0.0.1:${a.port}`)
      .replaceAll("127.0.0.1:9102", `127.0.0.1:${b.port}`);
    const nginx: ProxyProcess = await startNginx({ stream: () => snippet });
    cleanup.push(() => nginx.stop());
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const c = await LineClient.connect(front, CLIENT);
      const who = await c.command("WHO");
      expect(who).toMatch(/^YOU 127\.0\.0\.7:\d+ VIA 127\.0\.0\.1:\d+ ON [ab]$/);
      seen.add((who as string).slice(-1));
      expect(await c.command("QUIT")).toBe("BYE");
      c.close();
    }
    expect(seen).toEqual(new Set(["a", "b"]));
  });
});
