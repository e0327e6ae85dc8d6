// The multi-core example end to end: the built supervisor with 3 reusePort workers under a
// bounded load (test/load.ts), one worker killed mid-load. Numbers are measured and printed:
// with SO_REUSEPORT each listener has its own accept queue, and a listener that goes away resets
// the connections queued on it, unless net.ipv4.tcp_migrate_req=1 moves them to another
// listener of the group (tested inside `unshare -rn`, a network namespace of its own).
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { buildExampleIfNeeded, hasCommand } from "@tako/test-kit";

const here = dirname(fileURLToPath(import.meta.url));
const example = join(here, "..");
const dist = join(example, "dist");
const LOAD = join(here, "load.ts");
const CONCURRENCY = 16;

const linux = process.platform === "linux";
if (!linux) console.warn("[skip] examples/multi-core e2e: SO_REUSEPORT balancing is Linux's");
const namespaces =
  linux && hasCommand("unshare") && hasCommand("ip") && spawnSync("unshare", ["-rn", "sh", "-c", "ip link set lo up && echo 1 > /proc/sys/net/ipv4/tcp_migrate_req"]).status === 0;
if (linux && !namespaces) console.warn("[skip] tcp_migrate_req test: `unshare -rn` with `ip` (iproute2) is not available here");

const build = {
  dir: example,
  name: "@tako/example-multi-core",
  outputs: ["dist/supervisor.js", "dist/worker.js"],
  packages: ["tcp", "core"],
};

interface LoadResult {
  signal: string;
  migrate: string;
  requests: number;
  outcomes: Record<string, number>;
  answeredAfter: string[];
  code: number;
  report: { workers: number; drained: number; forced: number; durationMs: number };
}

const typescript = process.features.typescript ? [] : ["--experimental-strip-types", "--no-warnings=ExperimentalWarning"];

function load(signal: "SIGKILL" | "SIGTERM", migrate?: 0 | 1): LoadResult {
  const node = [process.execPath, ...typescript, LOAD, dist, signal, "600", String(CONCURRENCY)];
  const quoted = node.map((arg) => `'${arg}'`).join(" ");
  const command = migrate === undefined ? node : ["unshare", "-rn", "sh", "-c", `ip link set lo up && echo ${migrate} > /proc/sys/net/ipv4/tcp_migrate_req && exec ${quoted}`];
  const result = spawnSync(command[0] as string, command.slice(1), { encoding: "utf8", timeout: 90_000 });
  if (result.status !== 0) throw new Error(`load failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  const parsed = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "null") as LoadResult;
  console.log(
    `multi-core ${signal}${migrate === undefined ? "" : ` tcp_migrate_req=${migrate}`}: ${JSON.stringify(parsed.outcomes)}; answered after the signal by ${parsed.answeredAfter.join(", ")}`,
  );
  return parsed;
}

const failures = (outcomes: Record<string, number>) =>
  Object.entries(outcomes)
    .filter(([key]) => !key.startsWith("worker "))
    .reduce((n, [, v]) => n + v, 0);

beforeAll(() => {
  if (linux) buildExampleIfNeeded(build);
}, 240_000);

describe.runIf(linux)("examples/multi-core", () => {
  it("a worker killed (SIGKILL) under load: the others keep serving, the supervisor restarts it and sums the drain reports", () => {
    const result = load("SIGKILL");
    expect(result.code).toBe(0);
    expect(result.report).toMatchObject({ workers: 3, forced: 0 });
    const answered = Object.values(result.outcomes).reduce((a, b) => a + b, 0);
    expect(answered).toBe(600);
    // What the killed worker held (in-flight connections and its accept queue, at most one per
    // client) is reset: never more than the clients in flight, and never a refusal.
    expect(failures(result.outcomes)).toBeLessThanOrEqual(CONCURRENCY);
    expect(result.outcomes.ECONNREFUSED).toBeUndefined();
    expect(result.answeredAfter.filter((w) => w !== "worker 2").length).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it("Ctrl-C (SIGINT to the whole process group): every worker drains once and the report sums all three", async () => {
    const supervisor = spawn(process.execPath, [join(dist, "supervisor.js"), "127.0.0.1:0", "3"], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    supervisor.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    const exited = once(supervisor, "exit");
    await expect.poll(() => out, { timeout: 20_000 }).toMatch(/3 workers on/);
    process.kill(-(supervisor.pid as number), "SIGINT");
    const [code] = await exited;
    expect(code).toBe(0);
    expect(JSON.parse(out.trim().split("\n").at(-1) ?? "null")).toMatchObject({ workers: 3, forced: 0 });
  });

  it("a worker that cannot bind stops the supervisor with exit 1, leaving no worker behind", async () => {
    const taken = createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    const { port } = taken.address() as { port: number };
    const result = spawnSync(process.execPath, [join(dist, "supervisor.js"), `127.0.0.1:${port}`, "2"], { encoding: "utf8", timeout: 30_000 });
    taken.close();
    // spawnSync returns once its stdout and stderr close, which the workers share: none is left.
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/multi-core: worker 1 exited \(1\) before listening; stopping/);
    expect(result.stderr).toContain("EADDRINUSE");
  });

  it.runIf(namespaces)(
    "a worker drained (SIGTERM) under load with net.ipv4.tcp_migrate_req=1: no connection lost",
    () => {
      const result = load("SIGTERM", 1);
      expect(result.migrate).toBe("1");
      expect(result.code).toBe(0);
      expect(failures(result.outcomes)).toBe(0);
    },
    120_000,
  );

  it.runIf(namespaces)(
    "the same with tcp_migrate_req=0 (the default): resets are measured, bounded by the clients in flight",
    () => {
      const result = load("SIGTERM", 0);
      expect(result.migrate).toBe("0");
      expect(result.code).toBe(0);
      expect(failures(result.outcomes)).toBeLessThanOrEqual(CONCURRENCY);
    },
    120_000,
  );
});
