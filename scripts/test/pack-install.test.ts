// Packages that install alone: `pnpm pack` every publishable package, then for each listener a
// fresh npm project outside the workspace installs that package's tarball plus its internal
// dependencies' tarballs (third-party dependencies come from the npm registry). The installed tree
// must hold exactly what the package declares, a TypeScript consumer must typecheck under
// `moduleResolution` node16 and bundler, and a small script run there with this Node must start
// the listener, exchange data and shut down.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRun, type Manifest, publishablePackages, readJson, ROOT, run, type RunResult, which, type WorkspacePackage } from "./support.ts";

const packages = publishablePackages();
const byName = new Map(packages.map((pkg) => [pkg.name, pkg]));
const pnpm = which("pnpm");
const npm = which("npm");

/** The packages a user installs on their own (the listeners, framing and systemd), with the script each fresh project runs. */
const LISTENERS = ["@tako/tcp", "@tako/udp", "@tako/unix", "@tako/unix-http", "@tako/framing", "@tako/systemd"] as const;
type Listener = (typeof LISTENERS)[number];

/** Kills a smoke script that hangs, so a broken shutdown fails the test instead of stalling it. */
const GUARD = `setTimeout(() => { console.error("smoke script timed out"); process.exit(2); }, 20_000).unref();\n`;

