import { InvalidSocketPathError, TakoError, UnsupportedError } from "@tako/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_SOCKET_PATH_BYTES, parseSocketPath, parseSocketPathFor } from "./socket-path.ts";

const fits = (text: string, max = MAX_SOCKET_PATH_BYTES) => Buffer.byteLength(text) <= max;

/** Filesystem paths: no NUL, not starting with "@", not empty, within the byte limit. */
const filePath = fc
  .string({ unit: "grapheme", minLength: 1, maxLength: 60 })
  .map((s) => s.replaceAll("\0", ""))
  .filter((s) => s !== "" && !s.startsWith("@") && fits(s));

/** Abstract names: anything non-empty whose "\0name" form fits. */
const abstractName = fc.string({ unit: "binary", minLength: 1, maxLength: 60 }).filter((s) => fits(`\0${s}`));

describe("parseSocketPath", () => {
  it("is 107 bytes on Linux", () => {
    expect(MAX_SOCKET_PATH_BYTES).toBe(process.platform === "linux" ? 107 : 103);
  });

  it("accepts filesystem paths as given, and they round-trip", () => {
    fc.assert(
      fc.property(filePath, (path) => {
        const parsed = parseSocketPath(path);
        expect(parsed).toEqual({ kind: "file", address: path, listenPath: path });
        expect(parseSocketPath(parsed.address)).toEqual(parsed);
      }),
    );
  });

  it("normalises @name and \\0name to one form, and both round-trip", () => {
    fc.assert(
      fc.property(abstractName, fc.boolean(), (name, nulForm) => {
        const parsed = parseSocketPathFor("linux", nulForm ? `\0${name}` : `@${name}`);
        expect(parsed).toEqual({ kind: "abstract", address: `@${name}`, listenPath: `\0${name}` });
        expect(parseSocketPathFor("linux", parsed.address)).toEqual(parsed);
        expect(parseSocketPathFor("linux", parsed.listenPath)).toEqual(parsed);
      }),
    );
  });

  it("never throws anything but a TakoError, whatever it is given", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.anything()),
        fc.constantFrom("linux", "darwin", "freebsd") as fc.Arbitrary<NodeJS.Platform>,
        (input, platform) => {
          try {
            const parsed = parseSocketPathFor(platform, input);
            expect(typeof input).toBe("string");
            expect(fits(parsed.listenPath, platform === "linux" ? 107 : 103)).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(TakoError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it.each([
    ["empty", ""],
    ["a bare @", "@"],
    ["a bare NUL", "\0"],
    ["a NUL inside a path", "/tmp/a\0b.sock"],
  ])("refuses %s", (_what, path) => {
    expect(() => parseSocketPath(path)).toThrow(InvalidSocketPathError);
  });

  it("refuses non-strings", () => {
    for (const value of [undefined, null, 42, {}, ["/tmp/x"]]) {
      expect(() => parseSocketPathFor("linux", value)).toThrow(InvalidSocketPathError);
    }
  });

  it("counts bytes, not characters: 107 bytes pass, 108 bytes fail, multi-byte characters included", () => {
    const ascii107 = `/tmp/${"a".repeat(102)}`;
    expect(parseSocketPathFor("linux", ascii107).address).toBe(ascii107);
    expect(() => parseSocketPathFor("linux", `${ascii107}a`)).toThrow(/108 bytes/);
    // 54 two-byte characters: 54 characters, 108 bytes.
    const wide = "é".repeat(54);
    expect(wide.length).toBe(54);
    expect(() => parseSocketPathFor("linux", wide)).toThrow(InvalidSocketPathError);
    expect(parseSocketPathFor("linux", `${"é".repeat(53)}a`).listenPath).toHaveLength(54);
    // A 4-byte emoji (two UTF-16 units) straddling the limit.
    expect(() => parseSocketPathFor("linux", `${"a".repeat(104)}😀`)).toThrow(/108 bytes/);
    expect(parseSocketPathFor("linux", `${"a".repeat(103)}😀`).kind).toBe("file");
  });

  it("counts an abstract name's leading NUL", () => {
    expect(parseSocketPathFor("linux", `@${"n".repeat(106)}`).listenPath).toHaveLength(107);
    expect(() => parseSocketPathFor("linux", `@${"n".repeat(107)}`)).toThrow(/108 bytes with its leading NUL/);
    expect(() => parseSocketPathFor("linux", `\0${"ü".repeat(54)}`)).toThrow(InvalidSocketPathError);
  });

  it("off Linux: abstract names are Unsupported, a bare @ is still invalid, the limit is 103 bytes", () => {
    expect(() => parseSocketPathFor("darwin", "@admin")).toThrow(UnsupportedError);
    expect(() => parseSocketPathFor("darwin", "\0admin")).toThrow(UnsupportedError);
    expect(() => parseSocketPathFor("freebsd", "@")).toThrow(InvalidSocketPathError);
    expect(parseSocketPathFor("darwin", `/${"a".repeat(102)}`).kind).toBe("file");
    expect(() => parseSocketPathFor("darwin", `/${"a".repeat(103)}`)).toThrow(InvalidSocketPathError);
  });

  it("gives errors stable codes", () => {
    expect(() => parseSocketPath("@")).toThrow(expect.objectContaining({ code: "ERR_TAKO_INVALID_SOCKET_PATH" }));
    expect(() => parseSocketPathFor("darwin", "@x")).toThrow(expect.objectContaining({ code: "ERR_TAKO_UNSUPPORTED" }));
  });
});
