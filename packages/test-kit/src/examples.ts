/**
 * The examples' end-to-end tests: build an example (from dist, as a user runs it) when its
 * sources changed, and start it as a child process that announces itself on its first stdout line.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { lines as readLines } from "@tako/framing";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** What `buildExampleIfNeeded` builds. */
export interface ExampleBuild {
  /** The example's directory (`examples/<name>`). */
  readonly dir: string;
  /** Its package name, for `turbo run build --filter=<name>...`. */
  readonly name: string;
  /** Its built files, relative to `dir` (`dist/main.js`). */
  readonly outputs: readonly string[];
  /** The workspace packages it uses (`tcp`, `core`): their `src` is watched, their `dist/index.js` built. */
  readonly packages: readonly string[];
}

/**
 * Builds the example and the packages it uses with turbo unless every built file is newer than
 * every source file.
 */
export function buildExampleIfNeeded(build: ExampleBuild): void {
  const root = join(build.dir, "..", "..");
  const sources = [join(build.dir, "src"), ...build.packages.map((name) => join(root, "packages", name, "src"))];
  const built = [...build.outputs.map((file) => join(build.dir, file)), ...build.packages.map((name) => join(root, "packages", name, "dist", "index.js"))];
  if (built.every((file) => existsSync(file))) {
    const oldestBuild = Math.min(...built.map((file) => statSync(file).mtimeMs));
    if (sources.every((dir) => newestMtime(dir) <= oldestBuild)) return;
  }
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}` };
  const turbo = join(root, "node_modules", ".bin", "turbo");
  const result = spawnSync(turbo, ["run", "build", `--filter=${build.name}...`, "--output-logs=errors-only"], { cwd: root, env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`build failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
}

/** A child started by `startAnnounced`. */
export interface Announced {
  readonly child: ChildProcess;
  /** Its first stdout line (what it announced). */
  readonly first: string;
  /** Every stdout line so far, the first included. */
  readonly lines: string[];
  readonly exit: Promise<[number | null, NodeJS.Signals | null]>;
  /** Everything written to stderr so far. */
  stderr(): string;
}

/**
 * Starts `command` and resolves once it printed its first stdout line (a "listening" line);
 * rejects, with its stderr, when it exits before that. `name` names it in that error.
 */
export async function startAnnounced(command: readonly string[], options: { env?: NodeJS.ProcessEnv; name?: string } = {}): Promise<Announced> {
  const child = spawn(command[0] as string, command.slice(1), { stdio: ["ignore", "pipe", "pipe"], ...(options.env === undefined ? {} : { env: options.env }) });
  const exit = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const lines: string[] = [];
  const first = await new Promise<string>((resolve, reject) => {
    void (async () => {
      // Bounded like any line reader of ours: a runaway child cannot fill the test's memory.
      for await (const line of readLines(child.stdout, { maxLineLength: 1 << 20 })) {
        lines.push(line);
        if (lines.length === 1) resolve(line);
      }
    })().catch(reject);
    void exit.then(([code]) => reject(new Error(`${options.name ?? "the child"} exited ${code} before listening: ${stderr}`)));
  });
  return { child, first, lines, exit, stderr: () => stderr };
}
