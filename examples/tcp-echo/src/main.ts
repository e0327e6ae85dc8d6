// tcp-echo: echoes every line a client sends, over raw TCP (the Tako tcp-echo example).
//
//   node dist/main.js [address]      address defaults to 127.0.0.1:9001
//
// Prints one line once listening; on SIGINT or SIGTERM it stops accepting, lets each connection
// finish the line it is on, and prints the drain report as one line of JSON before exiting 0.
import { createInterface } from "node:readline";
import { serveTcp, shutdownSignal, type TcpHandler } from "@tako/tcp";

const address = process.argv[2] ?? "127.0.0.1:9001";

const echoLines: TcpHandler = async (socket, peer, { signal }) => {
  const lines = createInterface({ input: socket, crlfDelay: Infinity });
  // On shutdown, stop at a line boundary: close the reader, the loop ends, the connection closes.
  const stop = () => lines.close();
  signal.addEventListener("abort", stop, { once: true });
  try {
    for await (const line of lines) socket.write(`${line}\n`);
  } finally {
    signal.removeEventListener("abort", stop);
  }
  if (process.env.TCP_ECHO_VERBOSE) console.error(`closed ${peer.address}:${peer.port}`);
};

using signal = shutdownSignal();
const server = await serveTcp(address, echoLines, { signal, drainTimeout: 5_000 });
const { address: host, port, family } = server.address;
console.log(`tcp-echo listening on ${family === "IPv6" ? `[${host}]` : host}:${port}`);
console.log(JSON.stringify(await server.finished));
