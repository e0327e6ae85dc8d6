import type { Socket } from "node:net";

/** How long a refused client may keep sending before its socket is destroyed, ms. */
const LINGER_MS = 1_000;

/** Node's answers to a request it cannot parse or that came too slowly (the same bytes Node writes). */
const ANSWERS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n",
  ERR_HTTP_REQUEST_TIMEOUT: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n",
};
const BAD_REQUEST = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";

/**
 * @internal The http server's `'clientError'` handler: a malformed request (400), oversized
 * headers (431) or a `headersTimeout`/`requestTimeout` cut (408). Node's default writes the answer
 * and destroys the socket at once, so a client still sending gets EPIPE (or, over TCP, a reset) and
 * can lose the answer before reading it. Here the answer is written, our side ended, what the client
 * still sends is discarded, and the socket is destroyed when the client closes or after
 * {@link LINGER_MS} (a lingering close, as nginx does). A response already under way (its headers
 * sent, which Node keeps on the socket as `_httpMessage`) is never interleaved with: the socket is
 * destroyed.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (!socket.writable || error.code === "ECONNRESET" || error.code === "EPIPE" || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once("close", () => clearTimeout(timer));
  socket.on("error", () => {});
  socket.end(ANSWERS[error.code ?? ""] ?? BAD_REQUEST);
}
