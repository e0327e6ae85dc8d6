import { describe, expect, it } from "vitest";
import { UnixPeerAddr } from "./unix-peer-addr.ts";

describe("UnixPeerAddr", () => {
  it("is { path: null } for an unnamed peer and serialises to exactly that", () => {
    const peer = new UnixPeerAddr();
    expect(peer.path).toBeNull();
    expect(peer.unnamed).toBe(true);
    expect(JSON.stringify(peer)).toBe('{"path":null}');
    expect(peer.toJSON()).toStrictEqual({ path: null });
    expect(String(peer)).toBe("(unnamed)");
    expect(Object.keys(peer)).toEqual(["path"]);
  });

  it("carries a known path", () => {
    const peer = new UnixPeerAddr("/tmp/client.sock");
    expect(peer.unnamed).toBe(false);
    expect(JSON.stringify({ peer })).toBe('{"peer":{"path":"/tmp/client.sock"}}');
    expect(`${peer}`).toBe("/tmp/client.sock");
  });

  it("is immutable", () => {
    const peer = new UnixPeerAddr(null);
    expect(() => {
      (peer as { path: string | null }).path = "/x";
    }).toThrow(TypeError);
  });
});
