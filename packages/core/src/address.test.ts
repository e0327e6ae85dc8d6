import * as net from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatAddress, parseAddress, peerAddressOf, toSocketAddress } from "./address.ts";
import { InvalidAddressError, TakoError } from "./errors.ts";

describe("parseAddress", () => {
  it.each([
    ["127.0.0.1:9000", { host: "127.0.0.1", port: 9000 }],
    ["localhost:0", { host: "localhost", port: 0 }],
    ["[::1]:65535", { host: "::1", port: 65535 }],
    ["[fe80::1%lo]:80", { host: "fe80::1%lo", port: 80 }],
    ["8080", { host: "0.0.0.0", port: 8080 }],
    [" 10.0.0.1:1 ", { host: "10.0.0.1", port: 1 }],
  ])("parses %j", (input, expected) => {
    expect(parseAddress(input)).toEqual(expected);
  });

  it("accepts a port number and a { host, port } object", () => {
    expect(parseAddress(0)).toEqual({ host: "0.0.0.0", port: 0 });
    expect(parseAddress({ port: 7 })).toEqual({ host: "0.0.0.0", port: 7 });
    expect(parseAddress({ host: "::1", port: 7 })).toEqual({ host: "::1", port: 7 });
    expect(parseAddress({ host: "[::1]", port: 7 })).toEqual({ host: "::1", port: 7 });
  });

  it.each([
    ["no port", "127.0.0.1"],
    ["empty port", "127.0.0.1:"],
    ["port out of range", "127.0.0.1:65536"],
    ["negative port", "127.0.0.1:-1"],
    ["non-numeric port", "localhost:http"],
    ["unbracketed ipv6 with port", "::1:80"],
    ["bad ipv6 literal", "[::zz]:80"],
    ["missing bracket", "[::1:80"],
    ["empty host", ":80"],
    ["junk host", "exa mple:80"],
    ["empty string", ""],
  ])("rejects %s (%j) with InvalidAddressError", (_why, input) => {
    expect(() => parseAddress(input)).toThrow(InvalidAddressError);
    try {
      parseAddress(input);
    } catch (err) {
      expect((err as TakoError).code).toBe("ERR_TAKO_INVALID_ADDRESS");
      expect((err as Error).message).toContain(JSON.stringify(input));
    }
  });

  it.each([[-1], [65536], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])("rejects port number %s", (port) => {
    expect(() => parseAddress(port)).toThrow(/port out of range/);
    expect(() => parseAddress({ host: "127.0.0.1", port })).toThrow(InvalidAddressError);
  });

  it("rejects values of the wrong type", () => {
    expect(() => parseAddress(null as never)).toThrow(InvalidAddressError);
    expect(() => parseAddress(true as never)).toThrow(InvalidAddressError);
    expect(() => parseAddress({ host: "x" } as never)).toThrow(/missing port/);
  });

  it("property: every valid IPv4/IPv6/hostname address round-trips through formatAddress", () => {
    const port = fc.integer({ min: 0, max: 65535 });
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    const host = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join(".")),
    );
    fc.assert(
      fc.property(host, port, (h, p) => {
        const text = formatAddress({ host: h, port: p });
        const parsed = parseAddress(text);
        expect(parsed).toEqual({ host: h, port: p });
        expect(formatAddress(parsed)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it("property: no string crashes the parser with anything but a TakoError", () => {
    const interesting = fc.oneof(
      fc.string(),
      fc.string({ unit: fc.constantFrom(..."[]:.0123456789abcdef%-@ ") }),
      fc.tuple(fc.string(), fc.integer()).map(([s, n]) => `${s}:${n}`),
    );
    fc.assert(
      fc.property(interesting, (input) => {
        try {
          const { host, port } = parseAddress(input);
          expect(Number.isInteger(port) && port >= 0 && port <= 65535).toBe(true);
          expect(typeof host).toBe("string");
        } catch (err) {
          expect(err).toBeInstanceOf(TakoError);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe("toSocketAddress", () => {
  it("normalises Node's address info", () => {
    expect(toSocketAddress({ address: "::1", port: 5, family: "IPv6" })).toEqual({ address: "::1", port: 5, family: "IPv6" });
    expect(toSocketAddress({ address: "127.0.0.1", port: 5, family: 4 })).toEqual({ address: "127.0.0.1", port: 5, family: "IPv4" });
    expect(toSocketAddress({ address: "::ffff:1.2.3.4", port: 5 })).toEqual({ address: "::ffff:1.2.3.4", port: 5, family: "IPv6" });
  });
});

describe("peerAddressOf", () => {
  /** Accepts one connection from a client bound to `local`, and returns what peerAddressOf read and the client's own address. */
  async function acceptOne(host: string, local: string) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
    const client = net.connect({ host, port: (server.address() as net.AddressInfo).port, localAddress: local });
    await new Promise<void>((resolve, reject) => client.once("connect", resolve).once("error", reject));
    const socket = await accepted;
    const peer = peerAddressOf(socket);
    const cached = (socket as unknown as { _peername?: unknown })._peername;
    const expected = { address: client.localAddress, port: client.localPort, family: client.localFamily };
    client.destroy();
    socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    return { peer, cached, expected };
  }

  it("reads the client's address and port (IPv4) without building Node's remoteAddress cache", async () => {
    const { peer, cached, expected } = await acceptOne("127.0.0.1", "127.0.0.7");
    expect(peer).toEqual(expected);
    expect(peer.address).toBe("127.0.0.7");
    // Node's own socket.remoteAddress cache (`_peername`) is left unbuilt: one object per connection.
    expect(cached).toBeUndefined();
  });

  it("reads an IPv6 peer", async () => {
    const { peer, expected } = await acceptOne("::1", "::1");
    expect(peer).toEqual({ ...expected, family: "IPv6" });
  });

  it("gives consecutive peers from one address the same string, each its own object", async () => {
    const a = await acceptOne("127.0.0.1", "127.0.0.1");
    const b = await acceptOne("127.0.0.1", "127.0.0.1");
    expect(a.peer).not.toBe(b.peer);
    expect(a.peer.port).not.toBe(b.peer.port);
    expect(b.peer.address).toBe("127.0.0.1");
  });

  it("gives the empty address for a socket whose peer is gone, and falls back to remoteAddress without a handle", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    const socket = await accepted;
    socket.destroy();
    expect(peerAddressOf(socket)).toEqual({ address: "", port: 0, family: "IPv4" });
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
});
