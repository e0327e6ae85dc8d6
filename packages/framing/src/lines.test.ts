import { once } from "node:events";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameTooLargeError, InvalidConfigError, lines } from "./index.ts";
import { collect, cut, cutsArb, kindArb, positions, settle, sourceOf, tcpPair } from "./test-support.ts";

/** A line's content: any Unicode (astral planes included), no newline, not ending in `\r`. */
const lineArb = fc.string({ unit: "binary", maxLength: 40 }).map((s) => s.replace(/\n/g, "_").replace(/\r$/, "r"));

describe("lines() under arbitrary chunking", () => {
  it("yields exactly the lines written, with \\n or \\r\\n, UTF-8 split anywhere, from either source kind", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineArb, { maxLength: 30 }),
        fc.array(fc.boolean(), { maxLength: 30 }),
        fc.boolean(),
        cutsArb,
        kindArb,
        async (content, crlf, terminated, fractions, kind) => {
          const text = content.map((line, i) => `${line}${crlf[i] === true ? "\r\n" : "\n"}`).join("");
          const last = terminated || content.length === 0 ? "" : "tail without newline é";
          const bytes = Buffer.from(text + last, "utf8");
          const got = await collect(lines(sourceOf(cut(bytes, positions(fractions, bytes.length)), kind)));
          expect(got).toEqual(last === "" ? content : [...content, last]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('yields the raw bytes with encoding: "buffer" (invalid UTF-8 untouched)', async () => {
    // Any bytes but a newline; a last \r would be stripped as half of \r\n, so such a line gets one more byte.
    const lineBytes = fc.uint8Array({ maxLength: 30 }).map((b) => {
      const line = Buffer.from(b.map((x) => (x === 10 ? 11 : x)));
      return line.at(-1) === 13 ? Buffer.concat([line, Buffer.from("a")]) : line;
    });
    await fc.assert(
      fc.asyncProperty(fc.array(lineBytes, { maxLength: 20 }), cutsArb, kindArb, async (content, fractions, kind) => {
        const bytes = Buffer.concat(content.flatMap((line) => [line, Buffer.from("\n")]));
        const got = await collect(lines(sourceOf(cut(bytes, positions(fractions, bytes.length)), kind), { encoding: "buffer" }));
        expect(got.map((b) => Buffer.from(b).toString("hex"))).toEqual(content.map((b) => Buffer.from(b).toString("hex")));
      }),
      { numRuns: 200 },
    );
  });

  it("accepts a line of exactly maxLineLength bytes and refuses one byte more, however it is chunked", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 64 }),
        fc.constantFrom("a", "é", "€", "😀"),
        fc.boolean(),
        fc.boolean(),
        cutsArb,
        kindArb,
        async (max, char, crlf, over, fractions, kind) => {
          const charBytes = Buffer.byteLength(char);
          const fit = Math.floor(max / charBytes);
          // Exactly `max` bytes: as many whole characters as fit, padded with ASCII.
          let line = char.repeat(fit) + "a".repeat(max - fit * charBytes);
          if (over) line += "b";
          const bytes = Buffer.from(`z\n${line}${crlf ? "\r\n" : "\n"}z\n`);
          const { items, error } = await settle(lines(sourceOf(cut(bytes, positions(fractions, bytes.length)), kind), { maxLineLength: max }));
          if (over) {
            expect(items).toEqual(["z"]);
            expect(error).toBeInstanceOf(FrameTooLargeError);
            expect(error).toMatchObject({ code: "ERR_TAKO_FRAME_TOO_LARGE", limit: max });
          } else {
            expect(error).toBeUndefined();
            expect(items).toEqual(["z", line, "z"]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('onOverflow: "skip" drops exactly the over-long lines and keeps every other one', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 20 }), cutsArb, kindArb, async (lengths, fractions, kind) => {
        const content = lengths.map((n, i) => String.fromCharCode(97 + (i % 26)).repeat(n));
        const bytes = Buffer.from(content.map((l) => `${l}\n`).join(""));
        const got = await collect(lines(sourceOf(cut(bytes, positions(fractions, bytes.length)), kind), { maxLineLength: 20, onOverflow: "skip" }));
        expect(got).toEqual(content.filter((l) => l.length <= 20));
      }),
      { numRuns: 200 },
    );
  });
});