const SMOKE: Record<Listener, string> = {
  "@tako/tcp": `import { connect } from "node:net";
import { checkDuration, serveStream, type StreamHandler } from "@tako/core/listener";
import { serveTcp, type TcpHandler } from "@tako/tcp";
${GUARD}
// The package authors' subpath resolves, from the tarball, with its types.
const machine: StreamHandler<unknown> = () => {};
const listener = { serveStream: typeof serveStream, machine: typeof machine, drainTimeout: checkDuration("drainTimeout", 5) };
const echo: TcpHandler = async (socket) => {
  for await (const chunk of socket) socket.write(chunk as Buffer);
};
const server = await serveTcp("127.0.0.1:0", echo);
const reply = await new Promise<string>((resolve, reject) => {
  let data = "";
  const client = connect(server.address.port, "127.0.0.1", () => client.end("hello over tcp\\n"));
  client.setEncoding("utf8");
  client.on("data", (chunk: string) => (data += chunk));
  client.on("end", () => resolve(data));
  client.on("error", reject);
});
const report = await server.shutdown();
console.log(JSON.stringify({ reply, report, stats: server.stats(), listener }));
`,
  "@tako/udp": `import { createSocket } from "node:dgram";
import { serveUdp } from "@tako/udp";
${GUARD}
const server = await serveUdp("127.0.0.1:0", async (data, peer, socket) => {
  await socket.sendTo(data, peer);
});
const client = createSocket("udp4");
const reply = await new Promise<string>((resolve) => {
  client.once("message", (message) => resolve(message.toString("utf8")));
  const send = () => client.send("hello over udp", server.address.port, "127.0.0.1");
  send();
  setTimeout(send, 2_000).unref(); // one resend, should the first datagram be lost
});
client.close();
const report = await server.shutdown();
console.log(JSON.stringify({ reply, report, stats: server.stats() }));
`,
  "@tako/unix": `import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { serveUnix, UnixPeerAddr } from "@tako/unix";
${GUARD}
const dir = mkdtempSync(join(tmpdir(), "tk-"));
const path = join(dir, "s.sock");
const server = await serveUnix(path, async (socket, peer) => {
  socket.write(JSON.stringify({ peer, isUnixPeerAddr: peer instanceof UnixPeerAddr }) + "\\n");
  for await (const chunk of socket) socket.write(chunk as Buffer);
});
const reply = await new Promise<string>((resolve, reject) => {
  let data = "";
  const client = connect(path, () => client.end("hello over unix\\n"));
  client.setEncoding("utf8");
  client.on("data", (chunk: string) => (data += chunk));
  client.on("end", () => resolve(data));
  client.on("error", reject);
});
const report = await server.shutdown();
const socketFileLeft = existsSync(path);
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ address: server.address === path, reply, report, socketFileLeft, me: { path: null, pid: process.pid, uid: process.getuid?.() ?? null, gid: process.getgid?.() ?? null } }));
`,
  "@tako/unix-http": `import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Router, serveUnixHttp, UnixPeerAddr } from "@tako/unix-http";
${GUARD}
const dir = mkdtempSync(join(tmpdir(), "tk-"));
const path = join(dir, "h.sock");
const router = new Router();
router.get("/", () => "hello from unix");
router.get("/peer", (_req, ctx) => ctx.extensions.get(UnixPeerAddr));
router.ws("/ws", (ws) => ws.send("hello over ws"));
const server = await serveUnixHttp(path, router);
const fetchPath = (url: string) =>
  new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
    get({ socketPath: path, path: url, headers: { connection: "close" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
    }).on("error", reject);
  });
const root = await fetchPath("/");
const peer = await fetchPath("/peer");
// The ws package comes along as a dependency and is loaded on the first upgrade.
const { default: WebSocket } = await import("ws");
const ws = await new Promise<string>((resolve, reject) => {
  const client = new WebSocket(\`ws+unix:\${path}:/ws\`);
  client.once("message", (data) => {
    resolve(String(data));
    client.close();
  });
  client.once("error", reject);
});
const report = await server.shutdown();
const socketFileLeft = existsSync(path);
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ root, peer, ws, report, socketFileLeft, me: { path: null, pid: process.pid, uid: process.getuid?.() ?? null, gid: process.getgid?.() ?? null } }));
`,
  "@tako/framing": `import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { encodeFrame, encodeNetstring, FrameTooLargeError, lengthPrefixed, lines, netstrings, ProtocolError } from "@tako/framing";
import { TakoError } from "@tako/core";
${GUARD}
// A plain node:net server (framing needs no listener): a line header, then frames, on one socket.
const server = createServer(async (socket: Socket) => {
  let header = "";
  for await (const line of lines(socket, { maxLineLength: 64 })) {
    header = line;
    break;
  }
  const frames: string[] = [];
  for await (const frame of lengthPrefixed(socket, { prefix: "varint", maxFrameSize: 1024 })) {
    frames.push(frame.toString());
    if (frames.length === 2) break;
  }
  const strings: string[] = [];
  try {
    for await (const payload of netstrings(socket, { maxFrameSize: 8 })) strings.push(payload.toString());
  } catch (err) {
    socket.end(JSON.stringify({ header, frames, strings, error: (err as TakoError).code, tooLarge: err instanceof FrameTooLargeError, protocol: err instanceof ProtocolError }));
  }
});
server.listen(0, "127.0.0.1");
await once(server, "listening");
const client = connect((server.address() as { port: number }).port, "127.0.0.1");
client.write(Buffer.concat([Buffer.from("HELLO framing\\n"), encodeFrame("one", { prefix: "varint" }), encodeFrame("two", { prefix: "varint" }), encodeNetstring("ok"), Buffer.from("999:")]));
let reply = "";
client.setEncoding("utf8");
client.on("data", (chunk: string) => (reply += chunk));
await once(client, "end");
client.destroy();
server.close();
console.log(reply);
`,
  // A real receiver (socat as the service manager) gets the datagrams sent through koffi.
  "@tako/systemd": `import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listenFds, notify, ready, status } from "@tako/systemd";
${GUARD}
const dir = mkdtempSync(join(tmpdir(), "tk-"));
const path = join(dir, "notify.sock");
const unset = { notify: notify({ READY: 1 }), fds: listenFds() };
const manager = spawn("socat", ["-u", \`UNIX-RECV:\${path}\`, "STDOUT"], { stdio: ["ignore", "pipe", "inherit"] });
let received = "";
manager.stdout.setEncoding("utf8").on("data", (chunk: string) => (received += chunk));
while (!existsSync(path)) await new Promise((resolve) => setTimeout(resolve, 10));
process.env.NOTIFY_SOCKET = path;
const sent = [ready("smoke"), status("still here")];
while (!received.includes("still here")) await new Promise((resolve) => setTimeout(resolve, 10));
manager.kill();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ unset, sent, received }));
`,
};

