/**
 * HTTP servers on a Unix socket, all answering the same two routes with the same bodies:
 * `GET /` -> `Hello, World!` (text/plain) and `GET /users/{id}` -> `{"id":"<id>","name":"user <id>"}`.
 * Ours is `@tako/unix-http`; the baselines are plain `node:http` with a hand-written switch,
 * Fastify (with a response schema, its fast JSON path) and Hono on `@hono/node-server`.
 */
import * as http from "node:http";
import type { RunningServer, ServerSpec } from "./types.ts";

/** The body of `GET /`. */
export const TEXT = "Hello, World!";

/** The body of `GET /users/{id}`. */
export function user(id: string): { id: string; name: string } {
  return { id, name: `user ${id}` };
}

function listenHttp(server: http.Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
}

function closeHttp(server: http.Server): Promise<void> {
  // Node >= 19: close() also closes idle keep-alive connections.
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

function countConnections(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Plain `node:http` with a hand-written switch. Its responses carry the same header bytes as
 * ours (`text/plain; charset=utf-8`, `application/json`), so neither side writes more.
 */
export async function startNodeHttp(spec: ServerSpec): Promise<RunningServer> {
  const textLength = String(Buffer.byteLength(TEXT));
  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    if (req.method === "GET" || req.method === "HEAD") {
      if (url === "/") {
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": textLength });
        res.end(TEXT);
        return;
      }
      if (url.startsWith("/users/") && url.indexOf("/", 7) === -1) {
        const raw = url.slice(7);
        const body = JSON.stringify(user(raw.includes("%") ? safeDecode(raw) : raw));
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
        return;
      }
    }
    res.writeHead(404, { "content-length": "0" });
    res.end();
  });
  await listenHttp(server, spec.path as string);
  return { target: { path: spec.path as string }, connections: () => countConnections(server), shutdown: () => closeHttp(server) };
}

/** Fastify 5, no logger, a response schema on the JSON route. */
export async function startFastify(spec: ServerSpec): Promise<RunningServer> {
  const { default: Fastify } = await import("fastify");
  const app = Fastify({ logger: false });
  app.get("/", (_req, reply) => {
    reply.type("text/plain; charset=utf-8").send(TEXT);
  });
  app.get<{ Params: { id: string } }>(
    "/users/:id",
    {
      schema: {
        response: { 200: { type: "object", properties: { id: { type: "string" }, name: { type: "string" } } } },
      },
    },
    (req, reply) => {
      reply.send(user(req.params.id));
    },
  );
  await app.listen({ path: spec.path as string });
  return { target: { path: spec.path as string }, connections: () => countConnections(app.server), shutdown: () => app.close() };
}

/** Hono 4 on `@hono/node-server`. */
export async function startHono(spec: ServerSpec): Promise<RunningServer> {
  const { Hono } = await import("hono");
  const { createAdaptorServer } = await import("@hono/node-server");
  const app = new Hono();
  app.get("/", (c) => c.text(TEXT));
  app.get("/users/:id", (c) => c.json(user(c.req.param("id"))));
  const server = createAdaptorServer({ fetch: app.fetch }) as http.Server;
  await listenHttp(server, spec.path as string);
  return { target: { path: spec.path as string }, connections: () => countConnections(server), shutdown: () => closeHttp(server) };
}

/** Ours: a Tako `Router` served by `serveUnixHttp`. */
export async function startTakoHttp(spec: ServerSpec): Promise<RunningServer> {
  const { Router, serveUnixHttp } = await import("@tako/unix-http");
  const router = new Router();
  router.get("/", () => TEXT);
  router.get("/users/{id}", (_req, ctx) => user(ctx.params.id as string));
  const server = await serveUnixHttp(spec.path as string, router);
  return {
    target: { path: spec.path as string },
    connections: async () => server.stats().active,
    shutdown: () => server.shutdown(),
  };
}
