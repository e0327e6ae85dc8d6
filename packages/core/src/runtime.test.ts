import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { UnsupportedError } from "./errors.ts";
import { assertListeningOnFd, assertReusePort, inheritedFdUnsupported, probeReusePort, runtimeDescription, runtimeName, tryShareOnePort, unsupportedFeature } from "./runtime.ts";

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

describe("inheritedFdUnsupported (the check after node:fs said EBADF)", () => {
  it("is undefined for a descriptor that really is not open", () => {
    expect(inheritedFdUnsupported(987_654)).toBeUndefined();
  });

  it("is an UnsupportedError naming the runtime for a descriptor the process holds (what Deno reports EBADF for)", () => {
    const fd = openSync(fileURLToPath(import.meta.url), "r");
    try {
      const error = inheritedFdUnsupported(fd);
      expect(error).toBeInstanceOf(UnsupportedError);
      expect(error).toMatchObject({ feature: "inherited file descriptors", runtime: `Node ${process.versions.node}` });
      expect(error?.message).toContain(`fd ${fd} is open in this process (${fileURLToPath(import.meta.url)})`);
    } finally {
      closeSync(fd);
    }
  });
});

describe("assertListeningOnFd (real servers)", () => {
  const servers: Array<net.Server> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
  });
  const listening = <S extends net.Server>(server: S, options: net.ListenOptions): Promise<S> => {
    servers.push(server);
    return new Promise((resolve) => server.listen(options, () => resolve(server)));
  };

  it("passes a server on the expected Unix socket or TCP port", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tako-runtime-"));
    try {
      const unix = await listening(net.createServer(), { path: join(dir, "s") });
      expect(() => assertListeningOnFd(unix, 3, { kind: "unix" })).not.toThrow();
      const tcp = await listening(http.createServer(), { host: "127.0.0.1", port: 0 });
      expect(() => assertListeningOnFd(tcp, 3, { kind: "tcp", port: (tcp.address() as net.AddressInfo).port })).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("throws UnsupportedError when an http server ended up on a TCP port instead of the Unix fd (Bun's silent fallback)", async () => {
    const tcp = await listening(http.createServer(), { host: "127.0.0.1", port: 0 });
    const port = (tcp.address() as net.AddressInfo).port;
    expect(() => assertListeningOnFd(tcp, 3, { kind: "unix" })).toThrow(UnsupportedError);
    expect(() => assertListeningOnFd(tcp, 3, { kind: "unix" })).toThrow(`listening on an inherited fd with node:http is not supported on Node ${process.versions.node}`);
    expect(() => assertListeningOnFd(tcp, 3, { kind: "tcp", port: port === 1 ? 2 : 1 })).toThrow(/instead of the inherited TCP port/);
  });
});
