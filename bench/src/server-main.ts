/**
 * A bench server child: `node src/server-main.ts '<ServerSpec JSON>'`. Starts one server, announces
 * `{ ready: { target } }` and answers the parent's commands (usage, memory, connections, shutdown).
 */
import { serveCommands } from "./rpc.ts";
import { startNodeEcho, startTakoEcho } from "./servers/echo.ts";
import { startFraming } from "./servers/framing.ts";
import { startFastify, startHono, startNodeHttp, startTakoHttp } from "./servers/http.ts";
import type { RunningServer, ServerSpec } from "./servers/types.ts";
import { startNodeH2c, startPlainWs, startTakoH2c, startTakoWs } from "./servers/upgrade.ts";
import { startNodeUdp, startTakoUdp } from "./servers/udp.ts";

/** What `usage` answers: CPU time and wall time since start, for utilisation over a window. */
export interface Usage {
  readonly cpuUs: number;
  readonly wallMs: number;
}

/** What `memory` answers (after a full GC when the child runs with --expose-gc). */
export interface Memory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly gc: boolean;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as ServerSpec;

async function start(s: ServerSpec): Promise<RunningServer> {
  switch (`${s.family}/${s.impl}`) {
    case "tcp-echo/node":
    case "unix-echo/node":
      return startNodeEcho(s);
    case "tcp-echo/tako":
    case "unix-echo/tako":
      return startTakoEcho(s);
    case "tcp-echo/tako-proxy":
      return startTakoEcho(s, { proxy: true });
    case "unix-echo/tako-credentials":
      // Credentials must really be read: "required" fails the case when the backend cannot load.
      return startTakoEcho({ ...s, peerCredentials: "required" });
    case "udp-echo/node":
      return startNodeUdp();
    case "udp-echo/tako":
      return startTakoUdp();
    case "udp-echo/tako-send":
      return startTakoUdp(true);
    case "http/node":
      return startNodeHttp(s);
    case "http/fastify":
      return startFastify(s);
    case "http/hono":
      return startHono(s);
    case "http/tako":
      return startTakoHttp(s);
    case "h2c/node":
      return startNodeH2c(s);
    case "h2c/tako":
      return startTakoH2c(s);
    case "ws/ws":
      return startPlainWs(s);
    case "ws/tako":
      return startTakoWs(s);
    default:
      if (s.family === "framing-lines" || s.family === "framing-length-prefixed") return startFraming(s);
      throw new Error(`no server for ${s.family}/${s.impl}`);
  }
}

const server = await start(spec);
const gc = (globalThis as { gc?: () => void }).gc;

serveCommands(
  {
    usage: (): Usage => {
      const cpu = process.cpuUsage();
      return { cpuUs: cpu.user + cpu.system, wallMs: performance.now() };
    },
    memory: async (): Promise<Memory> => {
      if (gc) {
        // Two full collections with a turn between them, so finalisers and weak callbacks run.
        gc();
        await new Promise((r) => setImmediate(r));
        gc();
      }
      const m = process.memoryUsage();
      return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, gc: gc !== undefined };
    },
    connections: () => server.connections(),
    shutdown: async () => {
      const startedAt = performance.timeOrigin + performance.now();
      const started = performance.now();
      const report = await server.shutdown();
      return { ms: performance.now() - started, startedAt, report: report ?? null };
    },
  },
  { target: server.target, pid: process.pid },
);
