/**
 * Real clients for the checks: `node:net` and `node:dgram` sockets of the runtime under test, and
 * curl (a separate program) for HTTP over the Unix socket.
 */
import { execFile } from "node:child_process";
import { createSocket, type Socket as DgramSocket } from "node:dgram";
import { connect, type Socket } from "node:net";

/** A connected stream client that collects what it receives. */
export interface StreamClient {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves once the received text includes `text`. */
  waitFor(text: string, ms?: number): Promise<void>;
  /** Resolves when the server ends or destroys the connection. */
  readonly closed: Promise<void>;
}

/** Connects to a TCP `{ port }` or a Unix `{ path }` (`\0name` for abstract) and resolves once connected. */
export function connectStream(target: { port: number; host?: string } | { path: string }): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const socket = "path" in target ? connect({ path: target.path }) : connect({ port: target.port, host: target.host ?? "127.0.0.1" });
    let text = "";
    const waiters: Array<() => void> = [];
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      for (const w of [...waiters]) w();
    });
    const closed = new Promise<void>((done) => socket.once("close", () => done()));
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.on("error", () => {}); // resets at close are the server's business here
      resolve({
        socket,
        received: () => text,
        closed,
        waitFor: (wanted, ms = 5_000) =>
          new Promise<void>((ok, fail) => {
            const timer = setTimeout(() => fail(new Error(`did not receive ${JSON.stringify(wanted)} within ${ms} ms (got ${JSON.stringify(text)})`)), ms);
            const check = () => {
              if (!text.includes(wanted)) return;
              clearTimeout(timer);
              waiters.splice(waiters.indexOf(check), 1);
              ok();
            };
            waiters.push(check);
            check();
          }),
      });
    });
  });
}

/** Whether the connection was closed by the server within `ms` (true) or is still open (false). */
export async function closedWithin(client: StreamClient, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const open = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([client.closed.then(() => true), open]);
  clearTimeout(timer);
  return result;
}

/** A UDP client bound to an ephemeral loopback port that collects the datagrams it receives. */
export async function udpClient(): Promise<{ socket: DgramSocket; messages: string[]; send(text: string, port: number): Promise<void>; close(): void }> {
  const socket = createSocket("udp4");
  const messages: string[] = [];
  socket.on("message", (data) => messages.push(data.toString()));
  await new Promise<void>((resolve) => socket.bind({ address: "127.0.0.1", port: 0 }, () => resolve()));
  return {
    socket,
    messages,
    send: (text, port) => new Promise((resolve, reject) => socket.send(text, port, "127.0.0.1", (error) => (error ? reject(error) : resolve()))),
    close: () => socket.close(),
  };
}

/** One HTTP exchange over a Unix socket with curl; resolves with status, headers and body. */
export function curlUnix(socketPath: string, url: string, args: string[] = []): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    execFile("curl", ["-sS", "--max-time", "5", "--unix-socket", socketPath, "-D", "-", ...args, url], { encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`curl failed: ${stderr || error.message}`));
      const cut = stdout.indexOf("\r\n\r\n");
      const head = stdout.slice(0, cut);
      resolve({ status: Number(/^HTTP\/\S+ (\d{3})/.exec(head)?.[1] ?? 0), headers: head.toLowerCase(), body: stdout.slice(cut + 4) });
    });
  });
}

/** Sends raw request bytes on a fresh Unix-socket connection; resolves with the status line's code. */
export async function rawHttpStatus(socketPath: string, request: string): Promise<number> {
  const client = await connectStream({ path: socketPath });
  client.socket.write(request);
  await client.waitFor("\r\n");
  client.socket.destroy();
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(client.received())?.[1] ?? 0);
}
