// @tako/core: what a user of Tako's listeners needs (errors, shutdown signals, the server handle's
// types, ServerConfig, addresses, the diagnostics channel names). What only the listener packages
// use (the stream machine, the handle, the drain, the option checks) is `@tako/core/listener`.
export { formatAddress, parseAddress, type AddressInput, type ListenAddress, type SocketAddress } from "./address.ts";
export { reusePortSupported } from "./check.ts";
export { BuiltServer, DEFAULT_SERVER_CONFIG, ServerBuilder, validateServerConfig, type ServerConfig } from "./config.ts";
export { CHANNELS, type DrainDoneMessage, type HandlerErrorMessage, type ListenerKind, type ProtocolErrorMessage } from "./diagnostics.ts";
export { DEFAULT_DRAIN_TIMEOUT, type DrainReport, type HandlerContext } from "./drain.ts";
export {
  BindError,
  ClosedError,
  FrameTooLargeError,
  InvalidAddressError,
  InvalidConfigError,
  InvalidSocketPathError,
  isPeerGone,
  ProtocolError,
  TakoError,
  UnsupportedError,
} from "./errors.ts";
export type { Logger } from "./logger.ts";
export { Server, type ServerStats, type ShutdownOptions } from "./server.ts";
export { shutdownSignal, ShutdownRequested, type DisposableAbortSignal, type ShutdownSignal } from "./shutdown.ts";
export { DEFAULT_MAX_QUEUE, DEFAULT_QUEUE_TIMEOUT, type StreamListenerOptions } from "./stream-options.ts";
export type { FdAddress } from "./fd-socket.ts";
export { encodeProxyHeader } from "./proxy/encode.ts";
export { parseProxyHeader } from "./proxy/parse.ts";
export type {
  ProxyAddressInput,
  ProxyHeaderInput,
  ProxyInfo,
  ProxyProtocolOption,
  ProxyProtocolOptions,
  ProxySsl,
  ProxyTlvs,
  ProxyTlvsInput,
  UnixProxyProtocolOption,
} from "./proxy/types.ts";
