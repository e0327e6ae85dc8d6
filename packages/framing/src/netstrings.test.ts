import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeNetstring, FrameTooLargeError, netstrings, ProtocolError } from "./index.ts";
import { collect, cut, cutsArb, kindArb, positions, settle, sourceOf } from "./test-support.ts";

const read = (text: string | Buffer, options?: Parameters<typeof netstrings>[1]) => settle(netstrings(sourceOf([Buffer.from(text)], "iterable"), options));

describe("netstrings() under arbitrary chunking", () => {
  it("round-trips encodeNetstring() output, from either source kind", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), cutsArb, kindArb, async (payloads, fractions, kind) => {
        const bytes = Buffer.concat(payloads.map((p) => encodeNetstring(p)));
        const got = await collect(netstrings(sourceOf(cut(bytes, positions(fractions, bytes.length)), kind)));
        expect(got.map((b) => Buffer.from(b).toString("hex"))).toEqual(payloads.map((p) => Buffer.from(p).toString("hex")));
      }),
      { numRuns: 300 },
    );
  });

  it("accepts exactly maxFrameSize and refuses one byte more, as soon as the length says so", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2000 }), fc.boolean(), cutsArb, kindArb, async (max, over, fractions, kind) => {
        const size = over ? max + 1 : max;
        // An over-long netstring is sent up to its ":" only: the reader must not wait for the payload.
        const bytes = Buffer.from(over ? `1:k,${size}:` : `1:k,${size}:${"x".repeat(size)},`);
        const { items, error } = await settle(netstrings(sourceOf(cut(bytes, positions(fractions, bytes.length)), kind), { maxFrameSize: max }));
        expect(items[0]?.toString()).toBe("k");
        if (over) {
          expect(error).toBeInstanceOf(FrameTooLargeError);
          expect(error).toMatchObject({ limit: max });
        } else {
          expect(error).toBeUndefined();
          expect(items[1]?.length).toBe(max);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("EOF anywhere inside a netstring is a truncated frame", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 10, max: 500 }), fc.double({ min: 0, max: 1, noNaN: true }), cutsArb, kindArb, async (size, where, fractions, kind) => {
        const whole = encodeNetstring(Buffer.alloc(size, 0x2c)); // commas inside the payload, for good measure
        const bytes = Buffer.concat([encodeNetstring("a"), whole.subarray(0, Math.min(whole.length - 1, 1 + Math.floor(where * (whole.length - 1))))]);
        const { items, error } = await settle(netstrings(sourceOf(cut(bytes, positions(fractions, bytes.length)), kind)));
        expect(items.map(String)).toEqual(["a"]);
        expect(error).toMatchObject({ code: "ERR_TAKO_TRUNCATED_FRAME" });
      }),
      { numRuns: 200 },
    );
  });
});

describe("netstrings() is strict", () => {
  it("reads the spec's example and the empty netstring", async () => {
    expect((await read("12:hello world!,0:,")).items.map(String)).toEqual(["hello world!", ""]);
  });

  it.each([
    ["a leading zero", "05:hello,", /leading zero/],
    ["00", "00:,", /leading zero/],
    ["no length", ":hello,", /no length before ":"/],
    ["a non-digit in the length", "5x:hello,", /expected a digit or ":" in the length, got "x"/],
    ["a sign", "-5:hello,", /got "-"/],
    ["no comma", "5:hello;", /expected "," after 5 payload bytes, got ";"/],
    ["a newline instead of the comma", "5:hello\n", /got 0x0a/],
  ])("refuses %s with a ProtocolError", async (_what, input, message) => {
    const { items, error } = await read(input);
    expect(items).toEqual([]);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: "ERR_TAKO_PROTOCOL", message: expect.stringMatching(message) });
  });

  it("refuses an absurd length after the digits that pass the limit, not after all of them", async () => {
    const { error } = await read(`${"9".repeat(10_000)}:`, { maxFrameSize: 1000 });
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(error).toMatchObject({ size: 9999, limit: 1000 });
  });

  it("validates its options", () => {
    expect(() => netstrings(sourceOf([], "iterable"), { maxFrameSize: 0 })).toThrow(/maxFrameSize must be an integer/);
    expect(() => netstrings(sourceOf([], "iterable"), { prefix: "u8" } as never)).toThrow(/unknown netstrings option key "prefix"/);
  });
});
