import { InvalidAddressError, InvalidConfigError } from "../errors.ts";
import { crc32c } from "./crc32c.ts";
import { V2_FIXED, V2_SIGNATURE } from "./constants.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "./ip.ts";
import { encodeTlvs } from "./tlvs.ts";
import type { ProxyAddressInput, ProxyHeaderInput } from "./types.ts";

interface Endpoint {
  readonly bytes: Uint8Array;
  readonly port: number;
}

function endpoint(field: string, input: ProxyAddressInput): Endpoint {
  if (typeof input !== "object" || input === null || typeof input.address !== "string") {
    throw new InvalidAddressError(`${field} must be { address, port } with an IP literal address`);
  }
  const { address, port } = input;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidAddressError(`${field} port must be an integer from 0 to 65535; got ${String(port)}`);
  const bytes = input.family === "IPv6" ? parseIPv6(address) : (parseIPv4(address) ?? (input.family === "IPv4" ? null : parseIPv6(address)));
  if (bytes === null) throw new InvalidAddressError(`${field} address ${JSON.stringify(address)} is not an ${input.family ?? "IP"} literal`);
  return { bytes, port };
}

/** IPv4 bytes as v4-mapped IPv6 (`::ffff:a.b.c.d`), for a header whose two sides differ in family. */
function mapped(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 16) return bytes;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(bytes, 12);
  return out;
}

function endpoints(input: ProxyHeaderInput): [Endpoint, Endpoint] | null {
  if (input.source === undefined && input.destination === undefined) return null;
  if (input.source === undefined || input.destination === undefined) {
    throw new InvalidConfigError(input.source === undefined ? "source" : "destination", "source and destination go together: give both, or neither (v1 UNKNOWN / v2 UNSPEC)");
  }
  const source = endpoint("source", input.source);
  const destination = endpoint("destination", input.destination);
  if (source.bytes.length === destination.bytes.length) return [source, destination];
  return [
    { bytes: mapped(source.bytes), port: source.port },
    { bytes: mapped(destination.bytes), port: destination.port },
  ];
}

function encodeV1(input: ProxyHeaderInput, pair: [Endpoint, Endpoint] | null): Buffer {
  if (input.command === "LOCAL") throw new InvalidConfigError("command", 'PROXY v1 has no LOCAL command: use version 2, or omit source and destination for "PROXY UNKNOWN"');
  if (input.tlvs !== undefined) throw new InvalidConfigError("tlvs", "PROXY v1 carries no TLVs: use version 2");
  if (input.transport === "DGRAM") throw new InvalidConfigError("transport", "PROXY v1 is TCP only: use version 2 for DGRAM");
  if (pair === null) return Buffer.from("PROXY UNKNOWN\r\n", "latin1");
  const [s, d] = pair;
  const v4 = s.bytes.length === 4;
  const text = (bytes: Uint8Array) => (v4 ? formatIPv4(bytes) : formatIPv6(bytes));
  return Buffer.from(`PROXY ${v4 ? "TCP4" : "TCP6"} ${text(s.bytes)} ${text(d.bytes)} ${s.port} ${d.port}\r\n`, "latin1");
}

function encodeV2(input: ProxyHeaderInput, pair: [Endpoint, Endpoint] | null): Buffer {
  const local = input.command === "LOCAL";
  if (local && pair !== null) throw new InvalidConfigError("command", "a LOCAL header carries no addresses (the receiver uses the real endpoints): omit source and destination");
  const dgram = input.transport === "DGRAM";
  if (input.transport !== undefined && input.transport !== "STREAM" && !dgram)
    throw new InvalidConfigError("transport", `transport must be "STREAM" or "DGRAM"; got ${JSON.stringify(input.transport)}`);
  const addressLength = pair === null ? 0 : pair[0].bytes.length === 4 ? 12 : 36;
  const { bytes: tlvs, crcAt } = input.tlvs === undefined ? { bytes: Buffer.alloc(0), crcAt: -1 } : encodeTlvs(input.tlvs);
  const declared = addressLength + tlvs.length;
  if (declared > 0xffff) throw new InvalidConfigError("tlvs", `the header body would be ${declared} bytes (at most 65 535)`);
  const out = Buffer.alloc(V2_FIXED + declared);
  out.set(V2_SIGNATURE, 0);
  out[12] = local ? 0x20 : 0x21;
  out[13] = pair === null ? 0x00 : (addressLength === 12 ? 0x10 : 0x20) | (dgram ? 0x02 : 0x01);
  out.writeUInt16BE(declared, 14);
  if (pair !== null) {
    const [s, d] = pair;
    const size = s.bytes.length;
    out.set(s.bytes, V2_FIXED);
    out.set(d.bytes, V2_FIXED + size);
    out.writeUInt16BE(s.port, V2_FIXED + size * 2);
    out.writeUInt16BE(d.port, V2_FIXED + size * 2 + 2);
  }
  out.set(tlvs, V2_FIXED + addressLength);
  if (crcAt >= 0) out.writeUInt32BE(crc32c(out), V2_FIXED + addressLength + crcAt);
  return out;
}

/**
 * Encodes a PROXY protocol header, for clients, relays and tests. v1 is the text line
 * (`PROXY TCP4 ...\r\n`, or `PROXY UNKNOWN\r\n` without addresses); v2 the binary header with
 * optional TLVs (`crc32c: true` checksums the whole header). Mixed address families are written
 * as IPv6 with the IPv4 side v4-mapped, as HAProxy does. Bad input throws
 * `InvalidAddressError` / `InvalidConfigError`.
 *
 * @example
 * ```ts
 * const socket = net.connect(9001, "127.0.0.1", () => {
 *   socket.write(encodeProxyHeader({ version: 1, source: { address: "203.0.113.7", port: 51234 }, destination: { address: "127.0.0.1", port: 9001 } }));
 *   socket.write("hello\n");
 * });
 * encodeProxyHeader({ version: 2, command: "LOCAL" }); // a health check's header, 16 bytes
 * ```
 */
export function encodeProxyHeader(input: ProxyHeaderInput): Buffer {
  if (typeof input !== "object" || input === null) throw new InvalidConfigError("header", "encodeProxyHeader takes { version, command?, source?, destination?, tlvs? }");
  if (input.command !== undefined && input.command !== "PROXY" && input.command !== "LOCAL") {
    throw new InvalidConfigError("command", `command must be "PROXY" or "LOCAL"; got ${JSON.stringify(input.command)}`);
  }
  const pair = endpoints(input);
  if (input.version === 1) return encodeV1(input, pair);
  if (input.version === 2) return encodeV2(input, pair);
  throw new InvalidConfigError("version", `version must be 1 or 2; got ${JSON.stringify(input.version)}`);
}
