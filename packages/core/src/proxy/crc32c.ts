/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, as PROXY v2's CRC32C TLV uses. */
const TABLE = /* @__PURE__ */ (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * Continues a CRC-32C over `bytes` from a running `state` (start with {@link CRC32C_INIT}, finish
 * with {@link crc32cFinish}), so a header can be checksummed in pieces without a copy.
 */
export function crc32cUpdate(state: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = state;
  for (let i = start; i < end; i++) c = (TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return c;
}

/** The running state a CRC-32C starts from. */
export const CRC32C_INIT = 0xffffffff;

/** The CRC-32C value of a running state. */
export function crc32cFinish(state: number): number {
  return (state ^ 0xffffffff) >>> 0;
}

/** The CRC-32C of `bytes` (`crc32c(Buffer.from("123456789")) === 0xe3069283`). */
export function crc32c(bytes: Uint8Array): number {
  return crc32cFinish(crc32cUpdate(CRC32C_INIT, bytes));
}
