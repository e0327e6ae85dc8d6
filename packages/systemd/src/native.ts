import { createRequire } from "node:module";
import { constants, endianness } from "node:os";
import { TakoError, UnsupportedError } from "@tako/core";

/**
 * The libc calls Node core lacks (a Unix datagram send, `fcntl`), through koffi: a generic FFI
 * whose prebuilt binary comes inside its npm package, so nothing compiles at install. Loaded on
 * first use, once; every caller is told clearly when it cannot load.
 */
export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
  bind(fd: number, addr: Buffer, addrlen: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  close(fd: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
  errno(): number;
}

/** Linux values (systemd exists only there). */
export const AF_UNIX = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
/** `struct sockaddr_un` on Linux: `sa_family_t sun_family` (2 bytes) + `char sun_path[108]`. */
const SUN_PATH_OFFSET = 2;
const SUN_PATH_SIZE = 108;

let loaded: Libc | Error | undefined;

/** Loads the bindings, or returns why they cannot load. */
export function tryLibc(): Libc | Error {
  if (loaded !== undefined) return loaded;
  try {
    if (process.platform !== "linux") throw new Error(`sd_notify and LISTEN_FDS are Linux facilities (this is ${process.platform})`);
    const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
    const lib = openLibc(koffi);
    loaded = {
      socket: lib.func("int socket(int domain, int type, int protocol)") as Libc["socket"],
      sendto: lib.func("intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)") as Libc["sendto"],
      bind: lib.func("int bind(int fd, const void *addr, uint32_t addrlen)") as Libc["bind"],
      recv: lib.func("intptr_t recv(int fd, void *buf, size_t len, int flags)") as Libc["recv"],
      close: lib.func("int close(int fd)") as Libc["close"],
      fcntl: lib.func("int fcntl(int fd, int cmd, int arg)") as Libc["fcntl"],
      errno: () => koffi.errno(),
    };
  } catch (error) {
    loaded = error instanceof Error ? error : new Error(String(error));
  }
  return loaded;
}

function openLibc(koffi: typeof import("koffi")): ReturnType<typeof koffi.load> {
  const failures: string[] = [];
  // glibc first, then musl (Alpine), by the names their loaders know.
  for (const name of ["libc.so.6", `libc.musl-${process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : process.arch}.so.1`, "libc.so"]) {
    try {
      return koffi.load(name);
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
  }
  throw new Error(`cannot open the C library (${failures.join("; ")})`);
}

/** The bindings, or an {@link UnsupportedError} saying why they are missing. */
export function libc(what: string): Libc {
  const lib = tryLibc();
  if (lib instanceof Error) {
    throw new UnsupportedError(`${what} needs koffi (an FFI with prebuilt binaries, a dependency of @tako/systemd), which could not load: ${lib.message}`, { cause: lib });
  }
  return lib;
}

/**
 * A libc call failed: `code` is the errno name (`ECONNREFUSED`, `ENOENT`, ...), as Node's own
 * errors carry it.
 *
 * @example
 * ```ts
 * try { notify("READY=1"); } catch (error) { if (error instanceof SystemCallError) console.error(error.code, error.syscall); }
 * ```
 */
export class SystemCallError extends TakoError {
  /** The failing call, e.g. `"sendto"`. */
  readonly syscall: string;
  /** The errno number. */
  readonly errno: number;
  constructor(syscall: string, errno: number, detail: string) {
    const code = errnoName(errno);
    super(code, `${syscall} failed: ${code} (${detail})`);
    this.name = "SystemCallError";
    this.syscall = syscall;
    this.errno = errno;
  }
}

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(constants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

/**
 * Lays out a `struct sockaddr_un` for `target` (a path, or `@name` for the abstract namespace:
 * a leading NUL, no terminator) and returns it with the address length to pass.
 */
export function sockaddrUn(target: string): { addr: Buffer; length: number } {
  const abstract = target.startsWith("@");
  const path = Buffer.from(abstract ? `\0${target.slice(1)}` : target, "utf8");
  // A path needs its terminating NUL inside sun_path; an abstract name uses every byte given.
  if (path.length + (abstract ? 0 : 1) > SUN_PATH_SIZE) throw new UnsupportedError(`the socket address ${JSON.stringify(target)} is longer than sun_path (${SUN_PATH_SIZE} bytes)`);
  const addr = Buffer.alloc(SUN_PATH_OFFSET + SUN_PATH_SIZE);
  // sa_family_t is a host-order unsigned short.
  if (endianness() === "LE") addr.writeUInt16LE(AF_UNIX, 0);
  else addr.writeUInt16BE(AF_UNIX, 0);
  path.copy(addr, SUN_PATH_OFFSET);
  return { addr, length: SUN_PATH_OFFSET + path.length + (abstract ? 0 : 1) };
}

/** Sends one datagram to the Unix datagram socket `target` from a fresh close-on-exec socket. */
export function sendDatagram(target: string, payload: Buffer): void {
  const lib = libc("sd_notify");
  const { addr, length } = sockaddrUn(target);
  const fd = lib.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SystemCallError("socket", lib.errno(), "AF_UNIX, SOCK_DGRAM");
  try {
    const sent = lib.sendto(fd, payload, payload.length, 0, addr, length);
    if (sent < 0) throw new SystemCallError("sendto", lib.errno(), `NOTIFY_SOCKET=${target}`);
  } finally {
    lib.close(fd);
  }
}

/** Sets FD_CLOEXEC on `fd` (as sd_listen_fds does); false when koffi is unavailable or the call fails. */
export function setCloseOnExec(fd: number): boolean {
  const lib = tryLibc();
  if (lib instanceof Error) return false;
  const flags = lib.fcntl(fd, F_GETFD, 0);
  if (flags < 0) return false;
  return (flags & FD_CLOEXEC) !== 0 || lib.fcntl(fd, F_SETFD, flags | FD_CLOEXEC) === 0;
}
