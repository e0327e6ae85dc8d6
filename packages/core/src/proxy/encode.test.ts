// encodeProxyHeader against hand-written bytes and against an independent encoder (proxy-protocol-js).
import {
  Command,
  INETProtocol,
  IPv4Address,
  IPv4ProxyAddress,
  IPv6Address,
  IPv6ProxyAddress,
  Peer,
  TransportProtocol,
  UnixAddress,
  UnixProxyAddress,
  UnspecProxyAddress,
  V1ProxyProtocol,
  V2ProxyProtocol,
} from "proxy-protocol-js";
import { describe, expect, it } from "vitest";
import { InvalidAddressError, InvalidConfigError } from "../errors.ts";
import { crc32c } from "./crc32c.ts";
import { encodeProxyHeader } from "./encode.ts";
import { parseProxyHeader } from "./parse.ts";
import { INET_BLOCK, tlv, v2 } from "./test-vectors.ts";

const source = { address: "203.0.113.7", port: 51234 };
const destination = { address: "10.0.0.1", port: 443 };

describe("CRC-32C", () => {
  it("matches the standard check value and RFC 3720's vectors", () => {
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
  });
});

describe("encodeProxyHeader, golden bytes", () => {
  it("v1 TCP4, TCP6, UNKNOWN", () => {
    expect(encodeProxyHeader({ version: 1, source, destination }).toString()).toBe("PROXY TCP4 203.0.113.7 10.0.0.1 51234 443\r\n");
    expect(encodeProxyHeader({ version: 1, source: { address: "2001:DB8::7", port: 1 }, destination: { address: "::1", port: 2 } }).toString()).toBe(
      "PROXY TCP6 2001:db8::7 ::1 1 2\r\n",
    );
    expect(encodeProxyHeader({ version: 1 }).toString()).toBe("PROXY UNKNOWN\r\n");
  });

  it("mixed families become TCP6 with the IPv4 side v4-mapped, as HAProxy writes them", () => {
    expect(encodeProxyHeader({ version: 1, source, destination: { address: "::1", port: 2 } }).toString()).toBe("PROXY TCP6 ::ffff:203.0.113.7 ::1 51234 2\r\n");
  });

  it("v2 PROXY TCP4 and LOCAL", () => {
    expect(encodeProxyHeader({ version: 2, source, destination })).toEqual(v2(0x21, 0x11, INET_BLOCK));
    expect(encodeProxyHeader({ version: 2, command: "LOCAL" })).toEqual(v2(0x20, 0x00));
    expect(encodeProxyHeader({ version: 2, source, destination, transport: "DGRAM" })[13]).toBe(0x12);
  });

  it("v2 TLVs, CRC32C first and computed over the whole header", () => {
    const header = encodeProxyHeader({
      version: 2,
      source,
      destination,
      tlvs: { crc32c: true, alpn: "h2", authority: "example.com", uniqueId: "u-1", netns: "ns", raw: [[0xea, Buffer.from("vpce")]], noop: 2 },
    });
    const crcAt = 16 + 12 + 3;
    const zeroed = Buffer.from(header);
    zeroed.writeUInt32BE(0, crcAt);
    expect(header.readUInt32BE(crcAt)).toBe(crc32c(zeroed));
    const expected = Buffer.concat([
      INET_BLOCK,
      tlv(0x03, header.subarray(crcAt, crcAt + 4)),
      tlv(0x01, "h2"),
      tlv(0x02, "example.com"),
      tlv(0x05, "u-1"),
      tlv(0x30, "ns"),
      tlv(0xea, "vpce"),
      tlv(0x04, Buffer.alloc(2)),
    ]);
    expect(header).toEqual(v2(0x21, 0x11, expected));
    const { tlvs } = parseProxyHeader(header).info;
    expect(tlvs).toMatchObject({ alpn: "h2", authority: "example.com", netns: "ns" });
    expect(tlvs.uniqueId?.toString()).toBe("u-1");
  });

  it("refuses what it cannot encode, naming the field", () => {
    expect(() => encodeProxyHeader({ version: 1, command: "LOCAL" })).toThrow(InvalidConfigError);
    expect(() => encodeProxyHeader({ version: 1, source, destination, tlvs: { alpn: "h2" } })).toThrow(/v1 carries no TLVs/);
    expect(() => encodeProxyHeader({ version: 2, command: "LOCAL", source, destination })).toThrow(/LOCAL header carries no addresses/);
    expect(() => encodeProxyHeader({ version: 2, source })).toThrow(/source and destination go together/);
    expect(() => encodeProxyHeader({ version: 2, source: { address: "example.com", port: 1 }, destination })).toThrow(InvalidAddressError);
    expect(() => encodeProxyHeader({ version: 2, source: { address: "1.2.3.4", port: 70000 }, destination })).toThrow(/port/);
    expect(() => encodeProxyHeader({ version: 2, source, destination, tlvs: { uniqueId: Buffer.alloc(129) } })).toThrow(/at most 128/);
    expect(() => encodeProxyHeader({ version: 3 as 2 })).toThrow(/version must be 1 or 2/);
  });
});

