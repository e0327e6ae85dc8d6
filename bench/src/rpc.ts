/**
 * The parent/child plumbing: every server and load client is a child process (pinned to a core
 * with `taskset` where it exists) that answers commands over the Node IPC channel.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";

type Handler = (args: never) => unknown;

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly args: unknown;
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

/**
 * Child side: answers `{ id, cmd, args }` messages with the named handler's result, after
 * announcing `{ ready: info }`. Exits when the parent goes away.
 */
export function serveCommands(handlers: Record<string, Handler>, ready: unknown): void {
  if (typeof process.send !== "function") throw new Error("this script runs as a bench child process (no IPC channel)");
  process.on("message", (message: Request) => {
    const handler = handlers[message.cmd];
    const reply = (r: Reply) => {
      if (process.connected) process.send?.(r);
    };
    if (handler === undefined) {
      reply({ id: message.id, ok: false, error: `unknown command ${message.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.args as never))
      .then(
        (result) => reply({ id: message.id, ok: true, result }),
        (error: unknown) => reply({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ ready });
}

let tasksetChecked: boolean | undefined;

/** Whether `taskset` exists and works here (Linux with util-linux). */
export function hasTaskset(): boolean {
  if (tasksetChecked === undefined) {
    const r = spawnSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    tasksetChecked = r.status === 0;
  }
  return tasksetChecked;
}

/** Options for {@link ChildHandle.start}. */
export interface StartOptions {
  /** A label for error messages ("server tcp-echo/tako"). */
  readonly label: string;
  /** The TypeScript entry under src/, run by Node's type stripping. */
  readonly script: string;
  /** JSON-serialisable argument handed as argv[2]. */
  readonly arg: unknown;
  /** Core to pin to with taskset (if available). */
  readonly core?: number | undefined;
  /** Extra node flags, e.g. `--expose-gc`, `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
  /** Raise the soft fd limit to the hard limit (via `prlimit`) for this child. */
  readonly raiseFdLimit?: boolean;
  /** Give up waiting for `ready` after this many ms. */
  readonly readyTimeoutMs?: number;
  /** Echo the child's stdout/stderr as it comes (otherwise kept, shown on failure). */
  readonly verbose?: boolean;
  /** Working directory for the child (profiles land there). */
  readonly cwd?: string;
  /** Run the child on Bun or Deno instead of this Node (`nodeFlags` then do not apply). */
  readonly runtime?: "node" | "bun" | "deno";
}

/**
 * The command line that runs `script` on `runtime`: this Node with its flags, or `bun` / `deno`
 * from PATH (or BENCH_BUN / BENCH_DENO), Deno with the permissions the servers need. `--expose-gc`
 * becomes Deno's V8 flag; Bun has no equivalent (its memory figures are then without a forced GC).
 */
export function runtimeCommand(runtime: "node" | "bun" | "deno", script: string, nodeFlags: readonly string[] = []): string[] {
  if (runtime === "node") return [process.execPath, ...nodeFlags, script];
  const binary = (runtime === "bun" ? process.env.BENCH_BUN : process.env.BENCH_DENO) ?? findOnPath(runtime);
  if (binary === undefined)
    throw new Error(`--runtime=${runtime}: no ${runtime} on PATH; run through ./scripts/dev --with ${runtime} (it installs the pinned one from the npm registry)`);
  if (runtime === "bun") return [binary, script];
  const v8 = nodeFlags.includes("--expose-gc") ? ["--v8-flags=--expose-gc"] : [];
  return [binary, "run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", ...v8, script];
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && spawnSync("test", ["-x", `${dir}/${name}`]).status === 0) return `${dir}/${name}`;
  }
  return undefined;
}

/** Parent side of one child: `call(cmd, args)` and `stop()`. */
export class ChildHandle<Ready = unknown> {
  readonly label: string;
  readonly ready: Ready;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;
  #output: string[];
  #exited = false;

  private constructor(label: string, child: ChildProcess, ready: Ready, output: string[]) {
    this.label = label;
    this.#child = child;
    this.ready = ready;
    this.#output = output;
    child.on("message", (m: Reply) => {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`${label}: ${m.error ?? "failed"}`));
    });
    child.once("exit", (code, signal) => {
      this.#exited = true;
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id);
        clearTimeout(p.timer);
        p.reject(new Error(`${label} exited (code ${code}, signal ${signal}) during a command\n${this.output()}`));
      }
    });
  }

  /** Spawns the child and waits for it to announce itself ready. */
  static async start<Ready>(options: StartOptions): Promise<ChildHandle<Ready>> {
    const node = [...runtimeCommand(options.runtime ?? "node", new URL(options.script, import.meta.url).pathname, options.nodeFlags), JSON.stringify(options.arg)];
    let argv = node;
    if (options.raiseFdLimit && hasPrlimit()) argv = ["prlimit", `--nofile=${hardFdLimit()}:${hardFdLimit()}`, "--", ...argv];
    if (options.core !== undefined && hasTaskset()) argv = ["taskset", "-c", String(options.core), ...argv];
    const [command, ...args] = argv as [string, ...string[]];
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe", "ipc"], cwd: options.cwd, env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    const output: string[] = [];
    const keep = (prefix: string) => (chunk: Buffer) => {
      const text = chunk.toString();
      if (options.verbose) process.stderr.write(text.replace(/^(?=.)/gm, `[${options.label}${prefix}] `));
      output.push(text);
      if (output.length > 200) output.splice(0, output.length - 200);
    };
    child.stdout?.on("data", keep(""));
    child.stderr?.on("data", keep(" !"));
    const timeout = options.readyTimeoutMs ?? 60_000;
    const ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`${options.label} not ready after ${timeout} ms\n${output.join("")}`));
      }, timeout);
      child.on("message", function onMessage(m: { ready?: Ready }) {
        if (m !== null && typeof m === "object" && "ready" in m) {
          clearTimeout(timer);
          child.off("message", onMessage);
          resolve(m.ready as Ready);
        }
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${options.label} exited before ready (code ${code}, signal ${signal})\n${output.join("")}`));
      });
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    return new ChildHandle<Ready>(options.label, child, ready, output);
  }

  /** The child's recent output (for error messages). */
  output(): string {
    return this.#output.join("");
  }

  /** Runs a command in the child; rejects on the child's error, its exit, or after timeoutMs. */
  call<T>(cmd: string, args: unknown = {}, timeoutMs = 120_000): Promise<T> {
    if (this.#exited) return Promise.reject(new Error(`${this.label} has exited\n${this.output()}`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.label}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.#child.send({ id, cmd, args } satisfies Request);
    });
  }

  /** Disconnects (the child exits by itself), then SIGKILLs after a grace period. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.#exited) return;
    const exited = once(this.#child, "exit");
    if (this.#child.connected) this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

let hardLimit: number | undefined;

/** The hard RLIMIT_NOFILE of this process (what prlimit may raise a child's soft limit to). */
export function hardFdLimit(): number {
  if (hardLimit === undefined) {
    const r = spawnSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" });
    const n = Number.parseInt(r.stdout.trim(), 10);
    hardLimit = r.stdout.trim() === "unlimited" ? 1_048_576 : Number.isFinite(n) ? n : 1024;
  }
  return hardLimit;
}

/** The soft RLIMIT_NOFILE. */
export function softFdLimit(): number {
  const r = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" });
  const n = Number.parseInt(r.stdout.trim(), 10);
  return r.stdout.trim() === "unlimited" ? 1_048_576 : Number.isFinite(n) ? n : 1024;
}

/** Whether `prlimit` exists (util-linux). */
export function hasPrlimit(): boolean {
  return spawnSync("prlimit", ["--version"], { stdio: "ignore" }).status === 0;
}
