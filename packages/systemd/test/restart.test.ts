// Zero-loss restart: the listening socket lives in a holder process (started by the real
// systemd-socket-activate, which created the socket), the service drains and exits, the next one
// starts on the same fd, and a bounded client loop running the whole time sees no refused or
// reset connection: they wait in the backlog.
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, hasCommand, lineExchange } from "@tako/test-kit";
import { activate, type Watched } from "../src/test-support.ts";

const HOLDER = fileURLToPath(new URL("./fixtures/holder.ts", import.meta.url));
const available = process.platform === "linux" && hasCommand("systemd-socket-activate");
if (!available) console.warn("[skip] restart test: systemd-socket-activate is missing (Debian package systemd) or this is not Linux");

const running: Watched[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) {
    child.kill("SIGKILL");
    await child.exited;
  }
});

describe.runIf(available)("restart under socket activation", () => {
  it("refuses zero connections while the service restarts twice under a bounded client loop", async () => {
    const port = await freePort();
    const holder = activate(["-l", `127.0.0.1:${port}`], {}, HOLDER);
    running.push(holder);
    await holder.stderr("Listening on");
    const total = 600;
    const concurrency = 16;
    const results: string[] = [];
    let next = 0;
    const restarts: number[] = [total / 4, total / 2];
    const worker = async () => {
      while (next < total) {
        const i = next++;
        if (restarts.includes(i)) holder.kill("SIGHUP");
        results.push(await lineExchange(port, "x"));
      }
    };
    // The first request is what makes systemd-socket-activate exec the holder.
    results.push(await lineExchange(port, "x"));
    await holder.event("ready");
    await Promise.all(Array.from({ length: concurrency }, worker));
    const counts: Record<string, number> = {};
    for (const result of results) counts[result] = (counts[result] ?? 0) + 1;
    console.log(`restart test: ${JSON.stringify(counts)}`);
    expect(results).toHaveLength(total + 1);
    // Every answer came from a service; nothing was refused, reset or timed out.
    expect(Object.keys(counts).every((key) => /^gen\d:x\n$/.test(key))).toBe(true);
    expect(counts["gen1:x\n"]).toBeGreaterThan(0);
    expect(counts["gen3:x\n"]).toBeGreaterThan(0);
    const finished = holder.events.filter((e) => e.event === "finished");
    expect(finished.length).toBeGreaterThanOrEqual(2);
    holder.kill("SIGTERM");
    expect((await holder.exited).code).toBe(0);
  }, 120_000);
});
