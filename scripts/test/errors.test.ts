// "Every error Tako throws is a TakoError": every error class any package exports (its entry
// points, subpaths included) extends TakoError and has a stable code.
import { describe, expect, it } from "vitest";
import { TakoError } from "@tako/core";
import * as core from "@tako/core";
import * as listener from "@tako/core/listener";
import * as tcp from "@tako/tcp";
import * as udp from "@tako/udp";
import * as unix from "@tako/unix";
import * as unixHttp from "@tako/unix-http";

const entries = { "@tako/core": core, "@tako/core/listener": listener, "@tako/tcp": tcp, "@tako/udp": udp, "@tako/unix": unix, "@tako/unix-http": unixHttp };

describe.each(Object.entries(entries))("%s", (_name, exports) => {
  const errorClasses = Object.entries(exports).filter(([, value]) => typeof value === "function" && value.prototype instanceof Error);

  it("exports only TakoError subclasses as errors", () => {
    for (const [name, value] of errorClasses) expect(value.prototype instanceof TakoError || value === TakoError, name).toBe(true);
  });
});

describe("error codes", () => {
  it("each class has its own stable code", () => {
    expect(new core.ShutdownRequested("SIGTERM")).toMatchObject({ name: "ShutdownRequested", code: "ERR_TAKO_SHUTDOWN_REQUESTED", signal: "SIGTERM" });
    expect(new unixHttp.MiddlewareError("x")).toMatchObject({ name: "MiddlewareError", code: "ERR_TAKO_NEXT_CALLED_TWICE" });
    expect(() => new unixHttp.HttpError(302)).toThrow(expect.objectContaining({ name: "InvalidConfigError", field: "status" }));
  });
});
