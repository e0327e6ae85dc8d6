import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { buildExampleIfNeeded, CURL, startAnnounced, type Announced } from "@tako/test-kit";

const here = dirname(fileURLToPath(import.meta.url));
const example = join(here, "..");
const main = join(example, "dist", "main.js");

const build = { dir: example, name: "@tako/example-unix-socket", outputs: ["dist/main.js"], packages: ["unix-http", "unix", "core"] };

/** Starts the example; resolves once it printed its one "listening" line. */
function start(args: string[]): Promise<Announced> {
  return startAnnounced([process.execPath, main, ...args], { env: { ...process.env, TICK_MS: "100" } });
}

function get(socketPath: string, path: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: socketPath.startsWith("@") ? `\0${socketPath.slice(1)}` : socketPath, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], body }));
    });
    req.on("error", reject);
  });
}

const curl = CURL;
if (!curl) console.warn("[examples/unix-socket] curl not found: the curl round trip is skipped");

describe("examples/unix-socket", () => {
  const dir = mkdtempSync(join(tmpdir(), "tkx-"));
  beforeAll(() => buildExampleIfNeeded(build), 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("answers GET / and GET /peer, then drains on SIGTERM, prints the report, removes its socket file and exits 0", async () => {
    const path = join(dir, "http.sock");
    const server = await start([path]);
    expect(server.lines[0]).toBe(`unix-socket listening on ${path}`);
    expect(await get(path, "/")).toEqual({ status: 200, type: "text/plain; charset=utf-8", body: "hello from unix" });
    // This test process is the client: the kernel's record of it, not a made-up value.
    const mine = JSON.stringify({ path: null, pid: process.pid, uid: process.getuid?.() ?? null, gid: process.getgid?.() ?? null });
    expect(await get(path, "/peer")).toEqual({ status: 200, type: "application/json", body: mine });
    expect((await get(path, "/missing")).status).toBe(404);
    expect(existsSync(path)).toBe(true);
    server.child.kill("SIGTERM");
    const [code, signal] = await server.exit;
    expect({ code, signal, stderr: server.stderr() }).toEqual({ code: 0, signal: null, stderr: "" });
    expect(server.lines).toHaveLength(2);
    expect(JSON.parse(server.lines[1] as string)).toMatchObject({ drained: 0, forced: 0 });
    expect(existsSync(path)).toBe(false);
  });

  it.skipIf(!curl)("talks to curl as its README says, and stops on SIGINT", async () => {
    const path = join(dir, "curl.sock");
    const server = await start([path]);
    const run = promisify(execFile);
    expect((await run(curl as string, ["-sS", "--unix-socket", path, "http://localhost/"])).stdout).toBe("hello from unix");
    const peer = execFile(curl as string, ["-sS", "--unix-socket", path, "http://localhost/peer"]);
    let body = "";
    peer.stdout?.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
    await once(peer, "exit");
    expect(JSON.parse(body)).toStrictEqual({ path: null, pid: peer.pid, uid: process.getuid?.() ?? null, gid: process.getgid?.() ?? null });
    server.child.kill("SIGINT");
    const [code] = await server.exit;
    expect(code).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  it("GET /events is a WebSocket: ticks, echoes, and is closed with 1001 when the server drains", async () => {
    const path = join(dir, "events.sock");
    const server = await start([path]);
    const ws = new WebSocket(`ws+unix:${path}:/events`);
    const messages: string[] = [];
    ws.on("message", (data) => messages.push(String(data)));
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    await once(ws, "open");
    await expect.poll(() => messages.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(JSON.parse(messages[0] as string)).toEqual({ tick: 1 });
    ws.send("echo me");
    await expect.poll(() => messages, { timeout: 10_000 }).toContain("echo me");
    expect((await get(path, "/events")).status).toBe(426); // a plain GET is told to upgrade
    server.child.kill("SIGTERM");
    expect(await closed).toBe(1001);
    const [code] = await server.exit;
    expect(code).toBe(0);
    expect(JSON.parse(server.lines[1] as string)).toMatchObject({ drained: 1, forced: 0 });
  });

  it.skipIf(!curl)("serves HTTP/2 with prior knowledge on the same socket", async () => {
    const path = join(dir, "h2.sock");
    const server = await start([path]);
    const run = promisify(execFile);
    const h2 = await run(curl as string, ["-sS", "--http2-prior-knowledge", "--unix-socket", path, "-w", " %{http_version}", "http://localhost/"]);
    expect(h2.stdout).toBe("hello from unix 2");
    server.child.kill("SIGTERM");
    expect((await server.exit)[0]).toBe(0);
  });

  it("replaces a stale socket file, refuses a regular file, and serves an abstract socket", async () => {
    const path = join(dir, "again.sock");
    const first = await start([path]);
    first.child.kill("SIGKILL"); // a crash: the socket file stays behind
    await first.exit;
    expect(existsSync(path)).toBe(true);
    const second = await start([path]);
    expect(second.lines[0]).toBe(`unix-socket listening on ${path}`);
    expect((await get(path, "/")).body).toBe("hello from unix");
    second.child.kill("SIGTERM");
    expect((await second.exit)[0]).toBe(0);

    const file = join(dir, "not-a-socket");
    writeFileSync(file, "keep me");
    const refused = spawn(process.execPath, [main, file], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    refused.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(refused, "exit")) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toMatch(/^unix-socket: .*is a regular file, not a socket/);
    expect(existsSync(file)).toBe(true);

    if (process.platform === "linux") {
      const name = `@tkx-${process.pid}-${Date.now().toString(36)}`;
      const abstract = await start([name]);
      expect(abstract.lines[0]).toBe(`unix-socket listening on ${name}`);
      expect((await get(name, "/")).body).toBe("hello from unix");
      abstract.child.kill("SIGTERM");
      expect((await abstract.exit)[0]).toBe(0);
    }
  });
});
