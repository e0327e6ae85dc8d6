import { InvalidConfigError, type SocketAddress } from "@tako/core";
import { checkKnownKeys, inspectFd } from "@tako/core/listener";
import { setCloseOnExec } from "./native.ts";

/**
 * sd_listen_fds(3): the first passed fd is 3 (`SD_LISTEN_FDS_START`).
 *
 * @example
 * ```ts
 * const fd = SD_LISTEN_FDS_START + index; // the fd of the index-th socket in the unit
 * ```
 */
export const SD_LISTEN_FDS_START = 3;

/**
 * One socket systemd passed (sd_listen_fds_with_names(3)). Hand it straight to a serve function:
 * `serveTcp(entry, handler)`, `serveUdp(entry, ...)`, `serveUnix(entry, ...)`,
 * `serveUnixHttp(entry, router)`.
 *
 * @example
 * ```ts
 * const [web]: ListenFd[] = listenFds();
 * // { fd: 3, name: "web", kind: "tcp", listening: true, address: { address: "0.0.0.0", port: 80, family: "IPv4" } }
 * ```
 */
export interface ListenFd {
  /** The file descriptor, 3 and up. */
  readonly fd: number;
  /** Its name: `FileDescriptorName=` (default: the socket unit's name), `"unknown"` when systemd gave none. */
  readonly name: string;
  /** What the fd is, read from the kernel: `"tcp"`, `"udp"`, `"unix"` (stream or datagram) or `"other"` (FIFO, netlink, ...). */
  readonly kind: "tcp" | "udp" | "unix" | "other";
  /** Whether it is a listening socket (`false` for UDP, and for the connected socket of `Accept=yes`). */
  readonly listening: boolean;
  /** TCP/UDP: `{ address, port, family }`; Unix: the path (`@name` for abstract); otherwise `null`. */
  readonly address: SocketAddress | string | null;
}

/**
 * Options of {@link listenFds}.
 *
 * @example
 * ```ts
 * const fds = listenFds({ unsetEnvironment: false } satisfies ListenFdsOptions); // children still see LISTEN_*
 * ```
 */
export interface ListenFdsOptions {
  /** Remove `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` from `process.env` so children do not take them for theirs. Default `true`. */
  readonly unsetEnvironment?: boolean;
}

function parseCount(text: string, variable: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new InvalidConfigError(variable, `${variable}=${JSON.stringify(text)} is not a number`);
  return Number(text);
}

/**
 * The sockets systemd passed this process (socket activation), as sd_listen_fds(3) defines them:
 * `LISTEN_PID` must be this process (otherwise, or when it is unset, `[]`), `LISTEN_FDS` fds from
 * fd 3 on, named by `LISTEN_FDNAMES` (a count that disagrees is an `InvalidConfigError`). Each
 * entry's kind and address are read from the kernel. Like libsystemd it sets FD_CLOEXEC on the fds
 * (through koffi; skipped if koffi cannot load) so child processes do not inherit the listeners,
 * and removes the three variables from `process.env` unless `{ unsetEnvironment: false }`.
 * Call it once: the second call finds no variables.
 *
 * @example
 * ```ts
 * import { listenFds } from "@tako/systemd";
 * import { serveTcp } from "@tako/tcp";
 * const [socket] = listenFds();
 * const server = await serveTcp(socket ?? "127.0.0.1:9001", (s) => s.pipe(s)); // falls back when not socket-activated
 * ```
 */
export function listenFds(options: ListenFdsOptions = {}): ListenFd[] {
  if (typeof options !== "object" || options === null) throw new InvalidConfigError("options", "listenFds options must be an object");
  checkKnownKeys("listenFds options", options, ["unsetEnvironment"]);
  if (options.unsetEnvironment !== undefined && typeof options.unsetEnvironment !== "boolean") {
    throw new InvalidConfigError("unsetEnvironment", "unsetEnvironment must be a boolean");
  }
  const env = process.env;
  const pidText = env.LISTEN_PID;
  const fdsText = env.LISTEN_FDS;
  const namesText = env.LISTEN_FDNAMES;
  if (options.unsetEnvironment !== false) {
    delete env.LISTEN_PID;
    delete env.LISTEN_FDS;
    delete env.LISTEN_FDNAMES;
  }
  if (pidText === undefined || fdsText === undefined) return [];
  if (parseCount(pidText, "LISTEN_PID") !== process.pid) return [];
  const count = parseCount(fdsText, "LISTEN_FDS");
  const names = namesText === undefined ? undefined : namesText.split(":");
  if (names !== undefined && names.length !== count) {
    throw new InvalidConfigError("LISTEN_FDNAMES", `LISTEN_FDNAMES names ${names.length} socket(s) (${JSON.stringify(namesText)}) but LISTEN_FDS=${count}`);
  }
  const entries: ListenFd[] = [];
  for (let i = 0; i < count; i++) {
    const fd = SD_LISTEN_FDS_START + i;
    let info;
    try {
      info = inspectFd(fd);
    } catch (error) {
      throw new InvalidConfigError("LISTEN_FDS", `LISTEN_FDS=${count}, but ${(error as Error).message}`, { cause: error });
    }
    setCloseOnExec(fd);
    entries.push(Object.freeze({ fd, name: names?.[i] || "unknown", kind: info.kind, listening: info.listening, address: info.address }));
  }
  return entries;
}
