// line-protocol: a line-based key-value service over raw TCP (@tako/tcp + @tako/framing),
// meant to run behind HAProxy or nginx: connections from the trusted proxy addresses must start
// with a PROXY v1/v2 header, and the service logs and answers with the real client's address.
//
//   node dist/main.js [address] [--name NAME] [--trusted LIST]
//
//   address     where to listen (default 127.0.0.1:9101)
//   --name      this instance's name in WHO replies and the listening line (default: the address)
//   --trusted   comma-separated addresses/CIDRs that must send a PROXY header (default 127.0.0.1);
//               connections from anywhere else are served directly, without a header
//
// Prints one line once listening, then one line per client connection. On SIGINT or SIGTERM it
// stops accepting, lets every connection finish the command it is on, says `BYE draining` at
// that line boundary and closes; then it prints the drain report as one line of JSON and exits 0.
import { parseArgs } from "node:util";
import { lines } from "@tako/framing";
import { FrameTooLargeError, serveTcp, shutdownSignal, type SocketAddress, type TcpHandler } from "@tako/tcp";
import { MAX_LINE_LENGTH, Store, type Caller } from "./kv.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { name: { type: "string" }, trusted: { type: "string", default: "127.0.0.1" } },
});
const address = positionals[0] ?? "127.0.0.1:9101";
const trusted = (values.trusted ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter((s) => s !== "");

const show = (a: SocketAddress): string => (a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);

// The instance name defaults to the address as given (pass --name when it ends in :0).
const store = new Store(values.name ?? address);

const serveCommands: TcpHandler = async (socket, peer, ctx) => {
  const proxy = ctx.proxy;
  // A LOCAL header is the proxy's own health check: nothing to log, the check closes at once.
  const healthCheck = proxy?.command === "LOCAL";
  const caller: Caller = { client: show(peer), via: proxy?.via ? show(proxy.via) : "direct" };
  if (!healthCheck) console.log(`open ${caller.client} via ${caller.via}`);
  let quit = false;
  try {
    // The signal ends the loop at a line boundary: the command being run finishes and is answered.
    for await (const line of lines(socket, { maxLineLength: MAX_LINE_LENGTH, signal: ctx.signal })) {
      const reply = store.execute(line, caller);
      socket.write(`${reply.line}\n`);
      if (reply.close) {
        quit = true;
        break;
      }
    }
    if (!quit && ctx.signal.aborted && !socket.writableEnded) socket.write("BYE draining\n");
  } catch (error) {
    if (!(error instanceof FrameTooLargeError)) throw error;
    socket.write(`ERR line longer than ${MAX_LINE_LENGTH} bytes\n`);
  } finally {
    if (!healthCheck) console.log(`close ${caller.client}`);
  }
  // Resolving ends the connection once the replies are flushed.
};

using signal = shutdownSignal();
const server = await serveTcp(address, serveCommands, {
  signal,
  drainTimeout: 5_000,
  idleTimeout: 300_000,
  proxyProtocol: { trusted, untrusted: "direct" },
});
console.log(`line-protocol ${values.name ?? address} listening on ${show(server.address)} (PROXY header required from ${trusted.join(", ") || "nobody"})`);
console.log(JSON.stringify(await server.finished));
