/**
 * Run settings from flags and environment variables (flags win):
 *
 *   --smoke                 every case once with tiny durations (figures not judged)
 *   --estimate              print the estimated time of the run the other flags describe, run nothing
 *   --quick                 the same reps (8, HTTP 15: the ratios' intervals keep their order
 *                                         statistics) in shorter windows (700 ms, warm-up 200 ms,
 *                                         case warm-up 300 ms), no autocannon figures, 3 memory and
 *                                         shutdown reps: about 70 % of the full run's time
 *   --reps=N        BENCH_REPS            interleaved reps of the echo/UDP cases (default 8)
 *   --http-reps=N   BENCH_HTTP_REPS       interleaved reps of the HTTP cases (default 15)
 *   --duration=MS   BENCH_DURATION_MS     measured window per rep (default 1000)
 *   --warmup=MS     BENCH_WARMUP_MS       warm-up inside each rep before the window (default 250)
 *   --autocannon-reps=N BENCH_AUTOCANNON_REPS  reps of the autocannon HTTP figures, 0 = off (default 3)
 *   --memory-connections=N BENCH_MEMORY_CONNECTIONS  idle connections held in the memory case (default 10000)
 *   --echo-window=N BENCH_ECHO_WINDOW     messages in flight per connection in the stream echo cases (default 1)
 *   --udp-window=N  BENCH_UDP_WINDOW      datagrams outstanding per client socket in the UDP cases (4 sockets; default 16)
 *   --load-client=native|node BENCH_LOAD_CLIENT  the echo, conn-rate and UDP load clients: the C ones (built
 *                                         with cc; the default, falling back to node without a
 *                                         compiler) or the Node ones (net, dgram)
 *   --quiet-wait=MS BENCH_QUIET_WAIT_MS   before each rep, wait while a core is > 20 % busy with something
 *                                         else, up to MS in total over the run (default 120000; 0 = off)
 *   --only=a,b      BENCH_ONLY            run only cases whose id contains one of these
 *   --out=DIR                             where latest.json / latest.md go (default bench/results;
 *                                         smoke mode: bench/results/tmp)
 *   --cpu-prof=IMPL                       run IMPL's servers (tako, node, fastify, hono) with
 *                                         --cpu-prof, profiles in bench/results/tmp/profiles
 *   --verbose                             echo the children's output
 *   --runtime=node|bun|deno BENCH_RUNTIME  the runtime the servers (ours and the baselines) run on;
 *                                         the clients stay on Node. Bun and Deno are informative
 *                                         (no goal): results go to results/tmp/runtime-<name>
 *                                         unless --out; run through ./scripts/dev --with bun,deno
 */
import { fileURLToPath } from "node:url";

/** The resolved settings of one run. */
export interface Settings {
  readonly smoke: boolean;
  readonly quick: boolean;
  /** Print the run's estimated time and run nothing. */
  readonly estimate: boolean;
  readonly reps: number;
  readonly httpReps: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Warm-up per server before a case's reps start (JIT, caches). */
  readonly caseWarmupMs: number;
  readonly quietWaitMs: number;
  readonly echoWindow: number;
  readonly udpWindow: number;
  readonly loadClient: "native" | "node";
  readonly autocannonReps: number;
  readonly autocannonDurationMs: number;
  readonly memoryConnections: number;
  readonly memoryReps: number;
  readonly shutdownConnections: number;
  readonly shutdownReps: number;
  readonly only: readonly string[];
  readonly outDir: string;
  readonly cpuProf: string | undefined;
  readonly verbose: boolean;
  /** The runtime the server children run on (the parent and the load clients run on Node). */
  readonly runtime: Runtime;
}

/** Runtimes the bench servers can run on. */
export type Runtime = "node" | "bun" | "deno";

