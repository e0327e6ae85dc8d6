import { execFile } from "node:child_process";
import { chmodSync, existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { InvalidConfigError, requirePeer, Router, serveUnixHttp, UnsupportedError, type Server } from "@tako/unix-http";
import { request } from "./test-support.ts";
import { abstractName, hasCommand, socketDir } from "@tako/test-kit";

const run = promisify(execFile);
const dir = socketDir();
chmodSync(dir.dir, 0o755); // nobody must reach the socket files
const running: Server[] = [];
const logger = { error() {}, warn() {}, info() {}, debug() {} };

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.shutdown({ drainTimeout: 0 })));
  delete process.env.TAKO_PEERCRED_BACKEND;
});
afterAll(() => dir.remove());

const me = { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };
const isRoot = me.uid === 0;
const haveTools = hasCommand("curl") && hasCommand("setpriv");
const NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];

/** The README's admin router: /admin only for root and group `adminGid`; /whoami for everyone. */
function adminRouter(adminGid: number): Router {
  const router = new Router();
  router.get("/whoami", (_req, ctx) => ctx.peer);
  router.get("/admin/stats", () => ({ ok: true })).use(requirePeer({ uid: 0, gid: adminGid }));
  router.get("/nobody-only", () => "hi nobody").use(requirePeer({ uid: [65534] }));
  return router;
}

async function serve(path: string, router: Router, options: Parameters<typeof serveUnixHttp>[2] = {}): Promise<Server> {
  const server = await serveUnixHttp(path, router, { logger, ...options });
  running.push(server);
  return server;
}

/** `curl` (as nobody when asked, through setpriv): the status and body. */
async function curl(target: string[], url: string, asNobody: boolean): Promise<{ status: string; body: string }> {
  const args = ["-sS", "-w", "\n%{http_code}", ...target, `http://localhost${url}`];
  const { stdout } = asNobody ? await run("setpriv", [...NOBODY, "curl", ...args]) : await run("curl", args);
  const cut = stdout.lastIndexOf("\n");
  return { body: stdout.slice(0, cut), status: stdout.slice(cut + 1) };
}

describe("requirePeer: construction", () => {
  it("needs uid and/or gid, each an id or a non-empty list of ids; anything else is an InvalidConfigError at once", () => {
    expect(() => requirePeer({})).toThrow(/requirePeer needs uid, gid or both/);
    expect(() => requirePeer(null as never)).toThrow(InvalidConfigError);
    expect(() => requirePeer({ uid: [] })).toThrow(/uid must be an id or a non-empty list of ids; got \[\]/);
    expect(() => requirePeer({ uid: -1 })).toThrow(/uid ids must be integers from 0 to 4294967294; got -1/);
    expect(() => requirePeer({ gid: [1.5] })).toThrow(/gid ids must be integers/);
    expect(() => requirePeer({ gid: "wheel" as never })).toThrow(InvalidConfigError);
    expect(() => requirePeer({ uid: 0, user: "root" } as never)).toThrow(/unknown requirePeer options key "user"/);
    expect(typeof requirePeer({ uid: 0 })).toBe("function");
    expect(typeof requirePeer({ gid: [0, 27] })).toBe("function");
  });
});

describe("requirePeer: this process as the client (Node's http client)", () => {
  it('lets this process\'s uid or gid through and answers 403 to others; unknown credentials ("off") are refused', async () => {
    const router = new Router();
    router.get("/mine", () => "yes").use(requirePeer({ uid: me.uid }));
    router.get("/my-group", () => "yes").use(requirePeer({ uid: me.uid === 4242 ? 4343 : 4242, gid: me.gid }));
    router.get("/theirs", () => "no").use(requirePeer({ uid: me.uid + 1, gid: me.gid + 1 }));
    const on = await serve(dir.path(), router, { peerCredentials: "required" });
    expect(await request(on.address, "/mine")).toMatchObject({ status: 200, body: "yes" });
    expect(await request(on.address, "/my-group")).toMatchObject({ status: 200, body: "yes" });
    expect(await request(on.address, "/theirs")).toMatchObject({ status: 403, body: "this endpoint is not open to the connecting user" });
    const off = await serve(dir.path(), router, { peerCredentials: "off" });
    expect((await request(off.address, "/mine")).status).toBe(403);
  });

  it('"required" without a backend: serveUnixHttp fails with UnsupportedError before binding; "auto" serves with null credentials', async () => {
    process.env.TAKO_PEERCRED_BACKEND = "none";
    const path = dir.path();
    await expect(serveUnixHttp(path, new Router(), { peerCredentials: "required" })).rejects.toThrow(UnsupportedError);
    await expect(serveUnixHttp(path, new Router(), { peerCredentials: "required" })).rejects.toThrow(
      /serveUnixHttp options.peerCredentials is "required".*TAKO_PEERCRED_BACKEND=none/,
    );
    expect(existsSync(path)).toBe(false);
    const router = new Router();
    router.get("/whoami", (_req, ctx) => ctx.peer);
    const server = await serve(path, router);
    expect(JSON.parse((await request(server.address, "/whoami")).body)).toEqual({ path: null, pid: null, uid: null, gid: null });
    await expect(serveUnixHttp(dir.path(), new Router(), { peerCredentials: 1 as never })).rejects.toThrow(InvalidConfigError);
  });
});

describe.skipIf(!haveTools || !isRoot)("requirePeer: curl as root and as nobody (skipped unless root with curl and setpriv)", () => {
  it("a socket file open to everyone (0o666): root and the admin group get 200, nobody 403; ctx.peer is curl's pid/uid/gid", async () => {
    const server = await serve(dir.path("admin.sock"), adminRouter(4242), { mode: 0o666, peerCredentials: "required" });
    const target = ["--unix-socket", server.address];
    expect(await curl(target, "/admin/stats", false)).toEqual({ status: "200", body: '{"ok":true}' });
    expect(await curl(target, "/admin/stats", true)).toEqual({ status: "403", body: "this endpoint is not open to the connecting user" });
    expect(await curl(target, "/nobody-only", true)).toEqual({ status: "200", body: "hi nobody" });
    expect((await curl(target, "/nobody-only", false)).status).toBe("403");
    const who = JSON.parse((await curl(target, "/whoami", true)).body) as Record<string, unknown>;
    expect(who).toEqual({ path: null, pid: expect.any(Number), uid: 65534, gid: 65534 });
    expect(Object.keys(who)).toEqual(["path", "pid", "uid", "gid"]);
    // A group admits its members: nobody's group as the admin group lets nobody in.
    const group = await serve(dir.path("group.sock"), adminRouter(65534), { mode: 0o666 });
    expect((await curl(["--unix-socket", group.address], "/admin/stats", true)).status).toBe("200");
  });

  it.skipIf(process.platform !== "linux")("an abstract socket has no file permissions: anyone can connect, the credentials decide", async () => {
    const name = abstractName();
    await serve(name, adminRouter(4242), { peerCredentials: "required" });
    const target = ["--abstract-unix-socket", name.slice(1)];
    expect((await curl(target, "/admin/stats", true)).status).toBe("403");
    expect((await curl(target, "/whoami", true)).status).toBe("200");
    expect((await curl(target, "/admin/stats", false)).status).toBe("200");
  });
});
