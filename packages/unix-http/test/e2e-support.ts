/** Helpers for the end-to-end tests with real programs (curl, nginx, HAProxy): binaries, ports, child processes. */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { accessSync, constants } from "node:fs";
import * as net from "node:net";

/** The first executable of `candidates`, or undefined. */
export function findBinary(candidates: string[]): string | undefined {
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Try the next one.
    }
  }
  return undefined;
}

export const CURL = findBinary(["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"]);
export const NGINX = findBinary(["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx", "/usr/local/bin/nginx"]);
export const HAPROXY = findBinary(["/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"]);

/** A loopback TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts on `port` (calls `check` between tries, to fail fast). */
export async function waitForPort(port: number, check: () => void, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    check();
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A child process (nginx, HAProxy) in the foreground, with its stderr collected. */
export interface Daemon {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  stop(): Promise<void>;
}

/** Starts `binary args` and waits until it listens on `port`. */
export async function startDaemon(binary: string, args: string[], port: number): Promise<Daemon> {
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const daemon: Daemon = {
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
  await waitForPort(port, () => {
    if (child.exitCode !== null) throw new Error(`${binary} exited at once: ${stderr}`);
  });
  return daemon;
}
