import type { SocketAddress } from "../address.ts";
import { ProtocolError } from "../errors.ts";
import { PROXY_ERROR, V2_FIXED, V2_SIGNATURE } from "./constants.ts";
import { formatIPv4, formatIPv6 } from "./ip.ts";
import { decodeTlvs, emptyTlvs } from "./tlvs.ts";
import type { ProxyInfo, ProxyTlvs } from "./types.ts";

function invalid(reason: string): ProtocolError {
  return new ProtocolError(`invalid PROXY v2 header: ${reason}`, { code: PROXY_ERROR.HEADER });
}

/** The address block's minimum length per address family (high nibble of the fam byte). */
const FAMILY_MIN = [0, 12, 36, 216] as const;

/** The fam bytes of spec section 2.2: UNSPEC, and TCP/UDP over INET, INET6, UNIX. */
function knownFam(fam: number): boolean {
  return fam === 0x00 || fam === 0x11 || fam === 0x12 || fam === 0x21 || fam === 0x22 || fam === 0x31 || fam === 0x32;
}

/**
 * Checks the fixed 16 bytes of a v2 header as they arrive and returns the header's total length
 * (16 + the declared length) once they are in, 0 while more are needed. Throws as soon as a byte
 * is wrong: the signature, a version other than 2, a command other than LOCAL (0) or PROXY (1),
 * a fam byte outside the spec's set, an address block shorter than the family needs, or a total
 * past `maxHeaderSize`, all decided on the declared length, before any of the body is awaited.
 */
export function scanV2(buf: Uint8Array, maxHeaderSize: number): number {
  const length = buf.length;
  const signature = Math.min(length, V2_SIGNATURE.length);
  for (let i = 0; i < signature; i++) {
    if (buf[i] !== V2_SIGNATURE[i]) throw invalid("bad signature");
  }
  if (length < 13) return 0;
  const verCmd = buf[12] as number;
  if (verCmd >> 4 !== 2) throw invalid(`version ${verCmd >> 4} (expected 2)`);
  const command = verCmd & 0x0f;
  if (command > 1) throw invalid(`command 0x${command.toString(16)} (expected 0 LOCAL or 1 PROXY)`);
  if (length < 14) return 0;
  const fam = buf[13] as number;
  if (!knownFam(fam)) throw invalid(`address family and transport 0x${fam.toString(16).padStart(2, "0")} are not in the spec`);
  if (length < V2_FIXED) return 0;
  const declared = ((buf[14] as number) << 8) | (buf[15] as number);
  const total = V2_FIXED + declared;
  if (total > maxHeaderSize) throw invalid(`declared length ${declared} makes a ${total}-byte header, past maxHeaderSize ${maxHeaderSize}`);
  const minimum = FAMILY_MIN[fam >> 4] as number;
  if (command === 1 && declared < minimum) throw invalid(`address block of ${declared} bytes, shorter than the ${minimum} the family needs`);
  return total;
}

function port(buf: Uint8Array, at: number): number {
  return ((buf[at] as number) << 8) | (buf[at + 1] as number);
}

/**
 * Decodes a complete v2 header `buf[0, total)` (as {@link scanV2} measured it): LOCAL skips the
 * whole block (the real endpoints apply); PROXY over INET/INET6 gives the addresses; AF_UNIX and
 * UNSPEC give `null` addresses; the TLVs after the family's address block are walked.
 */
export function decodeV2(buf: Uint8Array, total: number, via: SocketAddress | null = null): ProxyInfo {
  const command = (buf[12] as number) & 0x0f;
  const fam = buf[13] as number;
  const family = fam >> 4;
  if (command === 0) {
    // LOCAL: "the receiver must ... discard the protocol block including the family" and use
    // the real endpoints, so the block is skipped whatever it holds; TLVs after the family's
    // address block (HAProxy adds its proxy-v2-options to health checks too) are kept when they
    // walk cleanly, and otherwise dropped: a LOCAL header claims nothing they could falsify.
    const start = Math.min(V2_FIXED + (FAMILY_MIN[family] as number), total);
    let tlvs: ProxyTlvs;
    try {
      tlvs = decodeTlvs(buf, start, total);
    } catch {
      tlvs = emptyTlvs();
    }
    return { version: 2, command: "LOCAL", transport: "UNSPEC", source: null, destination: null, via, tlvs };
  }
  const transport = fam === 0x00 ? "UNSPEC" : (fam & 0x0f) === 1 ? "STREAM" : "DGRAM";
  let source: SocketAddress | null = null;
  let destination: SocketAddress | null = null;
  const at = V2_FIXED;
  if (family === 1) {
    source = { address: formatIPv4(buf, at), port: port(buf, at + 8), family: "IPv4" };
    destination = { address: formatIPv4(buf, at + 4), port: port(buf, at + 10), family: "IPv4" };
  } else if (family === 2) {
    source = { address: formatIPv6(buf, at), port: port(buf, at + 32), family: "IPv6" };
    destination = { address: formatIPv6(buf, at + 16), port: port(buf, at + 34), family: "IPv6" };
  }
  const tlvs = decodeTlvs(buf, at + (FAMILY_MIN[family] as number), total);
  return { version: 2, command: "PROXY", transport, source, destination, via, tlvs };
}