describe("against proxy-protocol-js (an independent encoder)", () => {
  it("v1 lines it builds parse to the same endpoints", () => {
    const line = new V1ProxyProtocol(INETProtocol.TCP4, new Peer("192.0.2.1", 12345), new Peer("198.51.100.2", 80)).build();
    expect(parseProxyHeader(Buffer.from(line))).toMatchObject({
      length: line.length,
      info: { version: 1, source: { address: "192.0.2.1", port: 12345 }, destination: { address: "198.51.100.2", port: 80 } },
    });
    expect(encodeProxyHeader({ version: 1, source: { address: "192.0.2.1", port: 12345 }, destination: { address: "198.51.100.2", port: 80 } }).toString()).toBe(line);
    const six = new V1ProxyProtocol(INETProtocol.TCP6, new Peer("2001:db8::1", 1), new Peer("2001:db8::2", 2)).build();
    expect(encodeProxyHeader({ version: 1, source: { address: "2001:db8::1", port: 1 }, destination: { address: "2001:db8::2", port: 2 } }).toString()).toBe(six);
  });

  it("v2 headers it builds (IPv4, IPv6, UDP, LOCAL, AF_UNIX, with TLV bytes) parse, and ours equal its bytes", () => {
    const v4 = new V2ProxyProtocol(
      Command.PROXY,
      TransportProtocol.STREAM,
      new IPv4ProxyAddress(IPv4Address.createFrom([203, 0, 113, 7]), 51234, IPv4Address.createFrom([10, 0, 0, 1]), 443),
    ).build();
    expect(encodeProxyHeader({ version: 2, source, destination })).toEqual(Buffer.from(v4));
    expect(parseProxyHeader(v4).info).toMatchObject({ version: 2, command: "PROXY", transport: "STREAM", source: { address: "203.0.113.7", port: 51234 } });

    const s6 = Array.from(Buffer.from("20010db8000000000000000000000007", "hex"));
    const d6 = Array.from(Buffer.from("00000000000000000000000000000001", "hex"));
    const withTlvs = new V2ProxyProtocol(
      Command.PROXY,
      TransportProtocol.DGRAM,
      new IPv6ProxyAddress(IPv6Address.createFrom(s6), 5000, IPv6Address.createFrom(d6), 53),
      tlv(0x02, "example.com"),
    ).build();
    const ours = encodeProxyHeader({
      version: 2,
      transport: "DGRAM",
      source: { address: "2001:db8::7", port: 5000 },
      destination: { address: "::1", port: 53 },
      tlvs: { authority: "example.com" },
    });
    // proxy-protocol-js 4.0.6 leaves its `data` (the TLVs) out of the declared length (36, not
    // 50): the same bytes but for the length field, and a receiver that reads exactly the
    // declared length (as we do) leaves its TLVs in the stream, after the header.
    expect(withTlvs.length).toBe(ours.length);
    expect(Buffer.from(withTlvs).readUInt16BE(14)).toBe(36);
    expect(ours.readUInt16BE(14)).toBe(36 + 14);
    expect(Buffer.concat([withTlvs.subarray(0, 14), withTlvs.subarray(16)])).toEqual(Buffer.concat([ours.subarray(0, 14), ours.subarray(16)]));
    const theirs = parseProxyHeader(withTlvs);
    expect(theirs).toMatchObject({ length: 52, info: { transport: "DGRAM", source: { address: "2001:db8::7", port: 5000, family: "IPv6" }, tlvs: { authority: null } } });
    expect(parseProxyHeader(ours)).toMatchObject({
      length: 66,
      info: { transport: "DGRAM", source: { address: "2001:db8::7", port: 5000, family: "IPv6" }, tlvs: { authority: "example.com" } },
    });

    const local = new V2ProxyProtocol(Command.LOCAL, TransportProtocol.UNSPEC, new UnspecProxyAddress()).build();
    expect(Buffer.from(local)).toEqual(encodeProxyHeader({ version: 2, command: "LOCAL" }));
    expect(parseProxyHeader(local).info.command).toBe("LOCAL");

    const path = Array.from({ length: 108 }, (_, i) => (i < 8 ? "/tmp/app".charCodeAt(i) : 0));
    const unix = new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, new UnixProxyAddress(UnixAddress.createFrom(path), UnixAddress.createFrom(path))).build();
    expect(unix).toHaveLength(232);
    expect(parseProxyHeader(unix)).toMatchObject({ length: 232, info: { command: "PROXY", transport: "STREAM", source: null, destination: null } });
  });

  it("what we encode, it parses back to the same endpoints", () => {
    const ours = encodeProxyHeader({ version: 2, source: { address: "2001:db8::7", port: 5000 }, destination: { address: "::1", port: 53 } });
    const theirs = V2ProxyProtocol.parse(ours);
    expect(theirs.command).toBe(Command.PROXY);
    expect(theirs.proxyAddress).toBeInstanceOf(IPv6ProxyAddress);
    const address = theirs.proxyAddress as IPv6ProxyAddress;
    expect([address.sourcePort, address.destinationPort]).toEqual([5000, 53]);
    expect(Buffer.from(address.sourceAddress.address).toString("hex")).toBe("20010db8000000000000000000000007");
    const line = V1ProxyProtocol.parse(encodeProxyHeader({ version: 1, source, destination }).toString());
    expect([line.source.ipAddress, line.source.port, line.destination.ipAddress, line.destination.port]).toEqual(["203.0.113.7", 51234, "10.0.0.1", 443]);
  });
});
