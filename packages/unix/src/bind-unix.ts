import { constants as fsConstants, type BigIntStats } from "node:fs";
import { chmod, link, lstat, mkdtemp, open, rmdir, stat, unlink, type FileHandle } from "node:fs/promises";
import { connect, type Server as NetServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { BindError, InvalidConfigError, InvalidSocketPathError, TakoError } from "@tako/core";
import { checkBacklog, checkKnownKeys, checkOptionsObject, listenOnFd, unsupportedFeature } from "@tako/core/listener";
import { MAX_SOCKET_PATH_BYTES, parseSocketPath, type SocketPath } from "./socket-path.ts";
import { resolveUnixAddress, type UnixAddressInput } from "./unix-address.ts";

/**
 * A socket bound by {@link bindUnixSocket}.
 *
 * @example
 * ```ts
 * const binding: UnixSocketBinding = await bindUnixSocket(server, "/run/app.sock");
 * server.close(() => void binding.release()); // removes the file only if it is still ours
 * ```
 */
export interface UnixSocketBinding {
  /** The bound address: the path as given, or `@name` for an abstract socket. */
  readonly address: string;
  /**
   * Removes the socket file, only if the path still holds the very file this binding created
   * (same device and inode): a file another process has since put there is left alone. Call it
   * after the server has closed. Idempotent; a no-op for abstract sockets.
   */
  release(): Promise<void>;
}

/**
 * Options for {@link bindUnixSocket}.
 *
 * @example
 * ```ts
 * await bindUnixSocket(server, "/run/app.sock", { mode: 0o660, backlog: 1024 } satisfies BindUnixSocketOptions);
 * ```
 */
export interface BindUnixSocketOptions {
  /** Permission bits for the socket file, e.g. `0o660`; the file never exists at the path with looser ones. Default: the process umask decides. Not allowed for abstract sockets. */
  readonly mode?: number;
  /** The listen backlog. Default: Node's (511). */
  readonly backlog?: number;
}

/**
 * The option keys {@link bindUnixSocket} accepts.
 *
 * @example
 * ```ts
 * checkKnownKeys("my options", options, [...BIND_UNIX_SOCKET_OPTION_KEYS, "extra"]);
 * ```
 */
export const BIND_UNIX_SOCKET_OPTION_KEYS: readonly string[] = Object.freeze(["mode", "backlog"]);

/** How long the liveness probe of an existing socket file may take before we give up (and refuse). */
const PROBE_TIMEOUT_MS = 1_000;

/** The bind strategies, most careful first; see {@link bindUnixSocket}. */
type Strategy = "private-dir" | "proc-fd" | "direct";

interface FileId {
  readonly dev: bigint;
  readonly ino: bigint;
}

/**
 * Binds `server` (a `net.Server` or an `http.Server`) to a Unix socket path, safely, and resolves
 * once it listens. The rules, in order:
 *
 * - The path is validated first ({@link parseSocketPath}); `options` too (unknown keys rejected).
 * - `@name` / `\0name`: bound in the Linux abstract namespace, no file work; `mode` is refused.
 * - Nothing at the path: bind.
 * - Something that is not a socket (regular file, directory, symlink, even a symlink to a live
 *   socket, FIFO, device): {@link InvalidSocketPathError} naming what was found; nothing removed.
 * - A socket: probed with a connect. Accepted: another server is live, {@link BindError} with code
 *   `EADDRINUSE`, file kept. `ECONNREFUSED`: stale, unlinked (if still the same file) and
 *   replaced. Anything else (`EACCES`, `EAGAIN`, no answer within 1 s = `ETIMEDOUT`):
 *   {@link BindError} with that code, file kept.
 * - OS failures (`EACCES` on the directory, `ENOENT` for a missing directory, ...): {@link BindError}
 *   with the OS code.
 * - `{ fd }` (an inherited socket, e.g. from systemd): the fd must be a listening Unix stream
 *   socket (else `InvalidAddressError` naming what it is); the server listens on it as it is.
 *   The socket file belongs to whoever made it: it is never probed, chmod-ed (`mode` is refused)
 *   or unlinked, and `address` is the path read from the kernel.
 *
 * How the file is made: Node (libuv) unlinks the path a server was bound to when it closes,
 * whoever's file is there by then. So the socket is bound at a temporary name inside a fresh
 * private (0700) directory next to the target, `chmod`ed to `mode` there, then hard-linked to the
 * target (`link` is atomic and fails instead of replacing a file a racing server just created,
 * which is reported as `EADDRINUSE`); the temporary name and directory are removed at once. The
 * socket therefore never appears at the public path with looser permissions, and closing the
 * server only ever unlinks the (already gone) temporary name, never a successor's file. The
 * device and inode of the bound file are recorded for {@link UnixSocketBinding.release}.
 *
 * When the temporary name would be over the length limit (a directory path close to 107 bytes),
 * Linux binds through `/proc/self/fd/<dir fd>/s` instead (same guarantees; the directory handle
 * is kept open until the server closes). Elsewhere it falls back to a direct bind at the path
 * followed by `chmod`: the file can then briefly exist with the umask's permissions, and closing
 * the server unlinks whatever is at the path; the device/inode guard of `release()` still holds.
 *
 * @example
 * ```ts
 * import * as http from "node:http";
 * const server = http.createServer((req, res) => res.end("ok"));
 * const binding = await bindUnixSocket(server, "/run/app/http.sock", { mode: 0o660 });
 * // ... later
 * await new Promise((done) => server.close(done));
 * await binding.release();
 * ```
 */
export function bindUnixSocket(server: NetServer, path: UnixAddressInput, options: BindUnixSocketOptions = {}): Promise<UnixSocketBinding> {
  return bindUnixSocketWith(server, path, options);
}

/**
 * Checks a path and {@link BindUnixSocketOptions} as {@link bindUnixSocket} does, synchronously,
 * without touching the filesystem (an inherited `{ fd }` is inspected); throws what it would
 * reject with.
 *
 * @example
 * ```ts
 * const target = validateUnixSocketOptions("/tmp/app.sock", { mode: 0o600 }); // { kind: "file", ... }
 * ```
 */
export function validateUnixSocketOptions(path: UnixAddressInput, options: BindUnixSocketOptions = {}): SocketPath {
  const target = resolveUnixAddress(path, "the Unix socket listener");
  checkOptionsObject("bindUnixSocket options", options);
  checkKnownKeys("bindUnixSocket options", options, BIND_UNIX_SOCKET_OPTION_KEYS);
  checkModeAndBacklog(target, options);
  return target;
}

/** @internal Checks `mode` and `backlog` for a parsed path (shared with `serveUnix`). */
export function checkModeAndBacklog(target: SocketPath, options: BindUnixSocketOptions): void {
  const { mode, backlog } = options;
  if (mode !== undefined) {
    if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o777) {
      throw new InvalidConfigError("mode", `mode must be permission bits from 0 to 0o777, e.g. 0o660; got ${String(mode)}`);
    }
    if (target.fd !== undefined) {
      throw new InvalidConfigError(
        "mode",
        `mode cannot apply to the inherited socket ${target.address} (fd ${target.fd}): its file belongs to whoever created it (systemd: SocketMode=)`,
      );
    }
    if (target.kind === "abstract") {
      throw new InvalidConfigError("mode", `mode cannot apply to the abstract socket ${target.address}: it has no file (abstract sockets have no permissions)`);
    }
  }
  checkBacklog(backlog);
}

