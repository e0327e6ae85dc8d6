export { BIND_UNIX_SOCKET_OPTION_KEYS, bindUnixSocket, validateUnixSocketOptions, type BindUnixSocketOptions, type UnixSocketBinding } from "./bind-unix.ts";
export { UNIX_OPTION_KEYS, validateUnixOptions, type UnixServeOptions } from "./options.ts";
export { serveUnix, serveUnixWithShutdown, serveUnixWithShutdownAndDrain, type UnixHandler } from "./serve-unix.ts";
export { MAX_SOCKET_PATH_BYTES, parseSocketPath, type SocketPath } from "./socket-path.ts";
export { UnixPeerAddr } from "./unix-peer-addr.ts";
export {
  BindError,
  CHANNELS,
  encodeProxyHeader,
  FrameTooLargeError,
  InvalidConfigError,
  InvalidSocketPathError,
  parseProxyHeader,
  ProtocolError,
  shutdownSignal,
  TakoError,
  UnsupportedError,
  type DrainReport,
  type HandlerContext,
  type Logger,
  type ProxyHeaderInput,
  type ProxyInfo,
  type ProxySsl,
  type ProxyTlvs,
  type Server,
  type ServerStats,
  type ShutdownSignal,
  type UnixProxyProtocolOption,
} from "@tako/core";
