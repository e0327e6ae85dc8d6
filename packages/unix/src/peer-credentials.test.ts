import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, existsSync } from "node:fs";
import * as net from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidConfigError, PeerCredentialsError, resolvePeerCredentials, serveUnix, UnixPeerAddr, unixPeerOf, UnsupportedError, type Server } from "@tako/unix";
import { connectUnix, exchange } from "./test-support.ts";
import { hasCommand, socketDir } from "@tako/test-kit";

let dirs: ReturnType<typeof socketDir>;
const running: Server<string>[] = [];

beforeEach(() => {
  dirs = socketDir();
  // Other users (nobody) must be able to reach the socket files in it.
  chmodSync(dirs.dir, 0o755);
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.shutdown({ drainTimeout: 0 })));
  dirs.remove();
  delete process.env.TAKO_PEERCRED_BACKEND;
});

/** A server that answers every connection with the JSON of its peer, and keeps the peers it saw. */
async function peerServer(path: string, options: Parameters<typeof serveUnix>[2] = {}): Promise<{ server: Server<string>; peers: UnixPeerAddr[] }> {
  const peers: UnixPeerAddr[] = [];
  const server = await serveUnix(
    path,
    async (socket, peer) => {
      peers.push(peer);
      socket.write(JSON.stringify(peer));
    },
    { mode: 0o666, ...options },
  );
  running.push(server);
  return { server, peers };
}

