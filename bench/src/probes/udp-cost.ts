/**
 * Per-datagram cost probe of the UDP echo servers, for instruction counts (not part of the suite).
 *
 *   node src/probes/udp-cost.ts server <node|node-promise|tako|tako-send> <datagrams> [size]
 *       one echo server (plain dgram; plain dgram awaiting a promise around send; serveUdp with
 *       `await socket.sendTo()`; serveUdp with `socket.send()`) that exits once it has
 *       answered <datagrams> datagrams; prints its port on stdout first.
 *   node src/probes/udp-cost.ts client <port> <datagrams> [size] [window]
 *       a connected dgram client keeping <window> (16) datagrams outstanding until <datagrams>
 *       were answered.
 *   node src/probes/udp-cost.ts run <node|tako|tako-send> <datagrams> [size] [-- wrapper...]
 *       both: the server under the wrapper (e.g. `valgrind --tool=callgrind --callgrind-out-file=/dev/null`),
 *       the client as a plain child.
 *
 * Under callgrind, the difference of the "Collected" totals of two runs with different datagram
 * counts, divided by the difference of the counts, is the server's instructions per datagram, free
 * of start-up and of the machine's load (see bench/PROBES.md).
 */
import { spawn } from "node:child_process";
import * as dgram from "node:dgram";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { UdpHandler } from "@tako/udp";

const [mode, ...rest] = process.argv.slice(2);

async function server(impl: string, count: number): Promise<void> {
  let answered = 0;
  const done = () => {
    if (++answered === count) setImmediate(() => process.exit(0));
  };
  let port: number;
  if (impl === "node" || impl === "node-promise") {
    const socket = dgram.createSocket("udp4");
    socket.on(
      "message",
      impl === "node"
        ? (msg, rinfo) => {
            socket.send(msg, rinfo.port, rinfo.address);
            done();
          }
        : // plain dgram written with promises: what `await socket.sendTo()` asks of it
          async (msg, rinfo) => {
            await new Promise<number>((resolve, reject) => socket.send(msg, rinfo.port, rinfo.address, (error, bytes) => (error ? reject(error) : resolve(bytes))));
            done();
          },
    );
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    port = socket.address().port;
  } else {
    const { serveUdp } = await import("@tako/udp");
    const handlers: Record<string, UdpHandler> = {
      tako: async (data, peer, socket) => {
        await socket.sendTo(data, peer);
        done();
      },
      "tako-send": (data, peer, socket) => {
        socket.send(data, peer);
        done();
      },
      // The two halves of `tako`, to tell their costs apart: sendTo's promise without the
      // listener waiting on the handler, and the listener waiting on an async handler without sendTo.
      "tako-sendto-unawaited": (data, peer, socket) => {
        void socket.sendTo(data, peer).then(done);
      },
      "tako-async-send": async (data, peer, socket) => {
        socket.send(data, peer);
        done();
      },
    };
    const handler = handlers[impl];
    if (handler === undefined) throw new Error(`unknown impl ${impl}`);
    const s = await serveUdp("127.0.0.1:0", handler);
    port = s.address.port;
  }
  process.stdout.write(`${port}\n`);
}

async function client(port: number, count: number, size: number, window: number): Promise<void> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.connect(port, "127.0.0.1", () => resolve()));
  const payload = Buffer.alloc(size, 0x61);
  let sent = 0;
  let answered = 0;
  await new Promise<void>((resolve) => {
    socket.on("message", () => {
      if (++answered === count) return resolve();
      if (sent < count) {
        sent++;
        socket.send(payload);
      }
    });
    for (; sent < Math.min(window, count); sent++) socket.send(payload);
  });
  socket.close();
}

async function run(impl: string, count: number, size: number, wrapper: string[]): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const argv = [...wrapper, process.execPath, self, "server", impl, String(count), String(size)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once("line", resolve));
  await client(Number(line), count, size, 16);
  await new Promise((resolve) => child.once("exit", resolve));
}

if (mode === "server") await server(rest[0]!, Number(rest[1]));
else if (mode === "client") await client(Number(rest[0]), Number(rest[1]), Number(rest[2] ?? 64), Number(rest[3] ?? 16));
else if (mode === "run") {
  const sep = rest.indexOf("--");
  await run(rest[0]!, Number(rest[1]), Number(rest[2] && rest[2] !== "--" ? rest[2] : 64), sep === -1 ? [] : rest.slice(sep + 1));
} else throw new Error("usage: udp-cost.ts server|client|run ...");
