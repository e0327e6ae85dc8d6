import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, request as httpRequest } from "node:http";
import { createServer, type Server as NetServer } from "node:net";
import { join } from "node:path";
import { BindError, InvalidConfigError, InvalidSocketPathError, type TakoError, UnsupportedError } from "@tako/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bindUnixSocket, bindUnixSocketWith, checkModeApplied, type UnixSocketBinding } from "./bind-unix.ts";
import { parseSocketPath } from "./socket-path.ts";
import { connectOutcome, connectUnix, exchange, spawnNode } from "./test-support.ts";
import { hasCommand, socketDir, staleSocket } from "@tako/test-kit";

let dirs: ReturnType<typeof socketDir>;
const servers: NetServer[] = [];

beforeEach(() => {
  dirs = socketDir();
});

afterEach(async () => {
  for (const server of servers.splice(0)) {
    if (server.listening) await new Promise((done) => server.close(() => done(undefined)));
  }
  dirs.remove();
});

/** A server that answers every connection with `name` and closes. */
function echoName(name: string): NetServer {
  const server = createServer((socket) => {
    socket.on("error", () => {}); // the liveness probe connects and leaves at once
    socket.end(name);
  });
  servers.push(server);
  return server;
}

async function closeAndRelease(server: NetServer, binding: UnixSocketBinding): Promise<void> {
  await new Promise((done) => server.close(() => done(undefined)));
  await binding.release();
}

const ino = (path: string) => lstatSync(path).ino;

