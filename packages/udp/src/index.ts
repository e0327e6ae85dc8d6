export { serveUdp, serveUdpWithShutdown, serveUdpWithShutdownAndDrain, type UdpAddressInput, type UdpHandler, type UdpPeer, type UdpServer, type UdpServerStats } from "./serve.ts";
export { DEFAULT_MAX_IN_FLIGHT, DEFAULT_RECV_BUFFER_SIZE, type ServeUdpOptions } from "./options.ts";
export { UdpSocket, type UdpSocketOptions, type UdpTarget } from "./udp-socket.ts";
export {
  BindError,
  CHANNELS,
  FrameTooLargeError,
  ClosedError,
  InvalidAddressError,
  InvalidConfigError,
  ProtocolError,
  shutdownSignal,
  TakoError,
  UnsupportedError,
  type AddressInput,
  type DrainReport,
  type HandlerContext,
  type Logger,
  type Server,
  type ServerStats,
  type ShutdownSignal,
  type SocketAddress,
} from "@tako/core";
