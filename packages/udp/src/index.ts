export { serveUdp, serveUdpWithShutdown, serveUdpWithShutdownAndDrain, type UdpHandler, type UdpPeer, type UdpServer, type UdpServerStats } from "./serve.ts";
export { DEFAULT_MAX_IN_FLIGHT, DEFAULT_RECV_BUFFER_SIZE, type ServeUdpOptions } from "./options.ts";
export { UdpSocket, type UdpTarget } from "./udp-socket.ts";