describe("bindUnixSocket: a free path", () => {
  it("binds, serves, leaves no temporary files, and release() removes the socket", async () => {
    const path = dirs.path();
    const server = echoName("one");
    const binding = await bindUnixSocket(server, path);
    expect(binding.address).toBe(path);
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(readdirSync(dirs.dir)).toEqual([path.slice(dirs.dir.length + 1)]);
    expect(await exchange(path, "")).toBe("one");
    await closeAndRelease(server, binding);
    expect(existsSync(path)).toBe(false);
    await binding.release(); // idempotent
    expect(existsSync(path)).toBe(false);
  });

  it("works for an http.Server too", async () => {
    const path = dirs.path();
    const server = createHttpServer((_req, res) => res.end("hello over http"));
    servers.push(server);
    const binding = await bindUnixSocket(server, path);
    const body = await new Promise<string>((done, fail) => {
      httpRequest({ socketPath: path, path: "/" }, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        res.on("end", () => done(text));
      })
        .on("error", fail)
        .end();
    });
    expect(body).toBe("hello over http");
    await closeAndRelease(server, binding);
    expect(existsSync(path)).toBe(false);
  });

  it("applies backlog and a relative path as given", async () => {
    const name = `tk-rel-${process.pid}-${Date.now() % 100000}.sock`;
    const cwd = process.cwd();
    process.chdir(dirs.dir);
    try {
      const server = echoName("rel");
      const binding = await bindUnixSocket(server, name, { backlog: 8 });
      expect(binding.address).toBe(name);
      expect(await exchange(join(dirs.dir, name), "")).toBe("rel");
      await closeAndRelease(server, binding);
      expect(existsSync(join(dirs.dir, name))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe("bindUnixSocket: something already at the path", () => {
  it("refuses a regular file, naming it, and leaves it intact", async () => {
    const path = dirs.path();
    writeFileSync(path, "precious");
    const error = await bindUnixSocket(echoName("x"), path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSocketPathError);
    expect((error as TakoError).code).toBe("ERR_TAKO_INVALID_SOCKET_PATH");
    expect((error as Error).message).toMatch(/a regular file/);
    expect(readFileSync(path, "utf8")).toBe("precious");
    expect(readdirSync(dirs.dir)).toHaveLength(1);
  });

  it("refuses a directory and leaves it intact", async () => {
    const path = dirs.path();
    mkdirSync(path);
    writeFileSync(join(path, "inside"), "x");
    const error = await bindUnixSocket(echoName("x"), path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSocketPathError);
    expect((error as Error).message).toMatch(/a directory/);
    expect(readdirSync(path)).toEqual(["inside"]);
  });

  it("refuses a FIFO and leaves it intact", async () => {
    const path = dirs.path();
    execFileSync("mkfifo", [path]);
    const error = await bindUnixSocket(echoName("x"), path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSocketPathError);
    expect((error as Error).message).toMatch(/FIFO/);
    expect(lstatSync(path).isFIFO()).toBe(true);
  });

  it("refuses a symlink to a live socket; both files survive and the live server keeps serving", async () => {
    const real = dirs.path("real.sock");
    const live = echoName("live");
    await bindUnixSocket(live, real);
    const link = dirs.path("link.sock");
    symlinkSync(real, link);
    const error = await bindUnixSocket(echoName("intruder"), link).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSocketPathError);
    expect((error as Error).message).toMatch(/a symbolic link to a socket/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(lstatSync(real).isSocket()).toBe(true);
    expect(await exchange(link, "")).toBe("live");
    expect(await exchange(real, "")).toBe("live");
  });

  it("refuses a dangling symlink and leaves it", async () => {
    const link = dirs.path();
    symlinkSync(dirs.path("nowhere"), link);
    const error = await bindUnixSocket(echoName("x"), link).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/dangling symbolic link/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it("replaces a stale socket left by a SIGKILLed process", async () => {
    const path = dirs.path();
    await staleSocket(path);
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(await connectOutcome(path)).toBe("ECONNREFUSED");
    const staleIno = ino(path);
    const server = echoName("fresh");
    const binding = await bindUnixSocket(server, path);
    expect(ino(path)).not.toBe(staleIno);
    expect(await exchange(path, "")).toBe("fresh");
    await closeAndRelease(server, binding);
    expect(existsSync(path)).toBe(false);
  });

  it("a second server on a live path gets EADDRINUSE; the first keeps its file and keeps serving", async () => {
    const path = dirs.path();
    await bindUnixSocket(echoName("first"), path);
    const before = ino(path);
    const second = echoName("second");
    const error = await bindUnixSocket(second, path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BindError);
    expect((error as BindError).code).toBe("EADDRINUSE");
    expect((error as Error).message).toContain(path);
    expect(second.listening).toBe(false);
    expect(ino(path)).toBe(before);
    expect(await exchange(path, "")).toBe("first");
    expect(readdirSync(dirs.dir)).toHaveLength(1);
  });

  it("refuses a socket whose probe fails with EAGAIN (full backlog) and keeps it", async () => {
    const path = dirs.path();
    // A live server whose event loop is blocked, so nothing is accepted and its backlog of 1 fills.
    const child = spawnNode(`import net from "node:net";
      net.createServer().listen({ path: ${JSON.stringify(path)}, backlog: 1 }, () => {
        console.log("ready");
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000);
      });`);
    try {
      await child.waitFor("ready");
      const held = [];
      let outcome = "";
      for (let i = 0; i < 50 && outcome !== "EAGAIN"; i++) {
        outcome = await connectOutcome(path);
        if (outcome === "connected") held.push(i);
      }
      expect(outcome).toBe("EAGAIN");
      const before = ino(path);
      const error = await bindUnixSocket(echoName("x"), path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BindError);
      expect((error as BindError).code).toBe("EAGAIN");
      expect((error as Error).message).toMatch(/probing the existing socket failed/);
      expect(ino(path)).toBe(before);
    } finally {
      child.child.kill("SIGKILL");
      await child.exit();
    }
  });

  it("refuses a socket whose probe fails with EACCES and keeps it", async () => {
    const path = dirs.path();
    const live = echoName("live");
    await bindUnixSocket(live, path, { mode: 0o600 });
    const before = ino(path);
    const isRoot = process.getuid?.() === 0;
    if (isRoot) {
      // Root bypasses file permissions (CAP_DAC_OVERRIDE), so the probe runs in a child without
      // that power: through setpriv with the capability dropped (still uid 0, so it can read the
      // sources wherever they are), or else as "nobody".
      chmodSync(path, 0o000);
      const viaSetpriv = hasCommand("setpriv");
      const how = viaSetpriv ? { wrap: ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] } : { uid: 65534, gid: 65534 };
      if (!viaSetpriv) chmodSync(dirs.dir, 0o755);
      const child = spawnNode(
        `import net from "node:net";
         import { bindUnixSocket } from "@tako/unix";
         try {
           await bindUnixSocket(net.createServer(), ${JSON.stringify(path)});
           console.log("result bound");
         } catch (error) {
           console.log("result " + JSON.stringify({ code: error.code, name: error.name, message: error.message }));
         }`,
        how,
      );
      await child.waitFor("result ");
      const result = JSON.parse(child.out.slice(child.out.indexOf("result ") + 7).trim()) as { code: string; name: string; message: string };
      expect(result.name).toBe("BindError");
      expect(result.code).toBe("EACCES");
      expect(result.message).toMatch(/probing the existing socket failed/);
      await child.exit();
    } else {
      chmodSync(path, 0o000);
      const error = await bindUnixSocket(echoName("x"), path).catch((e: unknown) => e);
      expect((error as BindError).code).toBe("EACCES");
      expect((error as Error).message).toMatch(/probing the existing socket failed/);
    }
    chmodSync(path, 0o600);
    expect(ino(path)).toBe(before);
    expect(await exchange(path, "")).toBe("live");
  });
});

describe("bindUnixSocket: shutdown never removes a successor's file", () => {
  it("a successor bound after the predecessor's file was removed survives the predecessor's close and release", async () => {
    const path = dirs.path();
    const first = echoName("first");
    const firstBinding = await bindUnixSocket(first, path);
    unlinkSync(path); // an operator (or a careless deploy script) removes the file
    const second = echoName("second");
    const secondBinding = await bindUnixSocket(second, path);
    const successor = ino(path);
    await closeAndRelease(first, firstBinding);
    expect(ino(path)).toBe(successor);
    expect(await exchange(path, "")).toBe("second");
    await closeAndRelease(second, secondBinding);
    expect(existsSync(path)).toBe(false);
  });

  it("a file moved into place by someone else survives release()", async () => {
    const path = dirs.path();
    const server = echoName("x");
    const binding = await bindUnixSocket(server, path);
    renameSync(path, dirs.path("moved.sock"));
    writeFileSync(path, "someone else's");
    await closeAndRelease(server, binding);
    expect(readFileSync(path, "utf8")).toBe("someone else's");
    expect(lstatSync(dirs.path("moved.sock")).isSocket()).toBe(true);
  });
});

describe("bindUnixSocket: mode", () => {
  it("applies mode and the socket is never seen at the public path with looser permissions", async () => {
    const path = dirs.path();
    // A separate process polls lstat as fast as it can and reports the first mode it sees.
    const watcher = spawnNode(`import { lstatSync } from "node:fs";
      console.log("ready");
      const deadline = Date.now() + 20000;
      for (;;) {
        let st;
        try { st = lstatSync(${JSON.stringify(path)}); } catch {}
        if (st) { console.log("first " + (st.mode & 0o777).toString(8)); break; }
        if (Date.now() > deadline) { console.log("first none"); break; }
      }`);
    await watcher.waitFor("ready");
    const server = echoName("x");
    await bindUnixSocket(server, path, { mode: 0o600 });
    await watcher.waitFor("first ");
    await watcher.exit();
    expect(watcher.out).toContain("first 600");
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
  });

  it.each([0o660, 0o666, 0o777, 0o600])("sets mode %s exactly, whatever the umask", async (mode) => {
    const path = dirs.path();
    await bindUnixSocket(echoName("x"), path, { mode });
    expect(lstatSync(path).mode & 0o777).toBe(mode);
  });

  it("refuses, as an UnsupportedError naming the runtime, a socket file whose mode did not take (a runtime whose chmod does not apply)", async () => {
    const path = dirs.path();
    await bindUnixSocket(echoName("x"), path, { mode: 0o600 });
    const found = lstatSync(path, { bigint: true }).mode; // the real file, 0o600
    expect(() => checkModeApplied(parseSocketPath(path), found, 0o600)).not.toThrow();
    const error = (() => {
      try {
        checkModeApplied(parseSocketPath(path), found, 0o660);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UnsupportedError);
    expect(error).toMatchObject({ feature: "socket file modes", runtime: `Node ${process.versions.node}` });
    expect((error as Error).message).toContain("has mode 0o600 after chmod to 0o660");
  });
});

describe("bindUnixSocket: long directories and fallbacks", () => {
  /** A directory whose path is `length` bytes long. */
  function dirOfLength(length: number): string {
    let dir = dirs.dir;
    while (dir.length < length) {
      const part = "d".repeat(Math.min(40, length - dir.length - 1));
      dir = join(dir, part);
      mkdirSync(dir);
    }
    expect(Buffer.byteLength(dir)).toBe(length);
    return dir;
  }

  it("binds a 107-byte path whose temporary name would be too long (via /proc/self/fd on Linux)", async () => {
    const dir = dirOfLength(100);
    const path = join(dir, "s.sock");
    expect(Buffer.byteLength(path)).toBe(107);
    const server = echoName("long");
    const binding = await bindUnixSocket(server, path, { mode: 0o600 });
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    expect(await exchange(path, "")).toBe("long");
    expect(readdirSync(dir)).toEqual(["s.sock"]);
    // The successor rule holds on this path too.
    unlinkSync(path);
    const next = echoName("next");
    const nextBinding = await bindUnixSocket(next, path);
    await closeAndRelease(server, binding);
    expect(await exchange(path, "")).toBe("next");
    await closeAndRelease(next, nextBinding);
    expect(existsSync(path)).toBe(false);
  });

  it.each(["proc-fd", "direct"] as const)("the %s strategy binds, applies mode, replaces stale sockets and releases", async (strategy) => {
    const path = dirs.path();
    await staleSocket(path);
    const server = echoName(strategy);
    const binding = await bindUnixSocketWith(server, path, { mode: 0o640 }, strategy);
    expect(lstatSync(path).mode & 0o777).toBe(0o640);
    expect(await exchange(path, "")).toBe(strategy);
    expect(readdirSync(dirs.dir)).toHaveLength(1);
    await closeAndRelease(server, binding);
    expect(existsSync(path)).toBe(false);
  });
});

describe("bindUnixSocket: abstract sockets", () => {
  const name = () => `tako-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

  it("binds @name with no file, reports @name, and is reachable at \\0name", async () => {
    const n = name();
    const server = echoName("abstract");
    const binding = await bindUnixSocket(server, `@${n}`);
    expect(binding.address).toBe(`@${n}`);
    expect(await exchange(`\0${n}`, "")).toBe("abstract");
    await closeAndRelease(server, binding);
    expect(await connectOutcome(`\0${n}`)).toBe("ECONNREFUSED");
  });

  it("accepts the \\0name form and reports it as @name; a second bind gets EADDRINUSE", async () => {
    const n = name();
    const binding = await bindUnixSocket(echoName("a"), `\0${n}`);
    expect(binding.address).toBe(`@${n}`);
    const error = await bindUnixSocket(echoName("b"), `@${n}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BindError);
    expect((error as BindError).code).toBe("EADDRINUSE");
    expect(await exchange(`\0${n}`, "")).toBe("a");
  });

  it("refuses mode for an abstract socket", async () => {
    const error = await bindUnixSocket(echoName("x"), `@${name()}`, { mode: 0o600 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).field).toBe("mode");
  });
});

describe("bindUnixSocket: bad input, refused before anything exists", () => {
  it.each([
    ["a bare @", "@"],
    ["a bare NUL", "\0"],
    ["an empty path", ""],
  ])("refuses %s", async (_what, path) => {
    const server = echoName("x");
    const error = await bindUnixSocket(server, path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSocketPathError);
    expect(server.listening).toBe(false);
  });

  it("refuses a 108-byte path made of multi-byte characters (fewer than 108 characters) and creates nothing", async () => {
    const prefix = `${dirs.dir}/`;
    const room = 108 - Buffer.byteLength(prefix);
    const name = "é".repeat(Math.floor(room / 2)) + (room % 2 ? "x" : "");
    const path = prefix + name;
    expect(Buffer.byteLength(path)).toBe(108);
    expect(path.length).toBeLessThan(108);
    const server = echoName("x");
    const error = await bindUnixSocket(server, path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSocketPathError);
    expect((error as Error).message).toMatch(/108 bytes/);
    expect(readdirSync(dirs.dir)).toEqual([]);
    expect(server.listening).toBe(false);
  });

  it("refuses unknown option keys and bad modes", async () => {
    const path = dirs.path();
    await expect(bindUnixSocket(echoName("x"), path, { mood: 1 } as never)).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(bindUnixSocket(echoName("x"), path, { mode: 0o1777 })).rejects.toThrow(/mode/);
    await expect(bindUnixSocket(echoName("x"), path, { mode: -1 })).rejects.toThrow(/mode/);
    await expect(bindUnixSocket(echoName("x"), path, { backlog: -1 })).rejects.toThrow(/backlog/);
    expect(readdirSync(dirs.dir)).toEqual([]);
  });

  it("a missing directory is a BindError with the OS code", async () => {
    const error = await bindUnixSocket(echoName("x"), dirs.path("missing/s.sock")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BindError);
    expect((error as BindError).code).toBe("ENOENT");
  });

  it("refuses a server that is already listening", async () => {
    const server = echoName("x");
    await bindUnixSocket(server, dirs.path());
    await expect(bindUnixSocket(server, dirs.path())).rejects.toBeInstanceOf(InvalidConfigError);
  });

  it("a client can still connect after a failed bind attempt on the same server object is retried elsewhere", async () => {
    const server = echoName("retry");
    writeFileSync(dirs.path("taken"), "");
    await expect(bindUnixSocket(server, dirs.path("taken"))).rejects.toBeInstanceOf(InvalidSocketPathError);
    const binding = await bindUnixSocket(server, dirs.path("free.sock"));
    const socket = await connectUnix(dirs.path("free.sock"));
    const [data] = (await once(socket, "data")) as [Buffer];
    expect(String(data)).toBe("retry");
    socket.destroy();
    await closeAndRelease(server, binding);
  });
});
