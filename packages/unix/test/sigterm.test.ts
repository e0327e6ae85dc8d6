import { existsSync, lstatSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readBytes, socketDir } from "@tako/test-kit";
import { connectUnix, spawnNodeFile } from "../src/test-support.ts";

const server = fileURLToPath(new URL("./fixtures/drain-server.ts", import.meta.url));

describe("a serveUnix process (signals are sent to a child process, never the test worker)", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("on %s drains the in-flight connection, exits 0 and removes the socket file", async (name) => {
    const dirs = socketDir();
    try {
      const path = dirs.path();
      const child = spawnNodeFile(server, [path]);
      await child.waitFor(`listening ${path}`);
      expect(lstatSync(path).mode & 0o777).toBe(0o600);
      const client = await connectUnix(path);
      expect(String(await readBytes(client, 6))).toBe("hello\n");
      const rest = readBytes(client, 4);
      child.child.kill(name);
      expect(String(await rest)).toBe("bye\n");
      const { code, signal } = await child.exit();
      expect(child.err).toBe("");
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      const report = JSON.parse(child.out.slice(child.out.indexOf("finished ") + 9)) as { drained: number; forced: number };
      expect(report).toMatchObject({ drained: 1, forced: 0 });
      expect(existsSync(path)).toBe(false);
      client.destroy();
    } finally {
      dirs.remove();
    }
  });
});
