/** Helpers for this package's tests (not built, not published). */
import { once } from "node:events";
import * as http from "node:http";
import { connect, type Socket } from "node:net";
import { sleep } from "@tako/test-kit";
import type { Server } from "@tako/unix-http";
import { afterEach } from "vitest";

/** What {@link request} resolves with. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request over a Unix socket with Node's client (a fresh connection unless `agent` is given). */
export function request(
  socketPath: string,
  path: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: socketPath.startsWith("@") ? `\0${socketPath.slice(1)}` : socketPath,
        path,
        method: options.method ?? "GET",
        headers: options.headers,
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A raw connection that collects everything the server sends. */
export interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  readonly received: string;
  /** Resolves once `received` contains `text` (rejects after `timeoutMs`). */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves once the server closed the connection. */
  closed: Promise<void>;
}

/** Opens a raw connection to a Unix socket. */
export async function rawConnect(path: string): Promise<RawConnection> {
  const socket = connect({ path: path.startsWith("@") ? `\0${path.slice(1)}` : path });
  let received = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (received += chunk));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await once(socket, "connect");
  return {
    socket,
    get received() {
      return received;
    },
    async waitFor(text, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!received.includes(text)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(received)}`);
        if (socket.destroyed) throw new Error(`connection closed before ${JSON.stringify(text)} arrived; got ${JSON.stringify(received)}`);
        await sleep(5);
      }
    },
    closed,
  };
}

/**
 * The servers and raw connections a test file opens, closed after each test (the connections
 * destroyed, the servers shut down with `drainTimeout`).
 */
export function closedAfterEach(drainTimeout: number): { servers: Server[]; connect(path: string): Promise<RawConnection> } {
  const servers: Server[] = [];
  const connections: RawConnection[] = [];
  afterEach(async () => {
    for (const conn of connections.splice(0)) conn.socket.destroy();
    await Promise.all(servers.splice(0).map((s) => s.shutdown({ drainTimeout })));
  });
  return {
    servers,
    async connect(path) {
      const conn = await rawConnect(path);
      connections.push(conn);
      return conn;
    },
  };
}