const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer of at least ${min}; got ${JSON.stringify(text)}`);
  return n;
}

/** Parses argv (after the script) and the environment. Unknown flags throw. */
export function parseSettings(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Settings {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (m === null) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    flags.set(m[1] as string, m[2] ?? "true");
  }
  const known = [
    "smoke",
    "quick",
    "estimate",
    "quiet-wait",
    "echo-window",
    "udp-window",
    "load-client",
    "reps",
    "http-reps",
    "duration",
    "warmup",
    "autocannon-reps",
    "memory-connections",
    "only",
    "out",
    "cpu-prof",
    "verbose",
    "runtime",
  ];
  for (const key of flags.keys()) if (!known.includes(key)) throw new Error(`unknown flag --${key}; known: ${known.map((k) => `--${k}`).join(" ")}`);
  const smoke = flags.get("smoke") === "true";
  const quick = !smoke && flags.get("quick") === "true";
  const pick = (flag: string, envName: string) => flags.get(flag) ?? env[envName];
  const only = (pick("only", "BENCH_ONLY") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const loadClient = pick("load-client", "BENCH_LOAD_CLIENT") ?? "native";
  if (loadClient !== "native" && loadClient !== "node") throw new Error(`--load-client must be native or node; got ${JSON.stringify(loadClient)}`);
  const runtime = pick("runtime", "BENCH_RUNTIME") ?? "node";
  if (runtime !== "node" && runtime !== "bun" && runtime !== "deno") throw new Error(`--runtime must be node, bun or deno; got ${JSON.stringify(runtime)}`);
  if (runtime !== "node" && flags.has("cpu-prof")) throw new Error("--cpu-prof needs --runtime=node");
  const outDir = flags.get("out") ?? (runtime !== "node" ? `${BENCH_DIR}results/tmp/runtime-${runtime}` : smoke ? `${BENCH_DIR}results/tmp` : `${BENCH_DIR}results`);
  if (smoke) {
    return {
      smoke,
      quick: false,
      estimate: flags.get("estimate") === "true",
      reps: 1,
      httpReps: 1,
      durationMs: 100,
      warmupMs: 30,
      caseWarmupMs: 0,
      quietWaitMs: positiveInt("quiet-wait", pick("quiet-wait", "BENCH_QUIET_WAIT_MS"), 0, 0),
      echoWindow: positiveInt("echo-window", pick("echo-window", "BENCH_ECHO_WINDOW"), 1),
      udpWindow: positiveInt("udp-window", pick("udp-window", "BENCH_UDP_WINDOW"), 16),
      loadClient,
      autocannonReps: 1,
      autocannonDurationMs: 300,
      memoryConnections: 200,
      memoryReps: 1,
      shutdownConnections: 50,
      shutdownReps: 1,
      only,
      outDir,
      cpuProf: flags.get("cpu-prof"),
      verbose: flags.get("verbose") === "true",
      runtime,
    };
  }
  return {
    smoke,
    quick,
    estimate: flags.get("estimate") === "true",
    reps: positiveInt("reps", pick("reps", "BENCH_REPS"), 8),
    httpReps: positiveInt("http-reps", pick("http-reps", "BENCH_HTTP_REPS"), 15),
    durationMs: positiveInt("duration", pick("duration", "BENCH_DURATION_MS"), quick ? 700 : 1000, 50),
    warmupMs: positiveInt("warmup", pick("warmup", "BENCH_WARMUP_MS"), quick ? 200 : 250, 0),
    caseWarmupMs: quick ? 300 : 500,
    quietWaitMs: positiveInt("quiet-wait", pick("quiet-wait", "BENCH_QUIET_WAIT_MS"), 120_000, 0),
    echoWindow: positiveInt("echo-window", pick("echo-window", "BENCH_ECHO_WINDOW"), 1),
    udpWindow: positiveInt("udp-window", pick("udp-window", "BENCH_UDP_WINDOW"), 16),
    loadClient,
    autocannonReps: positiveInt("autocannon-reps", pick("autocannon-reps", "BENCH_AUTOCANNON_REPS"), quick ? 0 : 3, 0),
    autocannonDurationMs: 1000,
    memoryConnections: positiveInt("memory-connections", pick("memory-connections", "BENCH_MEMORY_CONNECTIONS"), 10_000),
    memoryReps: quick ? 3 : 4,
    shutdownConnections: 1000,
    shutdownReps: quick ? 3 : 4,
    only,
    outDir,
    cpuProf: flags.get("cpu-prof"),
    verbose: flags.get("verbose") === "true",
    runtime,
  };
}

/** The bench package directory (with a trailing slash). */
export const benchDir: string = BENCH_DIR;
