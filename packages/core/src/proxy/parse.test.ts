// The receiver rules of HAProxy's doc/proxy-protocol.txt, one test each, on hand-built bytes.
import { describe, expect, it } from "vitest";
import { ProtocolError } from "../errors.ts";
import { encodeProxyHeader } from "./encode.ts";
import { parseProxyHeader } from "./parse.ts";
import { INET6_BLOCK, INET_BLOCK, SIG, tlv, v2, v2WithTlvs } from "./test-vectors.ts";

function rejects(bytes: Uint8Array | string, message?: RegExp): ProtocolError {
  const buffer = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
  let caught: unknown;
  try {
    parseProxyHeader(buffer);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  const error = caught as ProtocolError;
  expect(error.code).toBe("ERR_TAKO_PROXY_HEADER");
  if (message) expect(error.message).toMatch(message);
  return error;
}

function v1(line: string) {
  return parseProxyHeader(Buffer.from(line, "latin1"));
}

describe("detection by signature, never a guess", () => {
  it('refuses bytes that are neither v2\'s signature nor "PROXY "', () => {
    rejects("GET / HTTP/1.1\r\n\r\n", /neither the v2 signature/);
    rejects("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
    rejects("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", /does not start with "PROXY "/);
    rejects(Buffer.concat([SIG.subarray(0, 11), Buffer.from([0x0b, 0x21, 0x11, 0, 0])]), /bad signature/);
  });

  it("treats an incomplete header as an error (the streaming reader waits; the parser does not guess)", () => {
    rejects("PROXY TCP4 1.2.3.4", /incomplete/);
    rejects(SIG, /incomplete/);
    rejects(v2(0x21, 0x11, INET_BLOCK).subarray(0, 20), /incomplete PROXY header: 20 bytes of 28/);
    rejects(Buffer.alloc(0), /incomplete/);
  });
});

describe("headers without TLVs", () => {
  it("share one frozen TLVs object whose raw map refuses writes", () => {
    const a = parseProxyHeader(Buffer.from("PROXY TCP4 192.0.2.1 192.0.2.2 1111 2222\r\n")).info.tlvs;
    const b = parseProxyHeader(encodeProxyHeader({ version: 2, source: { address: "192.0.2.1", port: 1 }, destination: { address: "192.0.2.2", port: 2 } })).info.tlvs;
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(a.raw.size).toBe(0);
    expect(() => (a.raw as Map<number, Buffer>).set(1, Buffer.from("x"))).toThrow(TypeError);
    expect(() => (a.raw as Map<number, Buffer>).delete(1)).toThrow(TypeError);
    expect(() => (a.raw as Map<number, Buffer>).clear()).toThrow(TypeError);
    expect(a.raw.size).toBe(0);
  });
});

describe("v1", () => {
  it("parses TCP4 and TCP6 lines, and reports the length including CRLF", () => {
    const line = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
    const { info, length } = v1(`${line}GET / HTTP/1.1\r\n`);
    expect(length).toBe(line.length);
    expect(info).toMatchObject({
      version: 1,
      command: "PROXY",
      transport: "STREAM",
      source: { address: "192.168.0.1", port: 56324, family: "IPv4" },
      destination: { address: "192.168.0.11", port: 443, family: "IPv4" },
      via: null,
    });
    const { raw, ...named } = info.tlvs;
    expect(named).toEqual({ alpn: null, authority: null, uniqueId: null, ssl: null, netns: null });
    expect(raw.size).toBe(0);
    const six = v1("PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::ffff:10.0.0.1 1 65535\r\n").info;
    expect(six.source).toEqual({ address: "2001:db8::1", port: 1, family: "IPv6" });
    expect(six.destination).toEqual({ address: "::ffff:10.0.0.1", port: 65535, family: "IPv6" });
  });

  it("UNKNOWN ignores the rest of the line and names no addresses", () => {
    expect(v1("PROXY UNKNOWN\r\n")).toMatchObject({ length: 15, info: { version: 1, command: "PROXY", transport: "UNSPEC", source: null, destination: null } });
    expect(v1("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n").info.source).toBeNull();
    rejects("PROXY UNKNOWNX\r\n", /unknown protocol/);
  });

  it("accepts lines up to 107 bytes including CRLF, not 108", () => {
    const line = (total: number) => `PROXY UNKNOWN ${"x".repeat(total - 16)}\r\n`;
    expect(line(106)).toHaveLength(106);
    expect(v1(line(106)).length).toBe(106);
    expect(v1(line(107)).length).toBe(107);
    rejects(line(108), /no CRLF within the first 107 bytes/);
    rejects(`PROXY UNKNOWN ${"x".repeat(200)}`, /no CRLF within the first 107 bytes/);
  });

  it("does not tolerate a lone CR or LF", () => {
    rejects("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", /line feed without a carriage return/);
    rejects("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n", /carriage return not followed by a line feed/);
    rejects("PROXY UNKNOWN \r\r\n", /carriage return not followed/);
    rejects("PROXY UNKNOWN x\ny\r\n", /line feed/);
  });

  it("wants exactly one space between exactly six fields", () => {
    rejects("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", /expected 5 fields|address/);
    rejects("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", /expected 5 fields/);
    rejects("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", /expected 5 fields/);
    rejects("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", /unknown protocol/);
    rejects("PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n", /unknown protocol/);
    rejects("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", /unknown protocol/);
  });

  it("refuses leading zeros in ports and IPv4 octets, and ports past 65535", () => {
    rejects("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", /source port "01"/);
    rejects("PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n", /destination port "00"/);
    rejects("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", /source address "01.2.3.4"/);
    rejects("PROXY TCP4 1.2.3.4 5.6.7.010 1 2\r\n", /destination address/);
    rejects("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", /65536/);
    rejects("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", /port/);
    rejects("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", /port/);
    rejects("PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n", /source address/);
    rejects("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", /source address/);
    expect(v1("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n").info.destination).toEqual({ address: "255.255.255.255", port: 65535, family: "IPv4" });
  });

  it("wants the addresses of the family the line names (TCP4 with an IPv6 address is invalid)", () => {
    rejects("PROXY TCP4 ::1 127.0.0.1 1 2\r\n", /not a dotted-quad IPv4 address \(TCP4\)/);
    rejects("PROXY TCP4 127.0.0.1 ::ffff:127.0.0.1 1 2\r\n", /destination address/);
    rejects("PROXY TCP6 127.0.0.1 ::1 1 2\r\n", /not an IPv6 address \(TCP6\)/);
    rejects("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", /not an IPv6 address/);
    rejects("PROXY TCP4 localhost 127.0.0.1 1 2\r\n", /source address/);
  });
});

describe("v2", () => {
  it("parses PROXY TCP over IPv4 and IPv6 and UDP, with the length 16 + len", () => {
    const four = v2(0x21, 0x11, INET_BLOCK);
    expect(parseProxyHeader(Buffer.concat([four, Buffer.from("payload")]))).toMatchObject({
      length: 28,
      info: {
        version: 2,
        command: "PROXY",
        transport: "STREAM",
        source: { address: "203.0.113.7", port: 51234, family: "IPv4" },
        destination: { address: "10.0.0.1", port: 443, family: "IPv4" },
        via: null,
      },
    });
    const six = parseProxyHeader(v2(0x21, 0x21, INET6_BLOCK));
    expect(six.length).toBe(52);
    expect(six.info.source).toEqual({ address: "2001:db8::7", port: 51234, family: "IPv6" });
    expect(six.info.destination).toEqual({ address: "::1", port: 443, family: "IPv6" });
    expect(parseProxyHeader(v2(0x21, 0x12, INET_BLOCK)).info.transport).toBe("DGRAM");
    expect(parseProxyHeader(v2(0x21, 0x22, INET6_BLOCK)).info.transport).toBe("DGRAM");
  });

  it("refuses a version other than 2", () => {
    for (const version of [0x0, 0x1, 0x3, 0xf]) rejects(v2((version << 4) | 1, 0x11, INET_BLOCK), new RegExp(`version ${version} `));
  });

  it("refuses a command other than LOCAL (0) and PROXY (1): cmd 0x2 is invalid", () => {
    rejects(v2(0x22, 0x11, INET_BLOCK), /command 0x2 /);
    rejects(v2(0x2f, 0x11, INET_BLOCK), /command 0xf /);
  });

  it("refuses a family or transport outside the spec's set: fam 0x41 and friends", () => {
    for (const fam of [0x41, 0x13, 0x01, 0x10, 0x20, 0x30, 0x33, 0xff]) {
      rejects(v2(0x21, fam, Buffer.alloc(216)), /address family and transport/);
    }
  });

  it("refuses an address block shorter than the family needs (CVE-2019-14243's vector)", () => {
    // printf '\r\n\r\n\0\r\nQUIT\n\x21\x12\x00\x00': PROXY, UDP over IPv4, length 0.
    rejects(Buffer.from("\r\n\r\n\0\r\nQUIT\n\x21\x12\x00\x00", "latin1"), /address block of 0 bytes, shorter than the 12/);
    rejects(v2(0x21, 0x11, INET_BLOCK.subarray(0, 11)), /11 bytes, shorter than the 12/);
    rejects(v2(0x21, 0x21, Buffer.alloc(35)), /35 bytes, shorter than the 36/);
    rejects(v2(0x21, 0x31, Buffer.alloc(215)), /215 bytes, shorter than the 216/);
  });

  it("refuses a declared length past maxHeaderSize from the 16 fixed bytes alone", () => {
    const head = v2(0x21, 0x11, Buffer.alloc(0), 0xffff);
    rejects(head, /declared length 65535 makes a 65551-byte header, past maxHeaderSize 4096/);
    const big = v2(0x21, 0x11, Buffer.concat([INET_BLOCK, tlv(0xe0, Buffer.alloc(5000))]));
    rejects(big, /past maxHeaderSize 4096/);
    expect(parseProxyHeader(big, { maxHeaderSize: 8192 }).length).toBe(big.length);
  });

  it("LOCAL uses the real endpoints and skips len bytes, whatever they hold (12 address bytes here)", () => {
    const local = v2(0x20, 0x11, INET_BLOCK);
    expect(parseProxyHeader(Buffer.concat([local, Buffer.from("after")]))).toMatchObject({
      length: 28,
      info: { version: 2, command: "LOCAL", transport: "UNSPEC", source: null, destination: null },
    });
    expect(parseProxyHeader(v2(0x20, 0x00)).length).toBe(16);
    expect(parseProxyHeader(v2(0x20, 0x00, Buffer.from([1, 2, 3, 4, 5]))).length).toBe(21);
    expect(parseProxyHeader(v2(0x20, 0x11, Buffer.alloc(3))).length).toBe(19);
  });

  it("LOCAL keeps the TLVs after the address block (HAProxy adds them to health checks)", () => {
    const local = v2(0x20, 0x00, tlv(0x05, "check-1"));
    expect(parseProxyHeader(local).info.tlvs.uniqueId?.toString()).toBe("check-1");
  });

  it("AF_UNIX (216 address bytes, a 232-byte header) and UNSPEC give null addresses", () => {
    const unix = v2(0x21, 0x31, Buffer.concat([Buffer.alloc(216), tlv(0x02, "example.com")]));
    expect(unix.length).toBeGreaterThan(232);
    const parsed = parseProxyHeader(unix);
    expect(parsed.length).toBe(unix.length);
    expect(parsed.info).toMatchObject({ command: "PROXY", transport: "STREAM", source: null, destination: null });
    expect(parsed.info.tlvs.authority).toBe("example.com");
    expect(parseProxyHeader(v2(0x21, 0x32, Buffer.alloc(216))).info.transport).toBe("DGRAM");
    const unspec = parseProxyHeader(v2(0x21, 0x00, tlv(0x01, "h2"))).info;
    expect(unspec).toMatchObject({ command: "PROXY", transport: "UNSPEC", source: null, destination: null });
    expect(unspec.tlvs.alpn).toBe("h2");
  });

  it("bytes past the address block the family needs are TLVs (an IPv4 header with a larger block is walked)", () => {
    rejects(v2(0x21, 0x11, Buffer.concat([INET_BLOCK, Buffer.alloc(2)])), /truncated TLV: 2 bytes left/);
  });
});

describe("v2 TLVs", () => {
  it("decodes ALPN, AUTHORITY, UNIQUE_ID (128 bytes), NETNS and keeps every type in raw", () => {
    const id = Buffer.alloc(128, 0x61);
    const header = v2WithTlvs([tlv(0x01, "h2"), tlv(0x02, "bücher.example"), tlv(0x05, id), tlv(0x30, "blue"), tlv(0xea, "vpce-0123"), tlv(0x04, Buffer.alloc(9))]);
    const { tlvs } = parseProxyHeader(header).info;
    expect(tlvs.alpn).toBe("h2");
    expect(tlvs.authority).toBe("bücher.example");
    expect(tlvs.uniqueId?.equals(id)).toBe(true);
    expect(tlvs.netns).toBe("blue");
    expect(tlvs.raw.get(0xea)?.toString()).toBe("vpce-0123");
    expect([...tlvs.raw.keys()]).toEqual([0x01, 0x02, 0x05, 0x30, 0xea]); // NOOP skipped
  });

  it("refuses a UNIQUE_ID past 128 bytes", () => {
    rejects(v2WithTlvs([tlv(0x05, Buffer.alloc(129))]), /UNIQUE_ID TLV of 129 bytes/);
  });

  it("refuses truncated TLVs: a partial TLV header, or a value running past the declared length", () => {
    rejects(v2WithTlvs([Buffer.from([0x01])]), /truncated TLV: 1 bytes left/);
    rejects(v2WithTlvs([Buffer.from([0x01, 0x00])]), /truncated TLV: 2 bytes left/);
    rejects(v2WithTlvs([tlv(0x01, "h2", 3)]), /declares 3 bytes but only 2 remain/);
    rejects(v2WithTlvs([tlv(0x02, "example.com"), tlv(0xe0, "x", 0xffff)]), /declares 65535 bytes but only 1 remain/);
  });

  it("verifies a CRC32C TLV over the whole header: good passes, any flipped bit fails", () => {
    const good = v2WithTlvs([tlv(0x01, "h2"), tlv(0x05, "id-7")], true);
    const parsed = parseProxyHeader(good);
    expect(parsed.info.tlvs.alpn).toBe("h2");
    expect(parsed.info.tlvs.raw.get(0x03)).toHaveLength(4);
    for (const at of [13, 16, 27, 31, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] = (bad[at] as number) ^ (at === 13 ? 0x03 : 0x40); // fam 0x11 -> 0x12 (UDP) is still a valid family
      rejects(bad, /CRC32C mismatch/);
    }
    const wrongValue = Buffer.from(good);
    wrongValue.writeUInt32BE((wrongValue.readUInt32BE(31) ^ 1) >>> 0, 31);
    rejects(wrongValue, /CRC32C mismatch/);
    rejects(v2WithTlvs([tlv(0x03, Buffer.alloc(3))]), /CRC32C TLV of 3 bytes/);
  });

  it("decodes the SSL TLV and its sub-TLVs (version, CN, cipher, sig and key algorithms)", () => {
    const subs = Buffer.concat([tlv(0x21, "TLSv1.3"), tlv(0x22, "client.example"), tlv(0x23, "TLS_AES_256_GCM_SHA384"), tlv(0x24, "SHA256"), tlv(0x25, "RSA2048")]);
    const value = Buffer.concat([Buffer.from([0x07, 0, 0, 0, 0]), subs]);
    const { ssl } = parseProxyHeader(v2WithTlvs([tlv(0x20, value)])).info.tlvs;
    expect(ssl).toEqual({ client: 7, verified: true, version: "TLSv1.3", cn: "client.example", cipher: "TLS_AES_256_GCM_SHA384", sigAlg: "SHA256", keyAlg: "RSA2048" });
    const unverified = parseProxyHeader(v2WithTlvs([tlv(0x20, Buffer.from([0x01, 0, 0, 0, 1]))])).info.tlvs.ssl;
    expect(unverified).toEqual({ client: 1, verified: false, version: null, cn: null, cipher: null, sigAlg: null, keyAlg: null });
  });

  it("refuses an SSL TLV shorter than 5 bytes or with a truncated sub-TLV", () => {
    rejects(v2WithTlvs([tlv(0x20, Buffer.from([1, 0, 0, 0]))]), /SSL TLV of 4 bytes/);
    rejects(v2WithTlvs([tlv(0x20, Buffer.from([1, 0, 0, 0, 0, 0x21, 0]))]), /truncated SSL sub-TLV/);
    rejects(v2WithTlvs([tlv(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0, 0]), tlv(0x21, "TLS", 9)]))]), /SSL sub-TLV 0x21 of 9 bytes runs past/);
  });

  it("copies TLV values out of the input (they do not pin the socket's chunk)", () => {
    const header = v2WithTlvs([tlv(0xe1, "abc")]);
    const value = parseProxyHeader(header).info.tlvs.raw.get(0xe1) as Buffer;
    header.fill(0);
    expect(value.toString()).toBe("abc");
  });
});
