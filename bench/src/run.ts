/**
 * The Tako benchmark suite: `node src/run.ts [--smoke] [flags]` (see settings.ts for flags).
 * Every figure is a ratio against a baseline measured in the same run, runs interleaved.
 * Prints a Markdown table and writes latest.json / latest.md to the output directory.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { estimateRunSeconds } from "./budget.ts";
import { idleCheck, QuietGate } from "./cpustat.ts";
import { CLIENTS, connRateGroups, connRateUnixGroup, credentialsGroup, echoGroups, framingGroups, h2cGroup, httpGroup, udpGroups, wsGroup } from "./cases/definitions.ts";
import { buildNative } from "./clients/native.ts";
import { runMemory, runShutdown, type LifecycleContext } from "./cases/lifecycle.ts";
import { runGroup, type Group, type GroupContext } from "./cases/throughput.ts";
import { machineInfo } from "./machine.ts";
import { renderMarkdown } from "./report.ts";
import type { CaseError, Results, Row } from "./results.ts";
import { ChildHandle } from "./rpc.ts";
import type { ServerSpec, Target } from "./servers/types.ts";
import { benchDir, parseSettings } from "./settings.ts";

const settings = parseSettings(process.argv.slice(2));
const machine = machineInfo();
const started = performance.now();
const startedAt = new Date().toISOString();
const log = (line: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

const wanted = (id: string) => settings.only.length === 0 || settings.only.some((o) => id.includes(o));

/** Every throughput group, in run order; the binaries are the native load clients, where built. */
function allGroups(echoBinary: string | undefined, connRateBinary: string | undefined, udpBinary: string | undefined): Group[] {
  return [
    ...echoGroups(settings, echoBinary),
    ...connRateGroups(settings, connRateBinary),
    connRateUnixGroup(settings),
    credentialsGroup(settings),
    ...udpGroups(settings, udpBinary),
    httpGroup(settings),
    h2cGroup(settings),
    wsGroup(settings),
    ...framingGroups(settings),
  ];
}

function estimateLine(groups: readonly Group[]): string {
  const estimate = estimateRunSeconds(groups, settings, wanted);
  const hint = !settings.quick && !settings.smoke && estimate > 12 * 60 ? "; --quick runs the same reps in shorter windows" : "";
  return `estimated run time: ${(estimate / 60).toFixed(1)} min${settings.quick ? " (--quick)" : ""}, plus any wait for a quiet machine${hint}`;
}
// --estimate: print the estimate of the run these settings describe, and run nothing.
if (settings.estimate) {
  process.stdout.write(`${estimateLine(allGroups(undefined, undefined, undefined))}\n`);
  process.exit(0);
}

// Our servers import @tako/* by package name, i.e. each package's built dist: check it is there.
const PACKAGE_OF: Array<[string, string]> = [
  ["tcp-", "@tako/tcp"],
  ["conn-rate-tcp", "@tako/tcp"],
  ["shutdown-tcp", "@tako/tcp"],
  ["memory-tcp", "@tako/tcp"],
  ["unix-", "@tako/unix"],
  ["conn-rate-unix", "@tako/unix"],
  ["udp-", "@tako/udp"],
  ["http-", "@tako/unix-http"],
  ["shutdown-http", "@tako/unix-http"],
  ["framing-", "@tako/framing"],
];
const ALL_IDS = [
  "tcp-echo",
  "conn-rate-tcp",
  "conn-rate-tcp-proxy-v2",
  "unix-echo",
  "conn-rate-unix",
  "conn-rate-unix-credentials",
  "udp-echo",
  "http-text",
  "http-json",
  "shutdown-tcp",
  "shutdown-http",
  "memory-tcp",
  "framing-lines",
  "framing-length-prefixed",
];
const needed = new Set(
  PACKAGE_OF.filter(([prefix]) => ALL_IDS.some((id) => id.startsWith(prefix) && (settings.only.length === 0 || settings.only.some((o) => id.includes(o) || o.startsWith(id))))).map(
    ([, pkg]) => pkg,
  ),
);
for (const pkg of needed) {
  try {
    await import(pkg);
  } catch (error) {
    log(`cannot load ${pkg} (${(error as Error).message.split("\n")[0]}); build first: pnpm bench (or turbo run build --filter=@tako/bench...)`);
    process.exit(2);
  }
}

const rows: Row[] = [];
const errors: CaseError[] = [];
const usedClients = new Set<string>();
const socketFiles: string[] = [];
const profileDir = path.join(benchDir, "results", "tmp", "profiles");
if (settings.cpuProf) mkdirSync(profileDir, { recursive: true });

async function startServer(spec: ServerSpec, options: { gc?: boolean } = {}): Promise<ChildHandle<{ target: Target }>> {
  if (spec.path) socketFiles.push(spec.path);
  const flags: string[] = [];
  if (options.gc) flags.push("--expose-gc");
  if (settings.cpuProf === spec.impl) flags.push("--cpu-prof", "--cpu-prof-dir", path.join(profileDir, `${spec.family}-${spec.impl}`));
  return ChildHandle.start<{ target: Target }>({
    label: `server ${spec.family}/${spec.impl}`,
    script: "./server-main.ts",
    arg: spec,
    core: machine.serverCore ?? undefined,
    nodeFlags: flags,
    raiseFdLimit: true,
    verbose: settings.verbose,
    runtime: settings.runtime,
  });
}

// The native load clients keep the client core well below its limit (the Node ones nearly fill it).
// (Built once, then cached by source mtime in results/tmp/native/.)
function nativeClient(name: string, cases: string): string | undefined {
  if (settings.loadClient !== "native") return undefined;
  const built = buildNative(name);
  if ("binary" in built) return built.binary;
  log(`${built.error}; the ${cases} cases use the Node client`);
  return undefined;
}
const echoBinary = nativeClient("echo-client", "stream echo");
const udpBinary = nativeClient("udp-echo-client", "UDP echo");
const connRateBinary = nativeClient("conn-rate-client", "connection-rate");

