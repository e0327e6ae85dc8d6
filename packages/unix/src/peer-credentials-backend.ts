/**
 * The native side of peer credentials: `getsockopt(SO_PEERCRED)` (Linux) or `getpeereid` (macOS,
 * FreeBSD, OpenBSD) and `getpeername` on an accepted socket's fd, called through `koffi` (an
 * optional dependency with prebuilt binaries inside its npm package; nothing is compiled). Loaded
 * lazily, once per process, on the first listener that wants credentials.
 */
import { createRequire } from "node:module";
import { endianness } from "node:os";

/** What one read gives; `null` fields are unknown. */
export interface PeerRecord {
  readonly pid: number | null;
  readonly uid: number | null;
  readonly gid: number | null;
  readonly path: string | null;
}

/** A loaded backend: reads an fd's peer; `undefined` when the credentials call failed. */
export interface PeerCredentialsBackend {
  /** e.g. `"koffi 3.3.4: getsockopt(SO_PEERCRED) + getpeername"`. */
  readonly name: string;
  /** The peer of `fd`, or `undefined` when the kernel gave no credentials (closed fd, not a socket). */
  read(fd: number): PeerRecord | undefined;
}

/** The environment variable that turns the backend off (`none`): for tests and for operators who want none. */
export const BACKEND_ENV = "TAKO_PEERCRED_BACKEND";

type NativeFunction = (...args: unknown[]) => number;
interface Koffi {
  load(path: string | null): { func(definition: string): NativeFunction };
  version?: string;
}

const SOCKADDR_UN_SIZE = 110; // sa_family_t (2) + sun_path[108] on Linux; BSD's 106 fits inside.
const PATH_OFFSET = 2; // Linux: u16 family; BSD: u8 length + u8 family.
const AF_UNIX = 1;
const NO_ID = 0xffff_ffff; // (uid_t)-1
const LITTLE_ENDIAN = endianness() === "LE";

let loaded: PeerCredentialsBackend | string | undefined;

/**
 * The backend a listener starting now gets, or the reason there is none (a sentence naming why).
 * `TAKO_PEERCRED_BACKEND=none` answers "none" without loading anything (read at each listener's
 * start, so a test or an operator can turn credentials off); otherwise the koffi backend is loaded
 * the first time and the outcome kept for the process.
 */
export function peerCredentialsBackend(): PeerCredentialsBackend | string {
  const forced = process.env[BACKEND_ENV];
  if (forced === "none") return `peer credentials are turned off by ${BACKEND_ENV}=none`;
  if (forced !== undefined && forced !== "" && forced !== "koffi") return `${BACKEND_ENV} must be "koffi" or "none"; got ${JSON.stringify(forced)}`;
  return loadedBackend();
}

/** The koffi backend (loaded on the first call, kept for the process), or why it cannot load. */
export function loadedBackend(): PeerCredentialsBackend | string {
  loaded ??= load();
  return loaded;
}

function load(): PeerCredentialsBackend | string {
  const platform = process.platform;
  if (platform !== "linux" && platform !== "darwin" && platform !== "freebsd" && platform !== "openbsd") {
    return `peer credentials are not supported on ${platform} (Linux SO_PEERCRED, or getpeereid on macOS and the BSDs)`;
  }
  let koffi: Koffi;
  try {
    const mod = createRequire(import.meta.url)("koffi") as Koffi & { default?: Koffi };
    koffi = mod.default ?? mod;
  } catch (error) {
    return `the optional dependency koffi could not be loaded (${firstLine(error)}); install it (npm install koffi) for peer credentials`;
  }
  try {
    // The process's own symbols: libc is always there (glibc, musl, libSystem, BSD libc).
    const libc = koffi.load(null);
    const getpeername = libc.func("int getpeername(int fd, void *addr, void *len)");
    const version = koffi.version === undefined ? "koffi" : `koffi ${koffi.version}`;
    if (platform === "linux") {
      const getsockopt = libc.func("int getsockopt(int fd, int level, int name, void *value, void *len)");
      return linuxBackend(version, getsockopt, getpeername);
    }
    const getpeereid = libc.func("int getpeereid(int fd, void *uid, void *gid)");
    return bsdBackend(version, getpeereid, getpeername);
  } catch (error) {
    return `koffi could not bind getsockopt/getpeername from libc (${firstLine(error)})`;
  }
}

