/** The writers' side: a payload with its length prefix, or as a netstring, in one Buffer. */
import { InvalidConfigError } from "@tako/core";
import { encodePrefix, LENGTH_PREFIXES, type LengthPrefix } from "./length-prefixed.ts";
import { checkChoice, checkOptions } from "./options.ts";

/**
 * Options of {@link encodeFrame}.
 *
 * @example
 * ```ts
 * const options: EncodeFrameOptions = { prefix: "varint" };
 * ```
 */
export interface EncodeFrameOptions {
  /** The length prefix, as the reader's `lengthPrefixed({ prefix })` expects it. */
  readonly prefix: LengthPrefix;
}

/** The largest payload each prefix can declare. */
const PREFIX_MAX: Record<LengthPrefix, number> = { u8: 0xff, u16be: 0xffff, u16le: 0xffff, u32be: 0xffff_ffff, u32le: 0xffff_ffff, varint: Number.MAX_SAFE_INTEGER };

function bytesOf(payload: Uint8Array | string): Uint8Array {
  if (typeof payload === "string") return Buffer.from(payload, "utf8");
  if (payload instanceof Uint8Array) return payload;
  throw new InvalidConfigError("payload", `the payload must be a Uint8Array or a string; got ${payload === null ? "null" : typeof payload}`);
}

/**
 * One frame for {@link lengthPrefixed}: the payload's length in the given prefix, then the
 * payload (a string is UTF-8 encoded), in one new Buffer ready for `socket.write`. A payload too
 * long for the prefix (over 255 bytes for `u8`, 65 535 for `u16*`, 4 GiB - 1 for `u32*`) throws
 * `InvalidConfigError`.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "@tako/framing";
 *
 * socket.write(encodeFrame("hello", { prefix: "u32be" })); // <00 00 00 05> hello
 * socket.write(encodeFrame(Buffer.alloc(300), { prefix: "varint" })); // <ac 02> + 300 bytes
 * ```
 */
export function encodeFrame(payload: Uint8Array | string, options: EncodeFrameOptions): Buffer {
  if (options === undefined) checkChoice("prefix", undefined, LENGTH_PREFIXES, undefined);
  const o = checkOptions("encodeFrame", options, ["prefix"]);
  const prefix = checkChoice("prefix", o.prefix, LENGTH_PREFIXES, undefined);
  const bytes = bytesOf(payload);
  if (bytes.length > PREFIX_MAX[prefix]) {
    throw new InvalidConfigError("payload", `a ${bytes.length}-byte payload does not fit a ${prefix} length prefix (at most ${PREFIX_MAX[prefix]} bytes)`);
  }
  const header = encodePrefix(prefix, bytes.length);
  const frame = Buffer.allocUnsafe(header.length + bytes.length);
  header.copy(frame, 0);
  frame.set(bytes, header.length);
  return frame;
}

/**
 * One netstring for {@link netstrings}: `<decimal length>:<payload>,` in one new Buffer (a
 * string payload is UTF-8 encoded; its length is in bytes).
 *
 * @example
 * ```ts
 * import { encodeNetstring } from "@tako/framing";
 *
 * encodeNetstring("hello world!").toString(); // "12:hello world!,"
 * ```
 */
export function encodeNetstring(payload: Uint8Array | string): Buffer {
  const bytes = bytesOf(payload);
  const head = `${bytes.length}:`;
  const frame = Buffer.allocUnsafe(head.length + bytes.length + 1);
  frame.write(head, 0, "latin1");
  frame.set(bytes, head.length);
  frame[frame.length - 1] = 0x2c;
  return frame;
}
