/**
 * The runtime conformance suite: `node|bun src/main.ts`, `deno run -A src/main.ts`
 * (or `./scripts/dev conformance all`). Runs every check against the packages' built entry points
 * on this runtime, one line per check, then `N passed, N failed`; exits 1 on any failure.
 *
 *   --only=<text>    run the checks whose id contains <text>
 *   --write-matrix   after a green run, rewrite the README's support matrix from expectations.json
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeDescription, runtimeName } from "@tako/core/listener";
import { PACKAGE_DIR } from "./check.ts";
import { CHECKS } from "./checks/index.ts";
import { expectationProblems, loadExpectations } from "./expectations.ts";
import { renderMatrix, writeMatrix } from "./matrix.ts";
import { runChecks } from "./runner.ts";

const args = process.argv.slice(2);
const only = args.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const known = (a: string) => a === "--write-matrix" || a.startsWith("--only=");
const unknown = args.filter((a) => !known(a));
if (unknown.length > 0) {
  console.error(`conformance: unknown argument(s) ${unknown.join(" ")}; takes --only=<text> and --write-matrix`);
  process.exit(2);
}

const expectations = loadExpectations();
const problems = expectationProblems(expectations, CHECKS);
if (problems.length > 0) {
  console.error(`conformance: expectations.json does not match the checks:\n  ${problems.join("\n  ")}`);
  process.exit(2);
}

// The suite tests what a user installs: the packages' built dist/, never their sources.
const resolved = import.meta.resolve("@tako/tcp");
if (!resolved.includes("/dist/")) {
  console.error(`conformance: @tako/tcp resolves to ${resolved}, not to its built dist/ (run the suite without the tako-source condition, after turbo build)`);
  process.exit(2);
}

// Bun applies a tsconfig.json's `paths` at run time, even to a package's dist/: a package whose
// tsconfig maps @tako/* to src/ would load a second copy of @tako/core there (instanceof across
// the copies fails). The workspace resolves sources through the tako-source condition instead.
const pathsIn = readdirSync(join(PACKAGE_DIR, "..", "packages"))
  .map((name) => join(PACKAGE_DIR, "..", "packages", name, "tsconfig.json"))
  .filter((file) => existsSync(file) && /"paths"\s*:/.test(readFileSync(file, "utf8")));
if (pathsIn.length > 0) {
  console.error(`conformance: ${pathsIn.join(", ")} set compilerOptions.paths, which Bun applies to dist/ at run time; use the tako-source export condition instead`);
  process.exit(2);
}

const runtime = runtimeDescription();
const started = performance.now();
console.log(
  `conformance on ${runtime} (${process.platform} ${process.arch}, node:* compat ${process.versions.node}), packages from ${resolved.replace(/\/tcp\/dist\/.*$/, "/*/dist")}`,
);
const selected = CHECKS.filter((c) => only === undefined || c.id.includes(only));
const results = await runChecks(selected, expectations, (result, check) => {
  const tag = result.status === "ok" ? "ok     " : result.status === "FAIL" ? "FAIL   " : "pending";
  const time = result.status === "pending" ? "" : ` (${result.ms} ms)`;
  console.log(`${tag} ${check.id}: ${check.title}${time}${result.detail ? ` -- ${result.detail}` : ""}`);
});

const passed = results.filter((r) => r.status === "ok").length;
const failed = results.filter((r) => r.status === "FAIL").length;
const pending = results.filter((r) => r.status === "pending").length;
const unsupported = results.filter((r) => r.status === "ok" && r.observed !== "pass").length;
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`${passed} passed, ${failed} failed (${runtimeName()}: ${runtime}; ${unsupported} of the passes an expected UnsupportedError; ${pending} pending; ${seconds} s)`);

if (args.includes("--write-matrix")) {
  if (failed > 0 || only !== undefined) {
    console.error("conformance: --write-matrix needs a full green run; the README was not touched");
  } else {
    const changed = writeMatrix(renderMatrix(CHECKS, expectations));
    console.log(changed ? "README.md: support matrix rewritten" : "README.md: support matrix already up to date");
  }
}
process.exit(failed > 0 ? 1 : 0);
