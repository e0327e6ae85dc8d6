// The systemd example end to end, as a user runs it without systemd as PID 1: the built app under
// the real systemd-socket-activate, socat as the service manager (NOTIFY_SOCKET), curl (or
// node:http) on the Unix socket, and hold.js for a restart under a bounded client loop.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildExampleIfNeeded, freePort, hasCommand, lineExchange } from "@tako/test-kit";

const here = dirname(fileURLToPath(import.meta.url));
const example = join(here, "..");
const dist = (name: string) => join(example, "dist", name);

const available = process.platform === "linux" && hasCommand("systemd-socket-activate") && hasCommand("socat");
if (!available) console.warn("[skip] examples/systemd e2e: needs Linux, systemd-socket-activate (Debian package systemd) and socat");

const build = { dir: example, name: "@tako/example-systemd", outputs: ["dist/echo.js", "dist/http.js", "dist/hold.js"], packages: ["core", "tcp", "unix", "unix-http", "systemd"] };

class Proc {
  readonly child: ChildProcess;
  out = "";
  err = "";
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  constructor(command: string[]) {
    this.child = spawn(command[0] as string, command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout?.setEncoding("utf8").on("data", (c: string) => (this.out += c));
    this.child.stderr?.setEncoding("utf8").on("data", (c: string) => (this.err += c));
    this.exited = once(this.child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  }
  async wait(test: (p: this) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test(this)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stdout: ${this.out}; stderr: ${this.err}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const running: Proc[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const proc of running.splice(0)) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGKILL");
    await proc.exited;
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function run(command: string[]): Proc {
  const proc = new Proc(command);
  running.push(proc);
  return proc;
}

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), "tk-sdx-"));
  dirs.push(dir);
  return dir;
}

/** socat as the service manager on a fresh socket path. */
async function manager(): Promise<{ proc: Proc; path: string }> {
  const path = join(tmp(), "notify.sock");
  const proc = run(["socat", "-u", `UNIX-RECV:${path}`, "STDOUT"]);
  await proc.wait(() => existsSync(path), "socat's socket");
  return { proc, path };
}

beforeAll(() => {
  if (available) buildExampleIfNeeded(build);
}, 240_000);

describe.runIf(available)("examples/systemd", () => {
  it("echo.js: socket-activated, READY=1 with its status, watchdog pings, STOPPING=1 on SIGTERM, drained exit", async () => {
    const { proc: notify, path } = await manager();
    const port = await freePort();
    const app = run([
      "systemd-socket-activate",
      "-l",
      `127.0.0.1:${port}`,
      "--fdname=echo",
      "-E",
      `NOTIFY_SOCKET=${path}`,
      "-E",
      "WATCHDOG_USEC=400000",
      "--",
      process.execPath,
      dist("echo.js"),
    ]);
    await app.wait((p) => p.err.includes("Listening on"), "systemd-socket-activate");
    // The first connection starts the service; it is served, not lost.
    expect(await lineExchange(port, "hello, systemd")).toBe("hello, systemd\n");
    await app.wait((p) => p.out.includes("listening"), "the app's first line");
    expect(app.out).toMatch(new RegExp(`^tako-echo listening on 127\\.0\\.0\\.1:${port} \\(socket-activated, fd 3 "echo"\\) pid ${app.child.pid}\\n`));
    await notify.wait((p) => p.out.startsWith(`READY=1\nSTATUS=listening on 127.0.0.1:${port}`), "READY=1");
    await notify.wait((p) => (p.out.match(/WATCHDOG=1/g) ?? []).length >= 3, "three watchdog pings");
    app.child.kill("SIGTERM");
    const [code] = await app.exited;
    expect(code).toBe(0);
    expect(JSON.parse(app.out.trim().split("\n").at(-1) ?? "null")).toMatchObject({ forced: 0 });
    await notify.wait((p) => p.out.includes("STOPPING=1\nSTATUS=draining"), "STOPPING=1");
  });

  it("http.js: serves the Router on systemd's socket file and leaves the file in place", async () => {
    const { proc: notify, path: notifyPath } = await manager();
    const path = join(tmp(), "http.sock");
    const app = run(["systemd-socket-activate", "-l", path, "-E", `NOTIFY_SOCKET=${notifyPath}`, "--", process.execPath, dist("http.js")]);
    await app.wait((p) => p.err.includes("Listening on"), "systemd-socket-activate");
    const inode = statSync(path).ino;
    let body: string;
    if (hasCommand("curl")) {
      const curl = spawnSync("curl", ["-sS", "--unix-socket", path, "http://localhost/"], { encoding: "utf8", timeout: 20_000 });
      expect(curl.stderr).toBe("");
      body = curl.stdout;
    } else {
      body = await new Promise<string>((resolve, reject) => {
        get({ socketPath: path, path: "/" }, (res) => {
          let text = "";
          res
            .setEncoding("utf8")
            .on("data", (c: string) => (text += c))
            .on("end", () => resolve(text));
        }).on("error", reject);
      });
    }
    expect(body).toBe("hello from unix");
    await app.wait((p) => p.out.includes("listening"), "the app's first line");
    expect(app.out).toContain(`tako-http listening on ${path} (socket-activated, fd 3)`);
    await notify.wait((p) => p.out.startsWith(`READY=1\nSTATUS=listening on ${path}`), "READY=1");
    app.child.kill("SIGTERM");
    expect((await app.exited)[0]).toBe(0);
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).ino).toBe(inode);
  });

  it("hold.js + echo.js: a restart under a bounded client loop refuses no connection", async () => {
    const port = await freePort();
    const hold = run(["systemd-socket-activate", "-l", `127.0.0.1:${port}`, "--fdname=echo", "--", process.execPath, dist("hold.js"), process.execPath, dist("echo.js")]);
    await hold.wait((p) => p.err.includes("Listening on"), "systemd-socket-activate");
    const results: string[] = [await lineExchange(port, "first")];
    await hold.wait((p) => p.err.includes("hold: holding"), "hold");
    const total = 400;
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const i = next++;
        if (i === total / 2) hold.child.kill("SIGHUP");
        results.push(await lineExchange(port, `line ${i}`));
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    await hold.wait((p) => p.err.includes("hold: restarted"), "the restart");
    const failures = results.filter((r) => !/^(first|line \d+)\n$/.test(r));
    console.log(`examples/systemd restart: ${results.length} requests, ${failures.length} failed ${JSON.stringify(failures.slice(0, 5))}`);
    expect(failures).toEqual([]);
    expect(results).toHaveLength(total + 1);
    // Two generations answered: two "listening" lines with different pids.
    const pids = new Set([...hold.out.matchAll(/listening on .* pid (\d+)/g)].map((m) => m[1]));
    expect(pids.size).toBe(2);
    hold.child.kill("SIGTERM");
    expect((await hold.exited)[0]).toBe(0);
  });
});
