/**
 * The expected outcome of every check on every runtime (expectations.json): "pass", or
 * "unsupported: <feature>" (the listener must throw UnsupportedError naming the runtime and that
 * feature), or "pending" for the whole check (its feature is not on main yet; listed, not run). A
 * pending check may already carry the outcomes seen on its branch, with `"pending": true`:
 * enabling it is deleting that key.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { RuntimeName } from "@tako/core/listener";
import { PACKAGE_DIR, type Check } from "./check.ts";

export const RUNTIMES: readonly RuntimeName[] = ["node", "bun", "deno"];
export type Outcome = "pass" | `unsupported: ${string}`;
export type Outcomes = Readonly<Record<RuntimeName, Outcome>>;
export type Expectation = "pending" | (Outcomes & { readonly pending?: true });

/** Whether the check is listed but not run (its feature is not on main yet). */
export function isPending(expected: Expectation | undefined): boolean {
  return expected === undefined || expected === "pending" || expected.pending === true;
}

export interface Expectations {
  readonly checks: Readonly<Record<string, Expectation>>;
}

export const EXPECTATIONS_PATH = join(PACKAGE_DIR, "expectations.json");

export function loadExpectations(path = EXPECTATIONS_PATH): Expectations {
  return JSON.parse(readFileSync(path, "utf8")) as Expectations;
}

/** Problems with the file itself: checks without an expectation, unknown ids, bad outcomes. */
export function expectationProblems(expectations: Expectations, checks: readonly Check[]): string[] {
  const problems: string[] = [];
  const ids = new Set(checks.map((c) => c.id));
  for (const check of checks) if (!(check.id in expectations.checks)) problems.push(`${check.id} has no expectation`);
  for (const [id, expected] of Object.entries(expectations.checks)) {
    if (!ids.has(id)) problems.push(`${id} is expected but there is no such check`);
    if (isPending(expected) && !checks.find((c) => c.id === id)?.pending) problems.push(`${id} is pending but its check says nothing about what it waits for`);
    if (expected === "pending") continue;
    if (expected.pending !== undefined && expected.pending !== true) problems.push(`${id}: "pending" must be true or absent`);
    for (const runtime of RUNTIMES) {
      const outcome = expected[runtime];
      if (outcome !== "pass" && !/^unsupported: \S/.test(outcome ?? "")) problems.push(`${id} on ${runtime}: ${JSON.stringify(outcome)} is not "pass" or "unsupported: <feature>"`);
    }
  }
  return problems;
}
