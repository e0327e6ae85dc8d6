/**
 * The peer of a Unix-socket connection: `{ path }`, where `path` is the client's bound socket path
 * (`@name` for an abstract one), or `null` for the usual unnamed client. Node does not report the
 * peer's bound address, and a connecting client is normally unnamed, so `path` is `null` unless
 * it is known. Serialises to JSON as exactly `{ "path": ... }`. In `@tako/unix-http` the class is
 * also the key into request extensions: `ctx.extensions.get(UnixPeerAddr)`.
 *
 * @example
 * ```ts
 * await serveUnix("/tmp/app.sock", (socket, peer) => {
 *   socket.end(JSON.stringify(peer)); // {"path":null}
 * });
 * ```
 */
export class UnixPeerAddr {
  /** The peer's bound socket path, or `null` when the peer is unnamed (or its name is not known). */
  readonly path: string | null;

  constructor(path: string | null = null) {
    this.path = path;
    Object.freeze(this);
  }

  /** Whether the peer is unnamed (`path === null`). */
  get unnamed(): boolean {
    return this.path === null;
  }

  /** Exactly `{ path }`. */
  toJSON(): { path: string | null } {
    return { path: this.path };
  }

  /** The path, or `"(unnamed)"`. */
  toString(): string {
    return this.path ?? "(unnamed)";
  }
}
