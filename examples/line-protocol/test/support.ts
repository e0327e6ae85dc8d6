// Test helpers of the line-protocol example: build it, run instances as child processes, and a
// line client that sends one command and waits for its reply line.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, statSync } from "node:fs";
import * as net from "node:net";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** The example's directory. */
export const EXAMPLE = join(here, "..");
const root = join(EXAMPLE, "..", "..");
const main = join(EXAMPLE, "dist", "main.js");
const PACKAGES = ["core", "tcp", "framing"];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds the example and what it depends on (from dist, as a user runs it) unless already fresh. */
export function buildIfNeeded(): void {
  const sources = [join(EXAMPLE, "src"), ...PACKAGES.map((p) => join(root, "packages", p, "src"))];
  const built = [main, ...PACKAGES.map((p) => join(root, "packages", p, "dist", "index.js"))];
  if (built.every((file) => existsSync(file))) {
    const oldestBuild = Math.min(...built.map((file) => statSync(file).mtimeMs));
    if (sources.every((dir) => newestMtime(dir) <= oldestBuild)) return;
  }
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}` };
  const turbo = join(root, "node_modules", ".bin", "turbo");
  const result = spawnSync(turbo, ["run", "build", "--filter=@tako/example-line-protocol...", "--output-logs=errors-only"], { cwd: root, env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`build failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
}

/** A running instance of the example. */
export interface Instance {
  readonly name: string;
  readonly port: number;
  /** Every stdout line so far (the listening line first). */
  readonly lines: string[];
  readonly child: ChildProcess;
  readonly exit: Promise<[number | null, NodeJS.Signals | null]>;
  stderr(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s) and returns the drain report. */
  stop(): Promise<{ code: number | null; report: { drained: number; forced: number } | undefined }>;
}

/** Starts `node dist/main.js <address> --name <name> [...extra]` and waits for its listening line. */
export async function startInstance(name: string, address: string, extra: readonly string[] = []): Promise<Instance> {
  const child = spawn(process.execPath, [main, address, "--name", name, ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  const exit = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const lines: string[] = [];
  const reader = createInterface({ input: child.stdout! });
  const first = new Promise<string>((resolve, reject) => {
    reader.on("line", (line) => {
      lines.push(line);
      if (lines.length === 1) resolve(line);
    });
    void exit.then(([code]) => reject(new Error(`${name} exited ${code} before listening: ${stderr}`)));
  });
  const line = await first;
  const match = /^line-protocol (\S+) listening on 127\.0\.0\.1:(\d+) /.exec(line);
  if (match === null || match[1] !== name) throw new Error(`unexpected first line ${JSON.stringify(line)}`);
  const readerClosed = once(reader, "close").catch(() => undefined);
  let stopping: ReturnType<Instance["stop"]> | undefined;
  const stop: Instance["stop"] = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const [code] = await exit;
      clearTimeout(timer);
      await readerClosed;
      const last = lines[lines.length - 1] ?? "";
      return { code, report: last.startsWith("{") ? (JSON.parse(last) as { drained: number; forced: number }) : undefined };
    })());
  return { name, port: Number(match[2]), lines, child, exit, stderr: () => stderr, stop };
}

/** A line client: `command()` sends one line and resolves with the next reply line, or null when the connection closed first. */
export class LineClient {
  readonly socket: net.Socket;
  readonly #replies: string[] = [];
  #waiting: ((line: string | null) => void) | undefined;
  #buffer = "";
  #closed = false;
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      let nl: number;
      while ((nl = this.#buffer.indexOf("\n")) !== -1) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        const waiting = this.#waiting;
        this.#waiting = undefined;
        if (waiting) waiting(line);
        else this.#replies.push(line);
      }
    });
    socket.on("error", () => {});
    this.closed = once(socket, "close").then(() => {
      this.#closed = true;
      this.#waiting?.(null);
      this.#waiting = undefined;
    });
  }

  /** Connects (optionally from `localAddress`), resolving once connected. */
  static connect(port: number, localAddress?: string, host = "127.0.0.1"): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new LineClient(socket));
      });
    });
  }

  /** Sends `line` (a newline is added) and waits for the next reply line (null: closed first). */
  command(line: string): Promise<string | null> {
    if (!this.#closed && !this.socket.destroyed) this.socket.write(`${line}\n`);
    return this.next();
  }

  /** The next reply line, or null when the connection closed before one came; rejects after `timeoutMs` without either. */
  next(timeoutMs = 15_000): Promise<string | null> {
    const queued = this.#replies.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new Error(`no reply and no close within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
