import { fstatSync, readFileSync, type BigIntStats } from "node:fs";
import { endianness } from "node:os";
import type { SocketAddress } from "./address.ts";
import type { Server as NetServer } from "node:net";
import { BindError, InvalidAddressError } from "./errors.ts";
import { assertListeningOnFd, inheritedFdUnsupported, type FdListenExpectation } from "./runtime.ts";

/**
 * A listening socket the process already holds (inherited from systemd, a supervisor, or a
 * `listenFds()` entry), given to a `serve*` function in place of an address. Extra fields (a
 * `listenFds()` entry's `name`, `kind`, `address`) are ignored: the fd itself is inspected again.
 *
 * @example
 * ```ts
 * const server = await serveTcp({ fd: 3 }, handler); // the socket systemd passed as fd 3
 * ```
 */
export interface FdAddress {
  /** The file descriptor number (0 or more). */
  readonly fd: number;
}

/**
 * What {@link inspectFd} found an fd to be. `kind` is `"tcp"`, `"udp"`, `"unix"` (any Unix-domain
 * socket; `type` tells stream from datagram) or `"other"` (not a socket, or a socket of another
 * family, or one the platform gives no way to inspect).
 *
 * @example
 * ```ts
 * const info: FdInfo = inspectFd(3);
 * // { fd: 3, kind: "tcp", type: "stream", listening: true, family: "IPv4",
 * //   address: { address: "127.0.0.1", port: 8080, family: "IPv4" }, description: "a listening TCP socket on 127.0.0.1:8080" }
 * ```
 */
export interface FdInfo {
  readonly fd: number;
  readonly kind: "tcp" | "udp" | "unix" | "other";
  /** The socket type, `null` when not a socket or unknown. */
  readonly type: "stream" | "dgram" | "seqpacket" | null;
  /** Whether the socket is listening (accepting connections). */
  readonly listening: boolean;
  /** For TCP and UDP: the IP family. */
  readonly family: "IPv4" | "IPv6" | null;
  /** TCP/UDP: the bound `{ address, port, family }`; Unix: the bound path (`@name` for abstract, `""` unnamed); otherwise `null`. */
  readonly address: SocketAddress | string | null;
  /** Whether the kind was read from the kernel (`/proc/net` on Linux); `false` off Linux, where only "a socket" is known. */
  readonly verified: boolean;
  /** What it is, in words, for error messages: "a listening TCP socket on 127.0.0.1:8080", "a regular file", ... */
  readonly description: string;
}

/**
 * Whether `value` is an {@link FdAddress} (an object with a numeric `fd`), e.g. a `listenFds()` entry.
 *
 * @example
 * ```ts
 * isFdAddress({ fd: 3 });          // true
 * isFdAddress("127.0.0.1:8080");   // false
 * ```
 */
export function isFdAddress(value: unknown): value is FdAddress {
  return typeof value === "object" && value !== null && "fd" in value && (value as { fd: unknown }).fd !== undefined;
}

const TCP_LISTEN = "0A";
const UNIX_LISTENING_FLAG = 0x10000; // __SO_ACCEPTCON
const UNIX_TYPES: Record<string, FdInfo["type"]> = { "0001": "stream", "0002": "dgram", "0005": "seqpacket" };

/**
 * Finds out what the open file descriptor `fd` is, in pure JavaScript: `fstat` (is it a socket,
 * which inode), then on Linux the inode in `/proc/net/{tcp,tcp6,udp,udp6,unix}` (listening state,
 * bound address or path). Throws {@link InvalidAddressError} when `fd` is not a non-negative
 * integer or not open, and `UnsupportedError` (naming the runtime) when the process does hold `fd`
 * but the runtime's `node:fs` cannot use it (Deno reports `EBADF` for inherited descriptors). Sockets in another network namespace are not in this process's
 * `/proc/net` tables and are reported as `"other"`.
 *
 * @example
 * ```ts
 * const { kind, listening, address } = inspectFd(3);
 * if (kind === "unix" && listening) console.log(`inherited ${address}`);
 * ```
 */
