/** The throughput cases of the suite: stream echo (TCP, Unix), UDP echo, Unix HTTP. */
import * as os from "node:os";
import * as path from "node:path";
import type { AutocannonResult } from "../clients/autocannon.ts";
import type { ConnRateResult } from "../clients/conn-rate.ts";
import type { EchoResult } from "../clients/echo.ts";
import type { HttpResult } from "../clients/http.ts";
import type { UdpResult } from "../clients/udp.ts";
import type { ChildHandle } from "../rpc.ts";
import { TEXT, user } from "../servers/http.ts";
import type { Target } from "../servers/types.ts";
import type { Settings } from "../settings.ts";
import type { Group, ThroughputCase } from "./throughput.ts";

/** The names of the load clients, as the results report them. */
export const CLIENTS = {
  echo: "tako-bench echo client (raw net, onread, 1 message in flight per connection)",
  connRate: "tako-bench connection-rate client (raw net: connect, 1-byte echo, close; 16 at once)",
  echoNative: "tako-bench native echo client (C, bench/native/echo-client.c: epoll, 1 message in flight per connection)",
  udp: "tako-bench UDP client (connected dgram sockets, bounded window)",
  udpNative: "tako-bench native UDP client (C, bench/native/udp-echo-client.c: connected sockets, recvmmsg/sendmmsg, bounded window)",
  http: "tako-bench HTTP client (raw net keep-alive HTTP/1.1, pre-built requests, Content-Length framing, 1 in flight per connection)",
  autocannon: "autocannon 9 (in-process, 1 in flight per connection)",
  server: "server-side clock (performance.now around shutdown(); process.memoryUsage after gc)",
} as const;

/** A short random Unix socket path under the temp dir. */
export function socketPath(tag: string): string {
  return path.join(os.tmpdir(), `tb-${tag}-${Math.random().toString(36).slice(2, 8)}.sock`);
}

function echoCase(family: "tcp" | "unix", size: number, connections: number, reps: number, window: number, binary: string | undefined): ThroughputCase {
  const big = size >= 1024;
  const label = family === "tcp" ? "TCP" : "Unix";
  return {
    id: `${family}-echo-${big ? `${size / 1024}k` : size}-${connections}`,
    name: `${label} echo ${big ? `${size / 1024} KiB` : `${size} B`} x ${connections} conns${window > 1 ? ` (window ${window})` : ""}`,
    unit: big ? "MB/s" : "msg/s",
    source: binary === undefined ? CLIENTS.echo : CLIENTS.echoNative,
    reps,
    blocks: 3,
    goals: { node: { min: 0.97 } },
    async measure(client: ChildHandle, target: Target, warmupMs: number, durationMs: number) {
      const r = await client.call<EchoResult>("echo", { target, connections, size, window, warmupMs, durationMs, binary });
      return { figure: big ? r.mbPerSec : r.messagesPerSec, detail: { clientCpu: r.clientCpu } };
    },
  };
}

/** The TCP and Unix echo groups: ours vs plain `net`. `binary` is the native load client, if built. */
export function echoGroups(s: Settings, binary: string | undefined): Group[] {
  return (["tcp", "unix"] as const).map((family) => ({
    family: `${family}-echo` as const,
    impls: ["tako", "node"] as const,
    cases: [echoCase(family, 64, 16, s.reps, s.echoWindow, binary), echoCase(family, 64, 256, s.reps, s.echoWindow, binary), echoCase(family, 16_384, 16, s.reps, s.echoWindow, binary)],
    ...(family === "unix" ? { path: (impl: string) => socketPath(`echo-${impl}`) } : {}),
  }));
}

/**
 * A connection-rate case: connections per second (connect, 1-byte echo, close), `concurrency` at
 * once, with the shared connection-rate client. Fails when a connection fails.
 */
export function connRateCase(id: string, name: string, reps: number, goals: ThroughputCase["goals"], concurrency = 16): ThroughputCase {
  return {
    id,
    name,
    unit: "conn/s",
    source: CLIENTS.connRate,
    reps,
    blocks: 3,
    goals,
    async measure(client, target, warmupMs, durationMs) {
      const r = await client.call<ConnRateResult>("connRate", { target, concurrency, warmupMs, durationMs });
      if (r.errors > 0) throw new Error(`${r.errors} failed connections (first: ${r.firstError})`);
      return { figure: r.connectionsPerSec, detail: { clientCpu: r.clientCpu } };
    },
  };
}

/**
 * Unix connections per second (connect, 1-byte echo, close, 16 at once): ours (`serveUnix` as a
 * user gets it, peer credentials `"auto"`, i.e. read at every accept where a backend exists)
 * against plain `net` on a path. Per connection, the listener's whole accept-to-close path runs:
 * the record, drain unit and listeners, the peer read, the handler call, the close bookkeeping.
 */
export function connRateUnixGroup(s: Settings): Group {
  return {
    family: "unix-echo",
    impls: ["tako", "node"],
    cases: [connRateCase("conn-rate-unix", "Unix connections/s (connect, 1-byte echo, close) x 16", s.reps, { node: { min: 0.95 } })],
    path: (impl: string) => socketPath(`conn-${impl}`),
  };
}

/**
 * What reading peer credentials at accept costs: Unix connections per second with
 * `peerCredentials: "required"` (getsockopt(SO_PEERCRED) + getpeername through koffi on every
 * accept) against the same listener with `"off"`.
 */
