// `{ fd }` addresses (DESIGN section 11): each listener serves a socket inherited from the real
// systemd-socket-activate, in a child process of the runtime under test. Where the runtime cannot
// adopt the fd (Deno: no inherited descriptors) the listener must throw UnsupportedError naming the
// runtime and the feature.
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UnsupportedError } from "@tako/core";
import { runtimeName } from "@tako/core/listener";
import { assertEqual, within, type Check } from "../check.ts";
import { connectStream } from "../clients.ts";

const CHILD = fileURLToPath(new URL("../fd-child.ts", import.meta.url));
const ACTIVATE = ["/usr/bin/systemd-socket-activate", "/bin/systemd-socket-activate"].find((p) => existsSync(p));

type Line = { ready?: unknown; error?: Record<string, string> };

/**
 * Starts systemd-socket-activate on `listen()`; the child of this runtime starts at the first
 * client. A TCP/UDP port another process took meanwhile (the machine is shared) is retried on a
 * fresh port, up to 5 times; returns the address it listens on.
 */
async function activate(listen: () => string, kind: string, defer: (fn: () => unknown) => void): Promise<{ child: ChildProcess; line: Promise<Line>; where: string }> {
  if (ACTIVATE === undefined) throw new Error("systemd-socket-activate is not installed (Debian package systemd)");
  for (let attempt = 1; ; attempt++) {
    const where = listen();
    const started = start(where, kind, defer);
    const outcome = await within(5_000, "systemd-socket-activate listens", started.listening);
    if (outcome === "listening") return { child: started.child, line: started.line, where };
    if (!outcome.includes("Address already in use") || attempt === 5) throw new Error(`systemd-socket-activate -l ${where} failed: ${outcome}`);
  }
}

function start(where: string, kind: string, defer: (fn: () => unknown) => void): { child: ChildProcess; line: Promise<Line>; listening: Promise<"listening" | string> } {
  const runtime = runtimeName() === "deno" ? [process.execPath, "run", "-A"] : [process.execPath];
  const args = ["-l", where, ...(kind === "udp" ? ["-d"] : []), "--", ...runtime, CHILD, kind];
  const child = spawn(ACTIVATE as string, args, { stdio: ["ignore", "pipe", "pipe"] });
  defer(() => child.kill("SIGKILL"));
  let err = "";
  const listening = new Promise<"listening" | string>((resolve) => {
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      err += chunk;
      if (err.includes("Listening on")) resolve("listening");
    });
    child.once("exit", () => resolve(err.trim() || "exited"));
  });
  const line = new Promise<Line>((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (out.includes("\n")) resolve(JSON.parse(out.slice(0, out.indexOf("\n"))) as Line);
    });
    child.once("exit", (code) => reject(new Error(`the activated service exited (${code}) without a line: ${err}`)));
  });
  line.catch(() => {}); // awaited by the check once the service is activated; a retried attempt's is dropped
  return { child, line, listening };
}

/** Rethrows the child's listener error as this process's error (an UnsupportedError stays one). */
function rethrow(error: Record<string, string>): never {
  if (error.name === "UnsupportedError") throw new UnsupportedError(error.message ?? "", { feature: error.feature ?? "", runtime: error.runtime ?? "" });
  throw Object.assign(new Error(`the listener failed in the child: ${error.name} ${error.code}: ${error.message}`), { code: error.code });
}

const port = () => 20_000 + Math.floor(Math.random() * 20_000);
const portOf = (where: string) => Number(where.slice(where.lastIndexOf(":") + 1));

function streamCheck(kind: "tcp" | "unix" | "unix-http" | "http-server", title: string): Check {
  return {
    id: `fd.${kind}`,
    title,
    async run({ dir, defer }) {
      const path = kind === "tcp" ? undefined : join(dir, `${kind}.sock`);
      const { line, where } = await activate(() => path ?? `127.0.0.1:${port()}`, kind, defer);
      const target = path !== undefined ? { path } : { port: portOf(where) };
      const client = await connectStream(target);
      defer(() => client.socket.destroy());
      const first = await within(10_000, "the activated service reports", line);
      if (first.error) rethrow(first.error);
      if (kind === "unix-http" || kind === "http-server") {
        client.socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        await client.waitFor("hello over an inherited fd");
      } else {
        client.socket.write("ping\n");
        await client.waitFor("ping\n");
      }
      if ("path" in target) assertEqual(first.ready, target.path, "server.address is the inherited socket's path");
    },
  };
}

export const checks: Check[] = [
  streamCheck("tcp", "serveTcp({ fd }) on a socket from systemd-socket-activate"),
  streamCheck("unix", "serveUnix({ fd }) on a socket from systemd-socket-activate"),
  streamCheck("unix-http", "serveUnixHttp({ fd }) on a socket from systemd-socket-activate"),
  // The guard under a runtime's own http server: Bun's ignores `fd` and binds a random TCP port.
  streamCheck("http-server", "listenOnFd(http.Server) on a socket from systemd-socket-activate (@tako/core/listener)"),
  {
    id: "fd.udp",
    title: "serveUdp({ fd }) on a socket from systemd-socket-activate -d",
    async run({ defer }) {
      const { line, where } = await activate(() => `127.0.0.1:${port()}`, "udp", defer);
      const p = portOf(where);
      const client = createSocket("udp4");
      defer(() => client.close());
      const reply = new Promise<string>((resolve) => client.once("message", (data) => resolve(data.toString())));
      client.send("ping", p, "127.0.0.1");
      const first = await within(10_000, "the activated service reports", line);
      if (first.error) rethrow(first.error);
      assertEqual(await within(5_000, "the echo", reply), "ping", "echo");
    },
  },
];
