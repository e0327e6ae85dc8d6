import type { FdAddress } from "@tako/core";
import { checkListenFd, isFdAddress } from "@tako/core/listener";
import { parseSocketPath, type SocketPath } from "./socket-path.ts";

/**
 * Where a Unix listener listens: a socket path (`@name` for abstract), or an inherited listening
 * Unix stream socket `{ fd }` (a `listenFds()` entry from `@tako/systemd`).
 *
 * @example
 * ```ts
 * const where: UnixAddressInput[] = ["/run/app.sock", "@admin", { fd: 3 }];
 * ```
 */
export type UnixAddressInput = string | FdAddress;

/**
 * The {@link SocketPath} of an inherited socket: checks the fd is a listening Unix stream socket
 * (else `InvalidAddressError` naming what it is) and reads its bound path from the kernel.
 * An unnamed socket is reported as `fd:N`.
 */
function inheritedSocketPath(input: FdAddress, caller: string): SocketPath {
  const info = checkListenFd(input, "unix", caller);
  const path = typeof info.address === "string" && info.address !== "" ? info.address : `fd:${info.fd}`;
  const kind = path.startsWith("@") ? "abstract" : "file";
  return Object.freeze({ kind, address: path, listenPath: kind === "abstract" ? `\0${path.slice(1)}` : path, fd: info.fd });
}

/** @internal Parses a path or checks an inherited fd (shared with `serveUnix`). */
export function resolveUnixAddress(input: UnixAddressInput, caller: string): SocketPath {
  return isFdAddress(input) ? inheritedSocketPath(input, caller) : parseSocketPath(input);
}
