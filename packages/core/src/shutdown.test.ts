import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { onShutdownSignal, shutdownSignal } from "./shutdown.ts";

const shutdownModule = fileURLToPath(new URL("./shutdown.ts", import.meta.url));

/** Runs a script in a child Node (signals are never sent to the test worker). */
async function runChild(script: string, signal?: NodeJS.Signals) {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let sent = false;
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    if (signal && !sent && out.includes("ready\n")) {
      sent = true;
      child.kill(signal);
    }
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const [code, killedBy] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  return { code, killedBy, out, err };
}

describe("shutdownSignal (in a child process)", () => {
  it.each(["SIGINT", "SIGTERM"] as const)("aborts on %s instead of dying, with the signal as reason", async (name) => {
    const { code, out, err } = await runChild(
      `import { shutdownSignal } from ${JSON.stringify(shutdownModule)};
       const signal = shutdownSignal();
       signal.addEventListener("abort", () => {
         console.log("aborted by " + signal.reason.signal);
         console.log("listeners left " + (process.listenerCount("SIGINT") + process.listenerCount("SIGTERM")));
         process.exit(0);
       });
       setInterval(() => {}, 1000);
       console.log("ready");`,
      name,
    );
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toContain(`aborted by ${name}`);
    expect(out).toContain("listeners left 0");
  });

  it("listens only to the signals it was given", async () => {
    const { killedBy } = await runChild(
      `import { shutdownSignal } from ${JSON.stringify(shutdownModule)};
       const signal = shutdownSignal(["SIGUSR2"]);
       setInterval(() => {}, 1000);
       console.log("ready");`,
      "SIGTERM",
    );
    expect(killedBy).toBe("SIGTERM");
  });

  it("disposing removes its process listeners, so the default action returns", async () => {
    const { killedBy, out } = await runChild(
      `import { shutdownSignal } from ${JSON.stringify(shutdownModule)};
       { const signal = shutdownSignal(); signal[Symbol.dispose](); }
       console.log("count " + process.listenerCount("SIGTERM"));
       setInterval(() => {}, 1000);
       console.log("ready");`,
      "SIGTERM",
    );
    expect(out).toContain("count 0");
    expect(killedBy).toBe("SIGTERM");
  });
});

describe("onShutdownSignal", () => {
  it("fires once for an AbortSignal and can be cancelled", async () => {
    const controller = new AbortController();
    let calls = 0;
    onShutdownSignal(controller.signal, () => calls++);
    const other = new AbortController();
    const stop = onShutdownSignal(other.signal, () => calls++);
    stop();
    controller.abort();
    controller.abort();
    other.abort();
    expect(calls).toBe(1);
  });

  it("fires on a promise-like settling, either way, unless cancelled", async () => {
    let calls = 0;
    onShutdownSignal(Promise.resolve(), () => calls++);
    onShutdownSignal(Promise.reject(new Error("x")), () => calls++);
    const stop = onShutdownSignal(Promise.resolve(), () => calls++);
    stop();
    const thenable: PromiseLike<void> = { then: (resolve) => (setTimeout(() => resolve?.(), 5), undefined as never) };
    onShutdownSignal(thenable, () => calls++);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBe(3);
  });

  it("rejects values that are neither with the listeners' InvalidConfigError (signal)", () => {
    for (const value of [42, "SIGTERM", null, {}, { aborted: "no", addEventListener() {} }]) {
      expect(() => onShutdownSignal(value as never, () => {})).toThrow(expect.objectContaining({ name: "InvalidConfigError", field: "signal" }));
    }
  });

  it("the helper itself returns a disposable AbortSignal", () => {
    using signal = shutdownSignal(["SIGUSR2"]);
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(process.listenerCount("SIGUSR2")).toBeGreaterThan(0);
    signal[Symbol.dispose]();
    expect(process.listenerCount("SIGUSR2")).toBe(0);
  });
});
