import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * Node flags that make a child process run the code under test: `@tako/*` resolved to the
 * TypeScript sources through the exports maps' `tako-source` condition, as in the tests
 * themselves. Node 22 before 22.18 also needs the flag to run TypeScript (later versions accept
 * it silently).
 */
export const SOURCE_ARGS: readonly string[] = Object.freeze([
  "--conditions=tako-source",
  ...(process.features.typescript ? [] : ["--experimental-strip-types", "--no-warnings=ExperimentalWarning"]),
]);

/** Whether an executable `name` is on PATH. */
export function hasCommand(name: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
