/**
 * The native load clients (C sources in bench/native/), built with the machine's C compiler on
 * first use into results/tmp/native/ and rebuilt when their source changes. A machine without a
 * compiler falls back to the Node clients; the results name the client that produced each figure.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { benchDir } from "../settings.ts";

/** What building a native client gave: the binary, or why there is none. */
export type NativeBuild = { readonly binary: string } | { readonly error: string };

/** Builds `bench/native/<name>.c` (if its binary is missing or older than the sources). */
export function buildNative(name: string): NativeBuild {
  const source = path.join(benchDir, "native", `${name}.c`);
  const outDir = path.join(benchDir, "results", "tmp", "native");
  const binary = path.join(outDir, name);
  try {
    // Rebuilt when the source or a header beside it (clock.h) is newer than the binary.
    const newest = Math.max(...readdirSync(path.dirname(source)).map((f) => statSync(path.join(path.dirname(source), f)).mtimeMs));
    if (statSync(binary).mtimeMs >= newest) return { binary };
  } catch {
    // Not built yet.
  }
  mkdirSync(outDir, { recursive: true });
  const compiler = process.env.CC ?? "cc";
  // Built under a temporary name and renamed into place, so a run that is executing the old
  // binary (a concurrent bench) never sees a half-written one.
  const building = `${binary}.${process.pid}.tmp`;
  try {
    execFileSync(compiler, ["-O2", "-Wall", "-o", building, source], { stdio: ["ignore", "ignore", "pipe"] });
    renameSync(building, binary);
    return { binary };
  } catch (error) {
    rmSync(building, { force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return { error: `${compiler} could not build ${path.relative(benchDir, source)}: ${stderr || (error as Error).message}` };
  }
}

/** Runs a native client to the end and parses the one JSON line it prints. */
export function runNative<T>(binary: string, argv: readonly string[], timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    execFile(binary, argv, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${binary} failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}
