// @tako/unix: echo over a socket file, abstract sockets, the socket-file rules (stale socket
// replaced, regular file refused and kept, mode applied), drain.
import { existsSync, linkSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { serveUnix } from "@tako/unix";
import { assert, assertEqual, rejects, type Check } from "../check.ts";
import { connectStream } from "../clients.ts";

const echo = async (socket: import("node:net").Socket) => {
  socket.setEncoding("utf8");
  for await (const chunk of socket) socket.write(`echo ${chunk as string}`);
};

export const checks: Check[] = [
  {
    id: "unix.echo",
    title: "Unix socket echo, drain, socket file removed",
    async run({ dir, defer }) {
      const path = join(dir, "echo.sock");
      const server = await serveUnix(path, echo);
      defer(() => server.shutdown({ drainTimeout: 0 }));
      assertEqual(server.address, path, "address");
      const client = await connectStream({ path });
      defer(() => client.socket.destroy());
      client.socket.write("hi\n");
      await client.waitFor("echo hi\n");
      client.socket.end();
      const report = await server.shutdown();
      assertEqual(report.forced, 0, "forced");
      assert(!existsSync(path), "the socket file is removed on shutdown");
    },
  },
  {
    id: "unix.abstract",
    title: "Abstract socket (@name): echo, no file",
    async run({ dir, defer }) {
      const name = `tako-conformance-${process.pid}-${Date.now()}`;
      const server = await serveUnix(`@${name}`, echo);
      defer(() => server.shutdown({ drainTimeout: 0 }));
      assertEqual(server.address, `@${name}`, "address");
      const client = await connectStream({ path: `\0${name}` });
      defer(() => client.socket.destroy());
      client.socket.write("abstract\n");
      await client.waitFor("echo abstract\n");
      assert(!existsSync(join(dir, name)) && !existsSync(name), "no file was created");
    },
  },
  {
    id: "unix.stale-socket",
    title: "A stale socket file is replaced",
    async run({ dir, defer }) {
      const path = join(dir, "stale.sock");
      // A socket file nobody listens on: bind one, keep a second name for it, close the server.
      const old = createServer();
      await new Promise<void>((resolve) => old.listen(join(dir, "old.sock"), () => resolve()));
      linkSync(join(dir, "old.sock"), path);
      await new Promise<void>((resolve) => old.close(() => resolve()));
      assert(statSync(path).isSocket(), "the stale socket file exists");
      const server = await serveUnix(path, echo);
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const client = await connectStream({ path });
      defer(() => client.socket.destroy());
      client.socket.write("fresh\n");
      await client.waitFor("echo fresh\n");
    },
  },
  {
    id: "unix.live-socket-kept",
    title: "A live server's socket is refused (EADDRINUSE) and kept",
    async run({ dir, defer }) {
      const path = join(dir, "live.sock");
      const first = await serveUnix(path, echo);
      defer(() => first.shutdown({ drainTimeout: 0 }));
      const error = await rejects(serveUnix(path, echo), "a second server on a live socket");
      assertEqual(error.code, "EADDRINUSE", "error code");
      const client = await connectStream({ path });
      defer(() => client.socket.destroy());
      client.socket.write("first\n");
      await client.waitFor("echo first\n");
    },
  },
  {
    id: "unix.regular-file",
    title: "A regular file at the path is refused and kept",
    async run({ dir }) {
      const path = join(dir, "data.sock");
      writeFileSync(path, "precious");
      const error = await rejects(serveUnix(path, echo), "serving on a regular file");
      assertEqual(error.code, "ERR_TAKO_INVALID_SOCKET_PATH", "error code");
      assert(/regular file/.test(error.message), `the message names what was found (${error.message})`);
      assertEqual(readFileSync(path, "utf8"), "precious", "the file is untouched");
    },
  },
  {
    id: "unix.mode",
    title: "mode is applied to the socket file",
    async run({ dir, defer }) {
      for (const mode of [0o600, 0o660]) {
        const path = join(dir, `mode-${mode.toString(8)}.sock`);
        const server = await serveUnix(path, echo, { mode });
        defer(() => server.shutdown({ drainTimeout: 0 }));
        assertEqual((statSync(path).mode & 0o777).toString(8), mode.toString(8), "socket file mode");
      }
    },
  },
];
