/**
 * The h2c and WebSocket bench servers on a Unix socket. h2c: `GET /` -> `Hello, World!` over
 * HTTP/2 with prior knowledge, ours (`serveUnixHttp` with `protocols: ["h2c"]`) vs plain
 * `node:http2` (`createServer`, the request handler API). WebSocket echo at `/echo`: ours
 * (`router.ws`) vs a plain `ws` server on `node:http`, both with per-message deflate off and a
 * 1 MiB `maxPayload`.
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import { TEXT } from "./http.ts";
import type { RunningServer, ServerSpec } from "./types.ts";

function listen(server: http.Server | http2.Http2Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
}

function count(server: http.Server | http2.Http2Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

/** Plain `node:http2` cleartext server (the same limits as ours: 100 concurrent streams). */
export async function startNodeH2c(spec: ServerSpec): Promise<RunningServer> {
  const textLength = String(Buffer.byteLength(TEXT));
  const sessions = new Set<http2.Http2Session>();
  const server = http2.createServer({ settings: { maxConcurrentStreams: 100 } }, (req, res) => {
    if (req.url === "/" && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": textLength });
      res.end(TEXT);
      return;
    }
    res.writeHead(404, { "content-length": "0" });
    res.end();
  });
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await listen(server, spec.path as string);
  return {
    target: { path: spec.path as string },
    connections: () => count(server),
    shutdown: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.close();
      }),
  };
}

/** Ours over h2c only. */
export async function startTakoH2c(spec: ServerSpec): Promise<RunningServer> {
  const { Router, serveUnixHttp } = await import("@tako/unix-http");
  const router = new Router();
  router.get("/", () => TEXT);
  const server = await serveUnixHttp(spec.path as string, router, { protocols: ["h2c"] });
  return { target: { path: spec.path as string }, connections: async () => server.stats().active, shutdown: () => server.shutdown() };
}

/** A plain `ws` echo server on `node:http`. */
export async function startPlainWs(spec: ServerSpec): Promise<RunningServer> {
  const { WebSocketServer } = await import("ws");
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { "content-length": "0" });
    res.end();
  });
  const wss = new WebSocketServer({ server, path: "/echo", perMessageDeflate: false, maxPayload: 1024 * 1024 });
  wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
  await listen(server, spec.path as string);
  return {
    target: { path: spec.path as string },
    connections: async () => wss.clients.size,
    shutdown: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

/** Ours: `router.ws` echo. */
export async function startTakoWs(spec: ServerSpec): Promise<RunningServer> {
  const { Router, serveUnixHttp } = await import("@tako/unix-http");
  const router = new Router();
  router.ws("/echo", (ws) => {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  const server = await serveUnixHttp(spec.path as string, router);
  return { target: { path: spec.path as string }, connections: async () => server.stats().active, shutdown: () => server.shutdown({ drainTimeout: 2_000 }) };
}
