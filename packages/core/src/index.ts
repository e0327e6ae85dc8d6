export { formatAddress, parseAddress, toSocketAddress, type AddressInput, type ListenAddress, type SocketAddress } from "./address.ts";
export {
  BASE_SERVE_OPTION_KEYS,
  checkBacklog,
  checkBaseServeOptions,
  checkBoolean,
  checkCount,
  checkDuration,
  checkFunction,
  checkKnownKeys,
  checkLogger,
  checkOptionsObject,
  checkSignal,
  isAbortSignalLike,
  isThenable,
  reusePortSupported,
  type BaseServeOptions,
} from "./check.ts";
export { DEFAULT_SERVER_CONFIG, validateServerConfig, type ServerConfig } from "./config.ts";
export { channels, CHANNELS, type DrainDoneMessage, type HandlerErrorMessage, type ListenerKind, type ProtocolErrorMessage } from "./diagnostics.ts";
export { DEFAULT_DRAIN_TIMEOUT, Drain, DrainUnit, type DrainReport, type HandlerContext } from "./drain.ts";
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
export {
  BuiltServer,
  reportHandlerError,
  reportProtocolError,
  Server,
  ServerBuilder,
  ServerHandle,
  type Counters,
  type ServerHandleInit,
  type ServerStats,
  type ShutdownOptions,
} from "./server.ts";
export { onShutdownSignal, shutdownSignal, ShutdownRequested, type DisposableAbortSignal, type ShutdownSignal } from "./shutdown.ts";
export { serveStream, type StreamHandler, type StreamListenerInit } from "./stream-listener.ts";
export { DEFAULT_MAX_QUEUE, DEFAULT_QUEUE_TIMEOUT, STREAM_LISTENER_OPTION_KEYS, validateStreamListenerOptions, type StreamListenerOptions } from "./stream-options.ts";
export { checkListenFd, inspectFd, isFdAddress, listenOnFd, type FdAddress, type FdInfo } from "./fd-socket.ts";
