// The runtime support matrix in the root README is generated from the conformance suite's
// expectations (conformance/expectations.json, which every CI run holds each runtime to): it must
// be the committed one, and the expectations must cover exactly the suite's checks.
import { describe, expect, it } from "vitest";
import { CHECKS } from "../../conformance/src/checks/index.ts";
import { expectationProblems, loadExpectations } from "../../conformance/src/expectations.ts";
import { committedMatrix, pinnedVersions, renderMatrix } from "../../conformance/src/matrix.ts";
import { outcomeOf } from "../../conformance/src/runner.ts";
import { UnsupportedError } from "../../packages/core/src/errors.ts";
import { unsupportedFeature } from "../../packages/core/src/runtime.ts";

describe("the README's runtime support matrix", () => {
  const expectations = loadExpectations();

  it("expects an outcome for every conformance check, and only for those", () => {
    expect(expectationProblems(expectations, CHECKS)).toEqual([]);
  });

  it("is the matrix rendered from expectations.json (run: node conformance/src/main.ts --write-matrix)", () => {
    expect(committedMatrix()).toBe(renderMatrix(CHECKS, expectations));
  });

  it("names the runtime versions pinned in scripts/dev", () => {
    const versions = pinnedVersions();
    for (const version of Object.values(versions)) expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(committedMatrix()).toContain(`Bun ${versions["bun"]} | Deno ${versions["deno"]}`);
  });
});

describe("the conformance runner's outcome of a check", () => {
  it("is pass, unsupported: <feature> for an UnsupportedError naming this runtime, else a failure", () => {
    expect(outcomeOf(undefined).observed).toBe("pass");
    expect(outcomeOf(unsupportedFeature("reusePort for UDP")).observed).toBe("unsupported: reusePort for UDP");
    expect(outcomeOf(new UnsupportedError("reusePort is not supported here")).observed).toMatch(/^fail: UnsupportedError without a feature name/);
    expect(outcomeOf(new UnsupportedError("no", { feature: "x", runtime: "Bun 1.4.5" })).observed).toMatch(/^fail: UnsupportedError does not name Node/);
    expect(outcomeOf(Object.assign(new Error("boom"), { code: "EADDRINUSE" })).observed).toBe("fail: boom");
  });
});