/** Runs a client program to its exit; resolves with its pid, exit code and what it printed. */
async function runClient(command: string[]): Promise<{ pid: number; code: number | null; out: string; err: string }> {
  const child = spawn(command[0] as string, command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  const [code] = (await once(child, "exit")) as [number | null];
  return { pid: child.pid as number, code, out, err };
}

/** `socat` reading from /dev/null (so it half-closes at once) and printing what the server sends; `-t 10` waits for it. */
function socat(address: string): string[] {
  return ["socat", "-t", "10", "-", address];
}

const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
const isRoot = process.getuid?.() === 0;
const haveTools = hasCommand("socat") && hasCommand("setpriv");

describe("peer credentials: this process as the client", () => {
  it("a Node client of this process is seen with its pid, uid and gid, and unnamed", async () => {
    const path = dirs.path();
    const { peers } = await peerServer(path);
    const answer = JSON.parse(await exchange(path, "")) as Record<string, unknown>;
    expect(answer).toStrictEqual({ path: null, pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
    expect(Object.keys(answer)).toEqual(["path", "pid", "uid", "gid"]);
    expect(peers[0]).toBeInstanceOf(UnixPeerAddr);
    expect(Object.isFrozen(peers[0])).toBe(true);
  });

  it("the peer is read once and cached on the socket: unixPeerOf returns the same object whatever mode it is asked with", async () => {
    const path = dirs.path();
    const seen: Array<[UnixPeerAddr, UnixPeerAddr, UnixPeerAddr]> = [];
    running.push(await serveUnix(path, async (socket, peer) => void seen.push([peer, unixPeerOf(socket, "auto"), unixPeerOf(socket, "off")])));
    await exchange(path, "");
    const [[peer, again, off]] = seen as [[UnixPeerAddr, UnixPeerAddr, UnixPeerAddr]];
    expect(again).toBe(peer);
    expect(off).toBe(peer);
    expect(peer.uid).toBe(process.getuid?.());
  });

  it('"off" gives all nulls, and one shared peer object for every connection (nothing allocated)', async () => {
    const path = dirs.path();
    const { peers } = await peerServer(path, { peerCredentials: "off" });
    expect(await exchange(path, "")).toBe('{"path":null,"pid":null,"uid":null,"gid":null}');
    await exchange(path, "");
    expect(peers).toHaveLength(2);
    expect(peers[0]).toBe(peers[1]);
  });
});

describe.skipIf(!haveTools)("peer credentials: clients run by socat (skipped: socat or setpriv is not installed)", () => {
  it.skipIf(!isRoot)("a client run as nobody (setpriv) is seen as uid/gid 65534 with its real pid (skipped unless root: setpriv must change user)", async () => {
    const path = dirs.path();
    const { server } = await peerServer(path);
    const client = await runClient([...NOBODY, ...socat(`UNIX-CONNECT:${path}`)]);
    expect(client.code, client.err).toBe(0);
    // setpriv execs socat: the spawned child's pid is the connecting process's.
    expect(JSON.parse(client.out)).toStrictEqual({ path: null, pid: client.pid, uid: 65534, gid: 65534 });
    expect(server.stats().rejected).toBe(0);
  });

  it("a client that binds its own socket path is seen with that path", async () => {
    const path = dirs.path();
    await peerServer(path);
    const clientPath = dirs.path("c.sock");
    const client = await runClient(socat(`UNIX-CONNECT:${path},bind=${clientPath}`));
    expect(client.code, client.err).toBe(0);
    expect(JSON.parse(client.out)).toStrictEqual({ path: clientPath, pid: client.pid, uid: process.getuid?.(), gid: process.getgid?.() });
  });

  it.skipIf(process.platform !== "linux")("a client bound to an abstract name is seen as @name (exactly its bytes, not NUL-terminated) (Linux only)", async () => {
    const name = `tk-srv-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const clientName = `tk-cli-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    await peerServer(`@${name}`, { mode: undefined });
    const client = await runClient(socat(`ABSTRACT-CONNECT:${name},bind=${clientName}`));
    expect(client.code, client.err).toBe(0);
    expect(JSON.parse(client.out)).toStrictEqual({ path: `@${clientName}`, pid: client.pid, uid: process.getuid?.(), gid: process.getgid?.() });
  });

  it.skipIf(!isRoot)('"required" serves nobody too; "off" reports nothing for the same client (skipped unless root)', async () => {
    const required = dirs.path();
    await peerServer(required, { peerCredentials: "required" });
    const seen = await runClient([...NOBODY, ...socat(`UNIX-CONNECT:${required}`)]);
    expect(JSON.parse(seen.out)).toMatchObject({ uid: 65534, gid: 65534, pid: seen.pid });
    const off = dirs.path();
    await peerServer(off, { peerCredentials: "off" });
    const unseen = await runClient([...NOBODY, ...socat(`UNIX-CONNECT:${off}`)]);
    expect(JSON.parse(unseen.out)).toStrictEqual({ path: null, pid: null, uid: null, gid: null });
  });
});

describe("peer credentials: when they cannot be read", () => {
  it('"required" without a backend fails at startup with UnsupportedError naming why, before anything is bound', async () => {
    process.env.TAKO_PEERCRED_BACKEND = "none";
    const path = dirs.path();
    const failure = serveUnix(path, () => {}, { peerCredentials: "required" });
    await expect(failure).rejects.toBeInstanceOf(UnsupportedError);
    await expect(failure).rejects.toMatchObject({ feature: "peer credentials", runtime: `Node ${process.versions.node}` });
    await expect(failure).rejects.toThrow(
      /^peer credentials is not supported on Node [\d.]+ \(linux\): serveUnix options.peerCredentials is "required" but no peer-credentials backend is available: peer credentials are turned off by TAKO_PEERCRED_BACKEND=none/,
    );
    expect(existsSync(path)).toBe(false);
  });

  it('"auto" without a backend serves with all-null peers', async () => {
    process.env.TAKO_PEERCRED_BACKEND = "none";
    const path = dirs.path();
    await peerServer(path);
    expect(await exchange(path, "")).toBe('{"path":null,"pid":null,"uid":null,"gid":null}');
  });

  it("a bad peerCredentials value (or backend name) is an InvalidConfigError / UnsupportedError before binding", async () => {
    const path = dirs.path();
    await expect(serveUnix(path, () => {}, { peerCredentials: "yes" as never })).rejects.toThrow(InvalidConfigError);
    await expect(serveUnix(path, () => {}, { peerCredentials: "yes" as never })).rejects.toThrow(
      /serveUnix options.peerCredentials must be "auto", "required" or "off"; got "yes"/,
    );
    process.env.TAKO_PEERCRED_BACKEND = "ffi";
    expect(() => resolvePeerCredentials("required")).toThrow(/TAKO_PEERCRED_BACKEND must be "koffi" or "none"; got "ffi"/);
    expect(resolvePeerCredentials("off")).toBe("off");
    expect(existsSync(path)).toBe(false);
  });

  it('a socket the kernel holds no Unix credentials for (TCP) is never given wrong ones: "auto" nulls, "required" PeerCredentialsError', async () => {
    const accepted: net.Socket[] = [];
    const tcp = net.createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    const client = net.connect((tcp.address() as net.AddressInfo).port, "127.0.0.1");
    try {
      await expect.poll(() => accepted.length).toBe(1);
      const socket = accepted[0] as net.Socket;
      expect(() => unixPeerOf(socket, "required")).toThrow(PeerCredentialsError);
      expect(() => unixPeerOf(socket, "required")).toThrow(/the kernel gave no credentials/);
      expect(unixPeerOf(socket, "auto").toJSON()).toStrictEqual({ path: null, pid: null, uid: null, gid: null });
    } finally {
      client.destroy();
      for (const s of accepted) s.destroy();
      tcp.close();
    }
  });

  it('a socket with no fd left (destroyed) gives PeerCredentialsError under "required", nulls under "auto"', async () => {
    const path = dirs.path();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const accepted = once(server, "connection") as Promise<[net.Socket]>;
    const client = await connectUnix(path);
    const [socket] = await accepted;
    socket.destroy();
    try {
      expect(() => unixPeerOf(socket, "required")).toThrow(/the socket has no file descriptor/);
      expect(unixPeerOf(socket, "auto").uid).toBeNull();
    } finally {
      client.destroy();
      server.close();
    }
  });
});
