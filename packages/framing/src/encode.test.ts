import { describe, expect, it } from "vitest";
import { encodeFrame, encodeNetstring, InvalidConfigError } from "./index.ts";

describe("encodeFrame()", () => {
  it("writes each prefix as the wire expects it", () => {
    expect(encodeFrame("hi", { prefix: "u8" }).toString("hex")).toBe("026869");
    expect(encodeFrame("hi", { prefix: "u16be" }).toString("hex")).toBe("00026869");
    expect(encodeFrame("hi", { prefix: "u16le" }).toString("hex")).toBe("02006869");
    expect(encodeFrame("hi", { prefix: "u32be" }).toString("hex")).toBe("000000026869");
    expect(encodeFrame("hi", { prefix: "u32le" }).toString("hex")).toBe("020000006869");
    expect(encodeFrame("", { prefix: "varint" }).toString("hex")).toBe("00");
    expect(encodeFrame(Buffer.alloc(300), { prefix: "varint" }).subarray(0, 2).toString("hex")).toBe("ac02");
    expect(encodeFrame(Buffer.alloc(16_384), { prefix: "varint" }).subarray(0, 3).toString("hex")).toBe("808001");
    // A string is measured in UTF-8 bytes.
    expect(encodeFrame("é", { prefix: "u8" }).toString("hex")).toBe("02c3a9");
  });

  it("refuses a payload its prefix cannot declare, and bad options", () => {
    expect(encodeFrame(Buffer.alloc(255), { prefix: "u8" }).length).toBe(256);
    expect(() => encodeFrame(Buffer.alloc(256), { prefix: "u8" })).toThrow(/256-byte payload does not fit a u8 length prefix/);
    expect(() => encodeFrame(Buffer.alloc(65_536), { prefix: "u16le" })).toThrow(InvalidConfigError);
    expect(() => encodeFrame("x", {} as never)).toThrow(/prefix must be one of/);
    expect(() => encodeFrame(42 as never, { prefix: "u8" })).toThrow(/payload must be a Uint8Array or a string/);
  });
});

describe("encodeNetstring()", () => {
  it("writes length:payload, with the length in bytes", () => {
    expect(encodeNetstring("hello world!").toString()).toBe("12:hello world!,");
    expect(encodeNetstring("").toString()).toBe("0:,");
    expect(encodeNetstring("é").toString()).toBe("2:é,");
    expect(encodeNetstring(new Uint8Array([0, 255])).toString("hex")).toBe(Buffer.from("2:\u0000\u00ff,", "latin1").toString("hex"));
  });
});
