import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { SOURCE_ARGS } from "@tako/test-kit";

/** Connects to a Unix socket path (or `\0name`); rejects on error. */
export async function connectUnix(path: string): Promise<Socket> {
  const socket = connect({ path });
  await once(socket, "connect");
  return socket;
}

/**
 * Sends `data`, half-closes, and resolves with everything the server answered before closing
 * (a reset by the server, e.g. after a handler error, just ends the answer).
 */
export async function exchange(path: string, data: string | Buffer): Promise<string> {
  const socket = await connectUnix(path);
  const chunks: Buffer[] = [];
  socket.on("error", () => {});
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise((settle) => socket.once("close", settle));
  socket.end(data);
  await closed;
  return Buffer.concat(chunks).toString();
}

/** Resolves with the error a connect to `path` fails with, or "connected". */
export async function connectOutcome(path: string): Promise<string> {
  return new Promise((settle) => {
    const socket = connect({ path });
    socket.once("connect", () => {
      socket.destroy();
      settle("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => settle(error.code ?? error.message));
  });
}

/** How a child is started: as another user, or through a wrapper command such as `setpriv`. */
interface ChildOptions {
  uid?: number;
  gid?: number;
  /** A command (and its arguments) that runs node, e.g. `["setpriv", "--bounding-set=-dac_override"]`. */
  wrap?: string[];
}

/** Runs a Node child (ESM script text) with `@tako/*` resolved to source. */
export function spawnNode(script: string, options: ChildOptions = {}) {
  return watchChild(["--input-type=module", "-e", script], options);
}

/** Runs a Node child on a script file (TypeScript allowed) with `@tako/*` resolved to source. */
export function spawnNodeFile(file: string, args: string[] = []) {
  return watchChild([file, ...args], {});
}

function watchChild(args: string[], { wrap = [], ...ids }: ChildOptions) {
  const command = [...wrap, process.execPath, ...SOURCE_ARGS, ...args];
  const child = spawn(command[0] as string, command.slice(1), { stdio: ["ignore", "pipe", "pipe"], ...ids });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    /** Resolves once stdout holds `text` (rejects if the child exits first or after `timeoutMs`). */
    async waitFor(text: string, timeoutMs = 15_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!out.includes(text)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child exited before printing ${JSON.stringify(text)}: ${err}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)}; stdout: ${out}; stderr: ${err}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
      const [code, signal] = child.exitCode !== null || child.signalCode !== null ? [child.exitCode, child.signalCode] : await exited;
      return { code, signal };
    },
  };
}