const idleBefore = await idleCheck(settings.smoke ? 200 : 1000);
if (idleBefore.some((b) => b > 0.1))
  log(`WARNING: the machine is busy before the run (${idleBefore.map((b) => `${Math.round(b * 100)} %`).join(", ")} per core); figures will be noisy`);
log(
  `machine: ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}${settings.runtime !== "node" ? `, servers on ${settings.runtime} (informative, no goal)` : ""}, ${machine.pinned ? "pinned (server core 0, client core 1)" : "not pinned"}${settings.smoke ? ", SMOKE run" : ""}`,
);
const client = await ChildHandle.start({
  label: "client",
  script: "./client-main.ts",
  arg: {},
  core: machine.clientCore ?? undefined,
  raiseFdLimit: true,
  verbose: settings.verbose,
});

const gate = new QuietGate(settings.quietWaitMs);
const groupContext: GroupContext = {
  quiet: async () => {
    if (settings.quietWaitMs <= 0) return 0;
    const waited = gate.waitedMs;
    const load = await gate.wait();
    if (gate.waitedMs - waited > 1)
      log(`waited ${((gate.waitedMs - waited) / 1000).toFixed(1)} s for the machine to be quiet${load > 0.2 ? ` (still ${Math.round(load * 100)} % busy, budget spent)` : ""}`);
    return load;
  },
  client,
  warmupMs: settings.warmupMs,
  durationMs: settings.durationMs,
  caseWarmupMs: settings.caseWarmupMs,
  startServer,
  log,
};
const lifecycleContext: LifecycleContext = { client, startServer, log };

function recordError(id: string, error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  log(`${id}: FAILED ${text}`);
  errors.push({ id, error: text });
}

const groups = allGroups(echoBinary, connRateBinary, udpBinary);
log(estimateLine(groups));

try {
  for (const group of groups) {
    const cases = group.cases.filter((c) => wanted(c.id));
    if (cases.length === 0) continue;
    for (const c of cases) usedClients.add(c.source);
    await runGroup({ ...group, cases }, groupContext, (r) => rows.push(...r), recordError);
  }
  const lifecycle = [
    {
      id: "shutdown-tcp",
      run: () =>
        runShutdown(
          {
            id: "shutdown-tcp",
            name: `Shutdown, ${settings.shutdownConnections} idle raw TCP conns`,
            family: "tcp-echo",
            connections: settings.shutdownConnections,
            reps: settings.shutdownReps,
          },
          lifecycleContext,
        ),
    },
    {
      id: "shutdown-http",
      run: () =>
        runShutdown(
          {
            id: "shutdown-http",
            name: `Shutdown, ${settings.shutdownConnections} idle keep-alive HTTP conns`,
            family: "http",
            connections: settings.shutdownConnections,
            reps: settings.shutdownReps,
          },
          lifecycleContext,
        ),
    },
    {
      id: "memory-tcp",
      run: () =>
        runMemory(
          { id: "memory-tcp", name: `Memory, ${settings.memoryConnections} idle raw TCP conns`, connections: settings.memoryConnections, reps: settings.memoryReps },
          lifecycleContext,
        ),
    },
  ];
  for (const c of lifecycle) {
    if (!wanted(c.id)) continue;
    usedClients.add(CLIENTS.server);
    try {
      const made = await c.run();
      rows.push(...(Array.isArray(made) ? made : [made]));
    } catch (error) {
      recordError(c.id, error);
    }
  }
} finally {
  await client.stop();
  for (const file of socketFiles) rmSync(file, { force: true });
}

const results: Results = {
  startedAt,
  durationSec: (performance.now() - started) / 1000,
  smoke: settings.smoke,
  quick: settings.quick,
  machine,
  idleBefore,
  settings: {
    reps: settings.reps,
    httpReps: settings.httpReps,
    durationMs: settings.durationMs,
    warmupMs: settings.warmupMs,
    caseWarmupMs: settings.caseWarmupMs,
    quietWaitMs: settings.quietWaitMs,
    echoWindow: settings.echoWindow,
    udpWindow: settings.udpWindow,
    runtime: settings.runtime,
    loadClient: {
      echo: echoBinary === undefined ? "node" : "native",
      connRate: connRateBinary === undefined ? "node" : "native",
      udp: udpBinary === undefined ? "node" : "native",
    },
    autocannonReps: settings.autocannonReps,
    memoryConnections: settings.memoryConnections,
    memoryReps: settings.memoryReps,
    shutdownConnections: settings.shutdownConnections,
    shutdownReps: settings.shutdownReps,
    ...(settings.only.length > 0 ? { only: settings.only } : {}),
  },
  quiet: { waitedMs: Math.round(gate.waitedMs), noisyStarts: gate.noisyStarts },
  clients: Object.fromEntries(Object.entries(CLIENTS).filter(([, v]) => usedClients.has(v))),
  rows,
  errors,
};
const markdown = renderMarkdown(results);
mkdirSync(settings.outDir, { recursive: true });
writeFileSync(path.join(settings.outDir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(path.join(settings.outDir, "latest.md"), markdown);
process.stdout.write(`\n${markdown}\n`);
log(`wrote ${path.join(settings.outDir, "latest.json")} and latest.md in ${results.durationSec.toFixed(0)} s${errors.length > 0 ? `; ${errors.length} case(s) FAILED` : ""}`);
process.exitCode = errors.length > 0 ? 1 : 0;
