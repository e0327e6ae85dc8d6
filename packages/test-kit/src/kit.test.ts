import { lstatSync } from "node:fs";
import { connect } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { socketDir, staleSocket, until } from "./index.ts";

const dir = socketDir();
afterAll(() => dir.remove());

describe("the test kit", () => {
  it("until resolves once the check holds, and fails naming what it waited for", async () => {
    let n = 0;
    await until(() => ++n >= 3, "three checks");
    expect(n).toBe(3);
    await expect(until(() => false, "the impossible", 50)).rejects.toThrow(/timed out waiting until the impossible/);
  });

  it("staleSocket leaves a socket file nobody listens on", async () => {
    const path = dir.path();
    await staleSocket(path);
    expect(lstatSync(path).isSocket()).toBe(true);
    const code = await new Promise((resolve) => connect(path).once("error", (error: NodeJS.ErrnoException) => resolve(error.code)));
    expect(code).toBe("ECONNREFUSED");
  });
});
