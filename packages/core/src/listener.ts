// @tako/core/listener: for package authors, the parts Tako's listener packages are built from.
// The stream machine (serveStream), the one Server handle (ServerHandle) with its drain (Drain),
// the diagnostics channel publishers, the failure reports, the option checks every listener
// runs, and the runtime feature checks (Bun, Deno) that turn a missing feature into UnsupportedError. An application imports `@tako/core` (or a listener package) instead.
export { peerAddressOf, toSocketAddress } from "./address.ts";
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
  type BaseServeOptions,
} from "./check.ts";
export { channels } from "./diagnostics.ts";
export { checkListenFd, inspectFd, isFdAddress, listenOnFd, type FdInfo } from "./fd-socket.ts";
export { Drain, DrainUnit } from "./drain.ts";
export { reportHandlerError, reportProtocolError, ServerHandle, type Counters, type ServerHandleInit } from "./server.ts";
export { resolveProxyProtocolOption, type ProxyPolicy } from "./proxy/policy.ts";
export { readProxyHeader, type ReadProxyHeaderOptions } from "./proxy/reader.ts";
export {
  assertListeningOnFd,
  assertReusePort,
  inheritedFdUnsupported,
  probeReusePort,
  runtimeDescription,
  runtimeName,
  unsupportedFeature,
  type FdListenExpectation,
  type RuntimeName,
} from "./runtime.ts";
export { onShutdownSignal } from "./shutdown.ts";
export { serveStream, type StreamHandler, type StreamListenerInit } from "./stream-listener.ts";
export { STREAM_LISTENER_OPTION_KEYS, validateStreamListenerOptions } from "./stream-options.ts";
