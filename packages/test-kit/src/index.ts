export { BAD_BASE_OPTIONS, recordingLogger, type LogRecord, type RecordingLogger } from "./options.ts";
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
