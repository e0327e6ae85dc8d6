import { createSocket } from "node:dgram";
import { readlinkSync } from "node:fs";
import { createServer, type Server as NetServer } from "node:net";
import { UnsupportedError } from "./errors.ts";

/**
 * The JavaScript runtimes Tako runs on: Node (the reference), Bun and Deno through their
 * `node:*` compatibility layers.
 *
 * @example
 * ```ts
 * const name: RuntimeName = runtimeName(); // "node" under Node
 * ```
 */
export type RuntimeName = "node" | "bun" | "deno";

/**
 * The runtime this process runs on, from `process.versions` (Bun and Deno add their own entry
 * there; both also report a `node` version, the one they are compatible with).
 *
 * @example
 * ```ts
 * if (runtimeName() !== "node") console.log(`running on ${runtimeDescription()}`);
 * ```
 */
export function runtimeName(versions: NodeJS.ProcessVersions | Record<string, string | undefined> = process.versions): RuntimeName {
  if (typeof versions.bun === "string") return "bun";
  if (typeof versions.deno === "string") return "deno";
  return "node";
}

/**
 * The runtime and its version as a person reads it: `"Node 24.21.0"`, `"Bun 1.4.5"`, `"Deno 2.9.6"`.
 *
 * @example
 * ```ts
 * runtimeDescription(); // "Node 24.21.0"
 * ```
 */
export function runtimeDescription(versions: NodeJS.ProcessVersions | Record<string, string | undefined> = process.versions): string {
  const name = runtimeName(versions);
  const label = name === "node" ? "Node" : name === "bun" ? "Bun" : "Deno";
  return `${label} ${versions[name] ?? "unknown"}`;
}

/**
 * The error a listener throws for a feature this runtime or platform lacks: an `UnsupportedError`
 * whose message names the feature and the runtime (`"reusePort for UDP is not supported on Deno
 * 2.9.6 (linux): ..."`), with `feature` and `runtime` set.
 *
 * @example
 * ```ts
 * throw unsupportedFeature("abstract Unix sockets", "the listener bound a file instead");
 * ```
 */
export function unsupportedFeature(feature: string, detail?: string, options?: ErrorOptions): UnsupportedError {
  const runtime = runtimeDescription();
  const message = `${feature} is not supported on ${runtime} (${process.platform})${detail ? `: ${detail}` : ""}`;
  return new UnsupportedError(message, { ...options, feature, runtime });
}

const reusePortProbes = new Map<"tcp" | "udp", Promise<string | undefined>>();

/**
 * Feature probe: does `reusePort` really let two sockets share a port here? Binds two loopback
 * sockets of `kind` with the option on one ephemeral port and closes them at once (once per
 * process; the result is cached). Resolves `undefined` when it works, else why not (a runtime
 * that accepts the option and ignores it shows up as `EADDRINUSE` on the second bind).
 *
 * @example
 * ```ts
 * const why = await probeReusePort("udp");
 * if (why !== undefined) throw unsupportedFeature("reusePort for UDP", why);
 * ```
 */
export function probeReusePort(kind: "tcp" | "udp"): Promise<string | undefined> {
  let probe = reusePortProbes.get(kind);
  if (probe === undefined) {
    probe = tryShareOnePort(kind, true);
    reusePortProbes.set(kind, probe);
  }
  return probe;
}

/**
 * Throws the {@link unsupportedFeature} error for `reusePort` of `kind` unless
 * {@link probeReusePort} finds it working.
 *
 * @example
 * ```ts
 * if (options.reusePort) await assertReusePort("tcp");
 * ```
 */
export async function assertReusePort(kind: "tcp" | "udp"): Promise<void> {
  const why = await probeReusePort(kind);
  if (why !== undefined) throw unsupportedFeature(`reusePort for ${kind.toUpperCase()}`, why);
}

/**
 * The probe's first socket could not bind: the option itself is refused (ENOTSUP), or the probe
 * cannot tell (no IPv4 loopback, say), in which case the listener's own bind decides.
 */
function firstBindFailure(error: unknown): string | undefined {
  const code = (error as { code?: string } | null)?.code;
  return code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "ERR_INVALID_ARG_VALUE" ? `the option is refused (${describeError(error)})` : undefined;
}

