export { UnixPeerAddr } from "@tako/unix";
export { Server, spawnUnixHttp, UnixHttpBuiltServer, UnixHttpServerBuilder, type SpawnUnixHttpOptions } from "./builder.ts";
export type { RequestContext } from "./context.ts";
export { DuplicateRouteError, HttpError, InvalidResponseError, InvalidRouteError, type HeadersInit, type HttpErrorOptions } from "./errors.ts";
export { Extensions, type ExtensionKey } from "./extensions.ts";
export { html, json, redirect, text, toResponse, type HandlerResult, type JsonBody } from "./response.ts";
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
export type { WebSocketHandler, WebSocketRouteOptions } from "./websocket.ts";
export {
  BindError,
  CHANNELS,
  FrameTooLargeError,
  DEFAULT_SERVER_CONFIG,
  InvalidConfigError,
  InvalidSocketPathError,
  ProtocolError,
  shutdownSignal,
  TakoError,
  UnsupportedError,
  type DrainReport,
  type Logger,
  type ServerConfig,
  type ServerStats,
  type ShutdownSignal,
} from "@tako/core";
