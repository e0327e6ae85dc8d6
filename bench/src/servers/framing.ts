/**
 * Framing servers: one plain `net` listener for every implementation (the listener is not what is
 * compared), each connection parsed by ours (`lines()`, `lengthPrefixed()`) or a baseline
 * (`readline`, `split2`, `it-length-prefixed`), each written the way its documentation shows for
 * an async handler: `for await` over the parser. The protocol: the client sends blocks of frames,
 * each block closed by a marker (the line `?`, or an empty frame); the server answers the marker
 * with the number of frames it has parsed on that connection so far, as a decimal line.
 */
import * as net from "node:net";
import { createInterface } from "node:readline";
import { lengthPrefixed, lines } from "@tako/framing";
import * as itLengthPrefixed from "it-length-prefixed";
import split2 from "split2";
import type { RunningServer, ServerSpec } from "./types.ts";

type Parse = (socket: net.Socket) => Promise<void>;

/** Each implementation's per-connection loop. */
const PARSERS: Record<string, Parse> = {
  "framing-lines/tako": async (socket) => {
    let n = 0;
    for await (const line of lines(socket)) {
      if (line === "?") socket.write(`${n}\n`);
      else n++;
    }
  },
  "framing-lines/readline": async (socket) => {
    let n = 0;
    for await (const line of createInterface({ input: socket, crlfDelay: Number.POSITIVE_INFINITY })) {
      if (line === "?") socket.write(`${n}\n`);
      else n++;
    }
  },
  "framing-lines/split2": async (socket) => {
    let n = 0;
    for await (const line of socket.pipe(split2()) as AsyncIterable<string>) {
      if (line === "?") socket.write(`${n}\n`);
      else n++;
    }
  },
  "framing-length-prefixed/tako": async (socket) => {
    let n = 0;
    for await (const frame of lengthPrefixed(socket, { prefix: "varint" })) {
      if (frame.length === 0) socket.write(`${n}\n`);
      else n++;
    }
  },
  "framing-length-prefixed/it-length-prefixed": async (socket) => {
    let n = 0;
    for await (const frame of itLengthPrefixed.decode(socket as AsyncIterable<Uint8Array>)) {
      if (frame.byteLength === 0) socket.write(`${n}\n`);
      else n++;
    }
  },
};

/** Starts the framing server for `spec` on a free loopback port. */
export async function startFraming(spec: ServerSpec): Promise<RunningServer> {
  const parse = PARSERS[`${spec.family}/${spec.impl}`];
  if (parse === undefined) throw new Error(`no framing server for ${spec.family}/${spec.impl}`);
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on("error", () => {});
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    parse(socket).then(
      () => socket.end(),
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const info = server.address() as net.AddressInfo;
  return {
    target: { host: info.address, port: info.port },
    connections: async () => sockets.size,
    shutdown: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
