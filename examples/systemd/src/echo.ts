// tako-echo under systemd: the tcp-echo line echo, socket-activated, with Type=notify.
//
//   node dist/echo.js [address]     the socket systemd passed (tako-echo.socket), else the address
//                                   (default 127.0.0.1:9001)
//
// READY=1 once listening, STOPPING=1 when SIGTERM starts the drain, EXTEND_TIMEOUT_USEC while it
// runs, WATCHDOG=1 at half of WatchdogSec. Prints one line once listening and the drain report as
// JSON at the end, exits 0.
import { lines } from "@tako/framing";
import { listenFds, notifyLifecycle } from "@tako/systemd";
import { serveTcp, shutdownSignal, type TcpHandler } from "@tako/tcp";

// Shutting down (SIGTERM, systemctl stop/restart): answer the line in flight, then close. A
// connection accepted just before the drain whose line has not arrived yet gets a second for it,
// so a restart loses no request; a client that sends nothing is closed after that second.
const GRACE_MS = 1_000;

const echoLines: TcpHandler = async (socket, _peer, { signal }) => {
  let grace: NodeJS.Timeout | undefined;
  const stop = new AbortController(); // ends the line loop at a boundary, GRACE_MS after the drain starts
  const onAbort = () => (grace = setTimeout(() => stop.abort(), GRACE_MS));
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    // Bounded lines: an over-long line (past 64 KiB) ends the connection as a protocol error.
    for await (const line of lines(socket, { maxLineLength: 65_536, signal: stop.signal })) {
      socket.write(`${line}\n`);
      if (signal.aborted) break; // at a line boundary
    }
  } finally {
    clearTimeout(grace);
    signal.removeEventListener("abort", onAbort);
  }
};

using signal = shutdownSignal();
const [socket] = listenFds(); // [] when not socket-activated
const server = await serveTcp(socket ?? process.argv[2] ?? "127.0.0.1:9001", echoLines, { signal, drainTimeout: 5_000 });
using lifecycle = notifyLifecycle(server);
await lifecycle.ready;
const { address, port } = server.address;
console.log(`tako-echo listening on ${address}:${port}${socket ? ` (socket-activated, fd ${socket.fd} "${socket.name}")` : ""} pid ${process.pid}`);
console.log(JSON.stringify(await server.finished));
