/** Helpers for this package's tests (not built, not published). */
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import * as http from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh short directory under the temp dir for socket files; `remove()` deletes it. */
export function socketDir(): { dir: string; path(name?: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "tkh-"));
  let n = 0;
  return {
    dir,
    path: (name?: string) => join(dir, name ?? `s${n++}.sock`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A short random abstract socket name, `@tkh-...`. */
export function abstractName(): string {
  return `@tkh-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** What {@link request} resolves with. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request over a Unix socket with Node's client (a fresh connection unless `agent` is given). */
export function request(
  socketPath: string,
  path: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath: socketPath.startsWith("@") ? `\0${socketPath.slice(1)}` : socketPath, path, method: options.method ?? "GET", headers: options.headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A raw connection that collects everything the server sends. */
export interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  readonly received: string;
  /** Resolves once `received` contains `text` (rejects after `timeoutMs`). */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves once the server closed the connection. */
  closed: Promise<void>;
}

/** Opens a raw connection to a Unix socket. */
export async function rawConnect(path: string): Promise<RawConnection> {
  const socket = connect({ path: path.startsWith("@") ? `\0${path.slice(1)}` : path });
  let received = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (received += chunk));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await once(socket, "connect");
  return {
    socket,
    get received() {
      return received;
    },
    async waitFor(text, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!received.includes(text)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(received)}`);
        if (socket.destroyed) throw new Error(`connection closed before ${JSON.stringify(text)} arrived; got ${JSON.stringify(received)}`);
        await sleep(5);
      }
    },
    closed,
  };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolve function, for handlers that wait for the test. */
export function gate<T = void>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** Polls `check` every 5 ms until it is true (rejects after `timeoutMs`). */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

/** Leaves a stale socket file at `path`: a child process binds it with plain `net` and is SIGKILLed. */
export async function staleSocket(path: string): Promise<void> {
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, ["-e", `require("node:net").createServer().listen(${JSON.stringify(path)}, () => console.log("ready"))`], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(child, "exit");
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  await until(() => out.includes("ready"), "the stale-socket child listens");
  child.kill("SIGKILL");
  await exited;
}