/** @internal {@link bindUnixSocket} with a forced strategy, so tests reach every branch. */
export async function bindUnixSocketWith(server: NetServer, path: UnixAddressInput, options: BindUnixSocketOptions = {}, force?: Strategy): Promise<UnixSocketBinding> {
  const target = validateUnixSocketOptions(path, options);
  const { mode, backlog } = options;
  if (server.listening) throw new InvalidConfigError("server", "bindUnixSocket needs a server that is not listening yet");
  if (target.fd !== undefined) {
    // Not ours: no probe, no chmod, no unlink (libuv does not unlink an adopted fd's path on close).
    await listenOnFd(server, target.fd, backlog);
    return { address: target.address, release: () => Promise.resolve() };
  }
  if (target.kind === "abstract") {
    await listen(server, target.listenPath, backlog).catch((error: unknown) => {
      throw toBindError(target.address, error);
    });
    // Feature check on the result: a runtime without abstract sockets could bind something else.
    const bound = server.address();
    if (bound !== target.listenPath) {
      await closeServer(server);
      throw unsupportedFeature("abstract Unix sockets", `listening on ${target.address} left the server at ${JSON.stringify(bound)}`);
    }
    return { address: target.address, release: () => Promise.resolve() };
  }

  const absolute = resolve(target.listenPath);
  const stale = await inspect(absolute, target);
  const bound = await bindFile({ server, target, absolute, stale, mode, backlog }, force);
  let released: Promise<void> | undefined;
  return {
    address: target.address,
    release: () => (released ??= unlinkIfSame(absolute, bound)),
  };
}

