import { describe, expect, it } from "vitest";
import { UnsupportedError } from "./errors.ts";
import { assertReusePort, probeReusePort, runtimeDescription, runtimeName, tryShareOnePort, unsupportedFeature } from "./runtime.ts";

describe("runtimeName / runtimeDescription", () => {
  it("is node under Node, with its version", () => {
    expect(runtimeName()).toBe("node");
    expect(runtimeDescription()).toBe(`Node ${process.versions.node}`);
  });

  it("reads Bun and Deno from the entries they add to process.versions (both also report a node version)", () => {
    expect(runtimeName({ node: "26.3.0", bun: "1.4.5" })).toBe("bun");
    expect(runtimeDescription({ node: "26.3.0", bun: "1.4.5" })).toBe("Bun 1.4.5");
    expect(runtimeName({ node: "26.3.0", deno: "2.9.6" })).toBe("deno");
    expect(runtimeDescription({ node: "26.3.0", deno: "2.9.6" })).toBe("Deno 2.9.6");
    expect(runtimeName({ node: "24.21.0" })).toBe("node");
  });
});

describe("unsupportedFeature", () => {
  it("is an UnsupportedError naming the feature and the runtime", () => {
    const error = unsupportedFeature("reusePort for UDP", "the second bind failed");
    expect(error).toBeInstanceOf(UnsupportedError);
    expect(error.code).toBe("ERR_TAKO_UNSUPPORTED");
    expect(error.feature).toBe("reusePort for UDP");
    expect(error.runtime).toBe(`Node ${process.versions.node}`);
    expect(error.message).toBe(`reusePort for UDP is not supported on Node ${process.versions.node} (${process.platform}): the second bind failed`);
  });
});

describe("the reusePort probe (real sockets on loopback)", () => {
  it.each(["tcp", "udp"] as const)("finds %s reusePort working on Node/Linux, and assertReusePort passes", async (kind) => {
    expect(await probeReusePort(kind)).toBeUndefined();
    await expect(assertReusePort(kind)).resolves.toBeUndefined();
    expect(probeReusePort(kind)).toBe(probeReusePort(kind)); // probed once per process
  });

  it.each(["tcp", "udp"] as const)("detects a %s runtime that ignores the option: the second bind fails with EADDRINUSE", async (kind) => {
    const why = await tryShareOnePort(kind, false);
    expect(why).toMatch(/^a second socket with reusePort could not bind the same port \(.*EADDRINUSE/);
  });
});
