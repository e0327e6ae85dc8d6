/**
 * The connection-rate load client (TCP or Unix): `concurrency` loops, each opening a connection,
 * sending `size` bytes (default 1; preceded in the same write by a pre-built PROXY v2 header when
 * the target requires one), waiting for the server's echo of them (so the server really accepted
 * the connection and ran its handler), and closing; then the next. A connection counts when its
 * echo has come back inside the measured window. The same client serves every `conn-rate-*` case
 * (`conn-rate-tcp`, `conn-rate-tcp-proxy-v2`, `conn-rate-unix-credentials`): what differs is the
 * target and the server. With `binary` (TCP only) the native client
 * (bench/native/conn-rate-client.c) runs the same protocol at a fraction of the CPU.
 * Over TCP each closed connection leaves a TIME_WAIT entry on the client's side, so keep TCP
 * runs short (the ephemeral port range is ~28 000 wide on Linux; loopback reuses them with
 * tcp_tw_reuse = 2, the default).
 */
import * as net from "node:net";
import type { Target } from "../servers/types.ts";
import { connectOptions, sleep, Window, type RunWindow } from "./common.ts";
import { runNative } from "./native.ts";

/** Arguments of the `connRate` command. */
export interface ConnRateArgs {
  readonly target: Target;
  /** Connections being opened/used/closed at once (default 16). */
  readonly concurrency?: number;
  /** Bytes sent and echoed back on each connection (default 1). */
  readonly size?: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The native client to run instead of the Node one (TCP targets). */
  readonly binary?: string | undefined;
}

/** What the `connRate` command reports. */
export interface ConnRateResult extends RunWindow {
  /** Connections completed (connect, echo, close) in the measured window. */
  readonly connections: number;
  readonly connectionsPerSec: number;
  /** Connections that failed (refused, reset before the echo, ...) over the whole run. */
  readonly errors: number;
  /** The first failure's message, if any. */
  readonly firstError: string | null;
}

/**
 * The PROXY v2 header every connection sends to a target that requires one: PROXY, TCP over
 * IPv4, 127.0.0.7:40000 -> the target's address and port (28 bytes), built here by hand from the
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

/** One connect, `request` out, `size` bytes echoed back, close. Resolves true when the echo came back, false on a failure. */
function oneConnection(options: net.NetConnectOpts, request: Buffer, size: number, onError: (error: Error) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(options);
    let settled = false;
    let got = 0;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      got += chunk.length;
      if (got >= size) finish(true);
    });
    socket.once("error", (error) => {
      onError(error);
      finish(false);
    });
    socket.once("close", () => {
      if (!settled) onError(new Error(`the server closed a connection after ${got} of ${size} bytes`));
      finish(false);
    });
  });
}

/** Runs the connection-rate load against a target and reports connections/s over the measured window. */
export async function runConnRate(args: ConnRateArgs): Promise<ConnRateResult> {
  const size = args.size ?? 1;
  const concurrency = args.concurrency ?? 16;
  const header = "host" in args.target && args.target.proxy === 2 ? proxyV2Header(args.target) : Buffer.alloc(0);
  if (args.binary !== undefined && "host" in args.target) return runNativeConnRate(args, args.target, concurrency, size, header, args.binary);
  const options = connectOptions(args.target);
  const request = Buffer.concat([header, Buffer.alloc(size, 0x61)]);
  let counting = false;
  let running = true;
  let completed = 0;
  let errors = 0;
  let firstError: string | null = null;
  const onError = (error: Error) => {
    errors++;
    firstError ??= error.message;
  };
  const loop = async () => {
    while (running) {
      const ok = await oneConnection(options, request, size, onError);
      if (ok && counting) completed++;
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  await sleep(args.warmupMs);
  const clock = new Window();
  counting = true;
  clock.start();
  await sleep(args.durationMs);
  counting = false;
  const w = clock.stop();
  running = false;
  await Promise.all(loops);
  return { ...w, connections: completed, connectionsPerSec: (completed / w.ms) * 1000, errors, firstError };
}

async function runNativeConnRate(
  args: ConnRateArgs,
  target: { readonly host: string; readonly port: number },
  concurrency: number,
  size: number,
  header: Buffer,
  binary: string,
): Promise<ConnRateResult> {
  const argv = [target.host, String(target.port), ...[concurrency, size, args.warmupMs, args.durationMs].map(String), ...(header.length > 0 ? [header.toString("hex")] : [])];
  // The native client exits non-zero (and this rejects) on any failed connect, reset or early close.
  const r = await runNative<{ ms: number; cpuMs: number; connections: number }>(binary, argv, args.warmupMs + args.durationMs + 30_000);
  return { ms: r.ms, clientCpu: r.cpuMs / r.ms, connections: r.connections, connectionsPerSec: (r.connections / r.ms) * 1000, errors: 0, firstError: null };
}