export function credentialsGroup(s: Settings): Group {
  return {
    family: "unix-echo",
    impls: ["tako-credentials", "tako"],
    cases: [connRateCase("conn-rate-unix-credentials", "Unix connections/s with peer credentials read at accept (connect, 1-byte echo, close) x 16", s.reps, { tako: { min: 0.9 } })],
    path: (impl: string) => socketPath(`cred-${impl}`),
    spec: (impl: string) => (impl === "tako" ? { peerCredentials: "off" } : {}),
  };
}

function udpCase(size: number, reps: number, window: number, binary: string | undefined, send = false): ThroughputCase {
  return {
    id: `udp-echo-${size}${send ? "-send" : ""}`,
    name: `UDP echo ${size} B (window 4 x ${window}), ${send ? "handler replies with socket.send()" : "handler awaits socket.sendTo()"}`,
    unit: "datagrams/s",
    source: binary === undefined ? CLIENTS.udp : CLIENTS.udpNative,
    reps,
    blocks: 3,
    goals: { node: { min: 0.97 } },
    async measure(client, target, warmupMs, durationMs) {
      const r = await client.call<UdpResult>("udp", { target, size, sockets: 4, window, warmupMs, durationMs, binary });
      return { figure: r.datagramsPerSec, detail: { clientCpu: r.clientCpu, loss: r.loss } };
    },
  };
}

/**
 * The UDP echo groups, ours vs plain `dgram`: the seed's handler (`await socket.sendTo`), then the
 * fire-and-forget reply (`socket.send`), which is what the `dgram` baseline does. `binary` is the
 * native load client, when one could be built.
 */
export function udpGroups(s: Settings, binary: string | undefined): Group[] {
  return [
    { family: "udp-echo", impls: ["tako", "node"], cases: [udpCase(64, s.reps, s.udpWindow, binary), udpCase(1400, s.reps, s.udpWindow, binary)] },
    { family: "udp-echo", impls: ["tako-send", "node"], cases: [udpCase(64, s.reps, s.udpWindow, binary, true), udpCase(1400, s.reps, s.udpWindow, binary, true)] },
  ];
}

const HTTP_GOALS = { node: { min: 0.95 }, fastify: { min: 1.1 }, hono: { min: 1.1 } } as const;
const ROUTES = [
  { id: "text", url: "/", name: "GET / (text)", body: TEXT },
  { id: "json", url: "/users/42", name: "GET /users/{id} (JSON)", body: JSON.stringify(user("42")) },
] as const;

/** The Unix HTTP group: ours vs plain node:http switch, Fastify and Hono, with both clients. */
export function httpGroup(s: Settings): Group {
  const cases: ThroughputCase[] = [];
  for (const route of ROUTES) {
    const checked = new Set<string>();
    cases.push({
      id: `http-${route.id}`,
      name: `Unix HTTP ${route.name} x 50 conns`,
      unit: "req/s",
      source: CLIENTS.http,
      reps: s.httpReps,
      blocks: 3,
      goals: HTTP_GOALS,
      async measure(client, target, warmupMs, durationMs) {
        const r = await client.call<HttpResult>("http", { path: (target as { path: string }).path, url: route.url, connections: 50, warmupMs, durationMs });
        if (r.errors > 0) throw new Error(`${r.errors} failed responses on ${route.url}`);
        return { figure: r.requestsPerSec, detail: { clientCpu: r.clientCpu, p50Ms: r.p50Ms, p99Ms: r.p99Ms } };
      },
      async check(client, target, impl) {
        if (checked.has(impl)) return;
        const r = await client.call<{ head: string; body: string }>("fetchOnce", { path: (target as { path: string }).path, url: route.url });
        if (r.body !== route.body || !/^HTTP\/1\.1 200 /.test(r.head)) {
          throw new Error(`${impl} answered ${route.url} with ${JSON.stringify(r.head)} / ${JSON.stringify(r.body)}; expected ${JSON.stringify(route.body)}`);
        }
        checked.add(impl);
      },
      sideRows: [{ key: "p99Ms", id: `http-${route.id}-p99`, name: `Unix HTTP ${route.name} p99 latency`, unit: "ms", goals: { node: { max: 1.1 } } }],
    });
  }
  if (s.autocannonReps > 0) {
    for (const route of ROUTES) {
      cases.push({
        id: `http-${route.id}-autocannon`,
        name: `Unix HTTP ${route.name} x 50 conns, autocannon`,
        unit: "req/s",
        source: CLIENTS.autocannon,
        reps: s.autocannonReps,
        goals: {},
        async measure(client, target, _warmupMs, durationMs) {
          const r = await client.call<AutocannonResult>("autocannon", {
            path: (target as { path: string }).path,
            url: route.url,
            connections: 50,
            // The servers are warm from the case's warm-up; autocannon adds ~1 s per run anyway.
            warmupMs: 0,
            durationMs: Math.max(durationMs, s.autocannonDurationMs),
          });
          if (r.errors > 0) throw new Error(`autocannon: ${r.errors} failed responses on ${route.url}`);
          return { figure: r.requestsPerSec, detail: { clientCpu: r.clientCpu, p99Ms: r.p99Ms } };
        },
      });
    }
  }
  return {
    family: "http",
    impls: ["tako", "node", "fastify", "hono"],
    cases,
    path: (impl: string) => socketPath(`http-${impl}`),
  };
}
