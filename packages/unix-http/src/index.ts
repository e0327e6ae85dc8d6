export { PeerCredentialsError, UnixPeerAddr, type PeerCredentialsMode } from "@tako/unix";
export { Server, spawnUnixHttp, UnixHttpBuiltServer, UnixHttpServerBuilder, type SpawnUnixHttpOptions } from "./builder.ts";
export type { RequestContext } from "./context.ts";
export { DuplicateRouteError, HttpError, InvalidResponseError, InvalidRouteError, type HeadersInit, type HttpErrorOptions } from "./errors.ts";
export { Extensions, type ExtensionKey } from "./extensions.ts";
export { html, json, redirect, text, toResponse, type HandlerResult, type JsonBody } from "./response.ts";
export { requirePeer, type PeerIds, type RequirePeerOptions } from "./require-peer.ts";
export type { ParamNames, PathParams } from "./route-path.ts";
export { Route, Router, type ErrorHandler, type Handler, type MaybePromise, type Middleware, type Next, type RouterFetchInit, type RouterOptions } from "./router.ts";
export {
  SERVE_UNIX_HTTP_OPTION_KEYS,
  serveUnixHttp,
  serveUnixHttpWithConfig,
  serveUnixHttpWithShutdown,
  serveUnixHttpWithShutdownAndDrain,
  type ServeUnixHttpOptions,
  type UnixHttpProtocol,
} from "./serve.ts";
export { ProxyInfo } from "./proxy-info.ts";
export type { WebSocketHandler, WebSocketRouteOptions } from "./websocket.ts";
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
export { DEFAULT_SERVER_CONFIG, type ServerConfig } from "@tako/core";
