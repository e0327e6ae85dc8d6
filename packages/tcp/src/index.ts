export { serveTcp, serveTcpWithShutdown, serveTcpWithShutdownAndDrain, type TcpAddressInput, type TcpHandler } from "./serve-tcp.ts";
export { TCP_OPTION_KEYS, type TcpServeOptions } from "./options.ts";
export {
  BindError,
  CHANNELS,
  FrameTooLargeError,
  InvalidAddressError,
  InvalidConfigError,
  ProtocolError,
  reusePortSupported,
  shutdownSignal,
  TakoError,
  UnsupportedError,
  type AddressInput,
  type DrainReport,
  type FdAddress,
  type HandlerContext,
  type Logger,
  type Server,
  type ServerStats,
  type ShutdownSignal,
  type SocketAddress,
} from "@tako/core";
