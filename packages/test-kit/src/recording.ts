/**
 * A stream handler for the PROXY-protocol tests behind real senders: it reads each connection to
 * its end, remembers what it saw and answers with the payload's length and hash, so the client
 * checks that the bytes after the header arrived intact. HAProxy's health checks (PING after the
 * header, see `PING_PONG_CHECK`) are answered PONG and remembered too.
 */
import { createHash } from "node:crypto";
import type * as net from "node:net";
import type { HandlerContext, ProxyInfo } from "@tako/core";

/** What the handler saw on one connection. */
export interface Seen<Peer> {
  readonly peer: Peer;
  readonly proxy: ProxyInfo | undefined;
  /** Payload bytes up to the client's end (0 so far; a health check may reset instead of ending). */
  bytes: number;
  sha256: string;
  /** A health check: it sent PING and was answered PONG. */
  check?: boolean;
}

/** The recording handler and what it saw; `answer` gives the JSON written back at the client's end. */
export function recordingHandler<Peer>(answer: (entry: Seen<Peer>) => unknown): {
  readonly seen: Seen<Peer>[];
  readonly handler: (socket: net.Socket, peer: Peer, ctx: HandlerContext) => Promise<void>;
} {
  const seen: Seen<Peer>[] = [];
  const handler = async (socket: net.Socket, peer: Peer, ctx: HandlerContext): Promise<void> => {
    const entry: Seen<Peer> = { peer, proxy: ctx.proxy, bytes: 0, sha256: "" };
    seen.push(entry);
    const hash = createHash("sha256");
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      hash.update(chunk);
      entry.bytes += chunk.length;
      // HAProxy's health check (tcp-check send PING / expect PONG) after its header.
      if (entry.bytes === 6 && chunk.toString() === "PING\r\n") {
        entry.check = true;
        socket.write("PONG\r\n");
        return;
      }
    }
    entry.sha256 = hash.digest("hex");
    socket.write(JSON.stringify(answer(entry)));
  };
  return { seen, handler };
}

/** The SHA-256 of `bytes`, in hex (what the recording handler answers). */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * HAProxy backend lines for health checks through the PROXY header phase: the header
 * (`check-send-proxy` on the server line; v2 sends LOCAL), then PING, expecting PONG. UP means the
 * header was accepted and the recording handler answered on the check's connection.
 */
export const PING_PONG_CHECK = `  option tcp-check
  tcp-check connect default
  tcp-check send PING\\r\\n
  tcp-check expect string PONG`;

/**
 * An nginx `stream` server block that listens on 127.0.0.1:`port` and proxies to `upstream`
 * (`127.0.0.1:4000`, `unix:/path`) with a v1 PROXY header; the client's half-close is passed on,
 * since the recording handler answers at the client's end.
 */
export function nginxProxyProtocolServer(port: number, upstream: string): string {
  return `
server {
  listen 127.0.0.1:${port};
  proxy_pass ${upstream};
  proxy_protocol on;
  proxy_half_close on;
}`;
}
