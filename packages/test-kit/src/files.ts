import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "./wait.ts";

/** A directory of socket files for one test file. */
export interface SocketDir {
  /** The directory. */
  readonly dir: string;
  /** A fresh path in it (`s0.sock`, `s1.sock`, ...), or `name`. */
  path(name?: string): string;
  /** Deletes the directory and what is in it. */
  remove(): void;
}

/** A fresh short directory under the temp dir for socket files (short: socket paths are limited to 107 bytes). */
export function socketDir(prefix = "tk-"): SocketDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let n = 0;
  return {
    dir,
    path: (name?: string) => join(dir, name ?? `s${n++}.sock`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A short random Linux abstract socket name, `@tk-<pid>-<random>`. */
export function abstractName(prefix = "tk"): string {
  return `@${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Leaves a stale socket file at `path`, as a crashed server does: a child process binds it with
 * plain `net` and is killed with SIGKILL, so nothing removes the file.
 */
export async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ["-e", `require("node:net").createServer().listen(${JSON.stringify(path)}, () => console.log("ready"))`], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  await until(() => out.includes("ready") || child.exitCode !== null, "the stale-socket child listens");
  child.kill("SIGKILL");
  const [, signal] = await exited;
  if (signal !== "SIGKILL") throw new Error(`the stale-socket child did not die by SIGKILL (${signal}): is ${path} writable?`);
}
