export { BIND_UNIX_SOCKET_OPTION_KEYS, bindUnixSocket, validateUnixSocketOptions, type BindUnixSocketOptions, type UnixSocketBinding } from "./bind-unix.ts";
export { MAX_SOCKET_PATH_BYTES, parseSocketPath, type SocketPath } from "./socket-path.ts";
export { UnixPeerAddr } from "./unix-peer-addr.ts";
