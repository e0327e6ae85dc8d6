/**
 * The UDP echo load client: `sockets` connected sockets, each keeping at most `window` datagrams
 * of `size` bytes outstanding (a bounded window, so neither side's kernel buffer is overrun by
 * design). A datagram not answered within `lossTimeoutMs` is counted lost and its slot reused.
 * With `binary` the native client (bench/native/udp-echo-client.c) runs the same protocol at a
 * fraction of the CPU, so the server, not the client, limits the figure; without, dgram sockets.
 */
import * as dgram from "node:dgram";
import { once } from "node:events";
import { sleep, Window, type RunWindow } from "./common.ts";
import { runNative } from "./native.ts";

/** Arguments of the `udp` command. */
export interface UdpArgs {
  readonly target: { readonly host: string; readonly port: number };
  readonly size: number;
  readonly sockets: number;
  readonly window: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly lossTimeoutMs?: number;
  /** The native client to run instead of the dgram one. */
  readonly binary?: string | undefined;
}

/** What the `udp` command reports. */
export interface UdpResult extends RunWindow {
  readonly sent: number;
  readonly received: number;
  readonly datagramsPerSec: number;
  /** Fraction of datagrams sent in the window that were not answered. */
  readonly loss: number;
}

interface Flow {
  readonly socket: dgram.Socket;
  outstanding: number;
  /** Replies received on this flow; the watchdog compares it with `seen`. */
  count: number;
  seen: number;
  lastProgress: number;
}

/** Runs the windowed UDP echo load and reports answered datagrams/s and loss. */
export function runUdp(args: UdpArgs): Promise<UdpResult> {
  return args.binary === undefined ? runNodeUdp(args) : runNativeUdp(args, args.binary);
}

interface NativeReport {
  readonly ms: number;
  readonly cpuMs: number;
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
}

async function runNativeUdp(args: UdpArgs, binary: string): Promise<UdpResult> {
  const { host, port } = args.target;
  const argv = [host, port, args.size, args.sockets, args.window, args.warmupMs, args.durationMs, args.lossTimeoutMs ?? 50].map(String);
  const r = await runNative<NativeReport>(binary, argv, args.warmupMs + args.durationMs + 10_000);
  return {
    ms: r.ms,
    clientCpu: r.cpuMs / r.ms,
    sent: r.sent,
    received: r.received,
    datagramsPerSec: (r.received / r.ms) * 1000,
    loss: r.sent > 0 ? Math.min(1, r.lost / r.sent) : 0,
  };
}

async function runNodeUdp(args: UdpArgs): Promise<UdpResult> {
  const payload = Buffer.alloc(args.size, 0x62);
  const lossTimeout = args.lossTimeoutMs ?? 50;
  let sent = 0;
  let received = 0;
  let lost = 0;
  let running = true;
  const flows: Flow[] = [];
  for (let i = 0; i < args.sockets; i++) {
    const socket = dgram.createSocket("udp4");
    socket.on("error", () => {});
    const flow: Flow = { socket, outstanding: 0, count: 0, seen: 0, lastProgress: performance.now() };
    socket.on("message", () => {
      received++;
      flow.count++;
      flow.outstanding--;
      if (running) {
        flow.outstanding++;
        sent++;
        socket.send(payload);
      }
    });
    socket.connect(args.target.port, args.target.host);
    await once(socket, "connect");
    flows.push(flow);
  }
  const fill = (flow: Flow) => {
    while (flow.outstanding < args.window) {
      flow.outstanding++;
      sent++;
      flow.socket.send(payload);
    }
  };
  // Loss detection: a flow without progress for lossTimeout has lost what is outstanding.
  const watchdog = setInterval(
    () => {
      const now = performance.now();
      for (const flow of flows) {
        if (flow.count !== flow.seen) {
          flow.seen = flow.count;
          flow.lastProgress = now;
        } else if (running && flow.outstanding > 0 && now - flow.lastProgress > lossTimeout) {
          lost += flow.outstanding;
          flow.outstanding = 0;
          flow.lastProgress = now;
          fill(flow);
        }
      }
    },
    Math.max(5, Math.floor(lossTimeout / 4)),
  );
  for (const flow of flows) fill(flow);
  await sleep(args.warmupMs);
  const window = new Window();
  const s0 = sent;
  const r0 = received;
  const l0 = lost;
  window.start();
  await sleep(args.durationMs);
  const w = window.stop();
  const sentIn = sent - s0;
  const receivedIn = received - r0;
  running = false;
  // Let the last replies arrive, so what is still in flight is not counted as loss.
  await sleep(Math.min(100, lossTimeout * 2));
  clearInterval(watchdog);
  const lostIn = lost - l0 + flows.reduce((n, f) => n + Math.max(0, f.outstanding), 0);
  for (const flow of flows) flow.socket.close();
  return {
    ...w,
    sent: sentIn,
    received: receivedIn,
    datagramsPerSec: (receivedIn / w.ms) * 1000,
    loss: sentIn > 0 ? Math.min(1, lostIn / sentIn) : 0,
  };
}
