export { BIND_UNIX_SOCKET_OPTION_KEYS, bindUnixSocket, validateUnixSocketOptions, type BindUnixSocketOptions, type UnixSocketBinding } from "./bind-unix.ts";
export type { UnixAddressInput } from "./unix-address.ts";
export { UNIX_OPTION_KEYS, validateUnixOptions, type UnixServeOptions } from "./options.ts";
export { serveUnix, serveUnixWithShutdown, serveUnixWithShutdownAndDrain, type UnixHandler } from "./serve-unix.ts";
export { MAX_SOCKET_PATH_BYTES, parseSocketPath, type SocketPath } from "./socket-path.ts";
export { UnixPeerAddr } from "./unix-peer-addr.ts";
export {
  BindError,
  CHANNELS,
  FrameTooLargeError,
  InvalidConfigError,
  InvalidSocketPathError,
  ProtocolError,
  shutdownSignal,
  TakoError,
  UnsupportedError,
  type DrainReport,
  type FdAddress,
  type HandlerContext,
  type Logger,
  type Server,
  type ServerStats,
  type ShutdownSignal,
} from "@tako/core";
