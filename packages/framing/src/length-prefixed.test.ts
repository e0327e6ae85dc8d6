import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeFrame, FrameTooLargeError, InvalidConfigError, lengthPrefixed, ProtocolError, type LengthPrefix } from "./index.ts";
import { collect, cut, cutsArb, kindArb, positions, settle, sourceOf, tcpPair } from "./test-support.ts";

const PREFIXES: LengthPrefix[] = ["u8", "u16be", "u16le", "u32be", "u32le", "varint"];
const prefixArb = fc.constantFrom(...PREFIXES);
const hex = (frames: readonly Uint8Array[]) => frames.map((f) => Buffer.from(f).toString("hex"));

describe("lengthPrefixed() under arbitrary chunking", () => {
  it("round-trips encodeFrame() output for every prefix, from either source kind", async () => {
    await fc.assert(
      fc.asyncProperty(prefixArb, fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), cutsArb, kindArb, async (prefix, payloads, fractions, kind) => {
        const fitting = prefix === "u8" ? payloads.map((p) => p.subarray(0, 255)) : payloads;
        const bytes = Buffer.concat(fitting.map((p) => encodeFrame(p, { prefix })));
        const got = await collect(lengthPrefixed(sourceOf(cut(bytes, positions(fractions, bytes.length)), kind), { prefix }));
        expect(hex(got)).toEqual(hex(fitting));
      }),
      { numRuns: 300 },
    );
  });

  it("accepts a frame of exactly maxFrameSize and refuses one byte more, before reading its payload", async () => {
    await fc.assert(
      fc.asyncProperty(prefixArb, fc.integer({ min: 1, max: 200 }), fc.boolean(), cutsArb, kindArb, async (prefix, max, over, fractions, kind) => {
        const size = over ? max + 1 : max;
        const frame = encodeFrame(Buffer.alloc(size, 7), { prefix });
        // Only the prefix of an over-long frame is sent: the reader must not wait for its payload.
        const bytes = Buffer.concat([encodeFrame("k", { prefix }), over ? frame.subarray(0, frame.length - size) : frame]);
        const { items, error } = await settle(lengthPrefixed(sourceOf(cut(bytes, positions(fractions, bytes.length)), kind), { prefix, maxFrameSize: max }));
        if (over) {
          expect(error).toBeInstanceOf(FrameTooLargeError);
          expect(error).toMatchObject({ code: "ERR_TAKO_FRAME_TOO_LARGE", limit: max, size });
          expect(items.map(String)).toEqual(["k"]);
        } else {
          expect(error).toBeUndefined();
          expect(items.map((b) => b.length)).toEqual([1, max]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("EOF anywhere inside a prefix or a payload is a truncated frame", async () => {
    await fc.assert(
      fc.asyncProperty(
        prefixArb,
        fc.integer({ min: 130, max: 255 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        cutsArb,
        kindArb,
        async (prefix, size, where, fractions, kind) => {
          const frame = encodeFrame(Buffer.alloc(size, 1), { prefix });
          const end = Math.min(frame.length - 1, 1 + Math.floor(where * (frame.length - 1))); // 1 .. length-1 bytes of the frame
          const bytes = Buffer.concat([encodeFrame("a", { prefix }), frame.subarray(0, end)]);
          const { items, error } = await settle(lengthPrefixed(sourceOf(cut(bytes, positions(fractions, bytes.length)), kind), { prefix }));
          expect(items.map(String)).toEqual(["a"]);
          expect(error).toBeInstanceOf(ProtocolError);
          expect(error).not.toBeInstanceOf(FrameTooLargeError);
          expect((error as ProtocolError).code).toBe("ERR_TAKO_TRUNCATED_FRAME");
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("lengthPrefixed() details", () => {
  it("reads each byte order and the varint as written on the wire", async () => {
    const read = async (prefix: LengthPrefix, bytes: number[]) => (await collect(lengthPrefixed(sourceOf([Buffer.from(bytes)], "iterable"), { prefix }))).map(String);
    expect(await read("u16be", [0, 2, 0x68, 0x69])).toEqual(["hi"]);
    expect(await read("u16le", [2, 0, 0x68, 0x69])).toEqual(["hi"]);
    expect(await read("u32le", [1, 0, 0, 0, 0x78, 0, 0, 0, 0])).toEqual(["x", ""]);
    expect(await read("varint", [0])).toEqual([""]);
    // 300 = 0b10_0101100: low 7 bits first, with the continuation bit.
    expect((await collect(lengthPrefixed(sourceOf([Buffer.from([0xac, 0x02]), Buffer.alloc(300)], "iterable"), { prefix: "varint" })))[0]?.length).toBe(300);
  });

  it("refuses a varint longer than 8 bytes", async () => {
    const { error } = await settle(lengthPrefixed(sourceOf([Buffer.alloc(9, 0x80)], "iterable"), { prefix: "varint", maxFrameSize: 2 ** 32 }));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: "ERR_TAKO_PROTOCOL", message: expect.stringContaining("longer than 8 bytes") });
  });

  it("a frame inside one chunk is a view of it, not a copy", async () => {
    const chunk = Buffer.from([3, 0x61, 0x62, 0x63]);
    const [frame] = await collect(lengthPrefixed(sourceOf([chunk], "iterable"), { prefix: "u8" }));
    expect(frame?.buffer).toBe(chunk.buffer);
  });

  it("validates its options before reading", () => {
    const source = sourceOf([], "iterable");
    expect(() => lengthPrefixed(source, {} as never)).toThrow(/prefix must be one of "u8", "u16be"/);
    expect(() => lengthPrefixed(source, undefined as never)).toThrow(InvalidConfigError);
    expect(() => lengthPrefixed(source, { prefix: "u24" as "u8" })).toThrow(InvalidConfigError);
    expect(() => lengthPrefixed(source, { prefix: "u8", maxFrameSize: -1 })).toThrow(/maxFrameSize must be an integer/);
    expect(() => lengthPrefixed(source, { prefix: "u8", limit: 5 } as never)).toThrow(/unknown lengthPrefixed option key "limit"/);
  });
});

describe("lengthPrefixed() on a real socket", () => {
  it("refuses a declared 4 GiB frame at once, allocating nothing of that size", async () => {
    const pair = await tcpPair();
    try {
      const before = process.memoryUsage();
      pair.client.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01, 0x02]));
      const { error } = await settle(lengthPrefixed(pair.server, { prefix: "u32be" }));
      expect(error).toBeInstanceOf(FrameTooLargeError);
      expect(error).toMatchObject({ size: 0xffff_ffff, limit: 1_048_576 });
      const after = process.memoryUsage();
      expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(8 * 1024 * 1024);
      expect(after.rss - before.rss).toBeLessThan(64 * 1024 * 1024);
      // The same as a varint (5 bytes), with a generous limit.
      pair.client.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
      const varint = await settle(lengthPrefixed(pair.server, { prefix: "varint", maxFrameSize: 1 << 30 }));
      expect(varint.error).toMatchObject({ code: "ERR_TAKO_FRAME_TOO_LARGE", size: 0xffff_ffff });
    } finally {
      pair.close();
    }
  });

  it("EOF from a real client inside a frame is a truncated frame", async () => {
    const pair = await tcpPair();
    try {
      pair.client.end(Buffer.concat([encodeFrame("whole", { prefix: "u16be" }), encodeFrame("cut short", { prefix: "u16be" }).subarray(0, 6)]));
      const { items, error } = await settle(lengthPrefixed(pair.server, { prefix: "u16be" }));
      expect(items.map(String)).toEqual(["whole"]);
      expect(error).toMatchObject({ code: "ERR_TAKO_TRUNCATED_FRAME", message: expect.stringContaining("4 of 9 bytes") });
    } finally {
      pair.close();
    }
  });
});
