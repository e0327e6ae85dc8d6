// hold: what a .socket unit does, for trying a zero-loss restart without systemd. Run it under
// systemd-socket-activate, which makes the listening sockets; hold never accepts on them, runs
// the service with them (LISTEN_FDS / LISTEN_FDNAMES as systemd sets them, LISTEN_PID the
// service's own pid) and on SIGHUP restarts it: SIGTERM to the running one, which drains and
// exits, then a new one on the same sockets. Connections that arrive in between wait in the
// backlog. SIGTERM/SIGINT stop the service, then hold.
//
//   systemd-socket-activate -l 127.0.0.1:9001 -- node dist/hold.js node dist/echo.js
//   kill -HUP <pid of hold>      # restart
import { spawn, type ChildProcess } from "node:child_process";
import { listenFds } from "@tako/systemd";

const command = process.argv.slice(2);
if (command.length === 0) throw new Error("usage: hold.js <command> [args...]");
const sockets = listenFds();
if (sockets.length === 0) throw new Error("hold: no sockets passed (run it under systemd-socket-activate or a .socket unit)");
const names = sockets.map((socket) => socket.name).join(":");

let current: ChildProcess | undefined;
let stopping = false;
/** Unexpected exits in the last minute: more than 5 and hold gives up (a service that cannot start). */
const crashes: number[] = [];

function start(): ChildProcess {
  const fds = sockets.map((socket) => socket.fd);
  // The passed fds land at 3, 4, ... in the child, as systemd passes them.
  const child = spawn("sh", ["-c", `LISTEN_PID=$$ LISTEN_FDS=${fds.length} LISTEN_FDNAMES=${names} exec "$@"`, "sh", ...command], {
    stdio: ["ignore", "inherit", "inherit", ...fds],
  });
  child.once("exit", (code, signal) => {
    if (current !== child) return;
    current = undefined;
    if (stopping) process.exit(0);
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && (crashes[0] as number) < now - 60_000) crashes.shift();
    if (crashes.length > 5) {
      console.error(`hold: the service exited (${code ?? signal}) 6 times within a minute; giving up`);
      process.exit(1);
    }
    console.error(`hold: the service exited (${code ?? signal}); restarting`);
    current = start();
  });
  return child;
}

current = start();
console.error(`hold: holding ${sockets.length} socket(s), pid ${process.pid}; kill -HUP ${process.pid} restarts the service`);
process.on("SIGHUP", () => {
  const old = current;
  if (old === undefined) return;
  current = undefined;
  old.once("exit", () => {
    current = start();
    console.error("hold: restarted");
  });
  old.kill("SIGTERM");
});
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    stopping = true;
    if (current === undefined) process.exit(0);
    current.kill("SIGTERM");
  });
}
