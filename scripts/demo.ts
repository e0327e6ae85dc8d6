// The demo (`./scripts/dev demo`, i.e. the root `pnpm demo` script, which builds the examples
// first): starts the three examples as child processes, talks to each with a real client, shows
// what went out and what came back, then stops them with SIGTERM and shows each drain report.
// Exits 0 only when every exchange matched and every server shut down cleanly.
//
//   node scripts/demo.ts     (Node >= 22.12 runs this TypeScript file directly)
//
// TAKO_DEMO_EXAMPLES=<dir> runs the examples found there instead of examples/ (the demo's own test
// uses it to show that a wrong answer or a crashing example fails the demo).
import { spawn, type ChildProcess } from "node:child_process";
import * as dgram from "node:dgram";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const EXAMPLES = process.env.TAKO_DEMO_EXAMPLES ?? join(ROOT, "examples");
/** How long an example may take to print its listening line. */
const START_TIMEOUT = 15_000;
/** How long one exchange (a reply) may take. */
const EXCHANGE_TIMEOUT = 5_000;
/** How long an example may take to drain and exit after SIGTERM. */
const EXIT_TIMEOUT = 15_000;
/** The whole demo, start to finish. */
const DEMO_TIMEOUT = 90_000;

// ---- output -------------------------------------------------------------------------------

const color = process.stdout.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== "dumb";
const paint = (code: string) => (text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = paint("1");
const dim = paint("2");
const green = paint("32");
const red = paint("31");
const cyan = paint("36");
const OK = green("✓");
const BAD = red("✗");

const say = (line = "") => process.stdout.write(`${line}\n`);
const show = (text: string) => JSON.stringify(text);

const failures: string[] = [];
/** Records a check: prints ✓ or ✗ after `line`, remembers failures for the summary. */
function check(ok: boolean, line: string, failure: string): boolean {
  say(`${line}  ${ok ? OK : BAD}`);
  if (!ok) failures.push(failure);
  return ok;
}

// ---- the examples as child processes --------------------------------------------------------

interface Example {
  readonly name: string;
  readonly child: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[];
  stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: Example[] = [];

/**
 * Starts `examples/<name>` the way its `start` script does (`node dist/main.js <arg>`) and waits
 * for its one "listening on <address>" line. Resolves with the address text.
 */
async function startExample(name: string, arg: string): Promise<{ example: Example; address: string }> {
  const dir = join(EXAMPLES, name);
  const main = join(dir, "dist/main.js");
  if (!existsSync(main)) {
    throw new Error(`examples/${name} is not built (no dist/main.js): run \`./scripts/dev demo\`, which builds the examples first`);
  }
  const child = spawn(process.execPath, [main, arg], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const example: Example = {
    name,
    child,
    lines: [],
    stderr: "",
    exit: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
  };
  running.push(example);
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (example.stderr += chunk));
  let partial = "";
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} printed no "listening on" line within ${START_TIMEOUT} ms${stderrOf(example)}`)), START_TIMEOUT);
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        example.lines.push(line);
        const match = /listening on (\S+)\s*$/.exec(line);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      }
    });
    void example.exit.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was listening${stderrOf(example)}`));
    });
  });
  return { example, address: await listening };
}

function stderrOf(example: Example): string {
  const text = example.stderr.trim();
  return text === "" ? "" : `\n--- ${example.name} stderr ---\n${text}`;
}

/** Splits `127.0.0.1:9001` or `[::1]:9001` into host and port. */
function hostPort(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (match?.[1] === undefined || match[2] === undefined) throw new Error(`cannot parse the address ${show(address)}`);
  return { host: match[1], port: Number(match[2]) };
}

function withTimeout<T>(what: string, promise: Promise<T>, ms = EXCHANGE_TIMEOUT): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---- the clients ------------------------------------------------------------------------------

/**
 * Writes `text` over TCP and resolves once as many bytes came back (the echo). The connection stays
 * open: `closed` settles when the server ends it (at shutdown, the drain ends it at a line
 * boundary) with how it ended.
 */
