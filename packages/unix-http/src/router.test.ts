import * as diagnosticsChannel from "node:diagnostics_channel";
import { Readable } from "node:stream";
import { CHANNELS, type Logger } from "@tako/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  DuplicateRouteError,
  Extensions,
  html,
  HttpError,
  InvalidResponseError,
  InvalidRouteError,
  json,
  redirect,
  Router,
  text,
  toResponse,
  UnixPeerAddr,
  type Middleware,
  MiddlewareError,
} from "@tako/unix-http";

const BASE = "http://localhost";

function get(router: Router, path: string, init?: RequestInit): Promise<Response> {
  return router.fetch(new Request(`${BASE}${path}`, init));
}

/** A logger that keeps what it is given. */
function memoryLogger(): Logger & { errors: Array<{ obj: object; msg: string | undefined }> } {
  const errors: Array<{ obj: object; msg: string | undefined }> = [];
  return { errors, error: (obj, msg) => errors.push({ obj, msg }), warn() {}, info() {}, debug() {} };
}

const subscriptions: Array<() => void> = [];
afterEach(() => {
  for (const stop of subscriptions.splice(0)) stop();
});

/** Collects messages published on a channel until the test ends. */
function collect(name: string): unknown[] {
  const seen: unknown[] = [];
  const onMessage = (message: unknown) => seen.push(message);
  diagnosticsChannel.subscribe(name, onMessage);
  subscriptions.push(() => diagnosticsChannel.unsubscribe(name, onMessage));
  return seen;
}

describe("handler results", () => {
  const router = new Router();
  router.get("/string", () => "hello from unix");
  router.get("/object", () => ({ a: 1, b: [true, null] }));
  router.get("/array", () => [1, "two"]);
  router.get("/null-proto", () => Object.assign(Object.create(null) as object, { x: 1 }));
  router.get("/to-json", () => new UnixPeerAddr("/tmp/client.sock"));
  router.get("/bytes", () => new Uint8Array([104, 105]));
  router.get("/array-buffer", () => new Uint8Array([1, 2, 3]).buffer);
  router.get("/stream", () => new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode("ab")), c.enqueue("cd"), c.close()) }));
  router.get("/iterable", async function* () {
    yield "one,";
    yield new TextEncoder().encode("two");
  });
  router.get("/node-readable", () => Readable.from(["x", "y"]));
  router.get("/null", () => null);
  router.get("/undefined", () => undefined);
  router.get("/response", () => new Response("made", { status: 201, headers: { "x-made": "yes" } }));
  router.get("/promise", async () => ({ later: true }));
  router.get("/promise-string", () => Promise.resolve("later"));

  it("a string is 200 text/plain; charset=utf-8", async () => {
    const res = await get(router, "/string");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await res.text()).toBe("hello from unix");
  });

  it.each([
    ["/object", { a: 1, b: [true, null] }],
    ["/array", [1, "two"]],
    ["/null-proto", { x: 1 }],
    ["/to-json", { path: "/tmp/client.sock", pid: null, uid: null, gid: null }],
    ["/promise", { later: true }],
  ])("%s is 200 JSON", async (path, body) => {
    const res = await get(router, path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual(body);
  });

  it.each([
    ["/bytes", "hi"],
    ["/array-buffer", "\u0001\u0002\u0003"],
    ["/stream", "abcd"],
    ["/iterable", "one,two"],
    ["/node-readable", "xy"],
  ])("%s is 200 application/octet-stream", async (path, body) => {
    const res = await get(router, path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(await res.text()).toBe(body);
  });

  it.each(["/null", "/undefined"])("%s is 204 without a body", async (path) => {
    const res = await get(router, path);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
  });

  it("a Response is sent as it is", async () => {
    const res = await get(router, "/response");
    expect(res.status).toBe(201);
    expect(res.headers.get("x-made")).toBe("yes");
    expect(await res.text()).toBe("made");
  });

  it("a promise of a string works", async () => {
    expect(await (await get(router, "/promise-string")).text()).toBe("later");
  });

  it("an unsupported result is a reported 500", async () => {
    const logger = memoryLogger();
    const r = new Router({ logger });
    r.get("/n", () => 42 as never);
    r.get("/class", () => new (class Thing {})() as never);
    for (const path of ["/n", "/class"]) {
      const res = await get(r, path);
      expect(res.status).toBe(500);
      expect(await res.text()).toBe("Internal Server Error");
    }
    expect(logger.errors).toHaveLength(2);
    expect((logger.errors[0]!.obj as { err: unknown }).err).toBeInstanceOf(InvalidResponseError);
    expect(String((logger.errors[1]!.obj as { err: Error }).err.message)).toContain("Thing");
  });
});

