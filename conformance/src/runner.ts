/** Runs the checks on this runtime and compares each outcome with its expectation. */
import { runtimeDescription, runtimeName, type RuntimeName } from "@tako/core/listener";
import { runWithEnv, type Check } from "./check.ts";
import { isPending, RUNTIMES, type Expectations, type Outcome } from "./expectations.ts";

/** What one check did here, against what was expected. */
export interface CheckResult {
  readonly id: string;
  readonly status: "ok" | "FAIL" | "pending";
  readonly expected: Outcome | "pending";
  /** The observed outcome ("pass", "unsupported: <feature>", or "fail: <why>"); undefined when pending. */
  readonly observed: string | undefined;
  readonly detail: string;
  readonly ms: number;
}

const CHECK_TIMEOUT_MS = 20_000;

/** Classifies what a check's run did: passed, an UnsupportedError naming this runtime, or a failure. */
export function outcomeOf(error: unknown): { observed: string; detail: string } {
  if (error === undefined) return { observed: "pass", detail: "" };
  const e = error as { code?: string; message?: string; feature?: string; stack?: string };
  const message = e.message ?? String(error);
  if (e.code === "ERR_TAKO_UNSUPPORTED") {
    const runtime = runtimeDescription();
    if (e.feature === undefined || e.feature === "") return { observed: `fail: UnsupportedError without a feature name: ${message}`, detail: message };
    if (!message.includes(runtime)) return { observed: `fail: UnsupportedError does not name ${runtime}: ${message}`, detail: message };
    return { observed: `unsupported: ${e.feature}`, detail: message };
  }
  return { observed: `fail: ${message}`, detail: e.stack ?? message };
}

export async function runChecks(
  checks: readonly Check[],
  expectations: Expectations,
  report: (result: CheckResult, check: Check) => void,
  runtime: RuntimeName = runtimeName(),
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    const expectation = expectations.checks[check.id] ?? "pending";
    let result: CheckResult;
    if (expectation === "pending" || isPending(expectation)) {
      const landed = check.pending ? await check.pending.landed().catch(() => false) : false;
      const planned = expectation === "pending" ? "" : `; seen on its branch: ${RUNTIMES.map((r) => `${r} ${expectation[r]}`).join(", ")}`;
      const why = `${check.pending ? `waiting for ${check.pending.waitingFor}` : "pending"}${planned}`;
      result = {
        id: check.id,
        status: "pending",
        expected: "pending",
        observed: undefined,
        detail: landed ? `${why}; its feature has landed: enable it in conformance/expectations.json` : why,
        ms: 0,
      };
    } else {
      const expected = expectation[runtime];
      const started = performance.now();
      let error: unknown;
      try {
        await runWithEnv(check, CHECK_TIMEOUT_MS);
      } catch (caught) {
        error = caught ?? new Error("rejected with nothing");
      }
      const { observed, detail } = outcomeOf(error);
      const ms = Math.round(performance.now() - started);
      const ok = observed === expected;
      result = {
        id: check.id,
        status: ok ? "ok" : "FAIL",
        expected,
        observed,
        detail: ok ? (observed === "pass" ? "" : `as expected: ${detail}`) : `expected ${expected}, got ${observed}${detail && !observed.includes(detail) ? `\n${detail}` : ""}`,
        ms,
      };
    }
    results.push(result);
    report(result, check);
  }
  return results;
}