async function tcpExchange(host: string, port: number, text: string): Promise<{ echoed: string; closed: Promise<string> }> {
  const socket = net.connect({ host, port });
  let ending = "";
  const closed = new Promise<string>((resolve) => {
    socket.on("end", () => (ending ||= "ended by the server"));
    socket.on("error", (error: NodeJS.ErrnoException) => (ending ||= `failed: ${error.code ?? error.message}`));
    socket.on("close", () => resolve(ending || "closed"));
  });
  openSockets.push(socket);
  const echoed = await withTimeout(
    "tcp-echo",
    new Promise<string>((resolve) => {
      const expected = Buffer.byteLength(text);
      const chunks: Buffer[] = [];
      let received = 0;
      socket.on("connect", () => socket.write(text));
      socket.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received >= expected) resolve(Buffer.concat(chunks).toString("utf8"));
      });
      void closed.then((how) => resolve(`${Buffer.concat(chunks).toString("utf8")}(connection ${how})`));
    }),
  );
  return { echoed, closed };
}

/** Client sockets the demo keeps open across the shutdown; destroyed at the end whatever happens. */
const openSockets: net.Socket[] = [];

/** Sends one datagram and waits for one back, retrying twice (it is UDP, even on loopback). */
async function udpExchange(host: string, port: number, text: string): Promise<string> {
  const socket = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
  try {
    const reply = new Promise<string>((resolve) => socket.once("message", (data) => resolve(data.toString("utf8"))));
    socket.on("error", () => {});
    for (let attempt = 1; attempt <= 3; attempt++) {
      socket.send(text, port, host);
      const answer = await withTimeout("udp-echo", reply, EXCHANGE_TIMEOUT / 3).catch(() => undefined);
      if (answer !== undefined) return answer;
    }
    throw new Error(`udp-echo: no datagram back after 3 attempts within ${EXCHANGE_TIMEOUT} ms`);
  } finally {
    socket.close();
  }
}

interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  /** The pid of the process that made the request (curl's, or this one's). */
  readonly clientPid: number;
}

/** `GET <path>` over the Unix socket with curl when it is installed, else with node:http. */
async function httpGet(socketPath: string, path: string, curl: string | undefined): Promise<HttpAnswer> {
  if (curl !== undefined) {
    const { stdout: out, pid } = await capture(curl, [
      "-sS",
      "--max-time",
      String(EXCHANGE_TIMEOUT / 1000),
      "--unix-socket",
      socketPath,
      "-w",
      "\n%{http_code}",
      `http://localhost${path}`,
    ]);
    const cut = out.lastIndexOf("\n");
    return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut), clientPid: pid };
  }
  return withTimeout(
    `GET ${path}`,
    new Promise<HttpAnswer>((resolve, reject) => {
      const request = http.get({ socketPath, path, headers: { connection: "close" } }, (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body, clientPid: process.pid }));
        response.on("error", reject);
      });
      request.on("error", reject);
    }),
  );
}

/** Runs a command and resolves with its stdout and pid; rejects on a non-zero exit with its stderr. */
function capture(command: string, args: readonly string[]): Promise<{ stdout: string; pid: number }> {
  return withTimeout(
    command,
    new Promise<{ stdout: string; pid: number }>((resolve, reject) => {
      const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve({ stdout, pid: child.pid ?? -1 }) : reject(new Error(`${command} exited ${code}: ${stderr.trim()}`))));
    }),
    EXCHANGE_TIMEOUT + 1_000,
  );
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

// ---- shutdown ---------------------------------------------------------------------------------

interface DrainReport {
  readonly drained: number;
  readonly forced: number;
  readonly durationMs: number;
}

/** The last stdout line that is a drain report (`{ drained, forced, durationMs }` as JSON). */
function drainReport(example: Example): { line: string; report: DrainReport } | undefined {
  for (const line of [...example.lines].reverse()) {
    const start = line.indexOf("{");
    if (start < 0) continue;
    try {
      const value = JSON.parse(line.slice(start)) as Partial<DrainReport>;
      if (typeof value.drained === "number" && typeof value.forced === "number" && typeof value.durationMs === "number") {
        return { line: line.slice(start), report: value as DrainReport };
      }
    } catch {
      // not JSON: some other line
    }
  }
  return undefined;
}

