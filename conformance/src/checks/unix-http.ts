// @tako/unix-http: routes over a Unix socket (curl as the client), the built-in error answers,
// and the keep-alive drain (idle connections closed at once, in-flight answered with close).
import { join } from "node:path";
import { Router, serveUnixHttp } from "@tako/unix-http";
import { assert, assertEqual, within, type Check } from "../check.ts";
import { closedWithin, connectStream, curlUnix, rawHttpStatus } from "../clients.ts";

function router(): Router {
  const r = new Router();
  r.get("/", () => "hello from unix");
  r.get("/users/{id}", (_req, ctx) => ({ id: ctx.params.id }));
  r.post("/echo", async (req) => `got ${await req.text()}`);
  return r;
}

export const checks: Check[] = [
  {
    id: "unix-http.routes",
    title: "HTTP Router over a Unix socket: routes, params, bodies (curl)",
    async run({ dir, defer }) {
      const path = join(dir, "http.sock");
      const server = await serveUnixHttp(path, router());
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const root = await curlUnix(path, "http://localhost/");
      assertEqual([root.status, root.body], [200, "hello from unix"], "GET /");
      const user = await curlUnix(path, "http://localhost/users/7");
      assertEqual([user.status, user.body], [200, '{"id":"7"}'], "GET /users/7");
      assert(user.headers.includes("content-type: application/json"), "JSON content type");
      const posted = await curlUnix(path, "http://localhost/echo", ["--data-binary", "payload"]);
      assertEqual([posted.status, posted.body], [200, "got payload"], "POST /echo");
    },
  },
  {
    id: "unix-http.errors",
    title: "HTTP 404, 405 (Allow), 413 (maxBodySize), 431 (maxHeaderSize)",
    async run({ dir, defer }) {
      const path = join(dir, "errors.sock");
      const server = await serveUnixHttp(path, router(), { maxBodySize: 16, maxHeaderSize: 1024 });
      defer(() => server.shutdown({ drainTimeout: 0 }));
      assertEqual((await curlUnix(path, "http://localhost/nowhere")).status, 404, "unknown path");
      const wrongMethod = await curlUnix(path, "http://localhost/users/7", ["-X", "DELETE"]);
      assertEqual(wrongMethod.status, 405, "wrong method");
      assert(/\r?\nallow: [^\r\n]*get/.test(wrongMethod.headers), `405 carries Allow (${wrongMethod.headers})`);
      const big = await rawHttpStatus(path, `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 64\r\n\r\n${"x".repeat(64)}`);
      assertEqual(big, 413, "body over maxBodySize");
      const tall = await rawHttpStatus(path, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"y".repeat(4096)}\r\n\r\n`);
      assertEqual(tall, 431, "headers over maxHeaderSize");
    },
  },
  {
    id: "unix-http.keep-alive-drain",
    title: "HTTP drain: idle keep-alive closed at once, in-flight answered with Connection: close",
    async run({ dir, defer }) {
      const path = join(dir, "drain.sock");
      let release!: () => void;
      const slow = new Promise<void>((resolve) => (release = resolve));
      const r = router();
      r.get("/slow", async () => {
        await slow;
        return "done";
      });
      const server = await serveUnixHttp(path, r, { keepAliveTimeout: 20_000, drainTimeout: 10_000 });
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const idle = await connectStream({ path });
      defer(() => idle.socket.destroy());
      idle.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      await idle.waitFor("hello from unix");
      const busy = await connectStream({ path });
      defer(() => busy.socket.destroy());
      busy.socket.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
      await new Promise((resolve) => setTimeout(resolve, 100)); // the request is in the handler
      const started = Date.now();
      const shutdown = server.shutdown();
      assert(await closedWithin(idle, 2_000), "the idle keep-alive connection is closed at once (not after keepAliveTimeout)");
      let settled = false;
      void shutdown.then(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert(!settled, "shutdown waits for the in-flight request");
      release();
      await busy.waitFor("done");
      assert(/\r\nconnection: close\r\n/i.test(busy.received()), `the in-flight response carries Connection: close (${JSON.stringify(busy.received().split("\r\n\r\n")[0])})`);
      const report = await within(3_000, "shutdown after the last response", shutdown);
      assertEqual(report.forced, 0, "forced");
      assert(Date.now() - started < 5_000, `drained in ${Date.now() - started} ms, far under keepAliveTimeout`);
      assert(await closedWithin(busy, 2_000), "the in-flight connection is closed after its response");
    },
  },
];
