import { InvalidConfigError } from "@tako/core";
import { checkKnownKeys } from "@tako/core/listener";
import { HttpError } from "./errors.ts";
import type { Middleware } from "./router.ts";

/**
 * One id or a list of them (user ids or group ids, 0 to 4294967294).
 *
 * @example
 * ```ts
 * const admins: PeerIds = [0, 1001];
 * requirePeer({ uid: admins });
 * ```
 */
export type PeerIds = number | readonly number[];

/**
 * Who {@link requirePeer} lets through: the peer's `uid` is one of `uid`, or its `gid` is one of
 * `gid` (at least one of the two is needed). `gid` is the connecting process's effective group
 * (what `SO_PEERCRED` reports), not its supplementary groups.
 *
 * @example
 * ```ts
 * const admins: RequirePeerOptions = { uid: 0, gid: [27, 1001] };
 * ```
 */
export interface RequirePeerOptions {
  /** Allowed user ids. */
  readonly uid?: PeerIds | undefined;
  /** Allowed (effective) group ids. */
  readonly gid?: PeerIds | undefined;
}

const MAX_ID = 0xffff_fffe; // (uid_t)-1 means "no id"

function idSet(value: PeerIds | undefined, field: string): ReadonlySet<number> | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === "number" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidConfigError(field, `requirePeer ${field} must be an id or a non-empty list of ids; got ${Array.isArray(list) ? "[]" : typeof value}`);
  }
  for (const id of list) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > MAX_ID) {
      throw new InvalidConfigError(field, `requirePeer ${field} ids must be integers from 0 to ${MAX_ID}; got ${typeof id === "number" ? id : JSON.stringify(id)}`);
    }
  }
  return new Set(list);
}

/**
 * Middleware that lets a request through only when the connection's peer credentials (read by
 * the kernel at connect: `ctx.peer.uid` / `ctx.peer.gid`) match: its uid is one of `uid`, or its
 * gid is one of `gid`. Anyone else, and a peer whose credentials are unknown (`peerCredentials:
 * "off"`, no backend), gets 403 (an {@link HttpError}, shaped by `router.onError`). Bad options
 * throw `InvalidConfigError` here, at construction. Serve with `peerCredentials: "required"` so a
 * missing backend fails at startup instead of refusing everyone. For an abstract socket (`@name`),
 * which has no file permissions, this is the only access control there is.
 *
 * @example
 * ```ts
 * const admin = new Router().use(requirePeer({ uid: 0, gid: 1001 }));
 * admin.get("/admin/stats", () => ({ ok: true }));
 * await serveUnixHttp("@admin", admin, { peerCredentials: "required" });
 * ```
 */
export function requirePeer(options: RequirePeerOptions): Middleware {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidConfigError("options", `requirePeer takes { uid, gid }; got ${options === null ? "null" : typeof options}`);
  }
  checkKnownKeys("requirePeer options", options, ["uid", "gid"]);
  const uids = idSet(options.uid, "uid");
  const gids = idSet(options.gid, "gid");
  if (uids === undefined && gids === undefined) throw new InvalidConfigError("options", "requirePeer needs uid, gid or both (ids allowed through)");
  return (_req, ctx, next) => {
    const { uid, gid } = ctx.peer;
    if ((uid !== null && uids?.has(uid) === true) || (gid !== null && gids?.has(gid) === true)) return next();
    throw new HttpError(403, "this endpoint is not open to the connecting user");
  };
}
