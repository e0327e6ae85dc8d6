/** The throughput cases of the suite: stream echo (TCP, Unix), UDP echo, Unix HTTP. */
import * as os from "node:os";
import * as path from "node:path";
import type { AutocannonResult } from "../clients/autocannon.ts";
import type { ConnRateResult } from "../clients/conn-rate.ts";
import type { EchoResult } from "../clients/echo.ts";
import type { FramingResult } from "../clients/framing.ts";
import type { HttpResult } from "../clients/http.ts";
import type { UdpResult } from "../clients/udp.ts";
import type { H2cResult, WsEchoResult } from "../clients/upgrade.ts";
import type { ChildHandle } from "../rpc.ts";
import { TEXT, user } from "../servers/http.ts";
import type { Target } from "../servers/types.ts";
import type { Settings } from "../settings.ts";
import type { Group, ThroughputCase } from "./throughput.ts";

/** The names of the load clients, as the results report them. */
export const CLIENTS = {
  echo: "tako-bench echo client (raw net, onread, 1 message in flight per connection)",
  echoNative: "tako-bench native echo client (C, bench/native/echo-client.c: epoll, 1 message in flight per connection)",
  connRate: "tako-bench connection-rate client (raw net: connect, one echo exchange, close; the case names the size and how many at once)",
  connRateNative: "tako-bench native connection-rate client (C, bench/native/conn-rate-client.c: epoll, non-blocking connect, one echo exchange, close)",
  udp: "tako-bench UDP client (connected dgram sockets, bounded window)",
  udpNative: "tako-bench native UDP client (C, bench/native/udp-echo-client.c: connected sockets, recvmmsg/sendmmsg, bounded window)",
  http: "tako-bench HTTP client (raw net keep-alive HTTP/1.1, pre-built requests, Content-Length framing, 1 in flight per connection)",
  autocannon: "autocannon 9 (in-process, 1 in flight per connection)",
  framing:
    "tako-bench framing client (raw net, blocks of 4096 frames of 64 B closed by a marker the server answers with its count, 2 blocks in flight per connection, every count checked)",
  h2c: "tako-bench h2c client (node:http2 sessions over the Unix socket, closed loop of concurrent streams per session)",
  ws: "tako-bench WebSocket client (ws 8 over ws+unix:, 1 message in flight per connection)",
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
    cases: [
      echoCase(family, 64, 16, s.reps, s.echoWindow, binary),
      echoCase(family, 64, 256, s.reps, s.echoWindow, binary),
      echoCase(family, 16_384, 16, s.reps, s.echoWindow, binary),
    ],
    ...(family === "unix" ? { path: (impl: string) => socketPath(`echo-${impl}`) } : {}),
  }));
}

/** Options of a connection-rate case. */
interface ConnRateOptions {
  /** Connections at once (default 16). */
  readonly concurrency?: number;
  /** Bytes echoed per connection (default 1). */
  readonly size?: number;
  /** The native load client (TCP cases), if built. */
  readonly binary?: string | undefined;
}

/**
 * A connection-rate case: connections per second (connect, one echo exchange, close),
 * `concurrency` at once, with the shared connection-rate client. Fails when a connection fails.
 */
export function connRateCase(id: string, name: string, reps: number, goals: ThroughputCase["goals"], options: ConnRateOptions = {}): ThroughputCase {
  const { concurrency = 16, size = 1, binary } = options;
  return {
    id,
    name,
    unit: "conn/s",
    source: binary === undefined ? CLIENTS.connRate : CLIENTS.connRateNative,
    reps,
    blocks: 3,
    goals,
    async measure(client, target, warmupMs, durationMs) {
      const r = await client.call<ConnRateResult>("connRate", { target, concurrency, size, warmupMs, durationMs, binary });
      if (r.errors > 0) throw new Error(`${r.errors} failed connections (first: ${r.firstError})`);
      return { figure: r.connectionsPerSec, detail: { clientCpu: r.clientCpu } };
    },
  };
}

/**
 * The TCP connection-rate groups: ours vs plain `net` (`conn-rate-tcp`), and ours requiring a
 * PROXY v2 header on each connection vs ours without PROXY (`conn-rate-tcp-proxy-v2`), where
 * the client sends a pre-built 28-byte header in the same write as the request.
 */
export function connRateGroups(s: Settings, binary: string | undefined): Group[] {
  const options = { concurrency: 32, size: 64, binary };
  return [
    {
      family: "tcp-echo",
      impls: ["tako", "node"],
      cases: [connRateCase("conn-rate-tcp", "TCP connection rate: connect, 64 B exchange, close x 32 in flight", s.reps, { node: { min: 0.95 } }, options)],
    },
    {
      family: "tcp-echo",
      impls: ["tako-proxy", "tako"],
      cases: [
        connRateCase(
          "conn-rate-tcp-proxy-v2",
          "TCP connection rate: connect, 64 B exchange, close x 32 in flight, PROXY v2 header on each (proxyProtocol: true)",
          s.reps,
          // Ours with the header vs ours without: the header's cost alone.
          { tako: { min: 0.95 } },
          options,
        ),
      ],
    },
  ];
}

