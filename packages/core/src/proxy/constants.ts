/** The 12-byte PROXY v2 signature. */
export const V2_SIGNATURE: Uint8Array = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
/** `PROXY ` in ASCII: every v1 line starts with it. */
export const V1_PREFIX: Uint8Array = Uint8Array.of(0x50, 0x52, 0x4f, 0x58, 0x59, 0x20);
/** The fixed part of a v2 header: signature, ver/cmd, fam, u16 length. */
export const V2_FIXED = 16;
/** The longest v1 line, CRLF included (spec section 2.1). */
export const V1_MAX = 107;
/** The largest possible v2 header (16 + 65 535). */
export const V2_MAX = 16 + 0xffff;
/** Default `maxHeaderSize`. */
export const DEFAULT_MAX_HEADER_SIZE = 4096;
/** Default header `timeout`, ms (the spec asks for at least 3 s). */
export const DEFAULT_PROXY_TIMEOUT = 5000;

/** v2 TLV types (spec section 2.2.x). */
export const TLV = {
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  SSL_VERSION: 0x21,
  SSL_CN: 0x22,
  SSL_CIPHER: 0x23,
  SSL_SIG_ALG: 0x24,
  SSL_KEY_ALG: 0x25,
  NETNS: 0x30,
} as const;

/** The most bytes a UNIQUE_ID TLV may hold. */
export const MAX_UNIQUE_ID = 128;

/** The error codes of a PROXY header that failed. */
export const PROXY_ERROR = {
  HEADER: "ERR_TAKO_PROXY_HEADER",
  TIMEOUT: "ERR_TAKO_PROXY_TIMEOUT",
  ABORTED: "ERR_TAKO_PROXY_ABORTED",
  CLOSED: "ERR_TAKO_PROXY_CLOSED",
} as const;