/** npm must not inherit pnpm's `npm_config_*` settings from the test run's environment. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm|pnpm)_/i.test(key)) env[key] = value;
  }
  return { ...env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };
}

/** `@tako/*` dependencies of a package, transitively (itself included). */
function internalClosure(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const dep of Object.keys(byName.get(name)?.manifest.dependencies ?? {})) {
    if (byName.has(dep)) internalClosure(dep, seen);
  }
  return seen;
}

/** Every package directory under a node_modules tree (scoped and nested included). */
function installedPackages(nodeModules: string, found = new Map<string, string>()): Map<string, string> {
  if (!existsSync(nodeModules)) return found;
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith(".")) continue;
    const names = entry.startsWith("@") ? readdirSync(join(nodeModules, entry)).map((n) => `${entry}/${n}`) : [entry];
    for (const name of names) {
      const dir = join(nodeModules, name);
      if (!existsSync(join(dir, "package.json"))) continue;
      found.set(`${name}@${readJson(join(dir, "package.json")).version}`, dir);
      installedPackages(join(dir, "node_modules"), found);
    }
  }
  return found;
}

/**
 * What a package's declared dependencies add up to, following the installed manifests: every
 * dependency (and installed optional or peer dependency) resolved the way Node does, from the
 * nearest node_modules upwards.
 */
function declaredClosure(project: string, roots: readonly string[]): Set<string> {
  const names = new Set<string>();
  const resolveFrom = (name: string, from: string): string | undefined => {
    for (let dir = from; dir.startsWith(project); dir = dirname(dir)) {
      const candidate = join(dir, "node_modules", name);
      if (existsSync(join(candidate, "package.json"))) return candidate;
      if (dir === project) break;
    }
    return undefined;
  };
  const visit = (name: string, from: string, required: boolean) => {
    const location = resolveFrom(name, from);
    if (location === undefined) {
      if (required) throw new Error(`${name} (a dependency of ${from}) is not installed`);
      return;
    }
    const manifest = readJson(join(location, "package.json"));
    const key = `${manifest.name}@${manifest.version}`;
    if (names.has(key)) return;
    names.add(key);
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, location, true);
    const optional = { ...(manifest.optionalDependencies as object | undefined), ...manifest.peerDependencies };
    for (const dep of Object.keys(optional)) visit(dep, location, false);
  };
  for (const root of roots) visit(root, project, true);
  return names;
}

/** Every file under `dir`, as paths relative to it. */
function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    return entry.isDirectory() ? listFiles(dir, path) : [path];
  });
}

function tarballName(pkg: WorkspacePackage): string {
  return `${pkg.name.replace("@", "").replace("/", "-")}-${pkg.version}.tgz`;
}

let work: string;
const tarballs = new Map<string, string>();
const packed = new Map<string, Manifest>();
const projects = new Map<Listener, string>();
const installs = new Map<Listener, Promise<void>>();
const smokes = new Map<Listener, Promise<RunResult>>();