/** lstat + probe: resolves with the id of a stale socket to replace, or undefined for a free path. */
async function inspect(absolute: string, target: SocketPath): Promise<FileId | undefined> {
  let found: BigIntStats;
  try {
    found = await lstat(absolute, { bigint: true });
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw toBindError(target.address, error);
  }
  if (!found.isSocket()) {
    throw new InvalidSocketPathError(`${target.address} exists and is ${await describe(absolute, found)}, not a socket; refusing to bind there (nothing was removed)`);
  }
  const outcome = await probe(target.listenPath);
  if (outcome === "live") {
    throw toBindError(target.address, errnoError("EADDRINUSE", "connect", "another server is listening on it (the file was left in place)"));
  }
  if (outcome === "refused") return { dev: found.dev, ino: found.ino };
  if (outcome === "gone") return undefined; // removed since the lstat: the path is free
  throw toBindError(target.address, outcome, `probing the existing socket failed (${outcome.message}), so it was left in place`);
}

/**
 * Connects to an existing socket file to tell a live server from a stale file. A live server sees
 * one connection that closes at once.
 */
function probe(path: string): Promise<"live" | "refused" | "gone" | NodeJS.ErrnoException> {
  return new Promise((settle) => {
    const socket = connect({ path });
    const done = (outcome: "live" | "refused" | "gone" | NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("error", onError);
      socket.on("error", ignore);
      socket.destroy();
      settle(outcome);
    };
    const onConnect = () => done("live");
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") done("refused");
      else if (error.code === "ENOENT") done("gone");
      else done(error);
    };
    const timer = setTimeout(() => done(errnoError("ETIMEDOUT", "connect", `no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
    socket.once("connect", onConnect);
    socket.once("error", onError);
  });
}

function ignore(): void {}

/** One socket file to bind: the server, where, what stale file it replaces, its mode and backlog. */
interface FileBind {
  readonly server: NetServer;
  readonly target: SocketPath;
  /** `target.listenPath`, resolved. */
  readonly absolute: string;
  /** The stale socket file found at `absolute`, to unlink (if it is still that file) before binding. */
  readonly stale: FileId | undefined;
  readonly mode: number | undefined;
  readonly backlog: number | undefined;
}

/** Binds, applies `mode`, puts the socket at `absolute` and returns its id; see {@link bindUnixSocket}. */
async function bindFile(bind: FileBind, force: Strategy | undefined): Promise<FileId> {
  const { server, target, absolute, stale, mode, backlog } = bind;
  if (force === "direct") return bindDirect(bind);
  let privateDir: string;
  try {
    privateDir = await mkdtemp(join(dirname(absolute), ".tako-"));
  } catch (error) {
    throw toBindError(target.address, error);
  }
  let tempPath = join(privateDir, "s");
  let dirHandle: FileHandle | undefined;
  let listening = false;
  try {
    if (force === "proc-fd" || (force === undefined && Buffer.byteLength(tempPath) > MAX_SOCKET_PATH_BYTES)) {
      if (process.platform !== "linux") {
        await rmdir(privateDir);
        return await bindDirect(bind);
      }
      dirHandle = await open(privateDir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
      tempPath = `/proc/self/fd/${dirHandle.fd}/s`;
    }
    await listen(server, tempPath, backlog);
    listening = true;
    if (mode !== undefined) await chmod(tempPath, mode);
    const ours = await lstat(tempPath, { bigint: true });
    checkModeApplied(target, ours.mode, mode);
    if (stale !== undefined) await unlinkIfSame(absolute, stale);
    try {
      await link(tempPath, absolute);
    } catch (error) {
      if (errorCode(error) === "EEXIST") {
        throw errnoError("EADDRINUSE", "link", "another socket appeared at the path while binding (left in place)");
      }
      throw error;
    }
    await unlink(tempPath);
    await rmdir(privateDir);
    if (dirHandle !== undefined) {
      // libuv unlinks the name it bound (/proc/self/fd/N/s) when the server closes; the handle
      // must stay open until then so N cannot name another directory.
      const handle = dirHandle;
      dirHandle = undefined;
      server.once("close", () => void handle.close().catch(() => {}));
    }
    return { dev: ours.dev, ino: ours.ino };
  } catch (error) {
    if (listening) await closeServer(server);
    await unlink(tempPath).catch(() => {});
    await rmdir(privateDir).catch(() => {});
    await dirHandle?.close().catch(() => {});
    throw toBindError(target.address, error);
  }
}

/** The fallback: bind at the path itself, then chmod (a brief window with umask permissions). */
async function bindDirect({ server, target, absolute, stale, mode, backlog }: FileBind): Promise<FileId> {
  try {
    if (stale !== undefined) await unlinkIfSame(absolute, stale);
    await listen(server, target.listenPath, backlog);
  } catch (error) {
    throw toBindError(target.address, error);
  }
  try {
    if (mode !== undefined) await chmod(absolute, mode);
    const ours = await lstat(absolute, { bigint: true });
    checkModeApplied(target, ours.mode, mode);
    return { dev: ours.dev, ino: ours.ino };
  } catch (error) {
    await closeServer(server);
    throw toBindError(target.address, error);
  }
}

/** Feature check on the result: the socket file must carry `mode` after the chmod. */
/** @internal Exported for its test. */
export function checkModeApplied(target: SocketPath, found: bigint, mode: number | undefined): void {
  if (mode !== undefined && Number(found & 0o777n) !== mode) {
    throw unsupportedFeature("socket file modes", `${target.address} has mode 0o${(found & 0o777n).toString(8)} after chmod to 0o${mode.toString(8)}`);
  }
}

/** Unlinks `path` only if it is still the file `id` names; a missing file is fine. */
async function unlinkIfSame(path: string, id: FileId): Promise<void> {
  try {
    const now = await lstat(path, { bigint: true });
    if (now.dev === id.dev && now.ino === id.ino) await unlink(path);
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw error;
  }
}

function listen(server: NetServer, path: string, backlog: number | undefined): Promise<void> {
  return new Promise((settle, fail) => {
    const onError = (error: Error) => {
      server.off("listening", onListening);
      fail(error);
    };
    const onListening = () => {
      server.off("error", onError);
      settle();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(backlog === undefined ? { path } : { path, backlog });
  });
}

function closeServer(server: NetServer): Promise<void> {
  return new Promise((settle) => server.close(() => settle()));
}

async function describe(
  absolute: string,
  found: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean },
): Promise<string> {
  if (found.isFile()) return "a regular file";
  if (found.isDirectory()) return "a directory";
  if (found.isFIFO()) return "a FIFO (named pipe)";
  if (found.isCharacterDevice()) return "a character device";
  if (found.isBlockDevice()) return "a block device";
  if (found.isSymbolicLink()) {
    try {
      const pointee = await stat(absolute);
      if (pointee.isSocket()) return "a symbolic link to a socket";
      if (pointee.isDirectory()) return "a symbolic link to a directory";
      return pointee.isFile() ? "a symbolic link to a regular file" : "a symbolic link";
    } catch {
      return "a dangling symbolic link";
    }
  }
  return "not a socket";
}

function errnoError(code: string, syscall: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code, syscall });
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null ? (error as { code?: string }).code : undefined;
}

/** Wraps an OS error into a {@link BindError} keeping its code; Tako errors pass through. */
function toBindError(address: string, error: unknown, detail?: string): TakoError {
  if (error instanceof TakoError) return error;
  const cause: NodeJS.ErrnoException = error instanceof Error ? error : new Error(String(error));
  const bindError = new BindError(address, cause);
  const why = detail ?? cause.message;
  if (why) bindError.message = `${bindError.message}: ${why}`;
  return bindError;
}
