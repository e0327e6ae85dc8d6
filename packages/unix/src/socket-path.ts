import { InvalidSocketPathError, UnsupportedError } from "@tako/core";

/**
 * The longest socket path the platform takes, in bytes: 107 on Linux (`sun_path` is 108 bytes
 * with its terminating NUL), 103 elsewhere (macOS and the BSDs). An abstract name counts its
 * leading NUL.
 *
 * @example
 * ```ts
 * Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES; // what parseSocketPath checks
 * ```
 */
export const MAX_SOCKET_PATH_BYTES: number = maxBytesFor(process.platform);

/**
 * A validated Unix socket path.
 *
 * @example
 * ```ts
 * const { kind, address, listenPath }: SocketPath = parseSocketPath("@admin"); // "abstract", "@admin", "\0admin"
 * ```
 */
export interface SocketPath {
  /** `"file"` for a filesystem path, `"abstract"` for a Linux abstract-namespace name. */
  readonly kind: "file" | "abstract";
  /** How the server reports it (`server.address`): the path as given, or `@name`. */
  readonly address: string;
  /** What `listen()`/`connect()` take: the path as given, or `\0name`. */
  readonly listenPath: string;
  /** Set for an inherited socket (`{ fd }`): its fd. The socket file is then not Tako's: never probed, chmod-ed or unlinked. */
  readonly fd?: number;
}

/**
 * Validates a Unix socket path without touching the filesystem. `@name` (or `\0name`) is a Linux
 * abstract-namespace socket, normalised so `address` is `@name` and `listenPath` is `\0name`.
 * Throws {@link InvalidSocketPathError} for an empty path, a bare `@` (or `\0`), a NUL inside a
 * filesystem path, or a path over {@link MAX_SOCKET_PATH_BYTES} bytes (counted in UTF-8 bytes, not
 * characters); throws {@link UnsupportedError} for an abstract name off Linux.
 *
 * @example
 * ```ts
 * parseSocketPath("/tmp/app.sock"); // { kind: "file", address: "/tmp/app.sock", listenPath: "/tmp/app.sock" }
 * parseSocketPath("\0admin");       // { kind: "abstract", address: "@admin", listenPath: "\0admin" }
 * parseSocketPath("@");             // throws InvalidSocketPathError
 * ```
 */
export function parseSocketPath(path: string): SocketPath {
  return parseSocketPathFor(process.platform, path);
}

/** @internal {@link parseSocketPath} for a given platform (tests check the non-Linux rules). */
export function parseSocketPathFor(platform: NodeJS.Platform, path: unknown): SocketPath {
  if (typeof path !== "string") {
    throw new InvalidSocketPathError(`a socket path must be a string; got ${path === null ? "null" : typeof path}`);
  }
  if (path === "") throw new InvalidSocketPathError("the socket path is empty");
  const max = maxBytesFor(platform);
  if (path.startsWith("@") || path.startsWith("\0")) {
    const name = path.slice(1);
    if (name === "") {
      throw new InvalidSocketPathError(`${JSON.stringify(path)} is not a socket path: an abstract socket needs a name after the "@"`);
    }
    if (platform !== "linux") {
      throw new UnsupportedError(`abstract socket ${JSON.stringify(`@${name}`)}: abstract-namespace sockets exist only on Linux (this is ${platform})`);
    }
    const listenPath = `\0${name}`;
    const bytes = Buffer.byteLength(listenPath);
    if (bytes > max) {
      throw new InvalidSocketPathError(`abstract socket name is ${bytes} bytes with its leading NUL; the limit is ${max} bytes`);
    }
    return Object.freeze({ kind: "abstract", address: `@${name}`, listenPath });
  }
  if (path.includes("\0")) throw new InvalidSocketPathError(`socket path ${JSON.stringify(path)} contains a NUL byte`);
  const bytes = Buffer.byteLength(path);
  if (bytes > max) {
    throw new InvalidSocketPathError(`socket path is ${bytes} bytes; the limit on ${platform} is ${max} bytes: ${JSON.stringify(path)}`);
  }
  return Object.freeze({ kind: "file", address: path, listenPath: path });
}

function maxBytesFor(platform: NodeJS.Platform): number {
  return platform === "linux" ? 107 : 103;
}
