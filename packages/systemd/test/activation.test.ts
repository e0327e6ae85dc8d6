// Socket activation under the real systemd-socket-activate (systemd 252 waits for the first
// connection or datagram before it execs the service, so every test's first client must be served).
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { statSync } from "node:fs";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, hasCommand } from "@tako/test-kit";
import { activate, nodeArgs, SERVICE, tempDir, Watched } from "../src/test-support.ts";

const available = process.platform === "linux" && hasCommand("systemd-socket-activate");
if (!available) console.warn("[skip] systemd-socket-activate tests: the binary is missing (Debian package systemd) or this is not Linux");

const running: Watched[] = [];
const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) {
    child.kill("SIGKILL");
    await child.exited;
  }
  for (const dir of dirs.splice(0)) dir.remove();
});

function start(...args: Parameters<typeof activate>): Watched {
  const child = activate(...args);
  running.push(child);
  return child;
}

/** Connects (TCP port or Unix path), sends `text`, resolves with the first reply chunk(s) up to a newline. */
async function ask(where: number | string, text: string): Promise<string> {
  const socket = typeof where === "number" ? connect(where, "127.0.0.1") : connect({ path: where });
  await once(socket, "connect");
  socket.write(text);
  let reply = "";
  socket.setEncoding("utf8");
  for await (const chunk of socket) {
    reply += chunk;
    if (reply.includes("\n")) break;
  }
  socket.destroy();
  return reply;
}

describe.runIf(available)("listenFds under systemd-socket-activate", () => {
  it("TCP: serves the first connection (the one that started it) on the inherited fd, named by --fdname", async () => {
    const port = await freePort();
    const service = start(["-l", `127.0.0.1:${port}`, "--fdname=web"]);
    await service.stderr("Listening on");
    // This connection is what makes systemd-socket-activate exec the service.
    expect(await ask(port, "hello\n")).toBe("web:hello\n");
    const fds = await service.event("fds");
    expect(fds.pid).toBe(service.child.pid);
    expect(fds.entries).toEqual([{ fd: 3, name: "web", kind: "tcp", listening: true, address: { address: "127.0.0.1", port, family: "IPv4" } }]);
    expect(fds.before).toEqual({ LISTEN_PID: String(service.child.pid), LISTEN_FDS: "1", LISTEN_FDNAMES: "web" });
    expect(fds.after).toEqual({});
    expect(fds.cloexec).toEqual([true]);
    const ready = await service.event("ready");
    expect(ready.addresses).toEqual([{ address: "127.0.0.1", port, family: "IPv4" }]);
    expect(await ask(port, "again\n")).toBe("web:again\n");
    service.kill("SIGTERM");
    const finished = await service.event("finished");
    expect(finished.reports).toMatchObject([{ forced: 0 }]);
    expect(await service.exited).toEqual({ code: 0, signal: null });
  });

  it("Unix: serves on the inherited socket file, reports its path, and never chmods or removes it", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = dir.path("act.sock");
    const service = start(["-l", path]);
    await service.stderr("Listening on");
    const before = statSync(path);
    expect(await ask(path, "hi\n")).toMatch(/^.+:hi\n$/);
    const fds = await service.event("fds");
    expect(fds.entries).toMatchObject([{ fd: 3, kind: "unix", listening: true, address: path }]);
    expect((await service.event("ready")).addresses).toEqual([path]);
    service.kill("SIGTERM");
    await service.event("finished");
    expect(await service.exited).toEqual({ code: 0, signal: null });
    // systemd's file: still there after shutdown, same inode, same mode.
    const after = statSync(path);
    expect(after.isSocket()).toBe(true);
    expect({ ino: after.ino, mode: after.mode }).toEqual({ ino: before.ino, mode: before.mode });
  });

  it("UDP (-d): serves the first datagram with a dgram socket of the fd's family", async () => {
    const port = await freePort();
    const service = start(["-d", "-l", `127.0.0.1:${port}`, "--fdname=metrics"]);
    await service.stderr("Listening on");
    const client = createSocket("udp4");
    client.send("ping", port, "127.0.0.1");
    const [reply] = (await once(client, "message")) as [Buffer];
    expect(String(reply)).toBe("metrics:ping");
    const fds = await service.event("fds");
    expect(fds.entries).toEqual([{ fd: 3, name: "metrics", kind: "udp", listening: false, address: { address: "127.0.0.1", port, family: "IPv4" } }]);
    client.close();
    service.kill("SIGTERM");
    await service.event("finished");
  });

  it("two sockets with --fdname=a:b: entries in order, each served by its kind", async () => {
    const port = await freePort();
    const dir = tempDir();
    dirs.push(dir);
    const path = dir.path("b.sock");
    const service = start(["-l", `127.0.0.1:${port}`, "-l", path, "--fdname=a:b"]);
    await service.stderr(`Listening on ${path}`);
    expect(await ask(port, "one\n")).toBe("a:one\n");
    expect(await ask(path, "two\n")).toBe("b:two\n");
    const fds = await service.event("fds");
    expect(fds.entries).toMatchObject([
      { fd: 3, name: "a", kind: "tcp" },
      { fd: 4, name: "b", kind: "unix", address: path },
    ]);
    expect(fds.cloexec).toEqual([true, true]);
    service.kill("SIGTERM");
    await service.event("finished");
  });

  it("LISTEN_PID names another process (a shell wrapper without exec): [] and the variables cleared", async () => {
    const port = await freePort();
    // sh -c without exec: LISTEN_PID is the shell's pid, node is its child.
    const child = new Watched(["systemd-socket-activate", "-l", `127.0.0.1:${port}`, "--", "sh", "-c", `"$@"; exit $?`, "sh", ...nodeArgs(SERVICE)]);
    running.push(child);
    await child.stderr("Listening on");
    const client = connect(port, "127.0.0.1");
    client.on("error", () => {});
    const fds = await child.event("fds");
    client.destroy();
    expect(fds.entries).toEqual([]);
    expect(fds.before).toMatchObject({ LISTEN_PID: String(child.child.pid), LISTEN_FDS: "1" });
    expect(fds.pid).not.toBe(child.child.pid);
    expect(fds.after).toEqual({});
    expect((await child.exited).code).toBe(0);
  });

  it("a UDP fd given to serveTcp is a clear error naming the real kind, before serving", async () => {
    const port = await freePort();
    const service = start(["-d", "-l", `127.0.0.1:${port}`], { TAKO_TEST_MODE: "as-tcp" });
    await service.stderr("Listening on");
    const client = createSocket("udp4");
    client.send("ping", port, "127.0.0.1");
    const error = await service.event("error");
    client.close();
    expect(error.code).toBe("ERR_TAKO_INVALID_ADDRESS");
    expect(error.message).toBe(`serveTcp needs a listening TCP socket, but fd 3 is a UDP socket on 127.0.0.1:${port}`);
    expect((await service.exited).code).toBe(4);
  });
});
