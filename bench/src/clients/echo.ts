/**
 * The stream echo load client (TCP or Unix): `connections` sockets, each keeping a window of
 * `window` messages of `size` bytes in flight. A message counts when its bytes have come back;
 * each completed message is replaced at once (several completions in one read are replaced with
 * one write of that many messages). Reads go into a fixed buffer (`onread`), writes are views of
 * one pre-built buffer: the client stays lighter than the server, and with enough messages in
 * flight the server core, not wake-up latency, sets the pace. With `binary` the native client
 * (bench/native/echo-client.c) runs the same protocol at a fraction of the CPU.
 */
import * as net from "node:net";
import type { Target } from "../servers/types.ts";
import { runNative } from "./native.ts";
import { connected, connectOptions, openMany, sleep, Window, type RunWindow } from "./common.ts";

/** Arguments of the `echo` command. */
export interface EchoArgs {
  readonly target: Target;
  readonly connections: number;
  readonly size: number;
  /** Messages in flight per connection (default 1). */
  readonly window?: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The native client to run instead of the Node one. */
  readonly binary?: string | undefined;
}

/** What the `echo` command reports. */
export interface EchoResult extends RunWindow {
  readonly messages: number;
  readonly bytes: number;
  readonly messagesPerSec: number;
  readonly mbPerSec: number;
}

/** Runs the echo load against a target and reports messages/s and MB/s over the measured window. */
export function runEcho(args: EchoArgs): Promise<EchoResult> {
  return args.binary === undefined ? runNodeEcho(args) : runNativeEcho(args, args.binary);
}

async function runNativeEcho(args: EchoArgs, binary: string): Promise<EchoResult> {
  const where = "path" in args.target ? ["unix", args.target.path] : ["tcp", args.target.host, String(args.target.port)];
  const argv = [...where, ...[args.connections, args.size, args.window ?? 1, args.warmupMs, args.durationMs].map(String)];
  const r = await runNative<{ ms: number; cpuMs: number; messages: number; bytes: number }>(binary, argv, args.warmupMs + args.durationMs + 30_000);
  return {
    ms: r.ms,
    clientCpu: r.cpuMs / r.ms,
    messages: r.messages,
    bytes: r.bytes,
    messagesPerSec: (r.messages / r.ms) * 1000,
    mbPerSec: r.bytes / 1e6 / (r.ms / 1000),
  };
}

async function runNodeEcho(args: EchoArgs): Promise<EchoResult> {
  const window = args.window ?? 1;
  const size = args.size;
  const all = Buffer.alloc(size * window, 0x61);
  // views[k] = k messages back to back, so a refill is one write without a new allocation.
  const views = Array.from({ length: window + 1 }, (_, k) => all.subarray(0, k * size));
  let messages = 0;
  let running = true;
  const sockets = await openMany(args.connections, 64, () => {
    let partial = 0; // bytes of the oldest in-flight message received so far
    const socket: net.Socket = net.connect({
      ...connectOptions(args.target),
      onread: {
        buffer: Buffer.allocUnsafe(Math.max(65536, all.length)),
        callback(nread: number): boolean {
          partial += nread;
          if (partial >= size) {
            const done = Math.floor(partial / size);
            partial -= done * size;
            messages += done;
            if (running) socket.write(views[done] as Buffer);
          }
          return true;
        },
      },
    });
    return connected(socket);
  });
  // Every connection fills its window, then warm up, then measure.
  for (const socket of sockets) socket.write(views[window] as Buffer);
  await sleep(args.warmupMs);
  const clock = new Window();
  const m0 = messages;
  clock.start();
  await sleep(args.durationMs);
  const counted = messages - m0;
  const w = clock.stop();
  running = false;
  for (const socket of sockets) socket.destroy();
  return {
    ...w,
    messages: counted,
    bytes: counted * size,
    messagesPerSec: (counted / w.ms) * 1000,
    mbPerSec: (counted * size) / 1e6 / (w.ms / 1000),
  };
}
