/**
 * Real proxies for end-to-end tests: HAProxy (`haproxy -db -f cfg`) and nginx with the stream
 * module (`nginx -c cfg -g 'daemon off;'`), each started from a config the test writes, in its
 * own temp dir (config, pid, logs, stats socket), on 127.0.0.1 ports found free at run time.
 * `start*` resolves once the proxy listens; `stop()` sends SIGTERM, then SIGKILL after a grace
 * period, and removes the temp dir. A missing binary is a visible skip: `HAPROXY` / `NGINX` are
 * undefined and `skipReason()` says what to install.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { accessSync, chmodSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function findBinary(candidates: readonly string[]): string | undefined {
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

/** The haproxy binary, or undefined when it is not installed. */
export const HAPROXY: string | undefined = findBinary(["/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/bin/haproxy"]);

/** The nginx binary, or undefined when it is not installed. */
export const NGINX: string | undefined = findBinary(["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx", "/usr/local/bin/nginx"]);

/** nginx's dynamic stream module (Debian `libnginx-mod-stream`), or undefined when absent. */
export const NGINX_STREAM_MODULE: string | undefined = ["/usr/lib/nginx/modules/ngx_stream_module.so", "/usr/local/lib/nginx/modules/ngx_stream_module.so"].find((p) =>
  existsSync(p),
);

/** curl, or undefined when absent. */
export const CURL: string | undefined = findBinary(["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"]);

/**
 * Why the tests that need `what` cannot run here (printed once, so the skip is visible), or
 * undefined when they can.
 */
export function skipReason(what: "haproxy" | "nginx" | "nginx-stream" | "curl"): string | undefined {
  let reason: string | undefined;
  if (what === "nginx" && NGINX === undefined) reason = "nginx not found (apt-get install nginx-light, or run .ci/run)";
  if (what === "haproxy" && HAPROXY === undefined) reason = "haproxy not found (apt-get install haproxy, or run .ci/run)";
  if (what === "nginx-stream" && NGINX === undefined) reason = "nginx not found (apt-get install nginx-light libnginx-mod-stream, or run .ci/run)";
  if (what === "nginx-stream" && NGINX !== undefined && NGINX_STREAM_MODULE === undefined)
    reason = "nginx's stream module not found (apt-get install libnginx-mod-stream, or run .ci/run)";
  if (what === "curl" && CURL === undefined) reason = "curl not found (apt-get install curl, or run .ci/run)";
  if (reason !== undefined) console.warn(`[proxy e2e] SKIPPED: ${reason}`);
  return reason;
}

/** A free TCP port on 127.0.0.1 (bound, read, closed: free for the next bind in practice). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A private temp dir for one proxy run (mode 0711, so nginx workers can reach sockets in it). */
export function proxyDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tako-${tag}-`));
  chmodSync(dir, 0o711);
  return dir;
}

/** A started proxy process. */
export interface ProxyProcess {
  readonly pid: number;
  /** The temp dir holding the config, pid file and logs (removed by `stop()`). */
  readonly dir: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Whether the process has exited. */
  exited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 000); removes the temp dir. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function supervise(name: string, child: ChildProcess, dir: string, keepDir: boolean): ProxyProcess & { readonly exit: Promise<unknown> } {
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exit = once(child, "exit").catch(() => undefined);
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5_000): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exit;
        clearTimeout(timer);
      }
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  return {
    pid: child.pid,
    dir,
    exit,
    output: () => output,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop,
    [Symbol.asyncDispose]: () => stop(),
  };
}

async function waitUntil(what: string, ready: () => Promise<boolean> | boolean, proc: ProxyProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exited()) throw new Error(`${what} exited before it was ready:\n${proc.output()}`);
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Sends one command to a HAProxy stats socket and resolves with the whole answer. */
export function haproxyCommand(socketPath: string, command: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let answer = "";
    const timer = setTimeout(() => socket.destroy(new Error(`no answer to ${JSON.stringify(command)} within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.once("connect", () => socket.end(`${command}\n`));
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

/** A running HAProxy. */
export interface Haproxy extends ProxyProcess {
  /** Its admin stats socket (`stats socket ... level admin`). */
  readonly statsSocket: string;
  /** A stats socket command (`show stat`, `disable server be/s`, ...). */
  command(command: string): Promise<string>;
  /** The status column of `show stat` for one server (`UP`, `DOWN`, `MAINT`, `UP 1/2`, ...). */
  serverStatus(backend: string, server: string): Promise<string | undefined>;
  /** Resolves once `serverStatus` starts with `status` (polls; rejects after `timeoutMs`). */
  waitForStatus(backend: string, server: string, status: "UP" | "DOWN" | "MAINT", timeoutMs?: number): Promise<void>;
}

/** Options of `startHaproxy`. */
export interface HaproxyOptions {
  /**
   * The proxies (frontend/backend/listen sections), given the run's temp dir. The harness adds
   * `global` (stats socket, no daemon) and `defaults` (mode tcp, short timeouts, health-check
   * timing for tests) before them; sections may override any default.
   */
  readonly config: (dir: string) => string;
  /** Extra lines for the `global` section. */
  readonly global?: readonly string[];
  /** How long to wait for the stats socket to answer (default 15 000 ms). */
  readonly startTimeoutMs?: number;
}

/**
 * Starts `haproxy -db -f <cfg>` and resolves once its stats socket answers (HAProxy binds every
 * listener before it serves, so its frontends listen by then).
 */
