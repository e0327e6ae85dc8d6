// multi-core: N worker processes serve one TCP address through SO_REUSEPORT (the kernel spreads
// connections over their listening sockets), under one supervisor:
//
//   node dist/supervisor.js [address] [workers]     defaults 127.0.0.1:9001 and the number of CPUs
//
// - SIGTERM / SIGINT are relayed to every worker; each drains; the supervisor prints the summed
//   drain report as one line of JSON ({"workers":N,"drained":...,"forced":...,"durationMs":...})
//   and exits 0.
// - A worker that dies unexpectedly is restarted on the same address, at most 5 times a minute;
//   past that the supervisor stops the others and exits 1.
// - Linux only: elsewhere SO_REUSEPORT does not balance connections, and this is an
//   UnsupportedError before any worker starts.
import { fork, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { formatAddress, parseAddress, UnsupportedError, type DrainReport, type SocketAddress } from "@tako/core";

const WORKER = fileURLToPath(new URL("./worker.js", import.meta.url));
const MAX_RESTARTS_PER_MINUTE = 5;

type Message = { type: "listening"; id: string; pid: number; address: SocketAddress } | { type: "report"; id: string; pid: number; report: DrainReport };

if (process.platform !== "linux") {
  throw new UnsupportedError(
    `multi-core needs SO_REUSEPORT with kernel load balancing, which is Linux's (this is ${process.platform}); run one process, or put a proxy in front of several ports`,
  );
}
const requested = parseAddress(process.argv[2] ?? "127.0.0.1:9001");
const count = Number(process.argv[3] ?? availableParallelism());
if (!Number.isInteger(count) || count < 1 || count > 1024) throw new Error(`workers must be an integer from 1 to 1024; got ${process.argv[3]}`);

const workers = new Map<string, ChildProcess>();
const reports = new Map<string, DrainReport>();
const restarts: number[] = [];
let stopping = false;
let address = formatAddress(requested);

let starting = true;

function start(id: string): Promise<SocketAddress> {
  const child = fork(WORKER, [address, id], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  workers.set(id, child);
  child.on("message", (message: Message) => {
    if (message.type === "report") reports.set(id, message.report);
  });
  child.once("exit", (code, signal) => onExit(id, child, code, signal));
  return new Promise((resolve, reject) => {
    child.on("message", (message: Message) => {
      if (message.type === "listening") resolve(message.address);
    });
    child.once("exit", (code) => reject(new Error(`worker ${id} exited (${code}) before listening`)));
  });
}

function onExit(id: string, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
  if (workers.get(id) !== child) return;
  workers.delete(id);
  if (stopping || starting) {
    // Stopping, or a worker that failed while the group starts (the startup code stops the rest).
    if (stopping && workers.size === 0) finish(0);
    return;
  }
  const now = Date.now();
  restarts.push(now);
  while (restarts.length > 0 && (restarts[0] as number) < now - 60_000) restarts.shift();
  if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
    console.error(`multi-core: worker ${id} exited (${signal ?? code}); more than ${MAX_RESTARTS_PER_MINUTE} restarts within a minute, stopping`);
    stop(1);
    return;
  }
  console.error(`multi-core: worker ${id} (pid ${child.pid}) exited (${signal ?? code}); restarting it (${restarts.length} of ${MAX_RESTARTS_PER_MINUTE} restarts a minute)`);
  start(id).then(
    (bound) => console.log(`multi-core: worker ${id} restarted, pid ${workers.get(id)?.pid}, on ${formatAddress(bound)}`),
    (error: Error) => console.error(`multi-core: ${error.message}`),
  );
}

let exitCode = 0;
function stop(code: number): void {
  exitCode = Math.max(exitCode, code);
  if (stopping) return;
  stopping = true;
  if (workers.size === 0) finish(code);
  for (const child of workers.values()) child.kill("SIGTERM");
}

function finish(code: number): void {
  const all = [...reports.values()];
  const summed = {
    workers: all.length,
    drained: all.reduce((n, r) => n + r.drained, 0),
    forced: all.reduce((n, r) => n + r.forced, 0),
    durationMs: Math.max(0, ...all.map((r) => r.durationMs)),
  };
  console.log(JSON.stringify(summed));
  process.exit(Math.max(code, exitCode));
}

for (const name of ["SIGTERM", "SIGINT"] as const) process.on(name, () => stop(0));

// The first worker binds (port 0 picks a free port); the others join it on the same port. A
// worker that cannot start (the port taken, no reusePort in this Node) stops everything: exit 1.
try {
  const first = await start("1");
  address = formatAddress(first);
  await Promise.all(Array.from({ length: count - 1 }, (_, i) => start(String(i + 2))));
} catch (error) {
  console.error(`multi-core: ${(error as Error).message}; stopping`);
  stop(1);
  await new Promise(() => {}); // finish() exits once every worker is gone
}
starting = false;
const pids = [...workers.entries()].map(([id, child]) => `${id}=${child.pid}`).join(" ");
console.log(`multi-core: ${count} workers on ${address} (pids ${pids}), supervisor pid ${process.pid}`);
