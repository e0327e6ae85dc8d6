/**
 * The connection-rate load client (TCP or Unix): `concurrency` loops, each opening a connection,
 * sending one byte, waiting for the server's echo of it (so the server really accepted the
 * connection and ran its handler), and closing; then the next. A connection counts when its echo
 * has come back inside the measured window. The same client serves every `conn-rate-*` case
 * (`conn-rate-unix-credentials` here; `conn-rate-tcp`, `conn-rate-unix`): what differs is the
 * target and the server. Over TCP each closed connection leaves a TIME_WAIT entry on the client's
 * side, so keep TCP runs short (the ephemeral port range is ~28 000 wide on Linux).
 */
import * as net from "node:net";
import type { Target } from "../servers/types.ts";
import { connectOptions, sleep, Window, type RunWindow } from "./common.ts";

/** Arguments of the `connRate` command. */
export interface ConnRateArgs {
  readonly target: Target;
  /** Connections being opened/used/closed at once (default 16). */
  readonly concurrency?: number;
  readonly warmupMs: number;
  readonly durationMs: number;
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

const PING = Buffer.from("p");

/** One connect, 1-byte echo, close. Resolves true when the echo came back, false on a failure. */
function oneConnection(options: net.NetConnectOpts, onError: (error: Error) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(options);
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => socket.write(PING));
    socket.once("data", () => finish(true));
    socket.once("error", (error) => {
      onError(error);
      finish(false);
    });
    socket.once("close", () => finish(false));
  });
}

/** Runs the connection-rate load against a target and reports connections/s over the measured window. */
export async function runConnRate(args: ConnRateArgs): Promise<ConnRateResult> {
  const options = connectOptions(args.target);
  const concurrency = args.concurrency ?? 16;
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
      const ok = await oneConnection(options, onError);
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
