/**
 * The connection-rate load client (TCP): `inflight` slots, each running connect, one exchange
 * (`size` bytes out, preceded in the same write by a pre-built PROXY v2 header when the target
 * asks for one; the `size` bytes echoed back), close, and again. A connection counts when its
 * echo is complete. With `binary` the native client (bench/native/conn-rate-client.c) runs the
 * same protocol at a fraction of the CPU.
 */
import * as net from "node:net";
import type { Target } from "../servers/types.ts";
import { runNative } from "./native.ts";
import { sleep, Window, type RunWindow } from "./common.ts";

/** Arguments of the `connRate` command. */
export interface ConnRateArgs {
  readonly target: Target;
  readonly inflight: number;
  readonly size: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The native client to run instead of the Node one. */
  readonly binary?: string | undefined;
}

/** What the `connRate` command reports. */
export interface ConnRateResult extends RunWindow {
  readonly connections: number;
  readonly connectionsPerSec: number;
}

/**
 * The PROXY v2 header every connection sends to a target that wants one: PROXY, TCP over IPv4,
 * 127.0.0.7:40000 -> the target's address and port (28 bytes), built here by hand from the
 * spec so the bench does not depend on the encoder it measures.
 */
export function proxyV2Header(target: { readonly host: string; readonly port: number }): Buffer {
  const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const head = Buffer.from([0x21, 0x11, 0x00, 12]);
  const addresses = Buffer.alloc(12);
  [127, 0, 0, 7].forEach((b, i) => addresses.writeUInt8(b, i));
  target.host.split(".").forEach((b, i) => addresses.writeUInt8(Number(b), 4 + i));
  addresses.writeUInt16BE(40_000, 8);
  addresses.writeUInt16BE(target.port, 10);
  return Buffer.concat([signature, head, addresses]);
}

/** Runs the connection-rate load against a TCP target and reports connections/s over the window. */
export function runConnRate(args: ConnRateArgs): Promise<ConnRateResult> {
  if ("path" in args.target) throw new Error("connRate needs a TCP target");
  const header = args.target.proxy === 2 ? proxyV2Header(args.target) : Buffer.alloc(0);
  return args.binary === undefined ? runNodeConnRate(args, args.target, header) : runNativeConnRate(args, args.target, header, args.binary);
}

async function runNativeConnRate(args: ConnRateArgs, target: { host: string; port: number }, header: Buffer, binary: string): Promise<ConnRateResult> {
  const argv = [target.host, String(target.port), ...[args.inflight, args.size, args.warmupMs, args.durationMs].map(String), ...(header.length > 0 ? [header.toString("hex")] : [])];
  const r = await runNative<{ ms: number; cpuMs: number; connections: number }>(binary, argv, args.warmupMs + args.durationMs + 30_000);
  return { ms: r.ms, clientCpu: r.cpuMs / r.ms, connections: r.connections, connectionsPerSec: (r.connections / r.ms) * 1000 };
}

async function runNodeConnRate(args: ConnRateArgs, target: { host: string; port: number }, header: Buffer): Promise<ConnRateResult> {
  const request = Buffer.concat([header, Buffer.alloc(args.size, 0x61)]);
  const size = args.size;
  let done = 0;
  let running = true;
  let failure: Error | undefined;
  const readBuffer = Buffer.allocUnsafe(65536);
  const slot = (): void => {
    let got = 0;
    const socket: net.Socket = net.connect({
      host: target.host,
      port: target.port,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback(nread: number): boolean {
          got += nread;
          if (got >= size) {
            done++;
            socket.destroy();
            if (running) slot();
          }
          return true;
        },
      },
    });
    socket.once("connect", () => socket.write(request));
    socket.once("error", (error) => {
      failure ??= error;
    });
    socket.once("end", () => {
      if (got < size) failure ??= new Error(`the server closed a connection after ${got} of ${size} bytes`);
    });
  };
  for (let i = 0; i < args.inflight; i++) slot();
  await sleep(args.warmupMs);
  const clock = new Window();
  const d0 = done;
  clock.start();
  await sleep(args.durationMs);
  const counted = done - d0;
  const w = clock.stop();
  running = false;
  if (failure !== undefined) throw failure;
  return { ...w, connections: counted, connectionsPerSec: (counted / w.ms) * 1000 };
}
