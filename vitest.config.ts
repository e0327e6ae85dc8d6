import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * Tests run against each package's `src`, no build needed: every package's `exports` map starts
 * with the `tako-source` condition (pointing at `src/index.ts`), which only the workspace turns
 * on (here, in `tsconfig.base.json`, and `--conditions=tako-source` for child processes). The
 * published manifests (`publishConfig.exports`) do not have it.
 */
const conditions = ["tako-source", "module", "node", "development|production"]; // tako-source, then Vite's defaultServerConditions

const project = (name: string, dir: string, include = [`${dir}/src/**/*.test.ts`, `${dir}/test/**/*.test.ts`]) => ({
  extends: true as const,
  test: { name, include },
});

export default defineConfig({
  ssr: { resolve: { conditions } },
  test: {
    root: here("."),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll (and the test kit's until) checks often and waits long: the machine is shared.
    expect: { poll: { interval: 5, timeout: 10_000 } },
    reporters: ["default", here("./scripts/summary-reporter.ts")],
    projects: [
      project("@tako/core", "packages/core"),
      project("@tako/tcp", "packages/tcp"),
      project("@tako/udp", "packages/udp"),
      project("@tako/unix", "packages/unix"),
      project("@tako/unix-http", "packages/unix-http"),
      project("@tako/framing", "packages/framing"),
      project("@tako/test-kit", "packages/test-kit"),
      project("@tako/systemd", "packages/systemd"),
      project("examples", "examples", ["examples/*/test/**/*.test.ts", "examples/*/src/**/*.test.ts"]),
      project("@tako/bench", "bench"),
      project("release", "scripts"),
    ],
  },
});
