// One multi-core worker: the line echo on the shared reusePort address, each answer prefixed
// with the worker's number ("2: hello"). Forked by supervisor.ts, which it tells over IPC when
// it listens and, after SIGTERM, its drain report.
//
//   (forked) worker.js <address> <number>
import { lines } from "@tako/framing";
import { serveTcp, shutdownSignal, type TcpHandler } from "@tako/tcp";

const [address = "127.0.0.1:9001", id = "1"] = process.argv.slice(2);
const send = (message: object) => process.send?.(message);

const echoLines: TcpHandler = async (socket, _peer, { signal }) => {
  // Shutting down: answer the line in flight, then close; an idle connection gets a second.
  let grace: NodeJS.Timeout | undefined;
  const stop = new AbortController(); // ends the line loop at a boundary, a grace period after the drain starts
  const onAbort = () => (grace = setTimeout(() => stop.abort(), 1_000));
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    // Bounded lines: an over-long line (past 64 KiB) ends the connection as a protocol error.
    for await (const line of lines(socket, { maxLineLength: 65_536, signal: stop.signal })) {
      socket.write(`${id}: ${line}\n`);
      if (signal.aborted) break;
    }
  } finally {
    clearTimeout(grace);
    signal.removeEventListener("abort", onAbort);
  }
};

using signal = shutdownSignal();
// Ctrl-C in a terminal signals the whole process group: this worker and then the supervisor's
// relay. The first signal starts the drain; a second must not kill the worker mid-drain (the
// drain has its own deadline, drainTimeout).
for (const name of ["SIGTERM", "SIGINT"] as const) process.on(name, () => {});
const server = await serveTcp(address, echoLines, { signal, reusePort: true, drainTimeout: 5_000 });
send({ type: "listening", id, pid: process.pid, address: server.address });
const report = await server.finished;
send({ type: "report", id, pid: process.pid, report });
process.disconnect?.();
