// Hand-built PROXY headers for the tests (no encoder involved, so they pin the wire format).
import { crc32c } from "./crc32c.ts";

/** The 12-byte v2 signature. */
export const SIG = Buffer.from("0d0a0d0a000d0a515549540a", "hex");

/** A raw v2 header: signature, ver/cmd, fam, the body's length (or `declared`), the body. */
export function v2(verCmd: number, fam: number, body: Uint8Array = Buffer.alloc(0), declared = body.length): Buffer {
  const head = Buffer.alloc(16);
  SIG.copy(head);
  head[12] = verCmd;
  head[13] = fam;
  head.writeUInt16BE(declared, 14);
  return Buffer.concat([head, body]);
}

/** One TLV: type, u16 length, value. */
export function tlv(type: number, value: Uint8Array | string, declared?: number): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value) : Buffer.from(value);
  const head = Buffer.alloc(3);
  head[0] = type;
  head.writeUInt16BE(declared ?? bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

/** An IPv4 address block: 203.0.113.7:51234 -> 10.0.0.1:443. */
export const INET_BLOCK = Buffer.from([203, 0, 113, 7, 10, 0, 0, 1, 0xc8, 0x22, 0x01, 0xbb]);

/** An IPv6 address block: 2001:db8::7:51234 -> ::1:443. */
export const INET6_BLOCK = Buffer.concat([
  Buffer.from("20010db8000000000000000000000007", "hex"),
  Buffer.from("00000000000000000000000000000001", "hex"),
  Buffer.from([0xc8, 0x22, 0x01, 0xbb]),
]);

/** A v2 PROXY TCP4 header with `tlvs` after the address block, a CRC32C TLV first when `crc`. */
export function v2WithTlvs(tlvs: Buffer[], crc = false): Buffer {
  const parts = crc ? [tlv(0x03, Buffer.alloc(4)), ...tlvs] : tlvs;
  const header = v2(0x21, 0x11, Buffer.concat([INET_BLOCK, ...parts]));
  if (crc) header.writeUInt32BE(crc32c(header), 16 + 12 + 3);
  return header;
}
