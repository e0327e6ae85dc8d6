export { listenFds, SD_LISTEN_FDS_START, type ListenFd, type ListenFdsOptions } from "./listen-fds.ts";
export { extendTimeout, notify, ready, reloading, status, stopping, watchdog, watchdogInterval, type NotifyFields } from "./notify.ts";
export { notifyLifecycle, type Lifecycle, type LifecycleOptions } from "./lifecycle.ts";
export { SystemCallError } from "./native.ts";
export { InvalidConfigError, TakoError, UnsupportedError, type FdAddress } from "@tako/core";
export { inspectFd, type FdInfo } from "@tako/core/listener";