describe("lines() details", () => {
  it("strips a \\r that ends one chunk when the \\n starts the next", async () => {
    for (const kind of ["readable", "iterable"] as const) {
      expect(await collect(lines(sourceOf([Buffer.from("one\r"), Buffer.from("\ntwo\r"), Buffer.from("\n")], kind)))).toEqual(["one", "two"]);
      // A \r not followed by \n is content.
      expect(await collect(lines(sourceOf([Buffer.from("a\r"), Buffer.from("b\n")], kind)))).toEqual(["a\rb"]);
    }
  });

  it("a \\r at a chunk end before \\n does not count against the limit", async () => {
    const got = await collect(lines(sourceOf([Buffer.from("abcd\r"), Buffer.from("\n")], "readable"), { maxLineLength: 4 }));
    expect(got).toEqual(["abcd"]);
  });

  it("turns invalid UTF-8 into U+FFFD, line by line, never eating the newline", async () => {
    const bytes = Buffer.from([0x61, 0xff, 0x0a, 0xe2, 0x82, 0x0a, 0xc3, 0x0a, 0x62, 0xed, 0xa0, 0x80, 0x0a]);
    for (const cuts of [[], [1], [4], [5], [7], [10]]) {
      expect(await collect(lines(sourceOf(cut(bytes, cuts), "iterable")))).toEqual(["a\uFFFD", "\uFFFD", "\uFFFD", "b\uFFFD\uFFFD\uFFFD"]);
    }
  });

  it("yields empty lines, and a last line without a newline at EOF", async () => {
    expect(await collect(lines(sourceOf([Buffer.from("\n\r\n\nx")], "iterable")))).toEqual(["", "", "", "x"]);
    expect(await collect(lines(sourceOf([], "iterable")))).toEqual([]);
  });

  it("checks each line of a long all-ASCII chunk against the limit, and non-ASCII chunks byte by byte", async () => {
    const ascii = Buffer.from(`${"a".repeat(10)}\n${"b".repeat(11)}\n`);
    const r1 = await settle(lines(sourceOf([ascii], "readable"), { maxLineLength: 10 }));
    expect(r1.items).toEqual(["a".repeat(10)]);
    expect(r1.error).toMatchObject({ size: 11, limit: 10 });
    // 5 x "é" = 10 bytes but 5 characters: counted in bytes.
    const accented = Buffer.from(`${"é".repeat(5)}\n${"é".repeat(5)}x\n`);
    const r2 = await settle(lines(sourceOf([accented], "readable"), { maxLineLength: 10 }));
    expect(r2.items).toEqual(["é".repeat(5)]);
    expect(r2.error).toMatchObject({ size: 11, limit: 10 });
    expect(await collect(lines(sourceOf([accented], "readable"), { maxLineLength: 10, onOverflow: "skip" }))).toEqual(["é".repeat(5)]);
  });

  it("accepts strings and Uint8Arrays from an iterable source", async () => {
    const source = (async function* () {
      yield "str";
      yield new Uint8Array([0x0a, 0x62]);
      yield "\n";
    })();
    expect(await collect(lines(source))).toEqual(["str", "b"]);
  });

  it("validates its options before reading", () => {
    const source = sourceOf([], "iterable");
    expect(() => lines(source, { maxLineLength: 0 })).toThrow(InvalidConfigError);
    expect(() => lines(source, { maxLineLength: 1.5 })).toThrow(/maxLineLength must be an integer/);
    expect(() => lines(source, { maxLineLength: Number.POSITIVE_INFINITY })).toThrow(InvalidConfigError);
    expect(() => lines(source, { encoding: "latin1" as "utf8" })).toThrow(/encoding must be one of/);
    expect(() => lines(source, { onOverflow: "truncate" as "skip" })).toThrow(/onOverflow/);
    expect(() => lines(source, { maxLen: 5 } as never)).toThrow(/unknown lines option key "maxLen"/);
    expect(() => lines(source, { signal: {} as AbortSignal })).toThrow(/signal must be an AbortSignal/);
    expect(() => lines(42 as never)).toThrow(/source must be a Readable/);
  });
});

describe("lines() on a real socket", () => {
  it("refuses an over-long line as soon as it passes the limit, having read little more than the limit", async () => {
    const pair = await tcpPair();
    try {
      const max = 4096;
      // The client streams 8 MiB without a newline; the reader must not wait for it, nor hold it.
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let written = 0;
      const pump = async () => {
        while (written < 8 * 1024 * 1024 && !pair.client.destroyed) {
          written += chunk.length;
          if (!pair.client.write(chunk)) await Promise.race([once(pair.client, "drain"), once(pair.client, "close")]);
        }
      };
      void pump();
      const { error } = await settle(lines(pair.server, { maxLineLength: max }));
      expect(error).toBeInstanceOf(FrameTooLargeError);
      expect((error as FrameTooLargeError).size).toBeGreaterThan(max);
      // At most the limit plus one read chunk (and the stream's own high-water mark) were read.
      expect(pair.server.bytesRead).toBeLessThan(max + 4 * 65_536);
      expect(pair.server.destroyed).toBe(false); // the handler (or Tako) decides the connection's fate
    } finally {
      pair.close();
    }
  });
});

describe("lines() scans each byte once", () => {
  /** Chunks whose indexOf / lastIndexOf count the bytes they look at. */
  function counting(chunks: Buffer[]): { chunks: Buffer[]; scanned: () => number } {
    let scanned = 0;
    for (const chunk of chunks) {
      Object.assign(chunk, {
        indexOf(this: Buffer, value: number, start = 0) {
          const found = Buffer.prototype.indexOf.call(this, value, start);
          scanned += (found === -1 ? this.length : found + 1) - start;
          return found;
        },
        lastIndexOf(this: Buffer, value: number) {
          const found = Buffer.prototype.lastIndexOf.call(this, value);
          scanned += this.length - found;
          return found;
        },
      });
    }
    return { chunks, scanned: () => scanned };
  }

  it("a long line dripped one byte per chunk is not re-scanned (O(n), not O(n^2))", async () => {
    const bytes = Buffer.from(`${"x".repeat(50_000)}\nend\n`);
    const source = counting(
      cut(
        bytes,
        Array.from({ length: bytes.length }, (_, i) => i),
      ),
    );
    expect(await collect(lines(sourceOf(source.chunks, "iterable")))).toEqual(["x".repeat(50_000), "end"]);
    expect(source.scanned()).toBeLessThanOrEqual(2 * bytes.length);
  });

  it("10 000 tiny lines in one chunk are found in one pass", async () => {
    const bytes = Buffer.from("ab\n".repeat(10_000));
    const source = counting([bytes]);
    const got = await collect(lines(sourceOf(source.chunks, "iterable"), { maxLineLength: 2 }));
    expect(got).toHaveLength(10_000);
    expect(source.scanned()).toBeLessThanOrEqual(2 * bytes.length);
  });
});
