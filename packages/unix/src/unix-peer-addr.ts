/**
 * The fields of a {@link UnixPeerAddr}, each `null` (or left out) where unknown.
 *
 * @example
 * ```ts
 * const init: UnixPeerInit = { path: null, pid: 4242, uid: 0, gid: 0 };
 * new UnixPeerAddr(init).uid; // 0
 * ```
 */
export interface UnixPeerInit {
  /** The client's bound socket path (`@name` for an abstract one); `null` for the usual unnamed client. */
  readonly path?: string | null | undefined;
  /** The connecting process's id (Linux `SO_PEERCRED`), as it was at `connect()`. */
  readonly pid?: number | null | undefined;
  /** The connecting process's effective user id, as it was at `connect()`. */
  readonly uid?: number | null | undefined;
  /** The connecting process's effective group id, as it was at `connect()`. */
  readonly gid?: number | null | undefined;
}

/**
 * The peer of a Unix-socket connection: `{ path, pid, uid, gid }`, each `null` where unavailable.
 * `pid`/`uid`/`gid` are the kernel's record of the connecting process (Linux `SO_PEERCRED`, taken
 * at `connect()` and not forgeable by the client; `getpeereid` gives `uid`/`gid` on macOS and the
 * BSDs), read once when the connection is accepted; `path` is the client's bound name (from
 * `getpeername`, `@name` for an abstract one), `null` for the usual unnamed client. With
 * `peerCredentials: "off"` (or no backend, see `unixPeerOf`) all four are `null`. Instances are
 * frozen and serialise to JSON as exactly these four keys. In `@tako/unix-http` the class is also
 * the key into request extensions: `ctx.extensions.get(UnixPeerAddr)`.
 *
 * @example
 * ```ts
 * await serveUnix("/tmp/app.sock", (socket, peer) => {
 *   socket.end(JSON.stringify(peer)); // {"path":null,"pid":4242,"uid":1000,"gid":1000}
 * });
 * ```
 */
export class UnixPeerAddr {
  /** The peer's bound socket path (`@name` if abstract), or `null` when the peer is unnamed (or its name is not known). */
  readonly path: string | null;
  /** The peer process's id at `connect()`, or `null` where unavailable. A pid can be reused once that process exits. */
  readonly pid: number | null;
  /** The peer process's effective user id at `connect()`, or `null` where unavailable. */
  readonly uid: number | null;
  /** The peer process's effective group id at `connect()`, or `null` where unavailable. */
  readonly gid: number | null;

  /** `new UnixPeerAddr()` is the unknown peer; `new UnixPeerAddr("/tmp/c.sock")` or `new UnixPeerAddr({ path, pid, uid, gid })`. */
  constructor(init: UnixPeerInit | string | null = null) {
    const fields: UnixPeerInit = typeof init === "string" || init === null ? { path: init } : init;
    this.path = fields.path ?? null;
    this.pid = fields.pid ?? null;
    this.uid = fields.uid ?? null;
    this.gid = fields.gid ?? null;
    Object.freeze(this);
  }

  /** Whether the peer is unnamed (`path === null`). */
  get unnamed(): boolean {
    return this.path === null;
  }

  /** Exactly `{ path, pid, uid, gid }`. */
  toJSON(): { path: string | null; pid: number | null; uid: number | null; gid: number | null } {
    return { path: this.path, pid: this.pid, uid: this.uid, gid: this.gid };
  }

  /** The path (or `"(unnamed)"`), then the credentials when known: `(unnamed) pid=42 uid=0 gid=0`. */
  toString(): string {
    const name = this.path ?? "(unnamed)";
    if (this.pid === null && this.uid === null && this.gid === null) return name;
    return `${name} pid=${this.pid ?? "?"} uid=${this.uid ?? "?"} gid=${this.gid ?? "?"}`;
  }
}

/** @internal The one peer with nothing known: shared by every connection that has no credentials or name. */
export const UNKNOWN_PEER: UnixPeerAddr = new UnixPeerAddr(null);
