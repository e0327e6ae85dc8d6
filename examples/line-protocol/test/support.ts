// Test helpers of the line-protocol example: build it, run instances as child processes, and a
// line client that sends one command and waits for its reply line.
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import * as net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildExampleIfNeeded, startAnnounced } from "@tako/test-kit";

const here = dirname(fileURLToPath(import.meta.url));
/** The example's directory. */
export const EXAMPLE = join(here, "..");
const main = join(EXAMPLE, "dist", "main.js");

/** Builds the example and what it depends on (from dist, as a user runs it) unless already fresh. */
export function buildIfNeeded(): void {
  buildExampleIfNeeded({ dir: EXAMPLE, name: "@tako/example-line-protocol", outputs: ["dist/main.js"], packages: ["core", "tcp", "framing"] });
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
  const { child, first: line, lines, reader, exit, stderr } = await startAnnounced([process.execPath, main, address, "--name", name, ...extra], { name });
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
  return { name, port: Number(match[2]), lines, child, exit, stderr, stop };
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