/** Sends SIGTERM and waits for the exit (SIGKILL past the timeout). */
async function stop(example: Example): Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }> {
  example.child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), EXIT_TIMEOUT);
  });
  const result = await Promise.race([example.exit, timedOut]);
  clearTimeout(timer);
  if (result === "timeout") {
    example.child.kill("SIGKILL");
    return { ...(await example.exit), timedOut: true };
  }
  return { ...result, timedOut: false };
}

function killAll(): void {
  for (const example of running) {
    if (example.child.exitCode === null && example.child.signalCode === null) example.child.kill("SIGKILL");
  }
}

// ---- the demo -----------------------------------------------------------------------------------

const pad = (text: string, width: number) => text + " ".repeat(Math.max(1, width - text.length));

/** How to start each example on its default address and talk to it (their READMEs say the same). */
const TRY: ReadonlyArray<readonly [string, string]> = [
  ["./scripts/dev pnpm --filter @tako/example-tcp-echo start", "socat - TCP:127.0.0.1:9001"],
  ["./scripts/dev pnpm --filter @tako/example-udp-echo start", "echo hi | socat -t1 - UDP:127.0.0.1:9000"],
  ["./scripts/dev pnpm --filter @tako/example-unix-socket start", `curl --unix-socket ${join(tmpdir(), "tako-http.sock")} http://localhost/`],
];

