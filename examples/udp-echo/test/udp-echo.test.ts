// End to end: the built example in a child process, a real dgram client, SIGTERM, exit 0.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { lines as readLines } from "@tako/framing";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const here = fileURLToPath(new URL("..", import.meta.url));
const root = join(here, "../..");
const main = join(here, "dist/main.js");

/** Newest modification time of the non-test .ts files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts") || entry.name.endsWith(".test.ts")) continue;
    newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Whether `built` exists and is newer than every source under `srcDir`. */
function fresh(built: string, srcDir: string): boolean {
  return existsSync(built) && statSync(built).mtimeMs >= newestSource(srcDir);
}

beforeAll(() => {
  const upToDate =
    fresh(main, join(here, "src")) &&
    fresh(join(root, "packages/udp/dist/index.js"), join(root, "packages/udp/src")) &&
    fresh(join(root, "packages/core/dist/index.js"), join(root, "packages/core/src"));
  if (upToDate) return;
  const turbo = join(root, "node_modules/.bin/turbo");
  const result = spawnSync(turbo, ["run", "build", "--filter=@tako/example-udp-echo...", "--output-logs=errors-only"], { cwd: root, encoding: "utf8", timeout: 120_000 });
  if (result.status !== 0) throw new Error(`building the example failed:\n${result.stdout}\n${result.stderr}`);
}, 130_000);

interface Running {
  child: ChildProcessWithoutNullStreams;
  lines: AsyncIterator<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(address: string): Running {
  const child = spawn(process.execPath, [main, address], { cwd: here, stdio: ["pipe", "pipe", "pipe"] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const lines = readLines(child.stdout, { maxLineLength: 1 << 20 })[Symbol.asyncIterator]();
  return { child, lines, exited };
}

async function nextLine(running: Running, timeoutMs = 10_000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no output line within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const next = await Promise.race([running.lines.next(), timeout]);
    if (next.done) throw new Error("the example closed its output");
    return next.value;
  } finally {
    clearTimeout(timer);
  }
}

async function exchange(type: "udp4" | "udp6", host: string, port: number, text: string): Promise<string> {
  const client = createSocket(type);
  try {
    const reply = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no echo within 5 s")), 5_000);
      client.once("message", (data) => {
        clearTimeout(timer);
        resolve(data.toString());
      });
    });
    client.send(text, port, host);
    return await reply;
  } finally {
    client.close();
  }
}

describe("examples/udp-echo", () => {
  it("listens, echoes a datagram, drains on SIGTERM, prints the report and exits 0", async () => {
    const running = start("127.0.0.1:0");
    try {
      const line = await nextLine(running);
      const match = /^udp-echo listening on 127\.0\.0\.1:(\d+)$/.exec(line);
      expect(match, line).not.toBeNull();
      const port = Number(match?.[1]);
      expect(await exchange("udp4", "127.0.0.1", port, "hello tako")).toBe("hello tako");
      expect(await exchange("udp4", "127.0.0.1", port, "x".repeat(60_000))).toBe("x".repeat(60_000));

      running.child.kill("SIGTERM");
      const report = JSON.parse(await nextLine(running)) as Record<string, unknown>;
      expect(report).toEqual({ drained: 0, forced: 0, durationMs: expect.any(Number) });
      expect(await running.exited).toEqual({ code: 0, signal: null });
    } finally {
      running.child.kill("SIGKILL");
    }
  });

  it("takes an IPv6 address and shuts down on SIGINT too", async () => {
    const running = start("[::1]:0");
    try {
      const line = await nextLine(running);
      const match = /^udp-echo listening on \[::1\]:(\d+)$/.exec(line);
      expect(match, line).not.toBeNull();
      expect(await exchange("udp6", "::1", Number(match?.[1]), "over v6")).toBe("over v6");
      running.child.kill("SIGINT");
      expect(JSON.parse(await nextLine(running))).toMatchObject({ drained: 0, forced: 0 });
      expect(await running.exited).toEqual({ code: 0, signal: null });
    } finally {
      running.child.kill("SIGKILL");
    }
  });
});