beforeAll(async () => {
  expect(pnpm, "pnpm is not on PATH: run the suite through ./scripts/dev (or pnpm test)").toBeDefined();
  expect(npm, "npm is not on PATH").toBeDefined();
  work = mkdtempSync(join(tmpdir(), "tako-pack-"));
  const out = join(work, "tarballs");
  mkdirSync(out);
  // The tarballs ship dist/, so build first (a turbo cache hit when `pnpm test` already built).
  const built = await run(pnpm!, ["exec", "turbo", "run", "build", "--filter=./packages/*", "--output-logs=errors-only"], { cwd: ROOT, timeout: 240_000 });
  expect(built.code, describeRun("turbo run build", built)).toBe(0);
  await Promise.all(
    packages.map(async (pkg) => {
      const result = await run(pnpm!, ["pack", "--pack-destination", out], { cwd: pkg.dir, timeout: 60_000 });
      expect(result.code, describeRun(`pnpm pack (${pkg.name})`, result)).toBe(0);
      const tarball = join(out, tarballName(pkg));
      expect(existsSync(tarball), `${tarball} after pnpm pack`).toBe(true);
      tarballs.set(pkg.name, tarball);
      const extracted = join(work, "extracted", pkg.name.replace("/", "__"));
      mkdirSync(extracted, { recursive: true });
      const untar = await run("tar", ["-xzf", tarball, "-C", extracted], { timeout: 30_000 });
      expect(untar.code, describeRun("tar", untar)).toBe(0);
      packed.set(pkg.name, readJson(join(extracted, "package/package.json")));
    }),
  );
  // One fresh npm project per listener, installed in parallel (npm's cache is safe to share).
  for (const name of LISTENERS) {
    const project = join(work, name.replace("@tako/", "app-"));
    mkdirSync(project);
    projects.set(name, project);
    installs.set(
      name,
      (async () => {
        const init = await run(npm!, ["init", "-y"], { cwd: project, env: cleanEnv(), timeout: 60_000 });
        expect(init.code, describeRun("npm init -y", init)).toBe(0);
        const manifest = readJson<Record<string, unknown>>(join(project, "package.json"));
        writeFileSync(join(project, "package.json"), JSON.stringify({ ...manifest, type: "module" }, null, 2));
        const own = [...internalClosure(name)].map((dep) => tarballs.get(dep)!);
        const args = ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", ...own];
        const result = await run(npm!, args, { cwd: project, env: cleanEnv(), timeout: 120_000 });
        expect(result.code, describeRun(`npm install (${name})`, result)).toBe(0);
        writeFileSync(join(project, "smoke.ts"), SMOKE[name]);
        // Start the smoke script now, beside the other installs; its test awaits the result.
        smokes.set(name, run(process.execPath, ["smoke.ts"], { cwd: project, timeout: 30_000 }));
      })(),
    );
  }
  await Promise.all(installs.values());
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("pnpm pack", () => {
  it.each(packages.map((pkg) => [pkg.name, pkg] as const))("%s: a publishable manifest", (name, pkg) => {
    const manifest = packed.get(name)!;
    expect(manifest.version).toBe(pkg.version);
    for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
      expect(range, `${name} -> ${dep}`).not.toMatch(/^workspace:/);
      const internal = byName.get(dep);
      if (internal) expect(range, `${name} -> ${dep}`).toBe(`^${internal.version}`);
    }
    expect(manifest.devDependencies, `${name} ships devDependencies in its manifest`).toBeUndefined();
    expect(manifest.private).toBeUndefined();
  });

  it.each(packages.map((pkg) => [pkg.name, pkg] as const))("%s: the workspace's exports map without its tako-source condition", (name, pkg) => {
    // `tako-source` (src/index.ts, unpublished) is for the workspace only: publishConfig.exports
    // replaces the map when packing, and must be the same map without that condition.
    const withoutSource = JSON.parse(JSON.stringify(pkg.manifest.exports, (key, value: unknown) => (key === "tako-source" ? undefined : value))) as unknown;
    expect(JSON.stringify(packed.get(name)!.exports), `${name}: packed exports`).not.toContain("tako-source");
    expect(packed.get(name)!.exports, `${name}: publishConfig.exports differs from exports beyond tako-source`).toEqual(withoutSource);
  });

  it.each(packages.map((pkg) => [pkg.name] as const))("%s: ships dist/ and its docs, no tests, every export target present", (name) => {
    const root = join(work, "extracted", name.replace("/", "__"), "package");
    const files = listFiles(root);
    const stray = files.filter((file) => !/^(dist\/|package\.json$|README\.md$|LICENSE|CHANGELOG\.md$)/.test(file) || /(\.test\.|(^|\/)test-)/.test(file));
    expect(stray, `${name} packs files it should not`).toEqual([]);
    const exported = packed.get(name)!.exports as Record<string, Record<string, string> | string>;
    const targets = Object.values(exported).flatMap((entry) => (typeof entry === "string" ? [entry] : Object.values(entry)));
    for (const target of targets) expect(files, `${name} exports ${target}`).toContain(target.replace(/^\.\//, ""));
    expect(files).toContain("README.md");
  });
});

describe.each(LISTENERS.map((name) => [name] as const))("%s installed alone with npm", (name) => {
  it("installs exactly what it declares", () => {
    const project = projects.get(name)!;
    const tako = readdirSync(join(project, "node_modules/@tako"))
      .map((dir) => `@tako/${dir}`)
      .sort();
    expect(tako).toEqual([...internalClosure(name)].sort());
    const installed = [...installedPackages(join(project, "node_modules")).keys()].sort();
    expect(installed).toEqual([...declaredClosure(project, [name])].sort());
    // The @tako packages came from the tarballs, not from a registry.
    const lock = readJson<{ packages: Record<string, { resolved?: string }> }>(join(project, "package-lock.json"));
    for (const dep of tako) expect(lock.packages[`node_modules/${dep}`]?.resolved, dep).toMatch(/^file:/);
    // @tako/unix's optional peer-credentials backend is installed with it, at the pinned version.
    if (tako.includes("@tako/unix")) expect(installed).toContain("koffi@3.3.4");
  });

  it("runs a script that starts the listener, exchanges data and shuts down", async () => {
    const result = await smokes.get(name)!;
    expect(result.code, describeRun(`node smoke.ts (${name})`, result)).toBe(0);
    const out = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "null") as Record<string, unknown>;
    const cleanReport = { drained: expect.any(Number), forced: 0, durationMs: expect.any(Number) };
    if (name === "@tako/tcp") {
      expect(out).toMatchObject({
        reply: "hello over tcp\n",
        report: cleanReport,
        stats: { accepted: 1, handlerErrors: 0, active: 0 },
        listener: { serveStream: "function", machine: "function", drainTimeout: 5 },
      });
    } else if (name === "@tako/udp") {
      expect(out).toMatchObject({ reply: "hello over udp", report: cleanReport, stats: { handlerErrors: 0, active: 0 } });
    } else if (name === "@tako/systemd") {
      expect(out).toEqual({ unset: { notify: false, fds: [] }, sent: [true, true], received: "READY=1\nSTATUS=smokeSTATUS=still here" });
    } else if (name === "@tako/unix") {
      // The optional koffi came along, so the peer is this smoke script's own process, as the kernel saw it.
      const me = JSON.stringify(out.me);
      expect(me).toMatch(/^\{"path":null,"pid":\d+,"uid":\d+,"gid":\d+\}$/);
      expect(out).toMatchObject({ address: true, reply: `{"peer":${me},"isUnixPeerAddr":true}\nhello over unix\n`, report: cleanReport, socketFileLeft: false });
    } else if (name === "@tako/framing") {
      expect(out).toEqual({ header: "HELLO framing", frames: ["one", "two"], strings: ["ok"], error: "ERR_TAKO_FRAME_TOO_LARGE", tooLarge: true, protocol: true });
    } else {
      expect(out).toMatchObject({
        root: { status: 200, type: expect.stringMatching(/^text\/plain/), body: "hello from unix" },
        peer: { status: 200, type: expect.stringMatching(/^application\/json/), body: JSON.stringify(out.me) },
        ws: "hello over ws",
        report: cleanReport,
        socketFileLeft: false,
      });
    }
  });
});

describe("the installed types", () => {
  const check = (resolution: "node16" | "bundler") => {
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: resolution === "node16" ? ts.ModuleKind.Node16 : ts.ModuleKind.ESNext,
      moduleResolution: resolution === "node16" ? ts.ModuleResolutionKind.Node16 : ts.ModuleResolutionKind.Bundler,
      allowImportingTsExtensions: true,
      types: ["node"],
      typeRoots: [join(ROOT, "node_modules/@types")],
    };
    const roots = LISTENERS.map((name) => join(projects.get(name)!, "smoke.ts"));
    const program = ts.createProgram(roots, options);
    const diagnostics = ts.getPreEmitDiagnostics(program);
    return ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => work, getNewLine: () => "\n" });
  };

  it("typecheck a strict consumer under moduleResolution node16", () => {
    expect(check("node16")).toBe("");
  });

  it("typecheck a strict consumer under moduleResolution bundler", () => {
    expect(check("bundler")).toBe("");
  });
});
