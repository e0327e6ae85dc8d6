import type { SocketAddress } from "../address.ts";
import { ProtocolError } from "../errors.ts";
import { PROXY_ERROR, V1_MAX, V1_PREFIX } from "./constants.ts";
import { formatIPv6, parseIPv4, parseIPv6 } from "./ip.ts";
import { emptyTlvs } from "./tlvs.ts";
import type { ProxyInfo } from "./types.ts";

function invalid(reason: string): ProtocolError {
  return new ProtocolError(`invalid PROXY v1 header: ${reason}`, { code: PROXY_ERROR.HEADER });
}

/**
 * Where the v1 line starting at `buf[0]` ends: its length (CRLF included) once the CRLF is in,
 * 0 while more bytes are needed. Throws as soon as the bytes so far cannot start a valid line:
 * a prefix other than `PROXY `, a lone CR or LF, no CRLF within 107 bytes.
 */
export function scanV1(buf: Uint8Array): number {
  const length = buf.length;
  const prefix = Math.min(length, V1_PREFIX.length);
  for (let i = 0; i < prefix; i++) {
    if (buf[i] !== V1_PREFIX[i]) throw invalid('it does not start with "PROXY "');
  }
  const limit = Math.min(length, V1_MAX);
  for (let i = V1_PREFIX.length; i < limit; i++) {
    const c = buf[i];
    if (c === 0x0a) throw invalid("a line feed without a carriage return before it");
    if (c !== 0x0d) continue;
    if (i + 1 >= V1_MAX) break;
    if (i + 1 >= length) return 0;
    if (buf[i + 1] !== 0x0a) throw invalid("a carriage return not followed by a line feed");
    return i + 2;
  }
  if (length >= V1_MAX) throw invalid(`no CRLF within the first ${V1_MAX} bytes`);
  return 0;
}

const PORT = /^(?:0|[1-9][0-9]{0,4})$/;

function port(text: string, what: string): number {
  const value = PORT.test(text) ? Number(text) : -1;
  if (value < 0 || value > 65535) throw invalid(`${what} port ${JSON.stringify(text)} is not a number from 0 to 65535 without leading zeros`);
  return value;
}

function address(text: string, family: "IPv4" | "IPv6", what: string): string {
  if (family === "IPv4") {
    // A strict dotted quad (no leading zeros) is already its canonical text.
    if (parseIPv4(text) === null) throw invalid(`${what} address ${JSON.stringify(text)} is not a dotted-quad IPv4 address (TCP4)`);
    return text;
  }
  const bytes = parseIPv6(text);
  if (bytes === null) throw invalid(`${what} address ${JSON.stringify(text)} is not an IPv6 address (TCP6)`);
  return formatIPv6(bytes);
}

/**
 * Decodes a complete v1 line `buf[0, length)` (as {@link scanV1} measured it) with the spec's
 * grammar, strictly: `PROXY SP (TCP4|TCP6) SP src SP dst SP sport SP dport CRLF`, one space
 * between fields, the addresses of the named family, ports without leading zeros; or
 * `PROXY UNKNOWN` followed by CRLF or by a space and anything (ignored).
 */
export function decodeV1(buf: Uint8Array, length: number, via: SocketAddress | null = null): ProxyInfo {
  // Only ASCII reaches here for TCP4/TCP6 (checked per field); latin1 keeps UNKNOWN's junk harmless.
  const line = Buffer.from(buf.buffer, buf.byteOffset, length - 2).toString("latin1");
  const rest = line.slice(V1_PREFIX.length);
  if (rest.startsWith("UNKNOWN") && (rest.length === 7 || rest.charCodeAt(7) === 0x20)) {
    return { version: 1, command: "PROXY", transport: "UNSPEC", source: null, destination: null, via, tlvs: emptyTlvs() };
  }
  const fields = rest.split(" ");
  const protocol = fields[0];
  if (protocol !== "TCP4" && protocol !== "TCP6") throw invalid(`unknown protocol ${JSON.stringify(protocol?.slice(0, 16))} (expected TCP4, TCP6 or UNKNOWN)`);
  if (fields.length !== 5) throw invalid(`expected 5 fields separated by single spaces after "PROXY", got ${fields.length}`);
  const family = protocol === "TCP4" ? "IPv4" : "IPv6";
  const [, src = "", dst = "", sport = "", dport = ""] = fields;
  const source: SocketAddress = { address: address(src, family, "source"), port: port(sport, "source"), family };
  const destination: SocketAddress = { address: address(dst, family, "destination"), port: port(dport, "destination"), family };
  return { version: 1, command: "PROXY", transport: "STREAM", source, destination, via, tlvs: emptyTlvs() };
}
