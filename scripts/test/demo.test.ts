// The demo, the README's first command: `pnpm run demo` builds the examples and runs
// scripts/demo.ts, which must exit 0 and print every exchange, drain report and the socket file's
// removal. Stand-in examples (plain node servers) show that a wrong answer or an example that dies
// at start fails the demo with a clear message and leaves no process behind.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRun, ROOT, run, which } from "./support.ts";

const pnpm = which("pnpm");

describe("pnpm run demo (the README's first command)", () => {
  it("builds the examples, talks to each, drains them and exits 0", async () => {
    expect(pnpm, "pnpm is not on PATH: run the suite through ./scripts/dev (or pnpm test)").toBeDefined();
    const result = await run(pnpm!, ["run", "--silent", "demo"], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" }, timeout: 240_000 });
    const out = result.stdout;
    expect(result.code, describeRun("pnpm run demo", result)).toBe(0);
    expect(out).toMatch(/tcp-echo\s+listening on 127\.0\.0\.1:\d+/);
    expect(out).toMatch(/udp-echo\s+listening on 127\.0\.0\.1:\d+/);
    const socket = /unix-socket\s+listening on (\/\S+)/.exec(out)?.[1];
    expect(socket, out).toBeDefined();
    expect(out).toContain(`sent      "hello, tako\\nsecond line\\n"`);
    expect(out).toContain(`received  "hello, tako\\nsecond line\\n"  ✓`);
    expect(out).toContain(`received  "ping from the tako demo" (23 bytes)  ✓`);
    expect(out).toMatch(/GET \/ {6}200 {2}"hello from unix"  ✓/);
    const peer = /GET \/peer {2}200 {2}(\{.*?\}) .*✓/.exec(out)?.[1];
    expect(peer, out).toBeDefined();
    expect(JSON.parse(peer!)).toStrictEqual({ path: null, pid: expect.any(Number), uid: process.getuid?.(), gid: process.getgid?.() });
    for (const name of ["tcp-echo", "udp-echo", "unix-socket"]) {
      expect(out).toMatch(new RegExp(`${name}\\s+drain report \\{"drained":\\d+,"forced":0,"durationMs":[\\d.]+\\}\\s+exit 0  ✓`));
    }
    expect(out).toContain(`socket file ${socket} is gone  ✓`);
    expect(out).toContain("All 4 exchanges matched; every server drained and exited 0");
    expect(out).not.toContain("✗");
    // The demo's temporary directory is gone too.
    expect(existsSync(dirname(socket!))).toBe(false);
  }, 300_000);
});

// ---- stand-in examples: small node servers that behave (or misbehave) like the real ones ----

const REPORT = `process.on("SIGTERM", () => { console.log(JSON.stringify({ drained: 0, forced: 0, durationMs: 1 })); process.exit(0); });`;

const STAND_INS = {
  tcpEcho: (transform: string) => `import { createServer } from "node:net";
import { writeFileSync } from "node:fs";
writeFileSync(new URL("../pid", import.meta.url), String(process.pid));
const open = new Set();
const server = createServer((socket) => {
  open.add(socket);
  socket.on("close", () => open.delete(socket));
  socket.on("data", (d) => socket.write(${transform}));
});
server.listen(0, "127.0.0.1", () => console.log("tcp-echo listening on 127.0.0.1:" + server.address().port));
process.on("SIGTERM", () => {
  const drained = open.size;
  for (const socket of open) socket.end();
  server.close(() => { console.log(JSON.stringify({ drained, forced: 0, durationMs: 1 })); process.exit(0); });
});
`,
  udpEcho: `import { createSocket } from "node:dgram";
const socket = createSocket("udp4");
socket.on("message", (d, peer) => socket.send(d, peer.port, peer.address));
socket.bind(0, "127.0.0.1", () => console.log("udp-echo listening on 127.0.0.1:" + socket.address().port));
${REPORT}
`,
  // Dies at start, but only once the tcp-echo stand-in runs (so the demo has a process to clean up).
  udpCrash: `import { existsSync } from "node:fs";
const tcpPid = new URL("../../tcp-echo/pid", import.meta.url);
const started = Date.now();
const crash = () => { console.error("boom: cannot bind"); process.exit(3); };
const wait = () => (existsSync(tcpPid) || Date.now() - started > 10_000 ? crash() : setTimeout(wait, 20));
wait();
`,
  // Answers /peer with the real credentials, read by @tako/unix's unixPeerOf (its built dist).
  unixSocket: `import { createServer } from "node:http";
import { unlinkSync } from "node:fs";
import { unixPeerOf } from ${JSON.stringify(pathToFileURL(join(ROOT, "packages/unix/dist/index.js")).href)};
const path = process.argv[2];
const server = createServer((req, res) => {
  if (req.url === "/") { res.setHeader("content-type", "text/plain"); res.end("hello from unix"); }
  else { res.setHeader("content-type", "application/json"); res.end(JSON.stringify(unixPeerOf(req.socket, "required"))); }
});
server.listen(path, () => console.log("unix-socket listening on " + path));
process.on("SIGTERM", () => { server.close(); try { unlinkSync(path); } catch {} console.log(JSON.stringify({ drained: 0, forced: 0, durationMs: 1 })); process.exit(0); });
`,
};

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Writes stand-in examples (each `<name>/dist/main.js`) into a temp dir and returns it. */
function standIns(sources: Record<"tcp-echo" | "udp-echo" | "unix-socket", string>): string {
  const dir = mkdtempSync(join(tmpdir(), "tako-demo-test-"));
  dirs.push(dir);
  for (const [name, source] of Object.entries(sources)) {
    mkdirSync(join(dir, name, "dist"), { recursive: true });
    writeFileSync(join(dir, name, "package.json"), `{ "type": "module" }\n`);
    writeFileSync(join(dir, name, "dist/main.js"), source);
  }
  return dir;
}

function demo(examples: string) {
  return run(process.execPath, [join(ROOT, "scripts/demo.ts")], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", TAKO_DEMO_EXAMPLES: examples }, timeout: 60_000 });
}

/** Whether a process still runs (a zombie waiting to be reaped counts as gone). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8") : "";
  return !/^\d+ \(.*\) Z/.test(stat);
}

/** Waits (bounded) for a process to be gone; SIGKILL delivery is asynchronous. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  return !isAlive(pid);
}

describe("scripts/demo.ts judges what comes back", () => {
  // The unix-socket stand-in imports @tako/unix's dist (the demo test above builds it too).
  beforeAll(() => {
    if (existsSync(join(ROOT, "packages/unix/dist/index.js"))) return;
    const built = spawnSync(join(ROOT, "node_modules/.bin/turbo"), ["run", "build", "--filter=@tako/unix...", "--output-logs=errors-only"], { cwd: ROOT, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`building @tako/unix failed: ${built.stdout}${built.stderr}`);
  }, 120_000);

  it("passes with servers that answer right", async () => {
    const result = await demo(standIns({ "tcp-echo": STAND_INS.tcpEcho("d"), "udp-echo": STAND_INS.udpEcho, "unix-socket": STAND_INS.unixSocket }));
    expect(result.code, describeRun("demo", result)).toBe(0);
    expect(result.stdout).toContain("All 4 exchanges matched");
  });

  it("exits 1 naming the exchange that did not match", async () => {
    const examples = standIns({ "tcp-echo": STAND_INS.tcpEcho("d.toString().toUpperCase()"), "udp-echo": STAND_INS.udpEcho, "unix-socket": STAND_INS.unixSocket });
    const result = await demo(examples);
    expect(result.code, describeRun("demo", result)).toBe(1);
    expect(result.stdout).toContain(`received  "HELLO, TAKO\\nSECOND LINE\\n"  ✗`);
    expect(result.stderr).toContain("The demo failed:");
    expect(result.stderr).toContain(`TCP: sent "hello, tako\\nsecond line\\n", received "HELLO, TAKO\\nSECOND LINE\\n"`);
    expect(result.stdout).not.toContain("All 4 exchanges matched");
  });

  it("exits 1 with the example's stderr when one dies at start, leaving no process behind", async () => {
    const examples = standIns({ "tcp-echo": STAND_INS.tcpEcho("d"), "udp-echo": STAND_INS.udpCrash, "unix-socket": STAND_INS.unixSocket });
    const result = await demo(examples);
    expect(result.code, describeRun("demo", result)).toBe(1);
    expect(result.stderr).toContain("udp-echo exited (3) before it was listening");
    expect(result.stderr).toContain("boom: cannot bind");
    const pid = Number(readFileSync(join(examples, "tcp-echo/pid"), "utf8"));
    expect(await gone(pid), "the tcp-echo stand-in outlived the demo").toBe(true);
  });
});