async function main(): Promise<void> {
  const started = Date.now();
  const tempDir = mkdtempSync(join(tmpdir(), "tako-demo-"));
  const socketPath = join(tempDir, "http.sock");
  try {
    say(`${bold("Tako demo")}: the three examples from examples/, real clients, graceful shutdown.`);
    say();
    say(bold("Starting the examples") + dim("  (each prints one line when its socket is bound)"));
    const [tcp, udp, unix] = await Promise.all([startExample("tcp-echo", "127.0.0.1:0"), startExample("udp-echo", "127.0.0.1:0"), startExample("unix-socket", socketPath)]);
    for (const { example, address } of [tcp, udp, unix]) say(`  ${pad(example.name, 13)}listening on ${cyan(address)}`);

    // TCP: a line protocol, so send two lines in one write and expect both back.
    const tcpAt = hostPort(tcp.address);
    const lines = "hello, tako\nsecond line\n";
    say();
    say(bold("TCP line echo") + dim("  (examples/tcp-echo, client: node:net)"));
    say(`  sent      ${show(lines)}`);
    const tcpClient = await tcpExchange(tcpAt.host, tcpAt.port, lines).catch((error: Error) => ({ echoed: `(${error.message})`, closed: undefined }));
    const echoed = tcpClient.echoed;
    check(echoed === lines, `  received  ${show(echoed)}`, `TCP: sent ${show(lines)}, received ${show(echoed)}`);
    say(dim("  (the connection stays open: the shutdown below has to drain it)"));

    // UDP: one datagram out, the same datagram back.
    const udpAt = hostPort(udp.address);
    const datagram = "ping from the tako demo";
    say();
    say(bold("UDP datagram echo") + dim("  (examples/udp-echo, client: node:dgram)"));
    say(`  sent      ${show(datagram)} (${Buffer.byteLength(datagram)} bytes)`);
    const back = await udpExchange(udpAt.host, udpAt.port, datagram).catch((error: Error) => `(${error.message})`);
    check(back === datagram, `  received  ${show(back)} (${Buffer.byteLength(back)} bytes)`, `UDP: sent ${show(datagram)}, received ${show(back)}`);

    // HTTP over the Unix socket: the Router's two routes.
    const curl = findOnPath("curl");
    say();
    say(bold("HTTP Router over a Unix socket") + dim(`  (examples/unix-socket, client: ${curl ? "curl --unix-socket" : "node:http (curl is not installed)"})`));
    const root = await httpGet(unix.address, "/", curl).catch((error: Error) => ({ status: 0, body: `(${error.message})`, clientPid: 0 }));
    check(
      root.status === 200 && root.body.trim() === "hello from unix",
      `  GET /      ${root.status}  ${show(root.body)}`,
      `GET / answered ${root.status} ${show(root.body)}, expected 200 "hello from unix"`,
    );
    const peer = await httpGet(unix.address, "/peer", curl).catch((error: Error) => ({ status: 0, body: `(${error.message})`, clientPid: 0 }));
    // The kernel's record of the client: its pid, and this user's uid and gid (curl runs as us).
    const expected = JSON.stringify({ path: null, pid: peer.clientPid, uid: process.getuid?.() ?? null, gid: process.getgid?.() ?? null });
    check(
      peer.status === 200 && peer.body.trim() === expected,
      `  GET /peer  ${peer.status}  ${peer.body.trim()}  ${dim(`(the UnixPeerAddr: ${curl ? "curl's" : "this process's"} pid, your uid and gid)`)}`,
      `GET /peer answered ${peer.status} ${show(peer.body)}, expected 200 and ${expected}`,
    );

    // Shutdown: SIGTERM to each; each drains, prints its report and exits 0.
    say();
    say(bold("Shutting down with SIGTERM") + dim("  (stop accepting, let in-flight work finish, exit)"));
    const stopped = await Promise.all(running.map(async (example) => ({ example, exit: await stop(example) })));
    for (const { example, exit } of stopped) {
      const found = drainReport(example);
      const status = exit.timedOut ? `still running after ${EXIT_TIMEOUT} ms, killed` : `exit ${exit.code ?? exit.signal}`;
      check(
        found !== undefined && exit.code === 0,
        `  ${pad(example.name, 13)}${found ? `drain report ${found.line}` : "no drain report"}  ${status}`,
        `${example.name}: ${found ? "" : "printed no drain report line; "}${status}${stderrOf(example)}`,
      );
    }
    if (tcpClient.closed !== undefined) {
      const how = await withTimeout("the open TCP connection", tcpClient.closed, 1_000).catch(() => "still open");
      const report = drainReport(tcp.example)?.report;
      check(
        how === "ended by the server" && report !== undefined && report.drained >= 1 && report.forced === 0,
        `  the TCP connection open at SIGTERM was ${how === "ended by the server" ? "ended at a line boundary" : how} (drained ${report?.drained ?? "?"}, forced ${report?.forced ?? "?"})`,
        `the TCP connection open at shutdown was ${how}; expected the server to end it and report it drained (report: ${JSON.stringify(report)})`,
      );
    }
    const gone = !existsSync(unix.address);
    check(gone, `  socket file ${unix.address} is ${gone ? "gone" : "still there"}`, `the socket file ${unix.address} was not removed on shutdown`);

    say();
    if (failures.length === 0) {
      say(green(bold(`All 4 exchanges matched; every server drained and exited 0`)) + dim(` (${((Date.now() - started) / 1000).toFixed(1)} s).`));
      say();
      say(bold("Try them yourself") + dim("  (each example's README has more)"));
      const width = Math.max(...TRY.map(([start]) => start.length)) + 2;
      for (const [start, talk] of TRY) say(`  ${pad(start, width)}${dim("then")}  ${talk}`);
      say(dim("The API is in README.md; ./scripts/dev test runs the whole test suite."));
    }
  } finally {
    for (const socket of openSockets) socket.destroy();
    killAll();
    rmSync(tempDir, { recursive: true, force: true });
  }
}

const deadline = setTimeout(() => {
  process.stderr.write(`${BAD} the demo did not finish within ${DEMO_TIMEOUT / 1000} s\n`);
  killAll();
  process.exit(1);
}, DEMO_TIMEOUT);
deadline.unref();

try {
  await main();
} catch (error) {
  killAll();
  failures.push(error instanceof Error ? error.message : String(error));
}
if (failures.length > 0) {
  process.stderr.write(`\n${BAD} ${bold("The demo failed:")}\n${failures.map((f) => `  - ${f}`).join("\n")}\n`);
  process.exitCode = 1;
}
