import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { SOURCE_ARGS, socketDir, type SocketDir } from "@tako/test-kit";
import { AF_UNIX, libc, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, sockaddrUn } from "./native.ts";

/** The socket-activated service the tests run (see the file's header). */
export const SERVICE = fileURLToPath(new URL("../test/fixtures/service.ts", import.meta.url));

/** Node's argv to run a TypeScript file with `@tako/*` resolved to source (the test kit's `SOURCE_ARGS`). */
export function nodeArgs(file: string, args: string[] = []): string[] {
  return [process.execPath, ...SOURCE_ARGS, file, ...args];
}

/** A fresh short directory under the temp dir; `remove()` deletes it. */
export function tempDir(): SocketDir {
  return socketDir("tk-sd-");
}

/** One JSON line the service printed. */
export type ServiceEvent = { event: string } & Record<string, unknown>;

/** A child process whose stdout is JSON lines (the service) and whose stderr is kept. */
export class Watched {
  readonly child: ChildProcess;
  readonly events: ServiceEvent[] = [];
  /** Everything written to stdout. */
  raw = "";
  out = "";
  err = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(command: string[], options: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {}) {
    this.child = spawn(command[0] as string, command.slice(1), { stdio: options.stdio ?? ["ignore", "pipe", "pipe"], env: options.env ?? process.env });
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      this.raw += chunk;
      this.out += chunk;
      let newline: number;
      while ((newline = this.out.indexOf("\n")) >= 0) {
        const line = this.out.slice(0, newline);
        this.out = this.out.slice(newline + 1);
        try {
          this.events.push(JSON.parse(line) as ServiceEvent);
        } catch {
          this.events.push({ event: "text", line });
        }
      }
    });
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.err += chunk));
    this.exited = once(this.child, "exit").then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  }

  /** Resolves with the first event named `name` (rejects when the child exits first or after `timeoutMs`). */
  async event(name: string, timeoutMs = 20_000): Promise<ServiceEvent> {
    await until(
      () => this.events.some((e) => e.event === name),
      () => `event ${name}; events: ${JSON.stringify(this.events)}; stderr: ${this.err}`,
      timeoutMs,
      this.child,
    );
    return this.events.find((e) => e.event === name) as ServiceEvent;
  }

  /** Resolves once stderr holds `text`. */
  async stderr(text: string, timeoutMs = 20_000): Promise<void> {
    await until(
      () => this.err.includes(text),
      () => `stderr ${JSON.stringify(text)}; stderr: ${this.err}`,
      timeoutMs,
      this.child,
    );
  }

  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

async function until(test: () => boolean, what: () => string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      await new Promise((r) => setTimeout(r, 50)); // let the last output arrive
      if (test()) return;
      throw new Error(`child exited (${child.exitCode ?? child.signalCode}) before ${what()}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Runs the test service under the real `systemd-socket-activate` (`listen` are its options, e.g.
 * `["-l", "127.0.0.1:8080", "--fdname=web"]`); `env` is passed with `-E` (the tool gives the
 * service only PATH, HOME, TERM, LISTEN_* and those).
 */
export function activate(listen: string[], env: Record<string, string> = {}, file = SERVICE, args: string[] = []): Watched {
  const pass = Object.entries(env).flatMap(([key, value]) => ["-E", `${key}=${value}`]);
  return new Watched(["systemd-socket-activate", ...listen, ...pass, "--", ...nodeArgs(file, args)]);
}

/**
 * A fake service manager: a Unix datagram socket bound at `target` (a path, or `@name`) through
 * koffi, polled without blocking. Each datagram is kept whole, with the time it was read.
 */
export class NotifyReceiver {
  readonly target: string;
  readonly messages: { text: string; at: number }[] = [];
  readonly #fd: number;
  readonly #timer: NodeJS.Timeout;
  readonly #buffer = Buffer.alloc(4096);

  constructor(target: string) {
    const lib = libc("the test receiver");
    this.target = target;
    this.#fd = lib.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (this.#fd < 0) throw new Error(`socket failed: errno ${lib.errno()}`);
    const { addr, length } = sockaddrUn(target);
    if (lib.bind(this.#fd, addr, length) !== 0) throw new Error(`bind ${target} failed: errno ${lib.errno()}`);
    this.#timer = setInterval(() => this.poll(), 5);
  }

  /** Reads every queued datagram now. */
  poll(): void {
    const lib = libc("the test receiver");
    for (;;) {
      const n = lib.recv(this.#fd, this.#buffer, this.#buffer.length, 0);
      if (n < 0) return; // EAGAIN: nothing more queued
      this.messages.push({ text: this.#buffer.subarray(0, n).toString("utf8"), at: performance.now() });
    }
  }

  texts(): string[] {
    return this.messages.map((m) => m.text);
  }

  /** Resolves with the first message matching `test`. */
  async waitFor(test: (text: string) => boolean, timeoutMs = 20_000): Promise<string> {
    await until(
      () => this.messages.some((m) => test(m.text)),
      () => `a notify message; got ${JSON.stringify(this.texts())}`,
      timeoutMs,
    );
    return (this.messages.find((m) => test(m.text)) as { text: string }).text;
  }

  close(): void {
    clearInterval(this.#timer);
    libc("the test receiver").close(this.#fd);
  }
}