export function inspectFd(fd: number, platform: NodeJS.Platform = process.platform): FdInfo {
  if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0) {
    throw new InvalidAddressError(`an fd must be an integer of at least 0; got ${typeof fd === "number" ? fd : typeof fd}`);
  }
  let stat: BigIntStats;
  try {
    stat = fstatSync(fd, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EBADF") {
      const unsupported = inheritedFdUnsupported(fd);
      if (unsupported !== undefined) throw unsupported;
    }
    throw new InvalidAddressError(`fd ${fd} is not usable: ${code === "EBADF" ? "it is not open in this process" : String(code ?? error)}`, { cause: error });
  }
  const base = { fd, type: null, listening: false, family: null, address: null, verified: true } as const;
  if (!stat.isSocket()) {
    const what = stat.isFile()
      ? "a regular file"
      : stat.isDirectory()
        ? "a directory"
        : stat.isFIFO()
          ? "a pipe (FIFO)"
          : stat.isCharacterDevice()
            ? "a character device (a terminal or /dev/null)"
            : "not a socket";
    return { ...base, kind: "other", description: what };
  }
  if (platform !== "linux") {
    return { ...base, kind: "other", verified: false, description: "a socket (its kind cannot be read on this platform)" };
  }
  const inode = stat.ino.toString();
  return (
    findInet(fd, inode, "tcp") ??
    findInet(fd, inode, "udp") ??
    findUnix(fd, inode) ?? { ...base, kind: "other", description: "a socket that is not TCP, UDP or Unix (or lives in another network namespace)" }
  );
}

function readTable(name: string): string[] {
  try {
    return readFileSync(`/proc/net/${name}`, "latin1").split("\n").slice(1);
  } catch {
    return [];
  }
}

function findInet(fd: number, inode: string, protocol: "tcp" | "udp"): FdInfo | undefined {
  for (const [table, family] of [
    [protocol, "IPv4"],
    [`${protocol}6`, "IPv6"],
  ] as const) {
    for (const line of readTable(table)) {
      const cols = line.trim().split(/\s+/);
      if (cols[9] !== inode) continue;
      const address = parseHexAddress(cols[1] ?? "", family);
      const state = cols[3] ?? "";
      const where = address.family === "IPv6" ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
      if (protocol === "udp") {
        return { fd, kind: "udp", type: "dgram", listening: false, family, address, verified: true, description: `a UDP socket on ${where}` };
      }
      const listening = state === TCP_LISTEN;
      const description = listening
        ? `a listening TCP socket on ${where}`
        : state === "07"
          ? `a TCP socket bound to ${where} that is not listening`
          : `a connected TCP socket (local ${where})`;
      return { fd, kind: "tcp", type: "stream", listening, family, address, verified: true, description };
    }
  }
  return undefined;
}

