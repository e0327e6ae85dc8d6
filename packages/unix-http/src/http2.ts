import { createServer, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session, type Http2Stream } from "node:http2";
import type { Socket } from "node:net";
import type { ServerConfig } from "@tako/core";

/** Streams a client may open at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
export const H2_MAX_CONCURRENT_STREAMS = 100;
/** Memory one HTTP/2 session may hold, in MB (Node's default; past it new streams are refused). */
export const H2_MAX_SESSION_MEMORY = 10;

/** @internal What the HTTP/2 side tells its server. */
export interface H2Init {
  onRequest(req: Http2ServerRequest, res: Http2ServerResponse, socket: Socket): void;
  /** A session ended by a protocol error (bad preface, flood protection, malformed frames). */
  onSessionError(error: Error, socket: Socket | undefined): void;
}

/**
 * @internal The HTTP/2 (h2c, prior knowledge) side of `serveUnixHttp`: Node's http2 server fed by
 * the connection front, with the sessions tracked for the drain (GOAWAY, wait, destroy) and the
 * {@link ServerConfig} fields that apply: `keepAliveTimeout` (an idle session is closed with
 * GOAWAY), `keepAlive: false` (GOAWAY after the first request), `maxHeaderSize` (Node's hard
 * header-list limit at twice it; the 431 below that is the exchange's), `requestTimeout` (the
 * exchange's, per stream).
 */
export class H2Side {
  readonly server: Http2Server;
  readonly #sessions = new Set<Http2Session>();
  readonly #sockets = new WeakMap<Http2Session, Socket>();
  readonly #config: Readonly<ServerConfig>;
  #incoming: Socket | undefined;
  #closing = false;

  constructor(config: Readonly<ServerConfig>, init: H2Init) {
    this.#config = config;
    this.server = createServer({
      maxSessionMemory: H2_MAX_SESSION_MEMORY,
      peerMaxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS,
      settings: {
        enablePush: false,
        maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS,
        maxHeaderListSize: Math.min(2 * config.maxHeaderSize + 32 * 64, 0xffffffff),
      },
    });
    this.server.on("session", (session: Http2Session) => this.#onSession(session));
    this.server.on("request", (req: Http2ServerRequest, res: Http2ServerResponse) => {
      init.onRequest(req, res, this.#sockets.get(req.stream.session as Http2Session) as Socket);
    });
    this.server.on("sessionError", (error: Error, session: Http2Session) => init.onSessionError(error, this.#sockets.get(session)));
  }

  /** Serves a socket that sent the HTTP/2 preface (or any socket, with `protocols: ["h2c"]`). */
  readonly accept = (socket: Socket): void => {
    this.#incoming = socket;
    try {
      this.server.emit("connection", socket); // 'session' fires in here
    } finally {
      this.#incoming = undefined;
    }
  };

  #onSession(session: Http2Session): void {
    const socket = this.#incoming;
    if (socket !== undefined) this.#sockets.set(session, socket);
    this.#sessions.add(session);
    session.once("close", () => this.#sessions.delete(session));
    if (this.#closing) {
      session.close();
      return;
    }
    const { keepAlive, keepAliveTimeout } = this.#config;
    if (!keepAlive) session.once("stream", () => session.close());
    else if (keepAliveTimeout > 0) closeWhenIdle(session, Math.ceil(keepAliveTimeout));
  }

  /** Drain: GOAWAY on every session; open streams go on, new ones are refused. */
  goAway(): void {
    this.#closing = true;
    for (const session of this.#sessions) session.close();
  }

  /** After the drain: what is left is destroyed. */
  destroyAll(): void {
    for (const session of this.#sessions) session.destroy();
    this.#sessions.clear();
  }
}

/**
 * GOAWAY once a session has had no open stream for `ms`: `keepAliveTimeout` as HTTP/1.1 means it,
 * the time between requests. One timer per session, restarted only when its last stream closes
 * (Node's `session.setTimeout` would refresh a timer on every frame of every stream instead); a
 * session that never opens a stream is closed `ms` after it started.
 */
function closeWhenIdle(session: Http2Session, ms: number): void {
  let open = 0;
  const timer = setTimeout(() => {
    if (open === 0) session.close();
  }, ms).unref();
  const onStreamClose = (): void => {
    if (--open === 0 && !session.closed && !session.destroyed) timer.refresh();
  };
  session.on("stream", (stream: Http2Stream) => {
    open++;
    stream.on("close", onStreamClose);
  });
  session.once("close", () => clearTimeout(timer));
}

/** @internal The size of an HTTP/2 header list as nghttp2 and Node count it: name + value + 32 per field. */
export function headerListSize(raw: readonly string[]): number {
  let size = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) size += (raw[i] as string).length + (raw[i + 1] as string).length + 32;
  return size;
}
