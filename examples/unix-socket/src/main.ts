// unix-socket: an HTTP Router served over a Unix socket (the Tako unix-socket example).
//
//   node dist/main.js [path]      path defaults to <tmpdir>/tako-http.sock; "@name" is an abstract socket
//
//   curl --unix-socket /tmp/tako-http.sock http://localhost/       -> hello from unix
//   curl --unix-socket /tmp/tako-http.sock http://localhost/peer   -> {"path":null,"pid":4242,"uid":1000,"gid":1000}
//   curl --http2-prior-knowledge --unix-socket /tmp/tako-http.sock http://localhost/   (h2c, same socket)
//   websocat ws+unix:/tmp/tako-http.sock:/events                   -> {"tick":1} every second; echoes what you send
//
// Prints one line once listening; on SIGINT or SIGTERM it stops accepting, lets in-flight requests
// finish, closes open WebSockets with 1001, prints the drain report as one line of JSON, and exits 0
// (the socket file is removed).
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Router, serveUnixHttp, shutdownSignal, UnixPeerAddr } from "@tako/unix-http";

const path = process.argv[2] ?? join(tmpdir(), "tako-http.sock");

const router = new Router();
router.get("/", () => "hello from unix");
// The peer is in the request extensions, keyed by its class, as in Rust's `Extension<UnixPeerAddr>`:
// the connecting process's pid, uid and gid as the kernel recorded them at connect (SO_PEERCRED).
router.get("/peer", (_req, ctx) => ctx.extensions.get(UnixPeerAddr));
// A WebSocket: a tick every TICK_MS (default 1 s) and an echo of every message; on shutdown the
// ticking stops (ctx.signal) and the server closes the socket with 1001 "going away".
const tickMs = Number(process.env.TICK_MS ?? 1_000);
router.ws("/events", (ws, _req, ctx) => {
  let tick = 0;
  const timer = setInterval(() => ws.send(JSON.stringify({ tick: ++tick })), tickMs);
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.once("close", () => clearInterval(timer));
  ctx.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
});

using signal = shutdownSignal();
try {
  const server = await serveUnixHttp(path, router, { signal, drainTimeout: 5_000, protocols: ["http1", "h2c"] });
  console.log(`unix-socket listening on ${server.address}`);
  console.log(JSON.stringify(await server.finished));
} catch (error) {
  // A bad path, a live server already there, a regular file in the way: say so and exit 1.
  console.error(`unix-socket: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
