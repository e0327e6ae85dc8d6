// Helpers shared by the workspace's tests: waiting, socket directories, loggers, the options every
// listener must refuse, child processes that run the sources. Never built, never published.
export { hasCommand, SOURCE_ARGS } from "./child.ts";
export { buildExampleIfNeeded, startAnnounced, type Announced, type ExampleBuild } from "./examples.ts";
export { abstractName, socketDir, staleSocket, type SocketDir } from "./files.ts";
export { closed, lineExchange, readAll, readBytes } from "./net.ts";
export { BAD_BASE_OPTIONS, captureStderr, invalidField, recordingLogger, type CapturedStderr, type LogRecord, type RecordingLogger } from "./options.ts";
export {
  CURL,
  exchange,
  freePort,
  HAPROXY,
  haproxyCommand,
  NGINX,
  NGINX_STREAM_MODULE,
  proxyDir,
  skipReason,
  startHaproxy,
  startNginx,
  trickyPayload,
  type Haproxy,
  type HaproxyOptions,
  type NginxOptions,
  type ProxyProcess,
} from "./proxies.ts";
export { nginxProxyProtocolServer, PING_PONG_CHECK, recordingHandler, sha256, type Seen } from "./recording.ts";
export { sleep, until } from "./wait.ts";