describe("helpers", () => {
  it("json() sets the type and status", async () => {
    const res = json({ ok: true }, { status: 201, headers: { "x-a": "1" } });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-a")).toBe("1");
    expect(await res.json()).toEqual({ ok: true });
  });

  it("json() keeps a content type given in init", () => {
    expect(json({}, { headers: { "content-type": "application/problem+json" } }).headers.get("content-type")).toBe("application/problem+json");
  });

  it("json() refuses what JSON cannot hold", () => {
    expect(() => json(undefined)).toThrow(InvalidResponseError);
  });

  it("text() and html()", async () => {
    const t = text("short and stout", { status: 418 });
    expect(t.status).toBe(418);
    expect(t.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await t.text()).toBe("short and stout");
    const h = html("<h1>hi</h1>");
    expect(h.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await h.text()).toBe("<h1>hi</h1>");
  });

  it("redirect()", () => {
    const res = redirect("/new", 308);
    expect(res.status).toBe(308);
    expect(res.headers.get("location")).toBe("/new");
    expect(redirect("/x").status).toBe(302);
  });

  it("toResponse() with a status", async () => {
    const res = toResponse({ error: "nope" }, 422);
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ error: "nope" });
    expect(() => toResponse(Symbol("x"))).toThrow(InvalidResponseError);
  });
});

