// `{ fd }` addresses (branch `systemd`, DESIGN section 11): each listener serves a socket inherited
// from the real systemd-socket-activate, in a child process of the runtime under test. Pending
// until @tako/systemd is on main; to enable, set the expectations (Bun's http server is known to
// bind a random port instead of an fd: the listener must throw UnsupportedError there).
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UnsupportedError } from "@tako/core";
import { runtimeName } from "@tako/core/listener";
import { assertEqual, within, type Check } from "../check.ts";
import { connectStream } from "../clients.ts";

const SYSTEMD = "@tako/systemd";
const pending = { waitingFor: "branch systemd ({ fd } addresses, @tako/systemd)", landed: () => import(SYSTEMD).then(() => true, () => false) };
const CHILD = fileURLToPath(new URL("../fd-child.ts", import.meta.url));
const ACTIVATE = ["/usr/bin/systemd-socket-activate", "/bin/systemd-socket-activate"].find((p) => existsSync(p));

/** Starts systemd-socket-activate on `listen`; the child of this runtime starts at the first client. */
async function activate(listen: string, kind: string, defer: (fn: () => unknown) => void): Promise<{ child: ChildProcess; line: Promise<{ ready?: unknown; error?: Record<string, string> }> }> {
  if (ACTIVATE === undefined) throw new Error("systemd-socket-activate is not installed (Debian package systemd)");
  const runtime = runtimeName() === "deno" ? [process.execPath, "run", "-A"] : [process.execPath];
  const args = ["-l", listen, ...(kind === "udp" ? ["-d"] : []), "--", ...runtime, CHILD, kind];
  const child = spawn(ACTIVATE, args, { stdio: ["ignore", "pipe", "pipe"] });
  defer(() => child.kill("SIGKILL"));
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const line = new Promise<{ ready?: unknown; error?: Record<string, string> }>((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (out.includes("\n")) resolve(JSON.parse(out.slice(0, out.indexOf("\n"))));
    });
    child.once("exit", (code) => reject(new Error(`the activated service exited (${code}) without a line: ${err}`)));
  });
  await within(5_000, "systemd-socket-activate listens", new Promise<void>((resolve) => {
    const check = () => err.includes("Listening on") && resolve();
    child.stderr!.on("data", check);
  }));
  return { child, line };
}

/** Rethrows the child's listener error as this process's error (an UnsupportedError stays one). */
function rethrow(error: Record<string, string>): never {
  if (error["name"] === "UnsupportedError") throw new UnsupportedError(error["message"] ?? "", { feature: error["feature"] ?? "", runtime: error["runtime"] ?? "" });
  throw Object.assign(new Error(`the listener failed in the child: ${error["name"]} ${error["code"]}: ${error["message"]}`), { code: error["code"] });
}

const port = () => 20_000 + Math.floor(Math.random() * 20_000);

function streamCheck(kind: "tcp" | "unix" | "unix-http", title: string): Check {
  return {
    id: `fd.${kind}`,
    title,
    pending,
    async run({ dir, defer }) {
      const target = kind === "tcp" ? { port: port() } : { path: join(dir, `${kind}.sock`) };
      const { line } = await activate("port" in target ? `127.0.0.1:${target.port}` : target.path, kind, defer);
      const client = await connectStream(target);
      defer(() => client.socket.destroy());
      const first = await within(10_000, "the activated service reports", line);
      if (first.error) rethrow(first.error);
      if (kind === "unix-http") {
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
  {
    id: "fd.udp",
    title: "serveUdp({ fd }) on a socket from systemd-socket-activate -d",
    pending,
    async run({ defer }) {
      const p = port();
      const { line } = await activate(`127.0.0.1:${p}`, "udp", defer);
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
