export { BIND_UNIX_SOCKET_OPTION_KEYS, bindUnixSocket, validateUnixSocketOptions, type BindUnixSocketOptions, type UnixSocketBinding } from "./bind-unix.ts";
export { UNIX_OPTION_KEYS, validateUnixOptions, type UnixServeOptions } from "./options.ts";
export { serveUnix, serveUnixWithShutdown, serveUnixWithShutdownAndDrain, type UnixHandler } from "./serve-unix.ts";
export { MAX_SOCKET_PATH_BYTES, parseSocketPath, type SocketPath } from "./socket-path.ts";
export { UnixPeerAddr, type UnixPeerInit } from "./unix-peer-addr.ts";
export { PeerCredentialsError, resolvePeerCredentials, unixPeerOf, type PeerCredentialsMode } from "./unix-peer-of.ts";
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
  type HandlerContext,
  type Logger,
  type Server,
  type ServerStats,
  type ShutdownSignal,
} from "@tako/core";
