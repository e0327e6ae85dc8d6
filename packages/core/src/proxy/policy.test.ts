import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../errors.ts";
import { CidrSet } from "./cidr.ts";
import { resolveProxyProtocolOption } from "./policy.ts";

const tcp = { allowTrusted: true, field: "proxyProtocol" };
const unix = { allowTrusted: false, field: "proxyProtocol" };

function configError(fn: () => unknown, field: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidConfigError);
  expect((caught as InvalidConfigError).field).toBe(field);
  expect((caught as Error).message).toMatch(message);
}

describe("CidrSet", () => {
  it("matches IPv4 addresses and blocks, and IPv4 peers in their v4-mapped IPv6 form", () => {
    const set = new CidrSet(["127.0.0.1", "10.0.0.0/8", "192.168.1.128/25", "0.0.0.0/32"], "trusted");
    for (const yes of ["127.0.0.1", "10.0.0.0", "10.255.255.255", "192.168.1.200", "::ffff:10.1.2.3", "::ffff:127.0.0.1", "0:0:0:0:0:ffff:7f00:1", "0.0.0.0"])
      expect(set.has(yes), yes).toBe(true);
    for (const no of ["127.0.0.2", "11.0.0.0", "192.168.1.127", "::1", "::ffff:11.0.0.1", "::127.0.0.1", undefined, "", "junk", "127.0.0.1/32"])
      expect(set.has(no), String(no)).toBe(false);
  });

  it("matches IPv6 addresses and blocks (zones dropped), and v4-mapped entries as the IPv4 block they map", () => {
    const set = new CidrSet(["::1", "fd00::/8", "2001:db8:abcd::/48", "::ffff:172.16.0.0/108"], "trusted");
    for (const yes of ["::1", "fd12:3456::1", "2001:db8:abcd:ffff::1", "::ffff:172.16.5.4", "172.16.5.4", "0:0:0:0:0:0:0:1", "fd00::1%eth0"]) expect(set.has(yes), yes).toBe(true);
    for (const no of ["::2", "fe00::1", "2001:db8:abce::1", "172.32.0.1", "127.0.0.1"]) expect(set.has(no), no).toBe(false);
    expect(new CidrSet(["::/0"], "t").has("2001:db8::1")).toBe(true);
    expect(new CidrSet(["0.0.0.0/0"], "t").has("::ffff:8.8.8.8")).toBe(true);
  });

  it("refuses bad entries, naming the index", () => {
    configError(() => new CidrSet(["10.0.0.0/8", "10.0.0.0/33"], "trusted"), "trusted[1]", /prefix must be 0 to 32/);
    configError(() => new CidrSet(["10.0.0.1/8"], "trusted"), "trusted[0]", /bits set past its \/8 prefix/);
    configError(() => new CidrSet(["localhost"], "trusted"), "trusted[0]", /not an IP address or CIDR/);
    configError(() => new CidrSet(["10.0.0.0/08"], "trusted"), "trusted[0]", /prefix/);
    configError(() => new CidrSet(["10.0.0.0/"], "trusted"), "trusted[0]", /prefix/);
    configError(() => new CidrSet(["::1/129"], "trusted"), "trusted[0]", /prefix must be 0 to 128/);
    configError(() => new CidrSet(["010.0.0.0/8"], "trusted"), "trusted[0]", /not an IP address/);
    configError(() => new CidrSet([42], "trusted"), "trusted[0]", /must be an IP address or CIDR string/);
  });
});

describe("resolveProxyProtocolOption", () => {
  it("off for undefined and false; true requires a header from everyone, 5 s and 4 KiB by default", () => {
    expect(resolveProxyProtocolOption(undefined, tcp)).toBeUndefined();
    expect(resolveProxyProtocolOption(false, tcp)).toBeUndefined();
    const policy = resolveProxyProtocolOption(true, tcp);
    expect(policy).toMatchObject({ timeout: 5_000, maxHeaderSize: 4_096 });
    expect(policy?.decide("203.0.113.1")).toBe("require");
    expect(policy?.decide(undefined)).toBe("require");
    expect(resolveProxyProtocolOption({ timeout: 250, maxHeaderSize: 65_551 }, unix)).toMatchObject({ timeout: 250, maxHeaderSize: 65_551 });
  });

  it("trusted peers must send a header; others are rejected, or served directly", () => {
    const reject = resolveProxyProtocolOption({ trusted: ["127.0.0.1", "::1"] }, tcp)!;
    expect([reject.decide("127.0.0.1"), reject.decide("::ffff:127.0.0.1"), reject.decide("::1"), reject.decide("127.0.0.9"), reject.decide(undefined)]).toEqual([
      "require",
      "require",
      "require",
      "reject",
      "reject",
    ]);
    const direct = resolveProxyProtocolOption({ trusted: ["10.0.0.0/8"], untrusted: "direct" }, tcp)!;
    expect([direct.decide("10.9.9.9"), direct.decide("127.0.0.1")]).toEqual(["require", "direct"]);
  });

  it("refuses bad options before anything is bound, naming the field", () => {
    configError(() => resolveProxyProtocolOption("yes", tcp), "proxyProtocol", /must be true or an object/);
    configError(() => resolveProxyProtocolOption([], tcp), "proxyProtocol", /an array/);
    configError(() => resolveProxyProtocolOption({ timout: 5 }, tcp), "timout", /unknown proxyProtocol key "timout"/);
    configError(() => resolveProxyProtocolOption({ timeout: 0 }, tcp), "proxyProtocol.timeout", /more than 0/);
    configError(() => resolveProxyProtocolOption({ timeout: -1 }, tcp), "proxyProtocol.timeout", /finite number/);
    configError(() => resolveProxyProtocolOption({ maxHeaderSize: 65_552 }, tcp), "proxyProtocol.maxHeaderSize", /16 to 65551/);
    configError(() => resolveProxyProtocolOption({ trusted: "10.0.0.0/8" }, tcp), "proxyProtocol.trusted", /must be an array/);
    configError(() => resolveProxyProtocolOption({ trusted: [] }, tcp), "proxyProtocol.trusted", /is empty/);
    configError(() => resolveProxyProtocolOption({ trusted: ["10.0.0.0/8", "nope"] }, tcp), "proxyProtocol.trusted[1]", /not an IP address/);
    configError(() => resolveProxyProtocolOption({ trusted: ["10.0.0.0/8"], untrusted: "allow" }, tcp), "proxyProtocol.untrusted", /"reject" or "direct"/);
    configError(() => resolveProxyProtocolOption({ untrusted: "direct" }, tcp), "proxyProtocol.untrusted", /needs a trusted list/);
  });

  it("Unix listeners take no trusted list (nor untrusted)", () => {
    configError(() => resolveProxyProtocolOption({ trusted: ["127.0.0.1"] }, unix), "proxyProtocol.trusted", /for TCP listeners/);
    configError(() => resolveProxyProtocolOption({ untrusted: "direct" }, unix), "proxyProtocol.untrusted", /for TCP listeners/);
    expect(resolveProxyProtocolOption(true, unix)?.decide(undefined)).toBe("require");
  });
});
