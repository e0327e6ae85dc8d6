// A bounded load against the multi-core supervisor, for the e2e test (run directly, or inside
// `unshare -rn` to set net.ipv4.tcp_migrate_req in a network namespace of its own).
//
//   node test/load.ts <dist dir> <SIGKILL|SIGTERM> [requests] [concurrency]
//
// Starts the supervisor with 3 workers on 127.0.0.1:0, runs `requests` connections (one line
// each, `concurrency` at a time), sends the signal to worker 2 after a third of them, waits for
// the restart, stops the supervisor with SIGTERM and prints one JSON line: the outcome of every
// request by worker or error, the workers that answered after the signal, and the supervisor's
// summed drain report.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { join } from "node:path";

const [dist = "", signal = "SIGKILL", requestsText = "600", concurrencyText = "16"] = process.argv.slice(2);
const requests = Number(requestsText);
const concurrency = Number(concurrencyText);
const supervisor = spawn(process.execPath, [join(dist, "supervisor.js"), "127.0.0.1:0", "3"], { stdio: ["ignore", "pipe", "pipe"] });
let out = "";
let err = "";
supervisor.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
supervisor.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
const exited = once(supervisor, "exit");

async function until(test: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stdout ${out}; stderr ${err}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

await until(() => /workers on /.test(out), "the workers");
const port = Number(/workers on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
const victim = Number(/ 2=(\d+)/.exec(out)?.[1]);

function request(i: number): Promise<string> {
  return new Promise((settle) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    const timer = setTimeout(() => {
      socket.destroy();
      settle("TIMEOUT");
    }, 15_000);
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write(`line ${i}\n`));
    socket.on("data", (chunk: string) => {
      reply += chunk;
      const match = /^(\d+): line \d+\n$/.exec(reply);
      if (match) {
        clearTimeout(timer);
        socket.end();
        settle(`worker ${match[1]}`);
      }
    });
    socket.once("end", () => {
      clearTimeout(timer);
      settle("CLOSED");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      settle(error.code ?? "ERROR");
    });
  });
}

const outcomes: Record<string, number> = {};
const after = new Set<string>();
let next = 0;
let signalled = false;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      const i = next++;
      if (i === Math.floor(requests / 3)) {
        process.kill(victim, signal as NodeJS.Signals);
        signalled = true;
      }
      const wasAfter = signalled;
      const outcome = await request(i);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      if (wasAfter && outcome.startsWith("worker")) after.add(outcome);
    }
  }),
);
await until(() => err.includes("restarting it") && out.includes("restarted"), "the restart");
supervisor.kill("SIGTERM");
const [code] = await exited;
const report = JSON.parse(out.trim().split("\n").at(-1) ?? "null");
const migrate = (await import("node:fs")).readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim();
console.log(JSON.stringify({ signal, migrate, requests, outcomes, answeredAfter: [...after].sort(), code, report }));
