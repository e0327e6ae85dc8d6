export { type UdpHandler, type UdpPeer } from "./receiver.ts";
export { serveUdp, serveUdpWithShutdown, serveUdpWithShutdownAndDrain, type UdpAddressInput, type UdpServer, type UdpServerStats } from "./serve-udp.ts";
export { DEFAULT_MAX_IN_FLIGHT, DEFAULT_RECV_BUFFER_SIZE, type ServeUdpOptions } from "./options.ts";
export { UdpSocket, type UdpSocketOptions, type UdpTarget } from "./udp-socket.ts";
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
