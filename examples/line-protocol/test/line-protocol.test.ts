// The built example as a child process: its commands, the PROXY header from the trusted address
// (v1 and v2), direct service from other addresses, and the drain at a line boundary.
import { encodeProxyHeader } from "@tako/core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildIfNeeded, LineClient, startInstance, type Instance } from "./support.ts";

const running: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

async function start(name: string): Promise<Instance> {
  const instance = await startInstance(name, "127.0.0.1:0");
  running.push(instance);
  return instance;
}

describe("examples/line-protocol", () => {
  beforeAll(() => buildIfNeeded(), 120_000);

  it("answers SET/GET/DEL/WHO/QUIT directly to an untrusted address, with VIA direct", async () => {
    const server = await start("solo");
    const c = await LineClient.connect(server.port, "127.0.0.2");
    expect(await c.command("WHO")).toMatch(/^YOU 127\.0\.0\.2:\d+ VIA direct ON solo$/);
    expect(await c.command("SET greeting hello  world")).toBe("OK");
    expect(await c.command("GET greeting")).toBe("VALUE hello  world");
    expect(await c.command("get missing")).toBe("NIL");
    expect(await c.command("DEL greeting")).toBe("DELETED 1");
    expect(await c.command("DEL greeting")).toBe("DELETED 0");
    expect(await c.command("SET onlykey")).toBe("ERR usage: SET <key> <value>");
    expect(await c.command("FLY away")).toBe('ERR unknown command "FLY"');
    expect(await c.command("")).toBe("ERR empty line");
    expect(await c.command("QUIT")).toBe("BYE");
    await c.closed;
    await expect.poll(() => server.lines.some((l) => /^open 127\.0\.0\.2:\d+ via direct$/.test(l))).toBe(true);
  });

  it("takes the client's address from a PROXY v1 or v2 header sent by the trusted 127.0.0.1", async () => {
    const server = await start("behind");
    const v1 = await LineClient.connect(server.port, "127.0.0.1");
    v1.socket.write(`PROXY TCP4 203.0.113.9 127.0.0.1 5555 ${server.port}\r\n`);
    expect(await v1.command("WHO")).toMatch(new RegExp(`^YOU 203\\.0\\.113\\.9:5555 VIA 127\\.0\\.0\\.1:${v1.socket.localPort} ON behind$`));
    v1.close();
    const v2 = await LineClient.connect(server.port, "127.0.0.1");
    const header = encodeProxyHeader({
      version: 2,
      source: { address: "2001:db8::7", port: 4242, family: "IPv6" },
      destination: { address: "2001:db8::1", port: 9101, family: "IPv6" },
    });
    // The header and the first command in one write, as a proxy's first segment may carry both.
    v2.socket.write(Buffer.concat([header, Buffer.from("SET k v2\n")]));
    expect(await v2.next()).toBe("OK");
    expect(await v2.command("WHO")).toMatch(/^YOU \[2001:db8::7\]:4242 VIA 127\.0\.0\.1:\d+ ON behind$/);
    expect(await v2.command("GET k")).toBe("VALUE v2");
    v2.close();
    await expect
      .poll(() => server.lines.filter((l) => l.startsWith("open ")).sort())
      .toEqual([expect.stringMatching(/^open 203\.0\.113\.9:5555 via 127\.0\.0\.1:\d+$/), expect.stringMatching(/^open \[2001:db8::7\]:4242 via 127\.0\.0\.1:\d+$/)].sort());
  });

  it("closes a connection from the trusted address that does not start with a header, answering nothing", async () => {
    const server = await start("strict");
    const c = await LineClient.connect(server.port, "127.0.0.1");
    expect(await c.command("WHO")).toBeNull();
    await c.closed;
    expect(server.lines.some((l) => l.startsWith("open "))).toBe(false);
  });

  it("answers an over-long line with ERR and closes", async () => {
    const server = await start("limits");
    const c = await LineClient.connect(server.port, "127.0.0.2");
    expect(await c.command(`SET k ${"x".repeat(2_000)}`)).toMatch(/^ERR line longer than \d+ bytes$/);
    expect(await c.next()).toBeNull();
  });

  it("on SIGTERM answers what it ran, says BYE draining at the line boundary, closes and exits 0", async () => {
    const server = await startInstance("drain", "127.0.0.1:0");
    const a = await LineClient.connect(server.port, "127.0.0.2");
    const b = await LineClient.connect(server.port, "127.0.0.3");
    expect(await a.command("SET x 1")).toBe("OK");
    expect(await b.command("GET x")).toBe("VALUE 1");
    await expect.poll(() => server.lines.filter((l) => l.startsWith("open ")).length).toBe(2);
    const stopped = server.stop();
    expect(await a.next()).toBe("BYE draining");
    expect(await b.next()).toBe("BYE draining");
    expect(await a.next()).toBeNull();
    expect(await b.next()).toBeNull();
    const { code, report } = await stopped;
    expect(code).toBe(0);
    expect(report).toMatchObject({ drained: 2, forced: 0 });
  });
});
