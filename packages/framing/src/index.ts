export { lines, type LinesOptions } from "./lines.ts";
export { lengthPrefixed, type LengthPrefix, type LengthPrefixedOptions } from "./length-prefixed.ts";
export { netstrings, type NetstringsOptions } from "./netstrings.ts";
export { encodeFrame, encodeNetstring, type EncodeFrameOptions } from "./encode.ts";
export { DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_LINE_LENGTH } from "./options.ts";
export type { FrameSource } from "./source.ts";
export { FrameTooLargeError, InvalidConfigError, ProtocolError, TakoError } from "@tako/core";