export async function startHaproxy(options: HaproxyOptions): Promise<Haproxy> {
  if (HAPROXY === undefined) throw new Error("haproxy is not installed");
  const dir = proxyDir("haproxy");
  const statsSocket = join(dir, "stats.sock");
  const cfg = join(dir, "haproxy.cfg");
  writeFileSync(
    cfg,
    [
      "global",
      `  stats socket ${statsSocket} mode 600 level admin`,
      `  pidfile ${join(dir, "haproxy.pid")}`,
      "  log stderr format short local0 info",
      ...(options.global ?? []).map((line) => `  ${line}`),
      "",
      "defaults",
      "  mode tcp",
      "  log global",
      "  timeout connect 2s",
      "  timeout client 30s",
      "  timeout server 30s",
      "  timeout check 2s",
      "  default-server inter 200ms fastinter 100ms downinter 200ms rise 2 fall 2",
      "",
      options.config(dir),
      "",
    ].join("\n"),
  );
  const child = spawn(HAPROXY, ["-db", "-f", cfg], { stdio: ["ignore", "pipe", "pipe"], cwd: dir });
  const proc = supervise("haproxy", child, dir, false);
  const command = (c: string) => haproxyCommand(statsSocket, c);
  const serverStatus = async (backend: string, server: string): Promise<string | undefined> => {
    const csv = await command("show stat");
    const header = (csv.split("\n")[0] ?? "").replace(/^# /, "").split(",");
    const statusAt = header.indexOf("status");
    for (const line of csv.split("\n").slice(1)) {
      const cells = line.split(",");
      if (cells[0] === backend && cells[1] === server) return cells[statusAt];
    }
    return undefined;
  };
  const haproxy: Haproxy = {
    ...proc,
    statsSocket,
    command,
    serverStatus,
    async waitForStatus(backend, server, status, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let last: string | undefined;
      for (;;) {
        last = await serverStatus(backend, server);
        if (last?.startsWith(status)) return;
        if (Date.now() > deadline) throw new Error(`${backend}/${server} is ${last ?? "not listed"}, not ${status}, after ${timeoutMs} ms:\n${proc.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
  try {
    await waitUntil(
      "haproxy",
      () =>
        existsSync(statsSocket) &&
        command("show info").then(
          (info) => info.includes("Name: HAProxy"),
          () => false,
        ),
      proc,
      options.startTimeoutMs ?? 15_000,
    );
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return haproxy;
}

/** Options of `startNginx`: a `stream` block (TCP proxying, the stream module) or an `http` block. */
export type NginxOptions = (
  | {
      /** The body of the `stream { ... }` block, given the run's temp dir. */
      readonly stream: (dir: string) => string;
      readonly http?: undefined;
    }
  | {
      /**
       * The body of the `http { ... }` block, given the run's temp dir. The harness adds
       * `access_log off` and puts every temp path (client bodies, proxy buffers) in the temp dir.
       */
      readonly http: (dir: string) => string;
      readonly stream?: undefined;
    }
) & {
  /** How long to wait for the pid file (default 15 000 ms). */
  readonly startTimeoutMs?: number;
};

function nginxBlock(options: NginxOptions, dir: string): string[] {
  if (options.stream !== undefined) return ["stream {", options.stream(dir), "}"];
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((what) => `  ${what}_temp_path ${join(dir, what)};`);
  return ["http {", "  access_log off;", ...temp, options.http(dir), "}"];
}

/**
 * Starts nginx (`daemon off`) with a `stream` block (stream module loaded) or an `http` block the
 * test writes and resolves once its pid file exists (nginx writes it after it has bound every
 * listener).
 */
export async function startNginx(options: NginxOptions): Promise<ProxyProcess> {
  if (NGINX === undefined) throw new Error("nginx is not installed");
  if (options.stream !== undefined && NGINX_STREAM_MODULE === undefined) throw new Error("nginx's stream module is not installed");
  const dir = proxyDir("nginx");
  const pidFile = join(dir, "nginx.pid");
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    [
      options.stream !== undefined ? `load_module ${NGINX_STREAM_MODULE};` : "", // before any block
      process.getuid?.() === 0 ? "user root root;" : "",
      "worker_processes 1;",
      `pid ${pidFile};`,
      "error_log stderr notice;",
      "events { worker_connections 256; }",
      ...nginxBlock(options, dir),
      "",
    ].join("\n"),
  );
  const child = spawn(NGINX, ["-p", dir, "-c", conf, "-e", "stderr", "-g", "daemon off;"], { stdio: ["ignore", "pipe", "pipe"], cwd: dir });
  const proc = supervise("nginx", child, dir, false);
  try {
    await waitUntil(
      "nginx",
      () => {
        try {
          return readFileSync(pidFile, "utf8").trim() === String(proc.pid);
        } catch {
          return false;
        }
      },
      proc,
      options.startTimeoutMs ?? 15_000,
    );
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return proc;
}

/**
 * Bytes a test sends through a proxy and expects intact behind it: every byte value, CR/LF runs
 * and both PROXY signatures (a listener must never parse a second header out of the payload).
 */
export function trickyPayload(): Buffer {
  const v2 = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  return Buffer.concat([Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), v2, all, Buffer.from("\r\n\r\n\n\r"), all.reverse()]);
}

/**
 * Connects to 127.0.0.1:`port` from `localAddress`, writes `payload`, half-closes, and resolves
 * with everything the other side sent until it closed (rejects after `timeoutMs`).
 */
export function exchange(port: number, payload: Uint8Array, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no close from 127.0.0.1:${port} within ${options.timeoutMs ?? 10_000} ms`)), options.timeoutMs ?? 10_000);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("connect", () => socket.end(payload));
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}
