// tcp-echo: echoes every line a client sends, over raw TCP (the Tako tcp-echo example).
//
//   node dist/main.js [address]      address defaults to 127.0.0.1:9001
//
// Prints one line once listening; on SIGINT or SIGTERM it stops accepting, lets each connection
// finish the line it is on, and prints the server's stats and then the drain report, each as one
// line of JSON, before exiting 0.
import { lines } from "@tako/framing";
import { serveTcp, shutdownSignal, type TcpHandler } from "@tako/tcp";
import type { Socket } from "node:net";

const address = process.argv[2] ?? "127.0.0.1:9001";

/** Resolves once the socket can take more writes (or is gone), so a client that never reads cannot grow our buffers. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
}

const echoLines: TcpHandler = async (socket, peer, { signal }) => {
  // Lines of at most 64 KiB: a longer one (a client streaming without a newline) makes lines()
  // throw FrameTooLargeError without buffering the rest; the rejection closes this connection only
  // and is counted in stats().protocolErrors. On shutdown the loop ends at a line boundary.
  for await (const line of lines(socket, { maxLineLength: 65_536, signal })) {
    if (!socket.write(`${line}\n`)) await drained(socket);
  }
  if (process.env.TCP_ECHO_VERBOSE) console.error(`closed ${peer.address}:${peer.port}`);
};

using signal = shutdownSignal();
const server = await serveTcp(address, echoLines, { signal, drainTimeout: 5_000 });
const { address: host, port, family } = server.address;
console.log(`tcp-echo listening on ${family === "IPv6" ? `[${host}]` : host}:${port}`);
const report = await server.finished;
console.log(`stats ${JSON.stringify(server.stats())}`);
console.log(JSON.stringify(report));