describe("routing", () => {
  it("matches {name} and :name parameters, percent-decoded", async () => {
    const router = new Router();
    router.get("/users/{id}/posts/:post", (_req, ctx) => ctx.params);
    const res = await get(router, "/users/ada%20lovelace/posts/caf%C3%A9");
    expect(await res.json()).toEqual({ id: "ada lovelace", post: "café" });
  });

  it("a malformed escape in a parameter is a 400, not a crash", async () => {
    const router = new Router();
    router.get("/users/{id}", (_req, ctx) => ctx.params.id);
    const res = await get(router, "/users/%E0%A4%A");
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("percent-encoding");
  });

  it("{*rest} takes the rest of the path, slashes included, and needs at least one character", async () => {
    const router = new Router();
    router.get("/files/{*rest}", (_req, ctx) => `rest=${ctx.params.rest}`);
    expect(await (await get(router, "/files/a/b/c.txt")).text()).toBe("rest=a/b/c.txt");
    expect(await (await get(router, "/files/a//b")).text()).toBe("rest=a//b");
    expect(await (await get(router, "/files/a%2Fb")).text()).toBe("rest=a/b");
    expect((await get(router, "/files")).status).toBe(404);
    expect((await get(router, "/files/")).status).toBe(404);
  });

  it("an empty {*rest} falls through to the next route that fits", async () => {
    const router = new Router();
    router.get("/{*all}", (_req, ctx) => `all=${ctx.params.all}`);
    router.get("/files/{*rest}", (_req, ctx) => `rest=${ctx.params.rest}`);
    expect(await (await get(router, "/files/x")).text()).toBe("rest=x");
    expect(await (await get(router, "/files/")).text()).toBe("all=files");
    expect((await get(router, "/")).status).toBe(404);
  });

  it("a static segment wins over a parameter", async () => {
    const router = new Router();
    router.get("/users/{id}", (_req, ctx) => `user ${ctx.params.id}`);
    router.get("/users/me", () => "me");
    expect(await (await get(router, "/users/me")).text()).toBe("me");
    expect(await (await get(router, "/users/7")).text()).toBe("user 7");
  });

  it("one trailing slash is ignored", async () => {
    const router = new Router();
    router.get("/users/{id}", (_req, ctx) => ctx.params.id);
    expect(await (await get(router, "/users/7/")).text()).toBe("7");
    expect((await get(router, "/users/7//")).status).toBe(404);
  });

  it("the query string is not part of the path", async () => {
    const router = new Router();
    router.get("/search", (req) => new URL(req.url).searchParams.get("q") ?? "");
    expect(await (await get(router, "/search?q=tako")).text()).toBe("tako");
  });

  it("every method helper registers its method", async () => {
    const router = new Router();
    router.get("/m", () => "GET");
    router.post("/m", () => "POST");
    router.put("/m", () => "PUT");
    router.patch("/m", () => "PATCH");
    router.delete("/m", () => "DELETE");
    router.options("/m", () => "OPTIONS");
    router.route("propfind", "/m", () => "PROPFIND");
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"]) {
      expect(await (await get(router, "/m", { method })).text()).toBe(method);
    }
  });

  it("all() answers every method; a method-specific route on the same path wins", async () => {
    const router = new Router();
    router.all("/any", (req) => `any ${req.method}`);
    router.get("/any", () => "get");
    expect(await (await get(router, "/any", { method: "DELETE" })).text()).toBe("any DELETE");
    expect(await (await get(router, "/any", { method: "POST" })).text()).toBe("any POST");
    expect(await (await get(router, "/any")).text()).toBe("get");
  });

  it("an unknown path is a 404", async () => {
    const router = new Router();
    router.get("/", () => "root");
    const res = await get(router, "/nope");
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("Not Found");
  });

  it("a known path with another method is a 405 with Allow", async () => {
    const router = new Router();
    router.get("/thing", () => "get");
    router.put("/thing", () => "put");
    router.delete("/things/{id}", () => null);
    const res = await get(router, "/thing", { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, OPTIONS, PUT");
    const other = await get(router, "/things/1", { method: "GET" });
    expect(other.status).toBe(405);
    expect(other.headers.get("allow")).toBe("DELETE, OPTIONS");
  });

  it("HEAD is answered by GET without a body, with the length GET would send", async () => {
    let ran = 0;
    const router = new Router();
    router.get("/", () => {
      ran++;
      return "hello from unix";
    });
    const res = await get(router, "/", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("15");
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await res.text()).toBe("");
    expect(ran).toBe(1);
  });

  it("an explicit HEAD route wins over GET", async () => {
    const router = new Router();
    router.get("/", () => "get");
    router.head("/", () => new Response(null, { headers: { "x-head": "1" } }));
    const res = await get(router, "/", { method: "HEAD" });
    expect(res.headers.get("x-head")).toBe("1");
  });

  it("OPTIONS answers 204 with Allow unless routed", async () => {
    const router = new Router();
    router.get("/a", () => "a");
    router.post("/a", () => "a");
    router.get("/b", () => "b");
    router.options("/b", () => new Response(null, { status: 200, headers: { "x-custom": "1" } }));
    const auto = await get(router, "/a", { method: "OPTIONS" });
    expect(auto.status).toBe(204);
    expect(auto.headers.get("allow")).toBe("GET, HEAD, OPTIONS, POST");
    const routed = await get(router, "/b", { method: "OPTIONS" });
    expect(routed.status).toBe(200);
    expect(routed.headers.get("x-custom")).toBe("1");
    expect((await get(router, "/none", { method: "OPTIONS" })).status).toBe(404);
  });

  it("a fallback answers unknown paths (a known path with another method is still 405)", async () => {
    const router = new Router();
    router.get("/known", () => "known");
    router.fallback((req) => new Response(`no ${new URL(req.url).pathname}`, { status: 404, headers: { "x-fallback": "1" } }));
    const res = await get(router, "/unknown");
    expect(res.headers.get("x-fallback")).toBe("1");
    expect(await res.text()).toBe("no /unknown");
    expect((await get(router, "/known", { method: "POST" })).status).toBe(405);
  });
});

describe("registration", () => {
  it("the same method and path twice is an error", () => {
    const router = new Router();
    router.get("/users/{id}", () => "a");
    expect(() => router.get("/users/{id}", () => "b")).toThrow(DuplicateRouteError);
    expect(() => router.get("/users/:name", () => "b")).toThrow(DuplicateRouteError);
    expect(() => router.get("/users/{other}/", () => "b")).toThrow(/already registered/);
    const all = new Router();
    all.all("/x", () => "a");
    expect(() => all.all("/x", () => "b")).toThrow(DuplicateRouteError);
  });

  it("the same path with another method, or a different path, is fine", () => {
    const router = new Router();
    router.get("/users/{id}", () => "a");
    router.post("/users/{id}", () => "b");
    router.all("/users/{id}", () => "c");
    router.get("/users/{id}.json", () => "d");
    router.get("/users/me", () => "e");
    expect(router).toBeInstanceOf(Router);
  });

  it("bad methods, paths and handlers are refused", () => {
    const router = new Router();
    expect(() => router.route("GE T", "/", () => "x")).toThrow(InvalidRouteError);
    expect(() => router.route("", "/", () => "x")).toThrow(InvalidRouteError);
    expect(() => router.get("no-slash", () => "x")).toThrow(InvalidRouteError);
    expect(() => router.get("/", "nope" as never)).toThrow(InvalidRouteError);
    expect(() => router.use("nope" as never)).toThrow(expect.objectContaining({ name: "InvalidConfigError", field: "middleware" }));
    expect(() => router.route("GET", "/x", () => "x").use("nope" as never)).toThrow(expect.objectContaining({ name: "InvalidConfigError", field: "middleware" }));
    expect(() => router.fallback("nope" as never)).toThrow(expect.objectContaining({ name: "InvalidConfigError", field: "fallback" }));
    expect(() => router.onError("nope" as never)).toThrow(expect.objectContaining({ name: "InvalidConfigError", field: "onError" }));
  });

  it("the route keeps its method and path", () => {
    const route = new Router().patch("/p/{id}", () => "x");
    expect(route.method).toBe("PATCH");
    expect(route.path).toBe("/p/{id}");
  });
});

describe("context", () => {
  it("ctx.extensions.get(UnixPeerAddr) is ctx.peer", async () => {
    const router = new Router();
    router.get("/peer", (_req, ctx) => ({ same: ctx.extensions.get(UnixPeerAddr) === ctx.peer, peer: ctx.peer }));
    const unnamed = await (await get(router, "/peer")).json();
    expect(unnamed).toEqual({ same: true, peer: { path: null, pid: null, uid: null, gid: null } });
    const peer = new UnixPeerAddr("/run/client.sock");
    const named = await (await router.fetch(new Request(`${BASE}/peer`), { peer })).json();
    expect(named).toEqual({ same: true, peer: { path: "/run/client.sock", pid: null, uid: null, gid: null } });
  });

  it("middleware can put values in extensions for the handler", async () => {
    class User {
      readonly name: string;
      constructor(name: string) {
        this.name = name;
      }
    }
    const router = new Router();
    router.use((_req, ctx, next) => {
      ctx.extensions.set(User, new User("ada"));
      return next();
    });
    router.get("/me", (_req, ctx) => ctx.extensions.get(User)?.name ?? "nobody");
    expect(await (await get(router, "/me")).text()).toBe("ada");
  });

  it("ctx.signal is the request's signal, or the one given", async () => {
    const router = new Router();
    let seen: AbortSignal | undefined;
    router.get("/", (_req, ctx) => {
      seen = ctx.signal;
      return "ok";
    });
    const controller = new AbortController();
    await router.fetch(new Request(`${BASE}/`), { signal: controller.signal });
    expect(seen).toBe(controller.signal);
    const request = new Request(`${BASE}/`);
    await router.fetch(request);
    expect(seen).toBe(request.signal);
  });

  it("the handler gets the Request itself", async () => {
    const router = new Router();
    router.post("/echo", async (req) => ({ method: req.method, body: await req.text(), h: req.headers.get("x-h") }));
    const res = await get(router, "/echo", { method: "POST", body: "payload", headers: { "x-h": "v" } });
    expect(await res.json()).toEqual({ method: "POST", body: "payload", h: "v" });
  });
});

describe("Extensions", () => {
  it("is a map keyed by class", () => {
    class A {}
    class B {}
    const a = new A();
    const ext = new Extensions([[A, a]]);
    expect(ext.get(A)).toBe(a);
    expect(ext.get(B)).toBeUndefined();
    expect(ext.has(A)).toBe(true);
    ext.set(B, new B());
    expect(ext.size).toBe(2);
    expect(ext.delete(A)).toBe(true);
    expect(ext.has(A)).toBe(false);
  });
});

describe("middleware", () => {
  it("runs global then route middleware in registration order, wrapping the handler", async () => {
    const order: string[] = [];
    const mark =
      (name: string): Middleware =>
      async (_req, _ctx, next) => {
        order.push(`${name}>`);
        const res = await next();
        order.push(`<${name}`);
        return res;
      };
    const router = new Router();
    router.use(mark("g1"));
    router
      .get("/", () => {
        order.push("handler");
        return "ok";
      })
      .use(mark("r1"), mark("r2"));
    router.use(mark("g2")); // registered after the route: still global, still before route middleware
    expect(await (await get(router, "/")).text()).toBe("ok");
    expect(order).toEqual(["g1>", "g2>", "r1>", "r2>", "handler", "<r2", "<r1", "<g2", "<g1"]);
  });

  it("can short-circuit", async () => {
    let ran = false;
    const router = new Router();
    router.use((req, _ctx, next) => (req.headers.get("x-token") === "s3cret" ? next() : new Response("no", { status: 401 })));
    router.get("/", () => {
      ran = true;
      return "secret";
    });
    const denied = await get(router, "/");
    expect(denied.status).toBe(401);
    expect(ran).toBe(false);
    expect(await (await get(router, "/", { headers: { "x-token": "s3cret" } })).text()).toBe("secret");
  });

  it("can change the response, and next() gives a Response for any result", async () => {
    const router = new Router();
    router
      .get("/", () => ({ n: 1 }))
      .use(async (_req, _ctx, next) => {
        const res = await next();
        expect(res).toBeInstanceOf(Response);
        res.headers.set("x-wrapped", "yes");
        return res;
      });
    const res = await get(router, "/");
    expect(res.headers.get("x-wrapped")).toBe("yes");
    expect(await res.json()).toEqual({ n: 1 });
  });

  it("can return any handler result", async () => {
    const router = new Router();
    router.get("/", () => "never").use(() => ({ replaced: true }));
    expect(await (await get(router, "/")).json()).toEqual({ replaced: true });
  });

  it("route middleware runs only for its route; global middleware also for 404 and 405", async () => {
    const seen: string[] = [];
    const router = new Router();
    router.use(async (req, _ctx, next) => {
      const res = await next();
      seen.push(`${new URL(req.url).pathname} ${res.status}`);
      return res;
    });
    router.get("/a", () => "a").use((_req, _ctx, next) => (seen.push("a-only"), next()));
    router.get("/b", () => "b");
    await get(router, "/b");
    await get(router, "/missing");
    await get(router, "/a", { method: "POST" });
    expect(seen).toEqual(["/b 200", "/missing 404", "/a 405"]);
  });

  it("sees the handler's errors, and can turn them into responses", async () => {
    const router = new Router();
    router.use(async (_req, _ctx, next) => {
      try {
        return await next();
      } catch (error) {
        return new Response(`caught ${(error as Error).message}`, { status: 502 });
      }
    });
    router.get("/", () => {
      throw new Error("upstream down");
    });
    const res = await get(router, "/");
    expect(res.status).toBe(502);
    expect(await res.text()).toBe("caught upstream down");
  });

  it("calling next() twice is an error: a MiddlewareError, reported, answered with 500", async () => {
    const logger = memoryLogger();
    const router = new Router({ logger });
    router
      .get("/", () => "x")
      .use(async (_req, _ctx, next) => {
        await next();
        return next();
      });
    expect((await get(router, "/")).status).toBe(500);
    const err = (logger.errors[0]?.obj as { err?: unknown } | undefined)?.err;
    expect(err).toBeInstanceOf(MiddlewareError);
    expect(err).toMatchObject({ code: "ERR_TAKO_NEXT_CALLED_TWICE" });
  });
});

describe("errors", () => {
  it("a thrown error is a 500 with no message or stack in the body, reported to the logger and diagnostics_channel", async () => {
    const logger = memoryLogger();
    const published = collect(CHANNELS.handlerError);
    const router = new Router({ logger });
    const boom = new Error("database password is hunter2");
    router.get("/boom", () => {
      throw boom;
    });
    router.get("/reject", async () => {
      throw boom;
    });
    for (const path of ["/boom", "/reject"]) {
      const res = await get(router, path);
      expect(res.status).toBe(500);
      const body = await res.text();
      expect(body).toBe("Internal Server Error");
      expect(body).not.toContain("hunter2");
      expect(body).not.toContain("at ");
    }
    expect(logger.errors.map((e) => (e.obj as { err: unknown }).err)).toEqual([boom, boom]);
    expect(published).toHaveLength(2);
    expect(published[0]).toMatchObject({ kind: "unix-http", error: boom, peer: { path: null } });
  });

  it("without a logger, a failure goes to stderr once", async () => {
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      const router = new Router();
      router.get("/", () => {
        throw new Error("to stderr");
      });
      expect((await get(router, "/")).status).toBe(500);
    } finally {
      process.stderr.write = original;
    }
    expect(writes.filter((w) => w.includes("to stderr"))).toHaveLength(1);
  });

  it("a thrown HttpError answers with its status and (below 500) its message, unreported", async () => {
    const logger = memoryLogger();
    const router = new Router({ logger });
    router.get("/401", () => {
      throw new HttpError(401, "log in first", { headers: { "www-authenticate": "Bearer" } });
    });
    router.get("/503", () => {
      throw new HttpError(503, "secret detail");
    });
    const res = await get(router, "/401");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    expect(await res.text()).toBe("log in first");
    const hidden = await get(router, "/503");
    expect(hidden.status).toBe(503);
    expect(await hidden.text()).toBe("Service Unavailable");
    expect(logger.errors).toHaveLength(0);
  });

  it("an HttpError with headers Headers refuses still answers, without them", async () => {
    const router = new Router();
    router.get("/", () => {
      throw new HttpError(409, "conflict", { headers: { "bad header name": "x" } });
    });
    const res = await get(router, "/");
    expect(res.status).toBe(409);
    expect(await res.text()).toBe("conflict");
  });

  it("HttpError checks its status", () => {
    expect(() => new HttpError(200)).toThrow(expect.objectContaining({ name: "InvalidConfigError", code: "ERR_TAKO_INVALID_CONFIG", field: "status" }));
    expect(new HttpError(404).message).toBe("Not Found");
    expect(new HttpError(404).code).toBe("ERR_TAKO_HTTP");
  });

  it("the error hook shapes 404, 405 (Allow kept), 400 and 500", async () => {
    const logger = memoryLogger();
    const router = new Router({ logger });
    const boom = new Error("boom");
    router.get("/thing/{id}", () => {
      throw boom;
    });
    const causes: unknown[] = [];
    router.onError((error) => {
      causes.push(error.cause);
      return { status: error.status, error: error.expose ? error.message : "internal" };
    });
    const notFound = await get(router, "/nope");
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get("content-type")).toBe("application/json");
    expect(await notFound.json()).toEqual({ status: 404, error: "Not Found" });
    const notAllowed = await get(router, "/thing/1", { method: "POST" });
    expect(notAllowed.status).toBe(405);
    expect(notAllowed.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
    const bad = await get(router, "/thing/%zz");
    expect(bad.status).toBe(400);
    const failed = await get(router, "/thing/1");
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ status: 500, error: "internal" });
    expect(causes.at(-1)).toBe(boom);
    expect(logger.errors).toHaveLength(1);
  });

  it("an error hook may be async, return a Response, or return undefined for the default", async () => {
    const router = new Router();
    router.get("/teapot", () => {
      throw new HttpError(418);
    });
    router.onError(async (error) => (error.status === 418 ? new Response("custom", { status: 418 }) : undefined));
    expect(await (await get(router, "/teapot")).text()).toBe("custom");
    const res = await get(router, "/missing");
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("Not Found");
  });

  it("an error hook that throws falls back to the default, and is reported", async () => {
    const logger = memoryLogger();
    const router = new Router({ logger });
    router.onError(() => {
      throw new Error("hook broke");
    });
    const res = await get(router, "/missing");
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("Not Found");
    expect(logger.errors).toHaveLength(1);
  });
});
