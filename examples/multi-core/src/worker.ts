// One multi-core worker: the line echo on the shared reusePort address, each answer prefixed
// with the worker's number ("2: hello"). Forked by supervisor.ts, which it tells over IPC when
// it listens and, after SIGTERM, its drain report.
//
//   (forked) worker.js <address> <number>
import { createInterface } from "node:readline";
import { serveTcp, shutdownSignal, type TcpHandler } from "@tako/tcp";

const [address = "127.0.0.1:9001", id = "1"] = process.argv.slice(2);
const send = (message: object) => process.send?.(message);

const echoLines: TcpHandler = async (socket, _peer, { signal }) => {
  const lines = createInterface({ input: socket, crlfDelay: Infinity });
  // Shutting down: answer the line in flight, then close; an idle connection gets a second.
  let grace: NodeJS.Timeout | undefined;
  const onAbort = () => (grace = setTimeout(() => lines.close(), 1_000));
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const line of lines) {
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