/**
 * Unix connections per second (connect, one 64 B exchange, close, 32 in flight, as
 * `conn-rate-tcp`; the Node client, the native one is TCP only): ours (`serveUnix` as a
 * user gets it, peer credentials `"auto"`, i.e. read at every accept where a backend exists)
 * against plain `net` on a path. Per connection, the listener's whole accept-to-close path runs:
 * the record, drain unit and listeners, the peer read, the handler call, the close bookkeeping.
 */
export function connRateUnixGroup(s: Settings): Group {
  return {
    family: "unix-echo",
    impls: ["tako", "node"],
    cases: [connRateCase("conn-rate-unix", "Unix connection rate: connect, 64 B exchange, close x 32 in flight", s.reps, { node: { min: 0.95 } }, { concurrency: 32, size: 64 })],
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
    cases: [
      connRateCase("conn-rate-unix-credentials", "Unix connections/s with peer credentials read at accept (connect, 1-byte echo, close) x 16", s.reps, { tako: { min: 0.9 } }),
    ],
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
    // Under Bun, @hono/node-server answers chunked, which the raw client (Content-Length framing)
    // cannot read: Hono is left out there (the runtime figures are informative anyway).
    impls: s.runtime === "bun" ? ["tako", "node", "fastify"] : ["tako", "node", "fastify", "hono"],
    cases,
    path: (impl: string) => socketPath(`http-${impl}`),
  };
}

function framingCase(kind: "lines" | "length-prefixed", reps: number, goals: ThroughputCase["goals"]): ThroughputCase {
  return {
    id: `framing-${kind}`,
    name: kind === "lines" ? "lines() from a TCP socket, 64 B lines x 4 conns" : "lengthPrefixed() (varint) from a TCP socket, 64 B frames x 4 conns",
    unit: kind === "lines" ? "lines/s" : "frames/s",
    source: CLIENTS.framing,
    reps,
    blocks: 3,
    goals,
    async measure(client, target, warmupMs, durationMs) {
      const r = await client.call<FramingResult>("framing", { target, kind, connections: 4, window: 2, blockFrames: 4096, warmupMs, durationMs });
      return { figure: r.framesPerSec, detail: { clientCpu: r.clientCpu } };
    },
  };
}

/**
 * The framing groups: one plain `net` listener for every implementation, each connection parsed
 * by ours or a baseline (`for await` over it): `lines()` vs `readline` and `split2`,
 * `lengthPrefixed()` vs `it-length-prefixed`.
 */
export function framingGroups(s: Settings): Group[] {
  return [
    { family: "framing-lines", impls: ["tako", "readline", "split2"], cases: [framingCase("lines", s.reps, { readline: { min: 1.5 }, split2: { min: 1.0 } })] },
    { family: "framing-length-prefixed", impls: ["tako", "it-length-prefixed"], cases: [framingCase("length-prefixed", s.reps, { "it-length-prefixed": { min: 1.0 } })] },
  ];
}

/** h2c: `GET /` over HTTP/2 with prior knowledge, ours vs plain `node:http2` on the same kind of socket. */
export function h2cGroup(s: Settings): Group {
  const sessions = 4;
  const streams = 16;
  return {
    family: "h2c",
    impls: ["tako", "node"],
    path: (impl: string) => socketPath(`h2c-${impl}`),
    cases: [
      {
        id: "h2c-text",
        name: `Unix h2c GET / (text), ${sessions} sessions x ${streams} streams`,
        unit: "req/s",
        source: CLIENTS.h2c,
        reps: s.httpReps,
        blocks: 3,
        goals: { node: { min: 0.95 } },
        async measure(client, target, warmupMs, durationMs) {
          const r = await client.call<H2cResult>("h2c", { path: (target as { path: string }).path, url: "/", sessions, streams, warmupMs, durationMs });
          if (r.errors > 0) throw new Error(`${r.errors} failed h2c responses`);
          return { figure: r.requestsPerSec, detail: { clientCpu: r.clientCpu } };
        },
      },
    ],
  };
}

/** WebSocket echo messages/s: ours (`router.ws`) vs a plain `ws` server on `node:http`, both on a Unix socket. */
export function wsGroup(s: Settings): Group {
  const connections = 16;
  return {
    family: "ws",
    impls: ["tako", "ws"],
    path: (impl: string) => socketPath(`ws-${impl}`),
    cases: [
      {
        id: "ws-echo",
        name: `Unix WebSocket echo 64 B x ${connections} conns`,
        unit: "msg/s",
        source: CLIENTS.ws,
        reps: s.reps,
        blocks: 3,
        goals: { ws: { min: 0.95 } },
        async measure(client, target, warmupMs, durationMs) {
          const r = await client.call<WsEchoResult>("wsEcho", { path: (target as { path: string }).path, url: "/echo", connections, size: 64, warmupMs, durationMs });
          return { figure: r.messagesPerSec, detail: { clientCpu: r.clientCpu } };
        },
      },
    ],
  };
}
