/** Where a bench server listens: a TCP/UDP port on loopback or a Unix socket path. */
export type Target =
  | {
      readonly host: string;
      readonly port: number;
      /** The server requires a PROXY header of this version at the start of each connection. */
      readonly proxy?: 2;
    }
  | { readonly path: string };

/** A started bench server, as the server child process drives it. */
export interface RunningServer {
  readonly target: Target;
  /** Open connections (or in-flight units) as the server itself counts them. */
  connections(): Promise<number>;
  /** Graceful shutdown; resolves when the server reports it finished (drain done / closed). */
  shutdown(): Promise<unknown>;
}

/** Which server to start: the family (protocol), the implementation, and its variant. */
export interface ServerSpec {
  readonly family: "tcp-echo" | "unix-echo" | "udp-echo" | "http" | "h2c" | "ws" | "framing-lines" | "framing-length-prefixed";
  readonly impl: "tako" | "tako-send" | "tako-proxy" | "tako-credentials" | "node" | "fastify" | "hono" | "ws" | "readline" | "split2" | "it-length-prefixed";
  /**
   * `"throughput"` (default): the handler written the obvious way, identical in both servers.
   * `"graceful"`: a handler that ends its connection when shutdown starts (for the shutdown case);
   * the plain server then tracks its sockets to end them on close, as a graceful plain server must.
   */
  readonly variant?: "throughput" | "graceful";
  /** Unix socket path (unix-echo, http, h2c, ws). */
  readonly path?: string;
  /** Ours on a Unix socket: the listener's `peerCredentials` (default: the listener's, `"auto"`). */
  readonly peerCredentials?: "auto" | "required" | "off";
}
