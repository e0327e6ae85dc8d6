import * as diagnosticsChannel from "node:diagnostics_channel";
import type { DrainReport } from "./drain.ts";

/**
 * The `node:diagnostics_channel` names every Tako listener publishes on. Messages carry `kind`
 * (`"tcp"`, `"udp"`, `"unix"`, `"unix-http"`) and `server` (the handle).
 *
 * @example
 * ```ts
 * import * as diagnosticsChannel from "node:diagnostics_channel";
 * diagnosticsChannel.subscribe(CHANNELS.handlerError, (msg) => console.error(msg));
 * ```
 */
export const CHANNELS = Object.freeze({
  /** `{ kind, server, address }` once the socket is bound. */
  listening: "tako:listening",
  /** `{ kind, server, peer }` for each accepted connection (or HTTP request). */
  connection: "tako:connection",
  /** `{ kind, server, peer }` when a connection (or HTTP request) ends. */
  connectionClosed: "tako:connection-closed",
  /** `{ kind, server, peer, error }` when a handler throws or rejects. */
  handlerError: "tako:handler-error",
  /** `{ kind, server, peer, error }` when a peer broke the protocol (a {@link ProtocolError}); its connection was destroyed. */
  protocolError: "tako:protocol-error",
  /** `{ kind, server }` when shutdown starts. */
  shutdown: "tako:shutdown",
  /** `{ kind, server, report }` when the drain is over. */
  drainDone: "tako:drain-done",
});

/**
 * The listener kinds that publish.
 *
 * @example
 * ```ts
 * subscribe(CHANNELS.connection, (msg) => { if ((msg as { kind: ListenerKind }).kind === "udp") count++; });
 * ```
 */
export type ListenerKind = "tcp" | "udp" | "unix" | "unix-http";

/**
 * The message published on {@link CHANNELS.handlerError}.
 *
 * @example
 * ```ts
 * subscribe(CHANNELS.handlerError, (msg) => {
 *   const { kind, peer, error } = msg as HandlerErrorMessage;
 *   metrics.increment(`${kind}.handler_errors`);
 * });
 * ```
 */
export interface HandlerErrorMessage {
  readonly kind: ListenerKind;
  readonly server: unknown;
  readonly peer: unknown;
  readonly error: unknown;
}

/**
 * The message published on {@link CHANNELS.protocolError}.
 *
 * @example
 * ```ts
 * subscribe(CHANNELS.protocolError, (msg) => {
 *   const { kind, error } = msg as ProtocolErrorMessage;
 *   metrics.increment(`${kind}.protocol_errors.${(error as ProtocolError).code}`);
 * });
 * ```
 */
export interface ProtocolErrorMessage {
  readonly kind: ListenerKind;
  readonly server: unknown;
  readonly peer: unknown;
  readonly error: unknown;
}

/**
 * The message published on {@link CHANNELS.drainDone}.
 *
 * @example
 * ```ts
 * subscribe(CHANNELS.drainDone, (msg) => console.log((msg as DrainDoneMessage).report.forced));
 * ```
 */
export interface DrainDoneMessage {
  readonly kind: ListenerKind;
  readonly server: unknown;
  readonly report: DrainReport;
}

/**
 * The channel objects behind {@link CHANNELS}; publish only where `hasSubscribers` is true.
 *
 * @example
 * ```ts
 * if (channels.connection.hasSubscribers) channels.connection.publish({ kind: "tcp", server, peer });
 * ```
 */
export const channels = Object.freeze({
  listening: diagnosticsChannel.channel(CHANNELS.listening),
  connection: diagnosticsChannel.channel(CHANNELS.connection),
  connectionClosed: diagnosticsChannel.channel(CHANNELS.connectionClosed),
  handlerError: diagnosticsChannel.channel(CHANNELS.handlerError),
  protocolError: diagnosticsChannel.channel(CHANNELS.protocolError),
  shutdown: diagnosticsChannel.channel(CHANNELS.shutdown),
  drainDone: diagnosticsChannel.channel(CHANNELS.drainDone),
});
