import { describe, expect, it } from "vitest";
import { UnixPeerAddr } from "./unix-peer-addr.ts";

describe("UnixPeerAddr", () => {
  it("is all null for an unknown peer and serialises to exactly the four keys", () => {
    const peer = new UnixPeerAddr();
    expect(peer.path).toBeNull();
    expect(peer.unnamed).toBe(true);
    expect(JSON.stringify(peer)).toBe('{"path":null,"pid":null,"uid":null,"gid":null}');
    expect(peer.toJSON()).toStrictEqual({ path: null, pid: null, uid: null, gid: null });
    expect(String(peer)).toBe("(unnamed)");
    expect(Object.keys(peer)).toEqual(["path", "pid", "uid", "gid"]);
  });

  it("carries a known path (the string form) and credentials (the object form)", () => {
    const named = new UnixPeerAddr("/tmp/client.sock");
    expect(named.unnamed).toBe(false);
    expect(JSON.stringify({ peer: named })).toBe('{"peer":{"path":"/tmp/client.sock","pid":null,"uid":null,"gid":null}}');
    expect(`${named}`).toBe("/tmp/client.sock");
    const peer = new UnixPeerAddr({ path: "@cli", pid: 42, uid: 0, gid: 5 });
    expect(peer.toJSON()).toStrictEqual({ path: "@cli", pid: 42, uid: 0, gid: 5 });
    expect(Object.keys(JSON.parse(JSON.stringify(peer)))).toEqual(["path", "pid", "uid", "gid"]);
    expect(`${peer}`).toBe("@cli pid=42 uid=0 gid=5");
    expect(`${new UnixPeerAddr({ uid: 1000, gid: 1000 })}`).toBe("(unnamed) pid=? uid=1000 gid=1000");
  });

  it("is immutable", () => {
    const peer = new UnixPeerAddr({ uid: 0 });
    expect(Object.isFrozen(peer)).toBe(true);
    expect(() => {
      (peer as { uid: number | null }).uid = 1000;
    }).toThrow(TypeError);
    expect(() => {
      (peer as { path: string | null }).path = "/x";
    }).toThrow(TypeError);
  });
});
