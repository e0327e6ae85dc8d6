// udp-echo: sends every datagram back to its sender, over raw UDP (the Tako udp-echo example).
//
//   node dist/main.js [address]      address defaults to 127.0.0.1:9000
//
// Prints one line once listening; on SIGINT or SIGTERM it stops receiving, lets the handlers in
// flight send their replies, and prints the drain report as one line of JSON before exiting 0.
import { serveUdp, shutdownSignal, type UdpHandler } from "@tako/udp";

const address = process.argv[2] ?? "127.0.0.1:9000";

const echo: UdpHandler = async (data, peer, socket) => {
  // As `let _ =` in the Rust example: a reply that cannot be sent (the socket already closed by a
  // drain that ran out of time) is ignored rather than reported as a handler error.
  await socket.sendTo(data, peer).catch(() => {});
  if (process.env.UDP_ECHO_VERBOSE) console.error(`echoed ${data.length} bytes for ${peer.address}:${peer.port}`);
};

using signal = shutdownSignal();
const server = await serveUdp(address, echo, { signal, drainTimeout: 5_000 });
const { address: host, port, family } = server.address;
console.log(`udp-echo listening on ${family === "IPv6" ? `[${host}]` : host}:${port}`);
console.log(JSON.stringify(await server.finished));
