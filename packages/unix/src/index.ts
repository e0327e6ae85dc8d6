export { BIND_UNIX_SOCKET_OPTION_KEYS, bindUnixSocket, validateUnixSocketOptions, type BindUnixSocketOptions, type UnixSocketBinding } from "./bind-unix.ts";
export type { UnixAddressInput } from "./unix-address.ts";
export { SERVE_UNIX_OPTION_KEYS, validateUnixOptions, type ServeUnixOptions } from "./options.ts";
export { serveUnix, serveUnixWithShutdown, serveUnixWithShutdownAndDrain, type UnixHandler } from "./serve-unix.ts";
export { MAX_SOCKET_PATH_BYTES, parseSocketPath, type SocketPath } from "./socket-path.ts";
export { UnixPeerAddr, type UnixPeerInit } from "./unix-peer-addr.ts";
export { PeerCredentialsError, resolvePeerCredentials, unixPeerOf, type PeerCredentialsMode } from "./unix-peer-of.ts";
// From @tako/core, the same list in every listener package (scripts/test/docs.test.ts checks it):
// every error class, the shutdown trigger, the channel names and the handle's types.
export {
  BindError,
  CHANNELS,
  ClosedError,
  FrameTooLargeError,
  InvalidAddressError,
  InvalidConfigError,
  InvalidSocketPathError,
  ProtocolError,
  shutdownSignal,
  TakoError,
  UnsupportedError,
  type DrainReport,
  type Logger,
  type ServerStats,
  type ShutdownSignal,
} from "@tako/core";
// And what this listener's own signatures use.
export type { FdAddress, HandlerContext, Server } from "@tako/core";
// And the PROXY protocol pieces (a Unix socket behind HAProxy's `unix@` or nginx's `unix:`).
export { encodeProxyHeader, parseProxyHeader, type ProxyHeaderInput, type ProxyInfo, type UnixProxyProtocolOption } from "@tako/core";
