import { spawn } from "node:child_process";
import { once } from "node:events";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readBytes, waitFor } from "./test-support.ts";

const fixture = fileURLToPath(new URL("../test/fixtures/serve.ts", import.meta.url));
/** `@tako/*` from the TypeScript sources (the exports maps' `tako-source` condition); Node 22 before 22.18 needs the flag to run TypeScript. */
const sourceArgs = ["--conditions=tako-source", ...(process.features.typescript ? [] : ["--experimental-strip-types", "--no-warnings=ExperimentalWarning"])];

describe("accept errors", () => {
  it("running out of file descriptors (EMFILE) does not stop the server; it serves again once descriptors free up", { timeout: 60_000 }, async () => {
    // A child process with a small fd limit, so accepting fails with EMFILE after a few dozen connections.
    const child = spawn("sh", ["-c", `ulimit -n 48 && exec "$0" "$@"`, process.execPath, ...sourceArgs, fixture, "echo"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = once(child, "exit");
    try {
      await waitFor(() => stdout.includes("\n") || child.exitCode !== null, "the child to listen", 20_000);
      const port = Number(stdout.split("\n")[0]);
      expect(port, stderr).toBeGreaterThan(0);

      // Far more connections than the child has descriptors for (bounded: 100). libuv handles
      // EMFILE itself (it closes what it cannot accept); the server must survive it.
      const clients: net.Socket[] = [];
      let closedByServer = 0;
      for (let i = 0; i < 100; i++) {
        const client = net.connect(port, "127.0.0.1");
        client.on("error", () => {});
        client.on("close", () => closedByServer++);
        clients.push(client);
        await once(client, "connect");
      }
      await waitFor(() => closedByServer > 0, "the server to shed connections it has no descriptors for", 10_000);
      expect(child.exitCode).toBeNull(); // still running

      // Free the descriptors; the same server accepts and serves again.
      for (const client of clients) client.destroy();
      let served = false;
      for (let attempt = 0; attempt < 50 && !served; attempt++) {
        const client = net.connect(port, "127.0.0.1");
        client.on("error", () => {});
        try {
          await once(client, "connect");
          client.write("again");
          const reply = await Promise.race([readBytes(client, 5), new Promise<Buffer>((r) => setTimeout(() => r(Buffer.alloc(0)), 500))]);
          served = reply.toString() === "again";
        } catch {
          served = false;
        }
        client.destroy();
      }
      expect(served).toBe(true);
      expect(stderr).not.toContain("Error");
    } finally {
      child.kill("SIGTERM");
      const [code] = await exited;
      expect(code).toBe(0);
    }
  });
});