function linuxBackend(version: string, getsockopt: NativeFunction, getpeername: NativeFunction): PeerCredentialsBackend {
  const SOL_SOCKET = 1;
  // asm-generic (x64, arm, arm64, riscv64, loong64, ia32, s390x) uses 17; powerpc has its own number (koffi has no mips build).
  const SO_PEERCRED = process.arch === "ppc64" ? 21 : 17;
  // One set of buffers: calls are synchronous on the main thread.
  const ucred = new Int32Array(3); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three host-endian 32-bit ints
  const len = new Uint32Array(1); // socklen_t
  const addr = Buffer.alloc(SOCKADDR_UN_SIZE);
  return {
    name: `${version}: getsockopt(SO_PEERCRED) + getpeername`,
    read(fd) {
      len[0] = 12;
      if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ucred, len) !== 0 || len[0] !== 12) return undefined;
      const pid = ucred[0] as number;
      const uid = (ucred[1] as number) >>> 0;
      const gid = (ucred[2] as number) >>> 0;
      // uid/gid -1: the kernel holds no credentials for this socket (a TCP socket, say): none to give.
      if (uid === NO_ID || gid === NO_ID) return undefined;
      // pid 0: the peer's process is not visible from this pid namespace; no pid to give.
      return { pid: pid > 0 ? pid : null, uid, gid, path: peerName(getpeername, fd, addr, len, false) };
    },
  };
}

function bsdBackend(version: string, getpeereid: NativeFunction, getpeername: NativeFunction): PeerCredentialsBackend {
  const uid = new Uint32Array(1);
  const gid = new Uint32Array(1);
  const len = new Uint32Array(1);
  const addr = Buffer.alloc(SOCKADDR_UN_SIZE);
  return {
    name: `${version}: getpeereid + getpeername`,
    read(fd) {
      if (getpeereid(fd, uid, gid) !== 0 || uid[0] === NO_ID || gid[0] === NO_ID) return undefined;
      return { pid: null, uid: uid[0] as number, gid: gid[0] as number, path: peerName(getpeername, fd, addr, len, true) };
    },
  };
}

/**
 * The client's bound name from `getpeername` (`bsd`: the address starts with a length byte and a
 * family byte; Linux: a host-endian u16 family): `null` when not a Unix address or unnamed (only the
 * family), `@name` for a Linux abstract name (leading NUL; its length is the returned length, it is
 * not NUL-terminated), else the path up to its NUL.
 */
function peerName(getpeername: NativeFunction, fd: number, addr: Buffer, len: Uint32Array, bsd: boolean): string | null {
  len[0] = SOCKADDR_UN_SIZE;
  if (getpeername(fd, addr, len) !== 0) return null;
  const family = bsd ? addr[1] : LITTLE_ENDIAN ? addr.readUInt16LE(0) : addr.readUInt16BE(0);
  if (family !== AF_UNIX) return null;
  const end = Math.min(len[0] as number, SOCKADDR_UN_SIZE);
  if (end <= PATH_OFFSET) return null;
  if (addr[PATH_OFFSET] === 0) {
    return end > PATH_OFFSET + 1 ? `@${addr.toString("utf8", PATH_OFFSET + 1, end)}` : null;
  }
  const nul = addr.indexOf(0, PATH_OFFSET);
  return addr.toString("utf8", PATH_OFFSET, nul < 0 || nul > end ? end : nul);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] as string;
}
