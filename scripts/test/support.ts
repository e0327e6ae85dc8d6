// Shared helpers for the release tests (scripts/test/*.test.ts): where things are, and a bounded
// way to run a command and collect its output.
import { spawn, type SpawnOptions } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** The workspace root. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The publishable packages: packages/<dir> whose manifest is not private. */
export interface WorkspacePackage {
  readonly dir: string;
  readonly name: string;
  readonly version: string;
  readonly manifest: Manifest;
}

/** The fields of a package.json the release tests read. */
export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly [key: string]: unknown;
}

/** Reads and parses a JSON file. */
export function readJson<T = Manifest>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/** Every package under packages/ that is published (not private), sorted by directory. */
export function publishablePackages(): WorkspacePackage[] {
  const base = join(ROOT, "packages");
  return readdirSync(base)
    .filter((name) => existsSync(join(base, name, "package.json")))
    .sort()
    .map((name) => {
      const manifest = readJson(join(base, name, "package.json"));
      return { dir: join(base, name), name: manifest.name, version: manifest.version, manifest };
    })
    .filter((pkg) => pkg.manifest.private !== true);
}

/**
 * Finds an executable on PATH (the wrapper `./scripts/dev` puts the project's Node and pnpm
 * there). Returns undefined when absent.
 */
export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** What a finished command left behind. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to completion (no shell), killing it after `timeout` ms. Never rejects for a
 * non-zero exit: callers assert on the result, so failures show the output.
 */
export function run(command: string, args: readonly string[], options: SpawnOptions & { timeout: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\n[test] ${command} ${args.join(" ")} killed after ${options.timeout} ms\n`;
      child.kill("SIGKILL");
    }, options.timeout);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Formats a result for an assertion message. */
export function describeRun(what: string, result: RunResult): string {
  return `${what} exited ${result.code ?? result.signal}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

/** Compiler options as the packages use them (tsconfig.base.json: `@tako/*` resolved to src through the `tako-source` condition). */
export function packageCompilerOptions(): ts.CompilerOptions {
  const configPath = join(ROOT, "packages/core/tsconfig.json");
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, join(ROOT, "packages/core"), undefined, configPath);
  return { ...parsed.options, noEmit: true, rootDir: ROOT };
}

/** Typechecks files that exist only in memory (path -> source) beside the real ones; returns their diagnostics. */
export function checkInMemory(files: ReadonlyMap<string, string>, options: ts.CompilerOptions): ts.Diagnostic[] {
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => files.get(file) ?? readFile.call(host, file);
  host.getSourceFile = (file, language, onError, create) => {
    const code = files.get(file);
    return code === undefined ? getSourceFile.call(host, file, language, onError, create) : ts.createSourceFile(file, code, language, true);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).filter((d) => d.file === undefined || files.has(d.file.fileName));
}