function findUnix(fd: number, inode: string): FdInfo | undefined {
  for (const line of readTable("unix")) {
    // Num RefCount Protocol Flags Type St Inode [Path]; the path is the rest of the line.
    const match = /^\s*\S+:\s+\S+\s+\S+\s+([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s+\S+\s+(\d+)(?: (.*))?$/.exec(line);
    if (match === null || match[3] !== inode) continue;
    const listening = (Number.parseInt(match[1] as string, 16) & UNIX_LISTENING_FLAG) !== 0;
    const type = UNIX_TYPES[match[2] as string] ?? null;
    const path = match[4] ?? "";
    const named = path === "" ? "unnamed" : path;
    const description =
      type === "stream"
        ? listening
          ? `a listening Unix stream socket (${named})`
          : `a connected or unbound Unix stream socket (${named})`
        : `a Unix ${type ?? "unknown-type"} socket (${named})`;
    return { fd, kind: "unix", type, listening, family: null, address: path, verified: true, description };
  }
  return undefined;
}

/** `/proc/net/tcp`'s `0100007F:1F90`: the address as 32-bit words printed in host byte order, the port in hex. */
function parseHexAddress(text: string, family: "IPv4" | "IPv6"): SocketAddress {
  const [hex = "", portHex = "0"] = text.split(":");
  const port = Number.parseInt(portHex, 16);
  const bytes = Buffer.alloc(hex.length / 2);
  const little = endianness() === "LE";
  for (let word = 0; word < hex.length / 8; word++) {
    const value = Number.parseInt(hex.slice(word * 8, word * 8 + 8), 16) >>> 0;
    if (little) bytes.writeUInt32LE(value, word * 4);
    else bytes.writeUInt32BE(value, word * 4);
  }
  if (family === "IPv4") return { address: [...bytes].join("."), port, family };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return { address: compressIPv6(groups, bytes), port, family };
}

function compressIPv6(groups: string[], bytes: Buffer): string {
  // IPv4-mapped (::ffff:a.b.c.d) as Node prints it.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes.readUInt16BE(10) === 0xffff) return `::ffff:${[...bytes.subarray(12)].join(".")}`;
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(":");
  return `${groups.slice(0, bestStart).join(":")}::${groups.slice(bestStart + bestLength).join(":")}`;
}

/** The kind a listener needs from an inherited fd. */
type Wanted = "tcp" | "udp" | "unix";

const WANTED_TEXT: Record<Wanted, string> = {
  tcp: "a listening TCP socket",
  udp: "a UDP socket",
  unix: "a listening Unix stream socket",
};

/**
 * Inspects an inherited fd and checks it is what the `listener` needs (`"tcp"`: a listening TCP
 * socket; `"udp"`: a UDP socket; `"unix"`: a listening Unix stream socket); throws
 * {@link InvalidAddressError} naming what the fd really is otherwise. Off Linux the kind cannot be
 * read, so any socket passes and the OS has the last word when the listener adopts it.
 *
 * @example
 * ```ts
 * const info = checkListenFd({ fd: 3 }, "tcp", "serveTcp"); // throws for a UDP fd: "... fd 3 is a UDP socket on 0.0.0.0:53"
 * ```
 */
export function checkListenFd(input: FdAddress, wanted: Wanted, caller: string): FdInfo {
  const info = inspectFd(input.fd);
  if (!info.verified) return info;
  const fits = wanted === "udp" ? info.kind === "udp" : info.kind === wanted && info.type === "stream" && info.listening;
  if (!fits) {
    throw new InvalidAddressError(`${caller} needs ${WANTED_TEXT[wanted]}, but fd ${info.fd} is ${info.description}`);
  }
  return info;
}

/**
 * Makes `server` (a `net.Server` or `http.Server`) accept on the inherited listening socket `fd`
 * instead of binding an address, and resolves once it listens. The one place a listener adopts an
 * fd: a runtime that cannot listen on an fd fails here. Nothing is done to the socket beyond
 * `listen` (no unlink, no chmod; closing the server later does not remove a Unix socket file).
 * Rejects with a {@link BindError} carrying the OS code, and with `UnsupportedError` (the server
 * closed again) when the runtime listened somewhere else than the fd (Bun's `node:http` ignores
 * `fd` and binds a random TCP port): where the kernel tells what the fd is (Linux), the server's
 * address must be that Unix socket or that TCP port.
 *
 * @example
 * ```ts
 * const info = checkListenFd({ fd: 3 }, "tcp", "myListener");
 * await listenOnFd(net.createServer(onConnection), info.fd);
 * ```
 */
export function listenOnFd(server: NetServer, fd: number, backlog?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const expected = listenExpectation(inspectFd(fd)); // a throw here rejects

    const onError = (error: NodeJS.ErrnoException) => {
      server.removeListener("listening", onListening);
      reject(new BindError(`fd ${fd}`, error));
    };
    const onListening = () => {
      server.removeListener("error", onError);
      try {
        if (expected !== undefined) assertListeningOnFd(server, fd, expected);
      } catch (error) {
        server.close(() => reject(error as Error));
        return;
      }
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    try {
      server.listen(backlog === undefined ? { fd } : { fd, backlog });
    } catch (error) {
      onError(error as NodeJS.ErrnoException);
    }
  });
}

/** What a server adopting `info`'s fd must end up listening on; `undefined` where the kernel could not tell (off Linux). */
function listenExpectation(info: FdInfo): FdListenExpectation | undefined {
  if (!info.verified) return undefined;
  if (info.kind === "unix") return { kind: "unix" };
  if (info.kind === "tcp" && typeof info.address === "object" && info.address !== null) return { kind: "tcp", port: info.address.port };
  return undefined;
}
