/**
 * Per-connection cost probe of the TCP echo servers, for instruction counts (not part of the suite).
 *
 *   node src/probes/conn-cost.ts run <node|tako|tako-proxy> <ms> [-- wrapper...]
 *       the bench's TCP echo server (`src/servers/echo.ts`; `tako-proxy` requires a PROXY v2
 *       header) under the wrapper (e.g. `valgrind --tool=callgrind --callgrind-out-file=/dev/null`),
 *       and the native connection-rate client for <ms> (16 in flight: connect, 64 B echoed, close;
 *       with the 28-byte v2 header in the same write for `tako-proxy`). Prints the connections
 *       the client completed (up to 16 more were in flight at the end), then SIGTERMs the server.
 *
 * Under callgrind, (Ir of a long run - Ir of a short one) / (their connection difference) is the
 * server's user-space instructions per connection, free of start-up and of the machine's load.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { encodeProxyHeader } from "@tako/core";
import { buildNative, runNative } from "../clients/native.ts";
import { startNodeEcho, startTakoEcho } from "../servers/echo.ts";

const [mode, ...rest] = process.argv.slice(2);

async function server(impl: string): Promise<void> {
  const spec = { family: "tcp-echo", impl: "tako" } as const;
  const running = impl === "node" ? await startNodeEcho({ ...spec, impl: "node" }) : await startTakoEcho(spec, { proxy: impl === "tako-proxy" });
  // PROBE_TIMER=1: one pending timer for the server's whole life (every poll then has a timeout).
  if (process.env.PROBE_TIMER === "1") setTimeout(() => {}, 3_600_000);
  process.on("SIGTERM", () => {
    if (process.env.PROBE_CPU === "1") {
      const cpu = process.cpuUsage();
      process.stderr.write(`user ${cpu.user} system ${cpu.system}\n`);
    }
    process.exit(0);
  });
  process.stdout.write(`${(running.target as { port: number }).port}\n`);
}

async function run(impl: string, ms: number, wrapper: string[]): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const argv = [...wrapper, process.execPath, ...process.execArgv, self, "server", impl];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  const port = Number(await new Promise<string>((resolve) => createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", resolve)));
  const build = buildNative("conn-rate-client");
  if ("error" in build) throw new Error(build.error);
  const header =
    impl === "tako-proxy"
      ? Buffer.from(encodeProxyHeader({ version: 2, source: { address: "203.0.113.7", port: 51234 }, destination: { address: "127.0.0.1", port } })).toString("hex")
      : undefined;
  const result = await runNative<{ connections: number }>(
    build.binary,
    ["127.0.0.1", String(port), "16", "64", "0", String(ms), ...(header === undefined ? [] : [header])],
    ms + 60_000,
  );
  process.stdout.write(`client connections ${result.connections}\n`);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

if (mode === "server") await server(rest[0] as string);
else if (mode === "run") {
  const sep = rest.indexOf("--");
  const args = sep === -1 ? rest : rest.slice(0, sep);
  await run(args[0] as string, Number(args[1]), sep === -1 ? [] : rest.slice(sep + 1));
} else throw new Error("usage: conn-cost.ts server|run ...");
