/**
 * Per-request cost probe of the Unix HTTP servers, for instruction counts (not part of the suite).
 *
 *   node src/probes/http-cost.ts server <node|tako|fastify|hono> <socket path>
 *       one of the bench's HTTP servers (`src/servers/http.ts`); prints "ready" once it listens
 *       and exits on SIGTERM (so callgrind writes its totals).
 *   node src/probes/http-cost.ts run <impl> <requests> [url] [-- wrapper...]
 *       the server under the wrapper (e.g. `valgrind --tool=callgrind --callgrind-out-file=/dev/null`)
 *       and a keep-alive client in this process: 10 connections, one request in flight on each,
 *       until <requests> were answered; then SIGTERM. PROBE_WARM=<url>:<count> sends that many
 *       requests of <url> first (both runs of a pair do, so the difference excludes them).
 *
 * With `callgrind-per-unit.sh`, the difference of two runs' "Collected" totals divided by the
 * difference of their request counts is the server's user-space instructions per request, free of
 * start-up and of the machine's load (see bench/PROBES.md).
 */
import { spawn } from "node:child_process";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Router } from "@tako/unix-http";
import { startFastify, startHono, startNodeHttp, startTakoHttp, TEXT, user } from "../servers/http.ts";
import type { ServerSpec } from "../servers/types.ts";

const [mode, ...rest] = process.argv.slice(2);
const starters = {
  node: startNodeHttp,
  tako: startTakoHttp,
  fastify: startFastify,
  hono: startHono,
  // Variants of ours, to tell the parts of a request's cost apart.
  "tako-param-text": (spec: ServerSpec) => startRouter(spec, (router) => router.get("/users/{id}", (_req, ctx) => `user ${ctx.params.id}`)),
  "tako-json-static": (spec: ServerSpec) => startRouter(spec, (router) => router.get("/users/42", () => user("42"))),
  "tako-json-root": (spec: ServerSpec) => startRouter(spec, (router) => router.get("/", () => user("42"))),
  "tako-text-static": (spec: ServerSpec) => startRouter(spec, (router) => router.get("/users/42", () => TEXT)),
};

async function startRouter(spec: ServerSpec, routes: (router: Router) => void): Promise<unknown> {
  const { Router, serveUnixHttp } = await import("@tako/unix-http");
  const router = new Router();
  routes(router);
  return serveUnixHttp(spec.path as string, router);
}

async function server(impl: string, path: string): Promise<void> {
  const start = starters[impl as keyof typeof starters];
  if (start === undefined) throw new Error(`unknown impl ${impl}`);
  await start({ family: "http", impl: impl as "node", path });
  process.on("SIGTERM", () => {
    // The server's CPU time (user + system, µs) for PROBE_CPU=1: two runs' difference per request.
    if (process.env.PROBE_CPU === "1") {
      const cpu = process.cpuUsage();
      process.stderr.write(`cpu ${cpu.user + cpu.system}\n`);
    }
    process.exit(0);
  });
  process.stdout.write("ready\n");
}

/** Sends `count` GETs of `url` over `connections` keep-alive connections, one in flight on each. */
async function client(path: string, count: number, url: string, connections = 10): Promise<void> {
  const request = Buffer.from(`GET ${url} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  let sent = 0;
  let answered = 0;
  await new Promise<void>((resolve, reject) => {
    for (let c = 0; c < connections; c++) {
      const socket = net.connect(path);
      let tail = "";
      socket.on("error", reject);
      socket.on("connect", () => {
        if (sent < count) {
          sent++;
          socket.write(request);
        }
      });
      socket.on("data", (chunk: Buffer) => {
        // One response per status line; the tail carries a status line split across reads.
        const text = tail + chunk.toString("latin1");
        let at = text.indexOf("HTTP/1.1 ");
        while (at !== -1) {
          if (++answered === count) {
            resolve();
            return;
          }
          if (sent < count) {
            sent++;
            socket.write(request);
          }
          at = text.indexOf("HTTP/1.1 ", at + 9);
        }
        tail = text.slice(-8);
      });
    }
  });
}

async function run(impl: string, count: number, url: string, wrapper: string[]): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const path = join(tmpdir(), `tako-http-cost-${process.pid}.sock`);
  const argv = [...wrapper, process.execPath, ...process.execArgv, self, "server", impl, path];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<string>((resolve) => createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", resolve));
  // PROBE_WARM=<url>:<count>: that many requests of another URL first (both runs of a pair send them).
  const warm = process.env.PROBE_WARM;
  if (warm) await client(path, Number(warm.slice(warm.lastIndexOf(":") + 1)), warm.slice(0, warm.lastIndexOf(":")));
  await client(path, count, url);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
  process.exit(0);
}

if (mode === "server") await server(rest[0] as string, rest[1] as string);
else if (mode === "run") {
  const sep = rest.indexOf("--");
  const args = sep === -1 ? rest : rest.slice(0, sep);
  await run(args[0] as string, Number(args[1]), args[2] ?? process.env.PROBE_URL ?? "/users/42", sep === -1 ? [] : rest.slice(sep + 1));
} else throw new Error("usage: http-cost.ts server|run ...");
