// Test helpers: a real dgram client on loopback with a bounded wait for replies. Not published
// (tsconfig.build.json excludes src/**/test-*.ts).
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";

/** A datagram a {@link TestClient} received. */
export interface Received {
  readonly data: Buffer;
  readonly from: RemoteInfo;
}

/** A loopback UDP client that queues what it receives. */
export class TestClient {
  readonly socket: Socket;
  readonly host: string;
  readonly #queue: Received[] = [];
  #waiter: (() => void) | undefined;

  private constructor(socket: Socket, host: string) {
    this.socket = socket;
    this.host = host;
    socket.on("message", (data, from) => {
      this.#queue.push({ data, from });
      this.#waiter?.();
    });
    socket.on("error", () => {
      // An ICMP error after the server went away; tests look at replies, not at this.
    });
  }

  /** Binds a client on `127.0.0.1` (or `::1` for `"udp6"`), port 0. */
  static async open(type: "udp4" | "udp6" = "udp4", recvBufferSize?: number): Promise<TestClient> {
    const host = type === "udp6" ? "::1" : "127.0.0.1";
    const socket = createSocket({ type, ...(recvBufferSize === undefined ? {} : { recvBufferSize }) });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    return new TestClient(socket, host);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** How many received datagrams are waiting in the queue. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Sends one datagram and waits until the kernel took it. */
  send(data: Uint8Array | string, port: number, host = this.host): Promise<number> {
    return new Promise((resolve, reject) => {
      this.socket.send(data, port, host, (error, bytes) => (error ? reject(error) : resolve(bytes)));
    });
  }

  /** The next received datagram; rejects after `timeoutMs`. */
  async next(timeoutMs = 5_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = this.#queue.shift();
      if (item !== undefined) return item;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no datagram within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#waiter = done;
      });
      this.#waiter = undefined;
    }
  }

  /** Sends `data` to `port` and returns the reply as text. */
  async ask(data: string, port: number, host = this.host): Promise<string> {
    await this.send(data, port, host);
    return (await this.next()).data.toString();
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
