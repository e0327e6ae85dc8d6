import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Tests run against each package's `src`: workspace imports resolve to source, no build needed. */
const alias = {
  "@tako/core": here("./packages/core/src/index.ts"),
  "@tako/tcp": here("./packages/tcp/src/index.ts"),
  "@tako/udp": here("./packages/udp/src/index.ts"),
  "@tako/unix": here("./packages/unix/src/index.ts"),
  "@tako/unix-http": here("./packages/unix-http/src/index.ts"),
  "@tako/systemd": here("./packages/systemd/src/index.ts"),
};

const project = (name: string, dir: string, include = [`${dir}/src/**/*.test.ts`, `${dir}/test/**/*.test.ts`]) => ({
  extends: true as const,
  test: { name, include },
});

export default defineConfig({
  resolve: { alias },
  test: {
    root: here("."),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default", here("./scripts/summary-reporter.ts")],
    projects: [
      project("@tako/core", "packages/core"),
      project("@tako/tcp", "packages/tcp"),
      project("@tako/udp", "packages/udp"),
      project("@tako/unix", "packages/unix"),
      project("@tako/unix-http", "packages/unix-http"),
      project("@tako/systemd", "packages/systemd"),
      project("examples", "examples", ["examples/*/test/**/*.test.ts", "examples/*/src/**/*.test.ts"]),
      project("@tako/bench", "bench"),
      project("release", "scripts"),
    ],
  },
});
