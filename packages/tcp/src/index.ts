export { serveTcp, serveTcpWithShutdown, serveTcpWithShutdownAndDrain, type TcpAddressInput, type TcpHandler } from "./serve-tcp.ts";
export { SERVE_TCP_OPTION_KEYS, type ServeTcpOptions } from "./options.ts";
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
export { reusePortSupported, type AddressInput, type FdAddress, type HandlerContext, type Server, type SocketAddress } from "@tako/core";
// And the PROXY protocol pieces a client or relay in front of this listener uses.
export { encodeProxyHeader, parseProxyHeader, type ProxyHeaderInput, type ProxyInfo, type ProxyProtocolOption, type ProxyProtocolOptions } from "@tako/core";
