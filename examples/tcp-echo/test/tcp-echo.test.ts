import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { buildExampleIfNeeded, startAnnounced } from "@tako/test-kit";

const here = dirname(fileURLToPath(import.meta.url));
const example = join(here, "..");
const main = join(example, "dist", "main.js");

const build = { dir: example, name: "@tako/example-tcp-echo", outputs: ["dist/main.js"], packages: ["tcp", "framing", "core"] };

interface Running {
  port: number;
  lines: string[];
  exit: Promise<[number | null, NodeJS.Signals | null]>;
  child: ChildProcess;
}

async function start(args: string[]): Promise<Running> {
  const { first: line, lines, exit, child } = await startAnnounced([process.execPath, main, ...args]);
  const match = /^tcp-echo listening on 127\.0\.0\.1:(\d+)$/.exec(line);
  expect(match, line).not.toBeNull();
  return { port: Number(match![1]), lines, exit, child };
}

/** The `stats {...}` line the example prints after its drain. */
function stats(server: Running): Record<string, number> {
  const line = server.lines.find((l) => l.startsWith("stats "));
  expect(line, server.lines.join("\n")).toBeDefined();
  return JSON.parse(line!.slice("stats ".length)) as Record<string, number>;
}

/** Resident memory of a process (current and peak), from /proc: Linux only. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}

function reader(socket: net.Socket): { text: () => string; closed: Promise<void> } {
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (text += chunk));
  const closed = once(socket, "close").then(() => undefined);
  return { text: () => text, closed };
}

describe("examples/tcp-echo", () => {
  beforeAll(() => buildExampleIfNeeded(build), 120_000);

  it("echoes lines, then drains on SIGTERM and exits 0 with the report as one JSON line", async () => {
    const server = await start(["127.0.0.1:0"]);
    const a = net.connect(server.port, "127.0.0.1");
    const b = net.connect(server.port, "127.0.0.1");
    await Promise.all([once(a, "connect"), once(b, "connect")]);
    const ra = reader(a);
    const rb = reader(b);
    // Lines split across writes arrive whole.
    a.write("hel");
    a.write("lo\nwor");
    a.write("ld\n");
    b.write("second client\r\n");
    await expect.poll(ra.text).toBe("hello\nworld\n");
    await expect.poll(rb.text).toBe("second client\n");
    // b leaves on its own; a is still connected when the signal arrives.
    b.end();
    await rb.closed;
    server.child.kill("SIGTERM");
    await ra.closed; // the server ended a's connection at a line boundary
    const [code, signal] = await server.exit;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(server.lines).toHaveLength(3);
    expect(stats(server)).toMatchObject({ accepted: 2, handlerErrors: 0, protocolErrors: 0, active: 0 });
    const report = JSON.parse(server.lines[2]!) as { drained: number; forced: number; durationMs: number };
    expect(report).toMatchObject({ drained: 1, forced: 0 });
    expect(report.durationMs).toBeGreaterThanOrEqual(0);
  });

  it.runIf(process.platform === "linux")(
    "survives a client streaming 512 MiB without a newline: that connection is closed, others keep echoing, memory stays flat",
    { timeout: 60_000 },
    async () => {
      const server = await start(["127.0.0.1:0"]);
      const pid = server.child.pid!;
      const before = memoryOf(pid);
      const good = net.connect(server.port, "127.0.0.1");
      await once(good, "connect");
      const echoed = reader(good);
      good.write("before\n");
      await expect.poll(echoed.text).toBe("before\n");

      // The attacker: up to 512 MiB of "a" in 1 MiB writes, as fast as TCP takes them, no newline.
      const attacker = net.connect(server.port, "127.0.0.1");
      attacker.on("error", () => {}); // the server cuts it: EPIPE / ECONNRESET are expected
      await once(attacker, "connect");
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      let accepted = 0;
      const cut = new Promise((resolve) => attacker.once("close", resolve)); // not once(): it rejects on the expected reset
      const flood = (async () => {
        while (accepted < 512 * 1024 * 1024 && !attacker.destroyed) {
          accepted += chunk.length;
          if (!attacker.write(chunk)) await Promise.race([new Promise((resolve) => attacker.once("drain", resolve)), cut]);
        }
      })();
      // Meanwhile the well-behaved client is served.
      good.write("during\n");
      await expect.poll(echoed.text, { timeout: 20_000 }).toBe("before\nduring\n");
      await cut; // the server closed the flooding connection
      await flood;
      expect(accepted, "the flood was cut long before 512 MiB").toBeLessThan(64 * 1024 * 1024);
      const after = memoryOf(pid);
      expect(after.peak - before.rss, `peak RSS grew from ${before.rss} to ${after.peak}`).toBeLessThan(64 * 1024 * 1024);
      // Still serving: the old client and a new one.
      good.write("after\n");
      const fresh = net.connect(server.port, "127.0.0.1");
      await once(fresh, "connect");
      const freshEchoed = reader(fresh);
      fresh.write("new client\n");
      await expect.poll(echoed.text).toBe("before\nduring\nafter\n");
      await expect.poll(freshEchoed.text).toBe("new client\n");
      fresh.end();
      good.end();
      await Promise.all([freshEchoed.closed, echoed.closed]);
      server.child.kill("SIGTERM");
      const [code] = await server.exit;
      expect(code).toBe(0);
      expect(stats(server)).toMatchObject({ accepted: 3, protocolErrors: 1, handlerErrors: 0, active: 0 });
    },
  );

  it("an idle server exits on SIGINT at once", async () => {
    const server = await start(["127.0.0.1:0"]);
    server.child.kill("SIGINT");
    const [code] = await server.exit;
    expect(code).toBe(0);
    expect(JSON.parse(server.lines[2]!)).toMatchObject({ drained: 0, forced: 0 });
  });

  it("rejects a bad address with a clear error and a non-zero exit", async () => {
    const child = spawn(process.execPath, [main, "nonsense"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, "exit")) as [number];
    expect(code).not.toBe(0);
    expect(stderr).toContain("ERR_TAKO_INVALID_ADDRESS");
  });
});
