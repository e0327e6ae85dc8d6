/**
 * The framing load client: `connections` sockets, each keeping `window` blocks in flight. A block
 * is `blockFrames` frames of `frameSize` bytes (64-byte lines, or varint-prefixed 63-byte
 * payloads), then the marker (the line `?`, or an empty frame); the server answers each marker
 * with its running frame count for the connection. A block counts when its answer arrives, and
 * every answer is checked (the count must be exactly the frames sent up to that marker), so a
 * parser that drops or merges frames fails the run instead of looking fast. Blocks are one
 * pre-built buffer: the client does one write per block, far less work than the server's parsing.
 */
import type { Target } from "../servers/types.ts";
import { connectSocket, openMany, sleep, Window, type RunWindow } from "./common.ts";

/** Arguments of the `framing` command. */
export interface FramingArgs {
  readonly target: Target;
  readonly kind: "lines" | "length-prefixed";
  readonly connections: number;
  readonly window: number;
  readonly blockFrames: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** What the `framing` command reports. */
export interface FramingResult extends RunWindow {
  readonly frames: number;
  readonly framesPerSec: number;
}

/** One block: `frames` 64-byte frames and the marker. */
export function framingBlock(kind: FramingArgs["kind"], frames: number): Buffer {
  if (kind === "lines") return Buffer.from(`${`${"x".repeat(63)}\n`.repeat(frames)}?\n`);
  const frame = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x78)]); // varint 63, then the payload
  return Buffer.concat([...Array.from({ length: frames }, () => frame), Buffer.from([0])]);
}

/** Runs the framing load and reports frames parsed per second over the measured window. */
export async function runFraming(args: FramingArgs): Promise<FramingResult> {
  const block = framingBlock(args.kind, args.blockFrames);
  let frames = 0;
  let running = true;
  let failure: Error | undefined;
  const sockets = await openMany(args.connections, 16, async () => {
    const socket = await connectSocket({ ...("path" in args.target ? { path: args.target.path } : { host: args.target.host, port: args.target.port, noDelay: true }) });
    socket.on("error", () => {});
    let acked = 0;
    let pending = "";
    socket.setEncoding("latin1");
    socket.on("data", (text: string) => {
      pending += text;
      for (let nl = pending.indexOf("\n"); nl !== -1; nl = pending.indexOf("\n")) {
        const count = Number(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        acked++;
        if (count !== acked * args.blockFrames) failure ??= new Error(`the server counted ${count} frames after block ${acked}; expected ${acked * args.blockFrames}`);
        frames += args.blockFrames;
        if (running) socket.write(block);
      }
    });
    return socket;
  });
  for (const socket of sockets) for (let w = 0; w < args.window; w++) socket.write(block);
  await sleep(args.warmupMs);
  const clock = new Window();
  const f0 = frames;
  clock.start();
  await sleep(args.durationMs);
  // A short window (the smoke run) may end before a block comes back: extend it until a few have,
  // so the rate is measured over whole blocks (at most 10 s more).
  const minFrames = 4 * args.blockFrames;
  for (let waited = 0; frames - f0 < minFrames && waited < 10_000 && failure === undefined; waited += 5) await sleep(5);
  const counted = frames - f0;
  const w = clock.stop();
  running = false;
  for (const socket of sockets) socket.destroy();
  if (failure) throw failure;
  if (counted === 0) throw new Error("no block was answered in the measured window (and 10 s more)");
  return { ...w, frames: counted, framesPerSec: (counted / w.ms) * 1000 };
}
