// The service of the `{ fd }` checks, started by systemd-socket-activate with the socket as fd 3.
// Serves on { fd: 3 } with the listener named in argv[2] and prints one JSON line: { ready } with
// the server's address, or { error } with the listener's error (name, code, message, feature).
const kind = process.argv[2];
const fd = { fd: 3 };
const echo = (socket: import("node:net").Socket) => void socket.pipe(socket);
try {
  let address: unknown;
  if (kind === "tcp") address = (await (await import("@tako/tcp")).serveTcp(fd as never, echo)).address;
  else if (kind === "unix") address = (await (await import("@tako/unix")).serveUnix(fd as never, echo)).address;
  else if (kind === "udp") address = (await (await import("@tako/udp")).serveUdp(fd as never, (data, peer, socket) => socket.sendTo(data, peer).then(() => {}))).address;
  else if (kind === "http-server") {
    // A package author's http.Server adopting the fd through @tako/core/listener's listenOnFd.
    const { checkListenFd, listenOnFd } = await import("@tako/core/listener");
    const { createServer } = await import("node:http");
    const server = createServer((_request, response) => void response.end("hello over an inherited fd"));
    const info = checkListenFd(fd, "unix", "conformance");
    await listenOnFd(server, info.fd);
    address = info.address; // Node's server.address() is null for an adopted Unix fd; the kernel's path
  } else {
    const { Router, serveUnixHttp } = await import("@tako/unix-http");
    const router = new Router();
    router.get("/", () => "hello over an inherited fd");
    address = (await serveUnixHttp(fd as never, router)).address;
  }
  process.stdout.write(`${JSON.stringify({ ready: address })}\n`);
} catch (error) {
  const e = error as Error & { code?: string; feature?: string; runtime?: string };
  process.stdout.write(`${JSON.stringify({ error: { name: e.name, code: e.code, message: e.message, feature: e.feature, runtime: e.runtime } })}\n`);
  process.exit(0);
}
