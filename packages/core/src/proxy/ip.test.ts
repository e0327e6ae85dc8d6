import * as net from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "./ip.ts";

const v6Bytes = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  // Runs of zero groups and v4-mapped addresses, where the formatting rules bite.
  fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0xdb8), { minLength: 8, maxLength: 8 }).map((words) => Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]))),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((v4) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4])),
);

describe("IP text", () => {
  it("IPv4: strict dotted quads only", () => {
    expect(parseIPv4("0.0.0.0")).toEqual(Uint8Array.of(0, 0, 0, 0));
    expect(parseIPv4("255.255.255.255")).toEqual(Uint8Array.of(255, 255, 255, 255));
    for (const bad of [
      "01.2.3.4",
      "1.2.3.04",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "1..2.3",
      "1.2.3.4 ",
      " 1.2.3.4",
      "1.2.3.-4",
      "a.b.c.d",
      "1.2.3.4/8",
      "0x1.2.3.4",
      "1234.1.1.1",
    ]) {
      expect(parseIPv4(bad), bad).toBeNull();
    }
  });

  it("IPv4: text round trip", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        expect(parseIPv4(formatIPv4(bytes))).toEqual(bytes);
      }),
    );
  });

  it("IPv6: accepts what Node accepts (no zones), refuses junk", () => {
    for (const good of [
      "::",
      "::1",
      "1::",
      "1::2",
      "2001:db8::7",
      "::ffff:1.2.3.4",
      "::1.2.3.4",
      "1:2:3:4:5:6:7:8",
      "1:2:3:4:5:6:1.2.3.4",
      "FFFF::",
      "1:2:3:4:5:6:7::",
      "::2:3:4:5:6:7:8",
    ]) {
      expect(parseIPv6(good), good).not.toBeNull();
      expect(net.isIPv6(good), good).toBe(true);
    }
    for (const bad of [
      ":",
      ":1",
      "1:",
      "1:::2",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7:8::",
      "12345::",
      "g::",
      "::1.2.3",
      "::01.2.3.4",
      "1.2.3.4",
      "::1%eth0",
      "1:2:3:4:5:6:7:1.2.3.4",
      "::ffff:1.2.3.4:1",
      "",
    ]) {
      expect(parseIPv6(bad), bad).toBeNull();
    }
  });

  it("IPv6: formats as Node does (RFC 5952, libuv's embedded IPv4 rules), and parses back", () => {
    fc.assert(
      fc.property(v6Bytes, (bytes) => {
        const text = formatIPv6(bytes);
        expect(text).toBe(new net.SocketAddress({ address: text, family: "ipv6" }).address);
        expect(parseIPv6(text)).toEqual(bytes);
        expect(net.isIPv6(text)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("IPv6: whatever Node normalises, we parse to the same bytes", () => {
    fc.assert(
      fc.property(v6Bytes, fc.boolean(), (bytes, upper) => {
        // The long, uncompressed form with leading zeros is legal IPv6 text.
        const long = Array.from({ length: 8 }, (_, i) => (((bytes[i * 2] as number) << 8) | (bytes[i * 2 + 1] as number)).toString(16).padStart(4, "0")).join(":");
        const text = upper ? long.toUpperCase() : long;
        expect(parseIPv6(text)).toEqual(bytes);
      }),
    );
  });
});
