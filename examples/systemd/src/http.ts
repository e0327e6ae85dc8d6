// tako-http under systemd: the unix-socket example's Router on the socket file systemd made
// (tako-http.socket, ListenStream=/run/tako/http.sock), with Type=notify.
//
//   node dist/http.js [path]     the socket systemd passed, else the path (default /tmp/tako-http.sock)
//
// The socket file is systemd's: Tako never chmods or removes it (SocketMode= and RemoveOnStop=
// in the .socket unit decide). Prints one line once listening, the drain report at the end.
import { listenFds, notifyLifecycle } from "@tako/systemd";
import { Router, serveUnixHttp, shutdownSignal, UnixPeerAddr } from "@tako/unix-http";

const router = new Router();
router.get("/", () => "hello from unix");
router.get("/peer", (_req, ctx) => ctx.extensions.get(UnixPeerAddr));
router.get("/pid", () => ({ pid: process.pid }));

using signal = shutdownSignal();
const [socket] = listenFds();
const server = await serveUnixHttp(socket ?? process.argv[2] ?? "/tmp/tako-http.sock", router, { signal, drainTimeout: 5_000 });
using lifecycle = notifyLifecycle(server);
await lifecycle.ready;
console.log(`tako-http listening on ${server.address}${socket ? ` (socket-activated, fd ${socket.fd})` : ""} pid ${process.pid}`);
console.log(JSON.stringify(await server.finished));