function describeError(error: unknown): string {
  const code = (error as { code?: string } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}

/**
 * @internal The probe behind {@link probeReusePort}: binds two loopback sockets of `kind` to one
 * port, with `reusePort` set as given, and says why the second bind failed (`undefined`: it did
 * not). With `reusePort: false` it shows what a runtime ignoring the option looks like.
 */
export function tryShareOnePort(kind: "tcp" | "udp", reusePort: boolean): Promise<string | undefined> {
  return kind === "tcp" ? shareTcpPort(reusePort) : shareUdpPort(reusePort);
}

async function shareTcpPort(reusePort: boolean): Promise<string | undefined> {
  const servers: NetServer[] = [];
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const server = createServer();
      servers.push(server);
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port, reusePort } as Parameters<NetServer["listen"]>[0], () => {
        const address = server.address();
        resolve(typeof address === "object" && address !== null ? address.port : 0);
      });
    });
  try {
    let port: number;
    try {
      port = await listen(0);
    } catch (error) {
      return firstBindFailure(error);
    }
    await listen(port);
    return undefined;
  } catch (error) {
    return `a second socket with reusePort could not bind the same port (${describeError(error)})`;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((done) => (s.listening ? s.close(() => done()) : done()))));
  }
}

async function shareUdpPort(reusePort: boolean): Promise<string | undefined> {
  const sockets = [createSocket({ type: "udp4", reusePort }), createSocket({ type: "udp4", reusePort })];
  const bind = (index: number, port: number) =>
    new Promise<number>((resolve, reject) => {
      const socket = sockets[index]!;
      socket.once("error", reject);
      socket.bind({ address: "127.0.0.1", port }, () => {
        socket.off("error", reject);
        resolve(socket.address().port);
      });
    });
  try {
    let port: number;
    try {
      port = await bind(0, 0);
    } catch (error) {
      return firstBindFailure(error);
    }
    await bind(1, port);
    return undefined;
  } catch (error) {
    return `a second socket with reusePort could not bind the same port (${describeError(error)})`;
  } finally {
    await Promise.all(sockets.map((s) => closeQuietly(s)));
  }
}

function closeQuietly(socket: ReturnType<typeof createSocket>): Promise<void> {
  return new Promise((done) => {
    try {
      socket.close(() => done());
    } catch {
      done(); // already closed (a failed bind can close it)
    }
  });
}

/**
 * Feature check for adopting an inherited file descriptor (systemd socket activation), for a
 * runtime whose `node:fs` reported `EBADF` for `fd`: when the process does hold the descriptor
 * (`/proc/self/fd/<fd>` names it, Linux) the runtime cannot use descriptors it did not open itself
 * (Deno 2.9 maps fds to its own resource table), so this returns the `UnsupportedError` to throw.
 * Returns `undefined` when the descriptor really is not open (or where /proc cannot tell).
 *
 * @example
 * ```ts
 * try { fstatSync(fd); } catch (error) { throw inheritedFdUnsupported(fd) ?? error; }
 * ```
 */
export function inheritedFdUnsupported(fd: number): UnsupportedError | undefined {
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined; // not open here (or no /proc): the caller's EBADF stands
  }
  return unsupportedFeature(
    "inherited file descriptors",
    `fd ${fd} is open in this process (${target}) but the runtime's node:fs and node:net cannot use a descriptor it did not open`,
  );
}

/**
 * What a server adopting an inherited socket must end up listening on (see {@link assertListeningOnFd}).
 *
 * @example
 * ```ts
 * const expected: FdListenExpectation = info.kind === "tcp" ? { kind: "tcp", port: 8080 } : { kind: "unix" };
 * ```
 */
export type FdListenExpectation = { readonly kind: "unix" } | { readonly kind: "tcp"; readonly port: number };

/**
 * Feature check on the result of `server.listen({ fd })`: the server must listen on the inherited
 * socket, not somewhere else. Bun 1.4's `http` server ignores `fd` and silently binds a random TCP
 * port (oven-sh/bun#22559): a Unix fd then shows a TCP address, a TCP fd another port. Throws the
 * `UnsupportedError` naming the runtime when the address does not fit `expected`.
 *
 * @example
 * ```ts
 * server.listen({ fd: 3 }, () => assertListeningOnFd(server, 3, { kind: "unix" }));
 * ```
 */
export function assertListeningOnFd(server: NetServer, fd: number, expected: FdListenExpectation): void {
  const address = server.address();
  const inet = typeof address === "object" && address !== null && typeof address.port === "number" && address.port > 0;
  const fits = expected.kind === "unix" ? !inet : inet && (address as { port: number }).port === expected.port;
  if (!fits) {
    const api = "headersTimeout" in server ? "node:http" : "node:net";
    throw unsupportedFeature(
      `listening on an inherited fd with ${api}`,
      `listen({ fd: ${fd} }) left it on ${JSON.stringify(address)} instead of the inherited ${expected.kind === "unix" ? "Unix socket" : `TCP port ${expected.port}`}`,
    );
  }
}
